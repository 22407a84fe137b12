import type { Address } from "../types.js";
import { addressKey, type ComplianceFacts, type JurisdictionFacts, type LogPosition, type RulesFacts, type TokenFacts } from "./facts.js";

/**
 * Copy-on-write over one batch: the first write to a map copies it (and its parents), later writes
 * in the same batch mutate that private copy. Nothing reachable from the input facts is mutated.
 */
export class FactsDraft {
  private readonly owned = new WeakSet<object>();
  private jurisdictions: Map<string, JurisdictionFacts>;
  private rules: Map<string, RulesFacts>;
  private tokens: Map<string, TokenFacts>;

  constructor(private readonly base: ComplianceFacts) {
    this.jurisdictions = base.jurisdictions as Map<string, JurisdictionFacts>;
    this.rules = base.rules as Map<string, RulesFacts>;
    this.tokens = base.tokens as Map<string, TokenFacts>;
  }

  private own<T extends object>(value: T, copy: (v: T) => T): T {
    if (this.owned.has(value)) return value;
    const fresh = copy(value);
    this.owned.add(fresh);
    return fresh;
  }

  map<K, V>(map: ReadonlyMap<K, V>): Map<K, V> {
    return this.own(map as Map<K, V>, (m) => new Map(m));
  }

  set<V>(set: ReadonlySet<V>): Set<V> {
    return this.own(set as Set<V>, (s) => new Set(s));
  }

  /** A writable copy of the inner map at `key` of a writable copy of `outer` (created when absent). */
  innerMap<K, IK, V>(outer: ReadonlyMap<K, ReadonlyMap<IK, V>>, key: K): { outer: Map<K, ReadonlyMap<IK, V>>; inner: Map<IK, V> } {
    const ownedOuter = this.map(outer);
    const inner = this.map(ownedOuter.get(key) ?? new Map<IK, V>());
    ownedOuter.set(key, inner);
    return { outer: ownedOuter, inner };
  }

  /** A writable copy of a contract's facts and of the map holding it; undefined for an untracked contract. */
  private entry<V extends object>(contracts: ReadonlyMap<string, V>, address: Address): { contracts: Map<string, V>; entry: Mutable<V> } | undefined {
    const key = addressKey(address);
    const current = contracts.get(key);
    if (current === undefined) return undefined;
    const entry = this.own(current, (v) => ({ ...v }));
    return { contracts: this.map(contracts).set(key, entry), entry: entry as Mutable<V> };
  }

  jurisdiction(address: Address): Mutable<JurisdictionFacts> | undefined {
    const owned = this.entry(this.jurisdictions, address);
    if (owned !== undefined) this.jurisdictions = owned.contracts;
    return owned?.entry;
  }

  rulesOf(address: Address): Mutable<RulesFacts> | undefined {
    const owned = this.entry(this.rules, address);
    if (owned !== undefined) this.rules = owned.contracts;
    return owned?.entry;
  }

  token(address: Address): Mutable<TokenFacts> | undefined {
    const owned = this.entry(this.tokens, address);
    if (owned !== undefined) this.tokens = owned.contracts;
    return owned?.entry;
  }

  result(cursor: LogPosition | null): ComplianceFacts {
    const { base, jurisdictions, rules, tokens } = this;
    if (jurisdictions === base.jurisdictions && rules === base.rules && tokens === base.tokens && cursor === base.cursor) {
      return base;
    }
    return { jurisdictions, rules, tokens, cursor };
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
