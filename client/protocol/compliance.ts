/**
 * The compliance mirror: the on-chain transfer rules (docs/compliance.md) evaluated over plain-data
 * facts, so the node decides every off-chain update without a chain call, and pure reducers that
 * keep those facts fresh from the contracts' events.
 *
 * Facts mirror three kinds of contract, each keyed by its address:
 * - `Jurisdiction`: validator approvals `(approved, generation)` per type and attribute records
 *   `(value, expiresAt, validator, generation)` per account and type;
 * - `TransferRules`: the jurisdiction it reads, accreditation required, blocked countries,
 *   lock-ups, maximum balance;
 * - `RestrictedToken`: its rules contract, paused, frozen accounts, balances, controllers and the
 *   recovery treasury.
 *
 * Maps are keyed by `addressKey(address)` (lowercase), so a caller's address casing can never make a
 * lookup miss (a missed frozen entry would fail open). Facts are immutable: reducers return new facts
 * and share everything they did not touch; `applyEvents` copies each touched map once per batch, so
 * catching up on many logs costs O(events + touched map sizes), not O(events × map size).
 *
 * `detectRestriction` follows the evaluation order of docs/compliance.md step by step and returns the
 * same ERC-1404 code as `RestrictedToken.detectTransferRestriction` (a differential test checks it).
 */
import { EventFragment, Interface, ZeroAddress, id, type LogDescription } from "ethers";
import { ComplianceError, ProtocolError } from "./errors.js";
import { RESTRICTION_CODES, type RestrictionCode } from "./restriction-codes.js";
import type { Address } from "./types.js";

/** Attribute type ids of the Jurisdiction (docs/compliance.md). */
export const ATTRIBUTE_TYPES = { KYC: 1n, AML: 2n, ACCREDITED: 3n, COUNTRY: 4n, CUSTODIAN: 5n } as const;

/** The value of a flag attribute (KYC, AML, ACCREDITED, CUSTODIAN) that counts; any other grants nothing. */
export const FLAG_SET = 1n;

/** `RestrictedToken.CONTROLLER_ROLE`. */
export const CONTROLLER_ROLE = id("CONTROLLER_ROLE");

/** The key of an address in every facts map. */
export function addressKey(address: Address): string {
  return address.toLowerCase();
}

const ZERO_KEY = addressKey(ZeroAddress);

// ---------------------------------------------------------------------------------------------
// Facts
// ---------------------------------------------------------------------------------------------

export interface ValidatorApproval {
  readonly approved: boolean;
  /** Bumped on every removal; attributes issued under an older generation stay void. */
  readonly generation: number;
}

export interface AttributeRecord {
  readonly value: bigint;
  /** Valid while `now < expiresAt`. */
  readonly expiresAt: bigint;
  readonly validator: Address;
  /** The validator's approval generation when it issued the record. */
  readonly generation: number;
}

export interface JurisdictionFacts {
  /** `approvals.get(typeId)?.get(addressKey(validator))`. */
  readonly approvals: ReadonlyMap<bigint, ReadonlyMap<string, ValidatorApproval>>;
  /** `attributes.get(addressKey(account))?.get(typeId)`; revoked records are absent. */
  readonly attributes: ReadonlyMap<string, ReadonlyMap<bigint, AttributeRecord>>;
}

export interface RulesFacts {
  /** The registry the rules read (immutable on chain and announced by no event). */
  readonly jurisdiction: Address;
  readonly accreditationRequired: boolean;
  /** ISO 3166-1 numeric codes; 0 blocks receivers without a valid COUNTRY attribute. */
  readonly blockedCountries: ReadonlySet<bigint>;
  /** `lockups.get(addressKey(holder))`: locked while `now < until`. */
  readonly lockups: ReadonlyMap<string, bigint>;
  /** 0 = no maximum. */
  readonly maxBalance: bigint;
}

export interface TokenFacts {
  /** The rules contract in force (announced by `RulesReplaced`, also at deployment). */
  readonly rules: Address | null;
  readonly paused: boolean;
  /** `addressKey`s of frozen accounts. */
  readonly frozen: ReadonlySet<string>;
  /** On-chain `balanceOf`, by `addressKey`. */
  readonly balances: ReadonlyMap<string, bigint>;
  /** `addressKey`s of the holders of CONTROLLER_ROLE (from RoleGranted/RoleRevoked). */
  readonly controllers: ReadonlySet<string>;
  /** The recovery treasury (from TreasuryChanged); null when none. */
  readonly treasury: Address | null;
}

