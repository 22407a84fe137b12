// Arbitrary compliance facts (every kind of fact, small maps; persistent, as the protocol core builds
// them), for the stored form's tests.
import fc from "fast-check";
import {
  addressKey,
  type AttributeRecord,
  type ComplianceFacts,
  type JurisdictionFacts,
  type RulesFacts,
  type TokenFacts,
  type ValidatorApproval,
} from "../../client/protocol/index.js";
import { PersistentMap, PersistentSet } from "../../client/protocol/compliance/persistent-map.js";
import { address } from "./arbitraries.js";

const key = address.map(addressKey);
const uint256 = fc.oneof(fc.constantFrom(0n, 1n, (1n << 256n) - 1n), fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }));
const int256 = fc.oneof(fc.constantFrom(-1n, 1n, -(1n << 255n), (1n << 255n) - 1n), fc.bigInt({ min: -(1n << 255n), max: (1n << 255n) - 1n }));
const uint32 = fc.integer({ min: 0, max: 2 ** 32 - 1 });

function mapOf<K extends string | bigint, V>(keys: fc.Arbitrary<K>, values: fc.Arbitrary<V>, maxLength = 4): fc.Arbitrary<ReadonlyMap<K, V>> {
  return fc.uniqueArray(fc.tuple(keys, values), { selector: ([k]) => k, maxLength }).map((entries) => PersistentMap.from(entries));
}

function setOf<T extends string | bigint>(members: fc.Arbitrary<T>): fc.Arbitrary<ReadonlySet<T>> {
  return fc.uniqueArray(members, { maxLength: 4 }).map((items) => PersistentSet.from(items));
}

const approval: fc.Arbitrary<ValidatorApproval> = fc.record({ approved: fc.boolean(), generation: uint32 });
const attribute: fc.Arbitrary<AttributeRecord> = fc.record({ value: uint256, expiresAt: uint256, validator: address, generation: uint32 });
const jurisdiction: fc.Arbitrary<JurisdictionFacts> = fc.record({
  approvals: mapOf(uint256, mapOf(key, approval)),
  attributes: mapOf(key, mapOf(uint256, attribute)),
});
const rules: fc.Arbitrary<RulesFacts> = fc.record({
  jurisdiction: address,
  accreditationRequired: fc.boolean(),
  blockedCountries: setOf(uint256),
  lockups: mapOf(key, uint256),
  maxBalance: uint256,
});
const token: fc.Arbitrary<TokenFacts> = fc.record({
  rules: fc.option(address, { nil: null }),
  paused: fc.boolean(),
  frozen: setOf(key),
  balances: mapOf(key, int256),
  controllers: setOf(key),
  treasury: fc.option(address, { nil: null }),
});
export const facts: fc.Arbitrary<ComplianceFacts> = fc.record({
  jurisdictions: mapOf(key, jurisdiction, 2),
  rules: mapOf(key, rules, 2),
  tokens: mapOf(key, token, 2),
  cursor: fc.option(fc.record({ blockNumber: uint256, logIndex: uint32 }), { nil: null }),
});

/** The same facts with every map and set filled in reverse order. */
export function reversed(f: ComplianceFacts): ComplianceFacts {
  const map = <K, V>(m: ReadonlyMap<K, V>, value: (v: V) => V = (v) => v) => new Map([...m].reverse().map(([k, v]) => [k, value(v)]));
  const set = <T>(s: ReadonlySet<T>) => new Set([...s].reverse());
  return {
    cursor: f.cursor,
    jurisdictions: map(f.jurisdictions, (j) => ({ approvals: map(j.approvals, (a) => map(a)), attributes: map(j.attributes, (a) => map(a)) })),
    rules: map(f.rules, (r) => ({ ...r, blockedCountries: set(r.blockedCountries), lockups: map(r.lockups) })),
    tokens: map(f.tokens, (t) => ({ ...t, frozen: set(t.frozen), balances: map(t.balances), controllers: set(t.controllers) })),
  };
}

