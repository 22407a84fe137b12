/**
 * Typed errors of the channel store, in the style of client/protocol/errors.ts: every refusal is a
 * `StoreError` with a stable, machine-readable `code`. A refused write changes nothing.
 */
import { CodedError, isCodedError, type ErrorDetails } from "../protocol/coded-error.js";

export const STORE_ERROR_CODES = [
  /** The channel id is not in the store. */
  "UNKNOWN_CHANNEL",
  /** `channelCreated` for a channel id the store already holds. */
  "DUPLICATE_CHANNEL",
  /** The state names another channel than the one it is stored under. */
  "WRONG_CHANNEL",
  /** The state's nonce is not above the latest agreed one (it would rewrite or reorder history). */
  "STALE_STATE",
  /** `stateAgreed` with a signature missing: only fully signed states are agreed. */
  "NOT_AGREED",
  /** The event does not fit the channel's status (e.g. a deposit into a concluded channel). */
  "INVALID_TRANSITION",
  /** An argument is malformed or out of range (asset index, block number, JSON, parameters…). */
  "INVALID_ARGUMENT",
  /** Stored data cannot be decoded (or was written by an unknown schema version). */
  "CORRUPT",
  /** A write to disk failed; the store refuses further writes (restart and reopen). */
  "WRITE_FAILED",
  /** The store is closed. */
  "CLOSED",
  /** The store belongs to another chain (chain id, adjudicator or genesis block) than the one it is used with. */
  "WRONG_CHAIN",
  /** The database holds a newer schema than this version of the store knows (upgrade the node, never downgrade). */
  "SCHEMA_TOO_NEW",
  /** The database cannot be reached or refused the query (a read, or opening the store); nothing was written. */
  "UNAVAILABLE",
  /** This instance no longer holds the database's leader lease (deposed or paused past it): it writes nothing more. */
  "FENCED",
] as const;

export type StoreErrorCode = (typeof STORE_ERROR_CODES)[number];

/** Context that explains a refusal; bigints are kept as bigints. */
export type StoreErrorDetails = ErrorDetails;

export class StoreError<C extends StoreErrorCode = StoreErrorCode> extends CodedError<C> {
  override readonly name: string = "StoreError";
}

/** Whether `error` is a StoreError, optionally of a given code. */
export function isStoreError<C extends StoreErrorCode>(error: unknown, code?: C): error is StoreError<C> {
  return isCodedError(error, StoreError, code);
}