/** Where in the chain an event was emitted. */
export interface LogPosition {
  readonly blockNumber: bigint;
  readonly logIndex: number;
}

export interface ComplianceFacts {
  readonly jurisdictions: ReadonlyMap<string, JurisdictionFacts>;
  readonly rules: ReadonlyMap<string, RulesFacts>;
  readonly tokens: ReadonlyMap<string, TokenFacts>;
  /** The last applied event's position: events at or before it are skipped, so replaying logs is harmless. */
  readonly cursor: LogPosition | null;
}

export function emptyComplianceFacts(): ComplianceFacts {
  return { jurisdictions: new Map(), rules: new Map(), tokens: new Map(), cursor: null };
}

/** Starts mirroring a Jurisdiction: its events are applied from now on. */
export function trackJurisdiction(facts: ComplianceFacts, jurisdiction: Address): ComplianceFacts {
  if (facts.jurisdictions.has(addressKey(jurisdiction))) return facts;
  const empty: JurisdictionFacts = { approvals: new Map(), attributes: new Map() };
  return { ...facts, jurisdictions: new Map(facts.jurisdictions).set(addressKey(jurisdiction), empty) };
}

/** Starts mirroring a TransferRules contract that reads `jurisdiction` (its `jurisdiction()` view). */
export function trackRules(facts: ComplianceFacts, rules: Address, jurisdiction: Address): ComplianceFacts {
  if (facts.rules.has(addressKey(rules))) return facts;
  const initial: RulesFacts = {
    jurisdiction,
    accreditationRequired: false,
    blockedCountries: new Set(),
    lockups: new Map(),
    maxBalance: 0n,
  };
  return { ...facts, rules: new Map(facts.rules).set(addressKey(rules), initial) };
}

/** Starts mirroring a RestrictedToken. Tokens that are not tracked are unrestricted for the channel. */
export function trackToken(facts: ComplianceFacts, token: Address): ComplianceFacts {
  if (facts.tokens.has(addressKey(token))) return facts;
  const initial: TokenFacts = { rules: null, paused: false, frozen: new Set(), balances: new Map(), controllers: new Set(), treasury: null };
  return { ...facts, tokens: new Map(facts.tokens).set(addressKey(token), initial) };
}

/**
 * Adds the jurisdictions and rules contracts `backfilled` tracks and `facts` does not, with the facts
 * `backfilled` holds for them (e.g. a rules contract a token switched to, rebuilt from its events
 * since `startBlock`). Contracts `facts` tracks already and the tokens stay as they are; the cursor
 * becomes the later of the two, so the caller must have backfilled only events the source of `facts`
 * has passed (what a mirror that had tracked them all along would hold).
 */
export function adoptContracts(facts: ComplianceFacts, backfilled: ComplianceFacts): ComplianceFacts {
  const missing = <V>(own: ReadonlyMap<string, V>, other: ReadonlyMap<string, V>): [string, V][] => [...other].filter(([key]) => !own.has(key));
  const jurisdictions = missing(facts.jurisdictions, backfilled.jurisdictions);
  const rules = missing(facts.rules, backfilled.rules);
  if (jurisdictions.length === 0 && rules.length === 0) return facts;
  const later = backfilled.cursor !== null && (facts.cursor === null || isAfter(backfilled.cursor, facts.cursor));
  return {
    ...facts,
    cursor: later ? backfilled.cursor : facts.cursor,
    jurisdictions: jurisdictions.length === 0 ? facts.jurisdictions : new Map([...facts.jurisdictions, ...jurisdictions]),
    rules: rules.length === 0 ? facts.rules : new Map([...facts.rules, ...rules]),
  };
}

export function isTrackedToken(facts: ComplianceFacts, token: Address): boolean {
  return facts.tokens.has(addressKey(token));
}

/** `token.balanceOf(account)` as mirrored from Transfer events (0 for an untracked token). */
export function onChainBalanceOf(facts: ComplianceFacts, token: Address, account: Address): bigint {
  return facts.tokens.get(addressKey(token))?.balances.get(addressKey(account)) ?? 0n;
}

// ---------------------------------------------------------------------------------------------
// Evaluation (docs/compliance.md, "Evaluation order")
// ---------------------------------------------------------------------------------------------

