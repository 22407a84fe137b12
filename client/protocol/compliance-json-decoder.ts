/**
 * Decodes the JSON value of `ComplianceFacts` by hand, for a restart with a large saved mirror
 * (docs/performance.md, "Restart and memory at scale"): the same checks as
 * `complianceFactsJsonSchema` (compliance-json.ts) without zod's per-value overhead, ~4× faster at
 * 100,000 holders. It returns undefined for any value it does not accept; the caller then parses
 * with the schema, which refuses it with worded, typed errors (or, should the two ever disagree,
 * accepts it). A property test checks that both accept and refuse the same values.
 */
import type { AttributeRecord, ComplianceFacts, JurisdictionFacts, RulesFacts, TokenFacts, ValidatorApproval } from "./compliance/index.js";
import { PersistentMap, PersistentSet } from "./compliance/persistent-map.js";
import { COMPLIANCE_FACTS_JSON_VERSION } from "./compliance-json.js";
import type { Address } from "./types.js";

const UNSIGNED = /^(0|[1-9][0-9]{0,79})$/;
const SIGNED = /^(0|-?[1-9][0-9]{0,79})$/;
const KEY = /^0x[0-9a-f]{40}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UINT32_MAX = 2 ** 32 - 1;
/** Distinct attribute records shared per registry; past it the decoder stops adding (still correct, less shared). */
const MAX_SHARED = 4_096;

/** Thrown inside the decoder: the value is not of the accepted shape; the schema takes over. */
class NotAccepted extends Error {}
const refuse = (): never => {
  throw new NotAccepted();
};

type Json = Record<string, unknown>;

/** A plain object with exactly `keys` as its own keys. */
function object(value: unknown, keys: readonly string[]): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) refuse();
  const json = value as Json;
  if (Object.keys(json).length !== keys.length) refuse();
  for (const k of keys) if (!Object.hasOwn(json, k)) refuse();
  return json;
}

function array(value: unknown): unknown[] {
  return Array.isArray(value) ? value : refuse();
}

function matching(value: unknown, pattern: RegExp): string {
  return typeof value === "string" && pattern.test(value) ? value : refuse();
}

const unsigned = (value: unknown): bigint => BigInt(matching(value, UNSIGNED));
const signed = (value: unknown): bigint => BigInt(matching(value, SIGNED));
const key = (value: unknown): string => matching(value, KEY);
const address = (value: unknown): Address => matching(value, ADDRESS) as Address;
const nullableAddress = (value: unknown): Address | null => (value === null ? null : address(value));
const boolean = (value: unknown): boolean => (typeof value === "boolean" ? value : refuse());

function uint32(value: unknown): number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= UINT32_MAX ? value : refuse();
}

/** `[[key, value], …]`, keys strictly ascending; a persistent map, as the schema returns. */
function sortedMap<K extends string | bigint, V>(value: unknown, keyOf: (v: unknown) => K, valueOf: (v: unknown) => V): PersistentMap<K, V> {
  const entries = array(value);
  const pairs: [K, V][] = [];
  let previous: K | undefined;
  for (const entry of entries) {
    const pair = array(entry);
    if (pair.length !== 2) refuse();
    const k = keyOf(pair[0]);
    if (previous !== undefined && !(previous < k)) refuse();
    previous = k;
    pairs.push([k, valueOf(pair[1])]);
  }
  return PersistentMap.from(pairs);
}

function sortedSet<T extends string | bigint>(value: unknown, memberOf: (v: unknown) => T): PersistentSet<T> {
  const members: T[] = [];
  let previous: T | undefined;
  for (const item of array(value)) {
    const member = memberOf(item);
    if (previous !== undefined && !(previous < member)) refuse();
    previous = member;
    members.push(member);
  }
  return PersistentSet.from(members);
}

function approval(value: unknown): ValidatorApproval {
  const json = object(value, ["approved", "generation"]);
  return { approved: boolean(json.approved), generation: uint32(json.generation) };
}

/**
 * Attribute records repeat (the same value, expiry, validator and generation for many holders), so
 * equal ones decode to one shared frozen object; records are immutable. Bounded per decode.
 */
class AttributeRecords {
  private readonly shared = new Map<string, AttributeRecord>();

  constructor(private readonly max: number) {}

  decode(value: unknown): AttributeRecord {
    const json = object(value, ["value", "expiresAt", "validator", "generation"]);
    const { value: v, expiresAt, validator, generation } = json;
    const id = typeof v === "string" && typeof expiresAt === "string" && typeof validator === "string" && typeof generation === "number" ? `${v},${expiresAt},${validator},${generation}` : undefined;
    const known = id === undefined ? undefined : this.shared.get(id);
    if (known !== undefined) return known;
    const record = Object.freeze({ value: unsigned(v), expiresAt: unsigned(expiresAt), validator: address(validator), generation: uint32(generation) });
    if (id !== undefined && this.shared.size < this.max) this.shared.set(id, record);
    return record;
  }
}

function jurisdiction(value: unknown): JurisdictionFacts {
  const json = object(value, ["approvals", "attributes"]);
  const records = new AttributeRecords(MAX_SHARED);
  return {
    approvals: sortedMap(json.approvals, unsigned, (byValidator) => sortedMap(byValidator, key, approval)),
    attributes: sortedMap(json.attributes, key, (byType) => sortedMap(byType, unsigned, (record) => records.decode(record))),
  };
}

function rules(value: unknown): RulesFacts {
  const json = object(value, ["jurisdiction", "accreditationRequired", "blockedCountries", "lockups", "maxBalance"]);
  return {
    jurisdiction: address(json.jurisdiction),
    accreditationRequired: boolean(json.accreditationRequired),
    blockedCountries: sortedSet(json.blockedCountries, unsigned),
    lockups: sortedMap(json.lockups, key, unsigned),
    maxBalance: unsigned(json.maxBalance),
  };
}

function token(value: unknown): TokenFacts {
  const json = object(value, ["rules", "paused", "frozen", "balances", "controllers", "treasury"]);
  return {
    rules: nullableAddress(json.rules),
    paused: boolean(json.paused),
    frozen: sortedSet(json.frozen, key),
    balances: sortedMap(json.balances, key, signed),
    controllers: sortedSet(json.controllers, key),
    treasury: nullableAddress(json.treasury),
  };
}

/** The facts `value` holds, as `complianceFactsFromJson` returns them; undefined when this decoder does not accept it. */
export function complianceFactsFromJsonFast(value: unknown): ComplianceFacts | undefined {
  try {
    const json = object(value, ["v", "cursor", "jurisdictions", "rules", "tokens"]);
    if (json.v !== COMPLIANCE_FACTS_JSON_VERSION) refuse();
    const cursorJson = json.cursor === null ? null : object(json.cursor, ["blockNumber", "logIndex"]);
    return {
      cursor: cursorJson === null ? null : { blockNumber: unsigned(cursorJson.blockNumber), logIndex: uint32(cursorJson.logIndex) },
      jurisdictions: sortedMap(json.jurisdictions, key, jurisdiction),
      rules: sortedMap(json.rules, key, rules),
      tokens: sortedMap(json.tokens, key, token),
    };
  } catch (error) {
    if (error instanceof NotAccepted) return undefined;
    throw error;
  }
}
