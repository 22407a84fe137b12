// Why the venue refuses an order, a cancel or a proof request (docs/trading.md, "At the node"): the
// core's TradingError codes plus the node's own. Each is answered `order_refused` with its code, and
// a compliance refusal carries the ERC-1404 rule.
import { CodedError, isCodedError } from "../../../client/protocol/coded-error.js";
import { ProtocolError } from "../../../client/protocol/errors.js";
import { isTradingError } from "../../../client/protocol/trading/errors.js";

export const DESK_REFUSAL_CODES = [
  /** The node has no trading configured. */
  "TRADING_DISABLED",
  /** The order or cancel is signed for another investor than the session's. */
  "NOT_YOUR_ORDER",
  /** The order's nonce does not exceed the investor's last accepted one. */
  "STALE_NONCE",
  /** The investor has `maxRestingOrdersPerInvestor` orders resting. */
  "TOO_MANY_ORDERS",
  /** The investor sent orders and cancels faster than `orderRate` allows. */
  "ORDER_RATE_LIMITED",
  /** The investor asked for reads (proofs, entries, checkpoints, book depth, its own trading) faster than `readRate` allows (handler.ts). */
  "READ_RATE_LIMITED",
  /** The investor's channels do not hold what the order commits, beyond what is already reserved. */
  "INSUFFICIENT_FUNDS",
  /** The movement the order could cause breaks a transfer rule for this investor (`restriction` names it). */
  "NOT_COMPLIANT",
  /** The order does not rest (any more): nothing to cancel. */
  "NOT_RESTING",
  /** An IOC order at a venue whose fills come from an external matching engine, which fills resting orders only. */
  "IOC_NOT_SUPPORTED",
] as const;
export type DeskRefusalCode = (typeof DESK_REFUSAL_CODES)[number];

export interface Restriction {
  readonly code: number;
  readonly rule: string;
  readonly message: string;
}

/** A refusal of the desk; its message is sent to the investor as is (no code suffix: the code travels in its own field). */
export class DeskRefusal<C extends DeskRefusalCode = DeskRefusalCode> extends CodedError<C, { readonly restriction?: Restriction }> {
  override readonly name: string = "DeskRefusal";
  constructor(
    code: C,
    message: string,
    readonly restriction?: Restriction,
  ) {
    super(code, message, restriction === undefined ? {} : { restriction }, { codeSuffix: false });
  }
}

/** Whether `error` is a DeskRefusal, optionally of a given code. */
export function isDeskRefusal<C extends DeskRefusalCode>(error: unknown, code?: C): error is DeskRefusal<C> {
  return isCodedError(error, DeskRefusal, code);
}

/** The code, message and rule to answer for `error`: a refusal of the desk or of the core; anything else is a bug. */
export function refusalOf(error: unknown): { code: string; message: string; restriction?: Restriction } {
  if (isDeskRefusal(error)) return error.restriction ? { code: error.code, message: error.shortMessage, restriction: error.restriction } : { code: error.code, message: error.shortMessage };
  if (isTradingError(error)) return { code: error.code, message: error.shortMessage };
  // The chain's time and compliance facts: COMPLIANCE_UNKNOWN while the node's view of the chain is stale.
  if (error instanceof ProtocolError) return { code: error.code, message: error.message };
  throw error;
}
