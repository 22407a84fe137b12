import type { Address } from "../types.js";
import { addressKey, type ComplianceFacts, type JurisdictionFacts, type LogPosition, type RulesFacts, type TokenFacts } from "./facts.js";
import { PersistentMap, PersistentSet } from "./persistent-map.js";

/**
 * Changes over one batch. The facts' maps and sets are persistent (`persistent-map.ts`): every
 * write makes a new one sharing all it did not touch, in O(log n), so a batch costs
 * O(events × log n) whatever the number of holders. A contract's facts object is copied on its
 * first write in the batch and that private copy is written after. Nothing reachable from the input
 * facts is mutated; a map that is not persistent yet (facts built by hand) is converted once.
 */
export class FactsDraft {
  private readonly owned = new WeakSet<object>();
  private jurisdictions: ReadonlyMap<string, JurisdictionFacts>;
  private rules: ReadonlyMap<string, RulesFacts>;
  private tokens: ReadonlyMap<string, TokenFacts>;

  constructor(private readonly base: ComplianceFacts) {
    this.jurisdictions = base.jurisdictions;
    this.rules = base.rules;
    this.tokens = base.tokens;
  }

  /** `map` as a persistent map, to derive updated maps from. */
  map<K extends string | bigint, V>(map: ReadonlyMap<K, V>): PersistentMap<K, V> {
    return PersistentMap.from(map);
  }

  /** `set` as a persistent set, to derive updated sets from. */
  set<T extends string | bigint>(set: ReadonlySet<T>): PersistentSet<T> {
    return PersistentSet.from(set);
  }

  /** `outer` with the inner map at `key` (empty when absent) replaced by `update` of it. */
  updateInner<K extends string | bigint, IK extends string | bigint, V>(
    outer: ReadonlyMap<K, ReadonlyMap<IK, V>>,
    key: K,
    update: (inner: PersistentMap<IK, V>) => PersistentMap<IK, V>,
  ): PersistentMap<K, ReadonlyMap<IK, V>> {
    return this.map(outer).with(key, update(this.map(outer.get(key) ?? PersistentMap.empty<IK, V>())));
  }

  /** A writable copy of a contract's facts and the map holding it; undefined for an untracked contract. */
  private entry<V extends object>(contracts: ReadonlyMap<string, V>, address: Address): { contracts: ReadonlyMap<string, V>; entry: Mutable<V> } | undefined {
    const key = addressKey(address);
    const current = contracts.get(key);
    if (current === undefined) return undefined;
    if (this.owned.has(current)) return { contracts, entry: current as Mutable<V> };
    const entry = { ...current };
    this.owned.add(entry);
    return { contracts: this.map(contracts).with(key, entry), entry: entry as Mutable<V> };
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
