/**
 * The compliance mirror's facts: what it knows of three kinds of contract, each keyed by its address.
 * - `Jurisdiction`: validator approvals `(approved, generation)` per type and attribute records
 *   `(value, expiresAt, validator, generation)` per account and type;
 * - `TransferRules`: the jurisdiction it reads, accreditation required, blocked countries,
 *   lock-ups, maximum balance;
 * - `RestrictedToken`: its rules contract, paused, frozen accounts, balances, controllers and the
 *   recovery treasury.
 *
 * Maps are keyed by `addressKey(address)` (lowercase), so a caller's address casing can never make a
 * lookup miss (a missed frozen entry would fail open). Facts are immutable: whatever changes them
 * returns new facts and shares everything it did not touch. The maps and sets this protocol core
 * builds are persistent (`persistent-map.ts`), so that sharing reaches inside a map of 100,000
 * holders; readers see only `ReadonlyMap` / `ReadonlySet`, and facts built with plain `Map`s work
 * too (the first update converts what it touches).
 */
import { ZeroAddress, id } from "ethers";
import type { Address } from "../types.js";
import { PersistentMap } from "./persistent-map.js";

/** `RestrictedToken.CONTROLLER_ROLE`. */
export const CONTROLLER_ROLE = id("CONTROLLER_ROLE");

/** The key of an address in every facts map. */
export function addressKey(address: Address): string {
  return address.toLowerCase();
}

/** The key of the zero address: the other side of a mint or a burn. */
export const ZERO_KEY = addressKey(ZeroAddress);

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
  return { jurisdictions: PersistentMap.empty(), rules: PersistentMap.empty(), tokens: PersistentMap.empty(), cursor: null };
}

/** Whether `position` comes after `cursor` in chain order. */
export function isAfter(position: LogPosition, cursor: LogPosition): boolean {
  return position.blockNumber > cursor.blockNumber || (position.blockNumber === cursor.blockNumber && position.logIndex > cursor.logIndex);
}

export function isTrackedToken(facts: ComplianceFacts, token: Address): boolean {
  return facts.tokens.has(addressKey(token));
}

/** `token.balanceOf(account)` as mirrored from Transfer events (0 for an untracked token). */
export function onChainBalanceOf(facts: ComplianceFacts, token: Address, account: Address): bigint {
  return facts.tokens.get(addressKey(token))?.balances.get(addressKey(account)) ?? 0n;
}