/** What an account holds of the token; on chain `balanceOf`, at layer two also its channel balances. */
export type HoldingsOf = (account: Address) => bigint;

/** Whether `account` holds an attribute of `typeId` that is valid at `now` (Jurisdiction._isValid). */
export function hasValidAttribute(jurisdiction: JurisdictionFacts, account: Address, typeId: bigint, now: bigint): boolean {
  return validAttribute(jurisdiction, account, typeId, now) !== undefined;
}

/** Whether `account` holds a valid flag attribute of `typeId` with value 1 (what the transfer rules count). */
export function hasFlag(jurisdiction: JurisdictionFacts, account: Address, typeId: bigint, now: bigint): boolean {
  return validAttribute(jurisdiction, account, typeId, now)?.value === FLAG_SET;
}

function validAttribute(
  jurisdiction: JurisdictionFacts,
  account: Address,
  typeId: bigint,
  now: bigint,
): AttributeRecord | undefined {
  const record = jurisdiction.attributes.get(addressKey(account))?.get(typeId);
  if (record === undefined || now >= record.expiresAt) return undefined;
  const approval = jurisdiction.approvals.get(typeId)?.get(addressKey(record.validator));
  return approval?.approved === true && approval.generation === record.generation ? record : undefined;
}

function incomplete(why: string, token: Address): never {
  throw new ProtocolError("COMPLIANCE_UNKNOWN", `the compliance mirror cannot decide: ${why}`, { token });
}

/**
 * The ERC-1404 code the token would return for moving `amount` from `from` to `to` at `now`
 * (`from` = zero is a mint, `to` = zero a burn). `holdings` replaces `balanceOf` in steps 4 and 10:
 * at layer two it counts the investor's channel balances too. Throws COMPLIANCE_UNKNOWN when the
 * token, its rules or their jurisdiction are not mirrored (fail closed).
 *
 * The token passes a custodian paying a controller or the treasury after step 4 (recovery); it asks
 * only when a rule fails, which gives the same code as skipping steps 5–10 for such a transfer.
 */
export function detectRestriction(
  facts: ComplianceFacts,
  token: Address,
  from: Address,
  to: Address,
  amount: bigint,
  now: bigint,
  holdings?: HoldingsOf,
): RestrictionCode {
  const tokenFacts = facts.tokens.get(addressKey(token)) ?? incomplete("token not tracked", token);
  const holdingsOf: HoldingsOf = holdings ?? ((account) => tokenFacts.balances.get(addressKey(account)) ?? 0n);
  const isMint = addressKey(from) === ZERO_KEY;
  const isBurn = addressKey(to) === ZERO_KEY;

  // Steps 1–4: the token's own state.
  if (tokenFacts.paused) return RESTRICTION_CODES.PAUSED;
  if (tokenFacts.frozen.has(addressKey(from))) return RESTRICTION_CODES.SENDER_FROZEN;
  if (tokenFacts.frozen.has(addressKey(to))) return RESTRICTION_CODES.RECEIVER_FROZEN;
  if (!isMint && holdingsOf(from) < amount) return RESTRICTION_CODES.INSUFFICIENT_BALANCE;

  // Steps 5–10: the rules contract and the registry it reads.
  if (tokenFacts.rules === null) incomplete("token's rules contract unknown", token);
  const rules = facts.rules.get(addressKey(tokenFacts.rules)) ?? incomplete("rules contract not tracked", token);
  const jurisdiction =
    facts.jurisdictions.get(addressKey(rules.jurisdiction)) ?? incomplete("jurisdiction not tracked", token);
  const flag = (account: Address, typeId: bigint): boolean => hasFlag(jurisdiction, account, typeId, now);
  const isEligible = (account: Address): boolean => flag(account, ATTRIBUTE_TYPES.KYC) && flag(account, ATTRIBUTE_TYPES.AML);
  const isRecoveryRecipient =
    !isBurn && (tokenFacts.controllers.has(addressKey(to)) || (tokenFacts.treasury !== null && addressKey(tokenFacts.treasury) === addressKey(to)));
  if (!isMint && isRecoveryRecipient && flag(from, ATTRIBUTE_TYPES.CUSTODIAN)) return RESTRICTION_CODES.SUCCESS;
  const toCustodian = !isBurn && flag(to, ATTRIBUTE_TYPES.CUSTODIAN);

  if (!isMint && !flag(from, ATTRIBUTE_TYPES.CUSTODIAN) && !isEligible(from)) return RESTRICTION_CODES.SENDER_NOT_ELIGIBLE;
  if (!isBurn && !toCustodian && !isEligible(to)) return RESTRICTION_CODES.RECEIVER_NOT_ELIGIBLE;
  // A deposit into a custodian (a channel) is no change of ownership, so it is allowed during a lock-up.
  if (!isMint && !toCustodian && now < (rules.lockups.get(addressKey(from)) ?? 0n)) return RESTRICTION_CODES.SENDER_LOCKED;
  if (isBurn || toCustodian) return RESTRICTION_CODES.SUCCESS;
  if (rules.accreditationRequired && !flag(to, ATTRIBUTE_TYPES.ACCREDITED)) return RESTRICTION_CODES.RECEIVER_NOT_ACCREDITED;
  const country = validAttribute(jurisdiction, to, ATTRIBUTE_TYPES.COUNTRY, now)?.value ?? 0n;
  if (rules.blockedCountries.has(country)) return RESTRICTION_CODES.RECEIVER_COUNTRY_BLOCKED;
  if (rules.maxBalance > 0n && holdingsOf(to) + amount > rules.maxBalance) return RESTRICTION_CODES.MAX_BALANCE_EXCEEDED;
  return RESTRICTION_CODES.SUCCESS;
}

