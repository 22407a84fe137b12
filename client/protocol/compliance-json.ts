/**
 * The stored form of the compliance mirror (`ComplianceFacts`): canonical JSON, versioned (`v: 1`).
 * Bigints are decimal strings; maps are arrays of `[key, value]` pairs and sets arrays of members,
 * each sorted by key (address keys as strings, type ids and countries as numbers), so equal facts
 * always encode to the same text (decoded maps and sets are persistent, `compliance/persistent-map.ts`). Addresses that are values (a validator, a treasury) keep their
 * spelling; address keys must be lowercase (`addressKey`), since a key in another case would make a
 * lookup miss — a missed frozen entry would fail open.
 *
 * Decoding never trusts the text: anything that does not parse — another version, a bad number,
 * a key out of order or repeated, an unknown field — is MALFORMED.
 */
import { z } from "zod";
import type { AttributeRecord, ComplianceFacts, JurisdictionFacts, RulesFacts, TokenFacts, ValidatorApproval } from "./compliance/index.js";
import { PersistentMap, PersistentSet } from "./compliance/persistent-map.js";
import { parseJson } from "./encoding.js";
import type { Address } from "./types.js";

export const COMPLIANCE_FACTS_JSON_VERSION = 1;

// 80 digits hold any (u)int256.
const unsigned = z.string().regex(/^(0|[1-9][0-9]{0,79})$/, "an unsigned decimal string").transform(BigInt);
// A balance can be negative when the mirror starts after tokens were minted (a later startBlock).
const signed = z.string().regex(/^(0|-?[1-9][0-9]{0,79})$/, "a signed decimal string").transform(BigInt);
const key = z.string().regex(/^0x[0-9a-f]{40}$/, "an address key (lowercase)");
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address") as z.ZodType<Address, string>;
const uint32 = z.number().int().min(0).max(2 ** 32 - 1);

const ascending = <T extends string | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

function isStrictlyAscending<T extends string | bigint>(items: readonly T[]): boolean {
  return items.every((item, i) => i === 0 || ascending(items[i - 1]!, item) < 0);
}

function sortedMap<K extends string | bigint, V, VJson>(keySchema: z.ZodType<K, string>, valueSchema: z.ZodType<V, VJson>) {
  return z
    .array(z.tuple([keySchema, valueSchema]))
    .refine((entries) => isStrictlyAscending(entries.map(([k]) => k)), "keys strictly ascending")
    .transform((entries): ReadonlyMap<K, V> => PersistentMap.from(entries));
}

function sortedSet<T extends string | bigint>(memberSchema: z.ZodType<T, string>) {
  return z
    .array(memberSchema)
    .refine((members) => isStrictlyAscending(members), "members strictly ascending")
    .transform((members): ReadonlySet<T> => PersistentSet.from(members));
}

const approvalSchema = z.strictObject({ approved: z.boolean(), generation: uint32 }) satisfies z.ZodType<ValidatorApproval>;

const attributeSchema = z.strictObject({
  value: unsigned,
  expiresAt: unsigned,
  validator: address,
  generation: uint32,
}) satisfies z.ZodType<AttributeRecord>;

const jurisdictionSchema = z.strictObject({
  approvals: sortedMap(unsigned, sortedMap(key, approvalSchema)),
  attributes: sortedMap(key, sortedMap(unsigned, attributeSchema)),
}) satisfies z.ZodType<JurisdictionFacts>;

const rulesSchema = z.strictObject({
  jurisdiction: address,
  accreditationRequired: z.boolean(),
  blockedCountries: sortedSet(unsigned),
  lockups: sortedMap(key, unsigned),
  maxBalance: unsigned,
}) satisfies z.ZodType<RulesFacts>;

const tokenSchema = z.strictObject({
  rules: address.nullable(),
  paused: z.boolean(),
  frozen: sortedSet(key),
  balances: sortedMap(key, signed),
  controllers: sortedSet(key),
  treasury: address.nullable(),
}) satisfies z.ZodType<TokenFacts>;

/** The JSON form of `ComplianceFacts`; parsing yields the facts themselves. */
export const complianceFactsJsonSchema = z.strictObject({
  v: z.literal(COMPLIANCE_FACTS_JSON_VERSION),
  cursor: z.strictObject({ blockNumber: unsigned, logIndex: uint32 }).nullable(),
  jurisdictions: sortedMap(key, jurisdictionSchema),
  rules: sortedMap(key, rulesSchema),
  tokens: sortedMap(key, tokenSchema),
}).transform(({ v: _version, ...facts }): ComplianceFacts => facts);

export type ComplianceFactsJson = z.input<typeof complianceFactsJsonSchema>;

function entriesOf<K extends string | bigint, V, J>(map: ReadonlyMap<K, V>, value: (v: V) => J): [string, J][] {
  return [...map.keys()].sort(ascending).map((k) => [k.toString(), value(map.get(k)!)]);
}

function membersOf<T extends string | bigint>(set: ReadonlySet<T>): string[] {
  return [...set].sort(ascending).map((member) => member.toString());
}

/** The canonical JSON value of `facts` (JSON.stringify gives the same text for equal facts). */
export function complianceFactsToJson(facts: ComplianceFacts): ComplianceFactsJson {
  return {
    v: COMPLIANCE_FACTS_JSON_VERSION,
    cursor: facts.cursor === null ? null : { blockNumber: facts.cursor.blockNumber.toString(), logIndex: facts.cursor.logIndex },
    jurisdictions: entriesOf(facts.jurisdictions, (j) => ({
      approvals: entriesOf(j.approvals, (byValidator) => entriesOf(byValidator, (a) => ({ approved: a.approved, generation: a.generation }))),
      attributes: entriesOf(j.attributes, (byType) =>
        entriesOf(byType, (r) => ({ value: r.value.toString(), expiresAt: r.expiresAt.toString(), validator: r.validator, generation: r.generation })),
      ),
    })),
    rules: entriesOf(facts.rules, (r) => ({
      jurisdiction: r.jurisdiction,
      accreditationRequired: r.accreditationRequired,
      blockedCountries: membersOf(r.blockedCountries),
      lockups: entriesOf(r.lockups, (until) => until.toString()),
      maxBalance: r.maxBalance.toString(),
    })),
    tokens: entriesOf(facts.tokens, (t) => ({
      rules: t.rules,
      paused: t.paused,
      frozen: membersOf(t.frozen),
      balances: entriesOf(t.balances, (balance) => balance.toString()),
      controllers: membersOf(t.controllers),
      treasury: t.treasury,
    })),
  };
}

/** Parses the JSON value of facts; MALFORMED for anything that is not exactly that form. */
export function complianceFactsFromJson(value: unknown): ComplianceFacts {
  return parseJson(complianceFactsJsonSchema, value, "compliance facts");
}
