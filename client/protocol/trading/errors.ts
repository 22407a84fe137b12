/**
 * Typed errors of the trading core (docs/trading.md). Every rejection is a `TradingError` with a
 * stable, machine-readable `code`, in the style of the channel core's `ProtocolError`; a rejected
 * input changes nothing (every function here is pure).
 */
import { CodedError, isCodedError, type ErrorDetails } from "../coded-error.js";

export const TRADING_ERROR_CODES = [
  /** The input does not have the expected shape (JSON, hex lengths, addresses, encodings). */
  "MALFORMED",
  /** A number is outside its type (uint64 times and nonces, uint128 amounts) or its bound. */
  "OUT_OF_RANGE",
  /** An order is inconsistent: zero quantity or price, quantity not a whole number of lots, IOC with an expiry. */
  "INVALID_ORDER",
  /** An order, cancel or entry belongs to another market (security, cash or lot size). */
  "WRONG_MARKET",
  /** The order expired at or before the time it is presented. */
  "EXPIRED",
  /** A signature is malformed or not the expected signer's. */
  "BAD_SIGNATURE",
  /** The book already holds its maximum number of resting orders. */
  "BOOK_FULL",
  /** A sequence number or time does not follow the previous one (log entries, book events). */
  "OUT_OF_ORDER",
  /** A cancel names an order the log does not hold, or one of another investor. */
  "UNKNOWN_ORDER",
  /** An inclusion or consistency proof request is outside the tree (index ≥ size, sizes out of order). */
  "BAD_PROOF_REQUEST",
  /** Replaying a log did not reproduce its fills. */
  "REPLAY_MISMATCH",
  /** A venue's lock pair is not exactly the legs of the fill it names (asset, direction, amount, price), or the fill is not within our order. */
  "FILL_MISMATCH",
  /** A venue's lock pair names a fill we already agreed a pair for. */
  "FILL_CHARGED",
] as const;

export type TradingErrorCode = (typeof TRADING_ERROR_CODES)[number];

export type TradingErrorDetails = ErrorDetails;

export class TradingError<C extends TradingErrorCode = TradingErrorCode> extends CodedError<C> {
  override readonly name: string = "TradingError";
}

/** Whether `error` is a TradingError, optionally of a given code. */
export function isTradingError<C extends TradingErrorCode>(error: unknown, code?: C): error is TradingError<C> {
  return isCodedError(error, TradingError, code);
}