/** Throws a ComplianceError (NON_COMPLIANT) unless `detectRestriction` returns SUCCESS. */
export function assertCompliant(
  facts: ComplianceFacts,
  token: Address,
  from: Address,
  to: Address,
  amount: bigint,
  now: bigint,
  holdings?: HoldingsOf,
): void {
  const code = detectRestriction(facts, token, from, to, amount, now, holdings);
  if (code !== RESTRICTION_CODES.SUCCESS) throw new ComplianceError(code, { token, from, to, amount });
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/**
 * A contract event that changes the facts; `emitter` is the contract that emitted it and
 * `position`, when known, where (decoded logs always have it).
 */
export type ComplianceEvent = { readonly position?: LogPosition } & (
  | { readonly name: "ValidatorApproved" | "ValidatorRemoved"; readonly emitter: Address; readonly typeId: bigint; readonly validator: Address; readonly generation: number }
  | {
      readonly name: "AttributeIssued";
      readonly emitter: Address;
      readonly account: Address;
      readonly typeId: bigint;
      readonly validator: Address;
      readonly value: bigint;
      readonly expiresAt: bigint;
      readonly generation: number;
    }
  | { readonly name: "AttributeRevoked"; readonly emitter: Address; readonly account: Address; readonly typeId: bigint }
  | { readonly name: "AccreditationRequirementChanged"; readonly emitter: Address; readonly required: boolean }
  | { readonly name: "CountryBlockChanged"; readonly emitter: Address; readonly country: bigint; readonly blocked: boolean }
  | { readonly name: "LockupChanged"; readonly emitter: Address; readonly holder: Address; readonly until: bigint }
  | { readonly name: "MaxBalanceChanged"; readonly emitter: Address; readonly maxBalance: bigint }
  | { readonly name: "Paused" | "Unpaused"; readonly emitter: Address }
  | { readonly name: "AddressFrozen" | "AddressUnfrozen"; readonly emitter: Address; readonly account: Address }
  | { readonly name: "RulesReplaced"; readonly emitter: Address; readonly newRules: Address }
  | { readonly name: "Transfer"; readonly emitter: Address; readonly from: Address; readonly to: Address; readonly value: bigint }
  | { readonly name: "RoleGranted" | "RoleRevoked"; readonly emitter: Address; readonly role: string; readonly account: Address }
  | { readonly name: "TreasuryChanged"; readonly emitter: Address; readonly newTreasury: Address }
);

/** The ABI of every event the mirror consumes, as the contracts declare them. */
export const COMPLIANCE_EVENTS_ABI = [
  "event ValidatorApproved(uint256 indexed typeId, address indexed validator, uint32 generation)",
  "event ValidatorRemoved(uint256 indexed typeId, address indexed validator, uint32 generation)",
  "event AttributeIssued(address indexed account, uint256 indexed typeId, address indexed validator, uint256 value, uint64 expiresAt, uint32 generation)",
  "event AttributeRevoked(address indexed account, uint256 indexed typeId, address indexed validator)",
  "event AccreditationRequirementChanged(bool required)",
  "event CountryBlockChanged(uint256 indexed country, bool blocked)",
  "event LockupChanged(address indexed holder, uint64 until)",
  "event MaxBalanceChanged(uint256 maxBalance)",
  "event Paused(address account)",
  "event Unpaused(address account)",
  "event AddressFrozen(address indexed account, address indexed issuer)",
  "event AddressUnfrozen(address indexed account, address indexed issuer)",
  "event RulesReplaced(address indexed previousRules, address indexed newRules)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
  "event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury)",
] as const;

const complianceInterface = new Interface(COMPLIANCE_EVENTS_ABI);

/** The topic0 of every consumed event, for a log filter. */
export const COMPLIANCE_EVENT_TOPICS: readonly string[] = complianceInterface.fragments.flatMap((fragment) =>
  fragment instanceof EventFragment ? [fragment.topicHash] : [],
);

/** A raw log as providers return it (ethers' `Log` fits). */
export interface RawLog {
  readonly address: Address;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: number | bigint;
  /** The log's index in its block. */
  readonly index: number;
}

/** Decodes a log into a ComplianceEvent; null for a log of any other event (or an anonymous one). */
export function decodeComplianceLog(log: RawLog): ComplianceEvent | null {
  let parsed;
  try {
    parsed = complianceInterface.parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    // Same topic, other shape: e.g. ERC-721's Transfer, whose third argument is indexed.
    return null;
  }
  if (parsed === null) return null;
  const event = eventOf(parsed, log.address);
  return event === null ? null : { ...event, position: { blockNumber: BigInt(log.blockNumber), logIndex: log.index } };
}

function eventOf(parsed: LogDescription, emitter: Address): ComplianceEvent | null {
  const a = parsed.args;
  switch (parsed.name) {
    case "ValidatorApproved":
    case "ValidatorRemoved":
      return { name: parsed.name, emitter, typeId: a.getValue("typeId"), validator: a.getValue("validator"), generation: Number(a.getValue("generation")) };
    case "AttributeIssued":
      return {
        name: "AttributeIssued",
        emitter,
        account: a.getValue("account"),
        typeId: a.getValue("typeId"),
        validator: a.getValue("validator"),
        value: a.getValue("value"),
        expiresAt: a.getValue("expiresAt"),
        generation: Number(a.getValue("generation")),
      };
    case "AttributeRevoked":
      return { name: "AttributeRevoked", emitter, account: a.getValue("account"), typeId: a.getValue("typeId") };
    case "AccreditationRequirementChanged":
      return { name: "AccreditationRequirementChanged", emitter, required: a.getValue("required") };
    case "CountryBlockChanged":
      return { name: "CountryBlockChanged", emitter, country: a.getValue("country"), blocked: a.getValue("blocked") };
    case "LockupChanged":
      return { name: "LockupChanged", emitter, holder: a.getValue("holder"), until: a.getValue("until") };
    case "MaxBalanceChanged":
      return { name: "MaxBalanceChanged", emitter, maxBalance: a.getValue("maxBalance") };
    case "Paused":
    case "Unpaused":
      return { name: parsed.name, emitter };
    case "AddressFrozen":
    case "AddressUnfrozen":
      return { name: parsed.name, emitter, account: a.getValue("account") };
    case "RulesReplaced":
      return { name: "RulesReplaced", emitter, newRules: a.getValue("newRules") };
    case "Transfer":
      return { name: "Transfer", emitter, from: a.getValue("from"), to: a.getValue("to"), value: a.getValue("value") };
    case "RoleGranted":
    case "RoleRevoked":
      return { name: parsed.name, emitter, role: a.getValue("role"), account: a.getValue("account") };
    case "TreasuryChanged":
      return { name: "TreasuryChanged", emitter, newTreasury: a.getValue("newTreasury") };
    default:
      return null;
  }
}

/**
 * Copy-on-write over one batch: the first write to a map copies it (and its parents), later writes
 * in the same batch mutate that private copy. Nothing reachable from the input facts is mutated.
 */
class FactsDraft {
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

function applyTo(draft: FactsDraft, event: ComplianceEvent): void {
  switch (event.name) {
    case "ValidatorApproved":
    case "ValidatorRemoved": {
      const jurisdiction = draft.jurisdiction(event.emitter);
      if (jurisdiction === undefined) return;
      const { outer, inner } = draft.innerMap(jurisdiction.approvals, event.typeId);
      inner.set(addressKey(event.validator), { approved: event.name === "ValidatorApproved", generation: event.generation });
      jurisdiction.approvals = outer;
      return;
    }
    case "AttributeIssued":
    case "AttributeRevoked": {
      const jurisdiction = draft.jurisdiction(event.emitter);
      if (jurisdiction === undefined) return;
      const { outer, inner } = draft.innerMap(jurisdiction.attributes, addressKey(event.account));
      if (event.name === "AttributeIssued") {
        const { value, expiresAt, validator, generation } = event;
        inner.set(event.typeId, { value, expiresAt, validator, generation });
      } else {
        inner.delete(event.typeId);
      }
      jurisdiction.attributes = outer;
      return;
    }
    case "AccreditationRequirementChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules !== undefined) rules.accreditationRequired = event.required;
      return;
    }
    case "CountryBlockChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules === undefined) return;
      const blocked = draft.set(rules.blockedCountries);
      if (event.blocked) blocked.add(event.country);
      else blocked.delete(event.country);
      rules.blockedCountries = blocked;
      return;
    }
    case "LockupChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules === undefined) return;
      const lockups = draft.map(rules.lockups);
      if (event.until === 0n) lockups.delete(addressKey(event.holder));
      else lockups.set(addressKey(event.holder), event.until);
      rules.lockups = lockups;
      return;
    }
    case "MaxBalanceChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules !== undefined) rules.maxBalance = event.maxBalance;
      return;
    }
    case "Paused":
    case "Unpaused": {
      const token = draft.token(event.emitter);
      if (token !== undefined) token.paused = event.name === "Paused";
      return;
    }
    case "AddressFrozen":
    case "AddressUnfrozen": {
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const frozen = draft.set(token.frozen);
      if (event.name === "AddressFrozen") frozen.add(addressKey(event.account));
      else frozen.delete(addressKey(event.account));
      token.frozen = frozen;
      return;
    }
    case "RulesReplaced": {
      const token = draft.token(event.emitter);
      if (token !== undefined) token.rules = event.newRules;
      return;
    }
    case "Transfer": {
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const balances = draft.map(token.balances);
      const move = (account: Address, delta: bigint): void => {
        const key = addressKey(account);
        if (key === ZERO_KEY) return;
        const balance = (balances.get(key) ?? 0n) + delta;
        if (balance === 0n) balances.delete(key);
        else balances.set(key, balance);
      };
      move(event.from, -event.value);
      move(event.to, event.value);
      token.balances = balances;
      return;
    }
    case "RoleGranted":
    case "RoleRevoked": {
      // Only a tracked token's controllers matter; other roles and other contracts' roles are ignored.
      if (event.role.toLowerCase() !== CONTROLLER_ROLE) return;
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const controllers = draft.set(token.controllers);
      if (event.name === "RoleGranted") controllers.add(addressKey(event.account));
      else controllers.delete(addressKey(event.account));
      token.controllers = controllers;
      return;
    }
    case "TreasuryChanged": {
      const token = draft.token(event.emitter);
      if (token !== undefined) token.treasury = addressKey(event.newTreasury) === ZERO_KEY ? null : event.newTreasury;
      return;
    }
  }
}

function isAfter(position: LogPosition, cursor: LogPosition): boolean {
  return position.blockNumber > cursor.blockNumber || (position.blockNumber === cursor.blockNumber && position.logIndex > cursor.logIndex);
}

/**
 * Applies events in chain order and returns the new facts. Events of contracts that are not
 * tracked are ignored; events at or before the facts' cursor were applied already and are skipped
 * (a watcher that re-reads a block after a restart changes nothing). The input is never modified.
 */
export function applyEvents(facts: ComplianceFacts, events: Iterable<ComplianceEvent>): ComplianceFacts {
  const draft = new FactsDraft(facts);
  let cursor = facts.cursor;
  for (const event of events) {
    if (event.position !== undefined) {
      if (cursor !== null && !isAfter(event.position, cursor)) continue;
      cursor = event.position;
    }
    applyTo(draft, event);
  }
  return draft.result(cursor);
}

/** `applyEvents` for a single event. */
export function applyEvent(facts: ComplianceFacts, event: ComplianceEvent): ComplianceFacts {
  return applyEvents(facts, [event]);
}
