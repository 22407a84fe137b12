// Why the node refuses an external matching engine's fill or message (docs/trading.md, "External
// matching engine"). Each is answered with its stable code; a compliance refusal names the ERC-1404
// rule. A refused fill changes nothing.
import { CodedError, isCodedError } from "../../../../client/protocol/coded-error.js";
import type { Restriction } from "../errors.js";

export const ENGINE_REFUSAL_CODES = [
  /** The maker or the taker is not an order entry of the log. */
  "UNKNOWN_ORDER",
  /** The maker's sequence number is not below the taker's: the maker is the order that rested first. */
  "MAKER_NOT_EARLIER",
  /** The two orders are of different markets. */
  "WRONG_MARKET",
  /** Both orders are buys, or both sells. */
  "SAME_SIDE",
  /** An order was cancelled (by its investor or by the venue). */
  "ORDER_CANCELLED",
  /** An order's expiry has come (chain time). */
  "ORDER_EXPIRED",
  /** An order has nothing left open: filled already (or an IOC dropped). */
  "ORDER_FILLED",
  /** The quantity is not a positive whole number of lots. */
  "BAD_QUANTITY",
  /** The quantity exceeds what is open of the maker or the taker. */
  "QUANTITY_ABOVE_REMAINING",
  /** The price is not positive, above the buy's limit or below the sell's. */
  "PRICE_OUTSIDE_LIMIT",
  /** The movement seller → buyer breaks a transfer rule (`restriction` names it). */
  "NOT_COMPLIANT",
  /** More fills per second than `engine.fillRate` allows. */
  "FILL_RATE_LIMITED",
  /** A message that is not JSON or not of the engine protocol's shape. */
  "MALFORMED",
  /** A subscription from beyond the end of the log. */
  "BEYOND_LOG",
] as const;
export type EngineRefusalCode = (typeof ENGINE_REFUSAL_CODES)[number];

/** A refusal of an engine's fill or message; its message is sent to the engine as is (no code suffix: the code travels in its own field). */
export class EngineRefusal<C extends EngineRefusalCode = EngineRefusalCode> extends CodedError<C, { readonly restriction?: Restriction }> {
  override readonly name: string = "EngineRefusal";
  constructor(
    code: C,
    message: string,
    readonly restriction?: Restriction,
  ) {
    super(code, message, restriction === undefined ? {} : { restriction }, { codeSuffix: false });
  }
}

/** Whether `error` is an EngineRefusal, optionally of a given code. */
export function isEngineRefusal<C extends EngineRefusalCode>(error: unknown, code?: C): error is EngineRefusal<C> {
  return isCodedError(error, EngineRefusal, code);
}
