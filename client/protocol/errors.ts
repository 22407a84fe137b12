/**
 * Typed errors of the protocol core. Every rejection is a `ProtocolError` with a stable,
 * machine-readable `code` (in the style of ethers v6's `makeError`/`isError`); a compliance
 * rejection is a `ComplianceError` that also carries the ERC-1404 code, its name and message.
 * `rejectionOf` turns any of them into the plain data a peer receives.
 */
import { CodedError, isCodedError, type ErrorDetails } from "./coded-error.js";
import { messageFor, restrictionOf, type RestrictionName } from "./restriction-codes.js";

export const PROTOCOL_ERROR_CODES = [
  /** The input does not have the expected shape (JSON, hex lengths, addresses, field types). */
  "MALFORMED",
  /** A number is outside its Solidity type (int128 net, uint128 amounts, uint64 nonce/expiry). */
  "OUT_OF_RANGE",
  /** Channel parameters the adjudicator would refuse (participants, assets, challenge period). */
  "INVALID_PARAMS",
  /** The state belongs to another channel. */
  "WRONG_CHANNEL",
  /** The state or channel is bound to another chain id or adjudicator. */
  "WRONG_CHAIN",
  /** The nonce is not the successor of the latest agreed one. */
  "BAD_NONCE",
  /** A signature is missing, malformed, high-s, or not the expected participant's. */
  "BAD_SIGNATURE",
  /** The latest state is final: nothing may follow it. */
  "FINAL_STATE",
  /** The allocations do not name the channel's assets in order. */
  "ASSET_MISMATCH",
  /** A participant's balance of an asset would be negative given the confirmed deposits. */
  "INSUFFICIENT_BALANCE",
  /** A cumulative withdrawal decreased. */
  "WITHDRAWAL_DECREASED",
  /** A removed lock's amount does not go exactly to its receiver or back to its sender. */
  "CONSERVATION",
  /** More than MAX_LOCKS locks. */
  "LOCK_LIMIT",
  /** A lock is malformed: asset or sender out of range, zero amount, expired, duplicate hashlock. */
  "BAD_LOCK",
  /** An update refers to a lock the state does not have. */
  "UNKNOWN_LOCK",
  /** The secret offered does not hash to the lock's hashlock. */
  "BAD_SECRET",
  /** The lock expired before its secret was revealed: it can only go back to its sender. */
  "LOCK_EXPIRED",
  /** The lock can still be claimed by its receiver (not expired, or revealed in time). */
  "LOCK_ACTIVE",
  /** A final state is proposed while locks are outstanding. */
  "LOCKS_OUTSTANDING",
  /** The change is not one of the update kinds, or the update's own fields are inconsistent. */
  "INVALID_UPDATE",
  /** A restricted-token movement the token's transfer rules would refuse now. */
  "NON_COMPLIANT",
  /** The compliance mirror lacks the facts to decide (token, rules or registry not mirrored): fail closed. */
  "COMPLIANCE_UNKNOWN",
  /** A proposal of ours is still unanswered. */
  "BUSY",
  /** Both sides proposed the same nonce at once and ours takes precedence. */
  "CONFLICT",
] as const;

export type ProtocolErrorCode = (typeof PROTOCOL_ERROR_CODES)[number];

export type { ErrorDetails };

export class ProtocolError<C extends ProtocolErrorCode = ProtocolErrorCode> extends CodedError<C> {
  override readonly name: string = "ProtocolError";
}

/** Facts about the movement a compliance rejection refers to. */
export interface RestrictedMovement {
  readonly token: string;
  readonly from: string;
  readonly to: string;
  readonly amount: bigint;
}

/** A movement of a restricted token that the token's transfer rules would refuse. */
export class ComplianceError extends ProtocolError<"NON_COMPLIANT"> {
  override readonly name: string = "ComplianceError";
  /** The ERC-1404 restriction code (never 0). */
  readonly restrictionCode: number;
  /** The rule that refused, as named in the code table. */
  readonly rule: RestrictionName | "UNKNOWN";
  /** `messageForTransferRestriction(restrictionCode)`. */
  readonly restrictionMessage: string;
  readonly movement: RestrictedMovement;

  constructor(restrictionCode: number, movement: RestrictedMovement) {
    const restrictionMessage = messageFor(restrictionCode);
    super("NON_COMPLIANT", restrictionMessage, {
      restrictionCode,
      token: movement.token,
      from: movement.from,
      to: movement.to,
      amount: movement.amount,
    });
    this.restrictionCode = restrictionCode;
    this.rule = restrictionOf(restrictionCode)?.name ?? "UNKNOWN";
    this.restrictionMessage = restrictionMessage;
    this.movement = movement;
  }
}

type ErrorFor<C extends ProtocolErrorCode> = C extends "NON_COMPLIANT" ? ComplianceError : ProtocolError<C>;

/** Whether `error` is a ProtocolError, optionally of a given code (narrowing to its class). */
export function isProtocolError<C extends ProtocolErrorCode>(error: unknown, code?: C): error is ErrorFor<C> {
  return isCodedError(error, ProtocolError, code);
}

/** What a peer receives when its update is rejected: JSON-safe, nothing else changes. */
export interface Rejection {
  readonly code: ProtocolErrorCode;
  readonly message: string;
  /** Present for NON_COMPLIANT: the ERC-1404 code, the rule's name and message. */
  readonly restriction?: { readonly code: number; readonly rule: string; readonly message: string };
}

/** The wire form of a rejection; anything that is not a ProtocolError is re-thrown (a bug, not a verdict). */
export function rejectionOf(error: unknown): Rejection {
  if (error instanceof ComplianceError) {
    return {
      code: error.code,
      message: error.shortMessage,
      restriction: { code: error.restrictionCode, rule: error.rule, message: error.restrictionMessage },
    };
  }
  if (error instanceof ProtocolError) return { code: error.code, message: error.shortMessage };
  throw error;
}
