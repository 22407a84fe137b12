// The node's check of an external engine's fill before it is logged (docs/trading.md, "External
// matching engine"): what the two investors signed — two orders of one market, opposite sides,
// both resting (not cancelled, expired or filled), a whole number of lots within what is open of
// each, a price within both limits — and the compliance of the movement seller → buyer. It does
// not check priority: that is the audit's (audit-external.ts). Only reads: a refusal changes nothing.
import { detectRestriction, isTrackedToken, type ComplianceFacts } from "../../../../client/protocol/compliance/index.js";
import { RESTRICTION_CODES, messageFor, restrictionOf } from "../../../../client/protocol/restriction-codes.js";
import type { FillEntry } from "../../../../client/protocol/trading/log-entry.js";
import type { Order } from "../../../../client/protocol/trading/order.js";
import type { Address } from "../../../../client/protocol/types.js";
import type { OrderBooks } from "../books.js";
import { EngineRefusal } from "./errors.js";

export interface FillSubmission {
  readonly makerSequence: bigint;
  readonly takerSequence: bigint;
  /** Security raw units, a whole number of lots. */
  readonly quantity: bigint;
  /** Cash raw units per lot. */
  readonly price: bigint;
}

export interface FillCheckContext {
  readonly books: OrderBooks;
  readonly facts: ComplianceFacts;
  /** Unix seconds (the chain's time). */
  readonly now: bigint;
  readonly holdingsOf: (investor: Address, token: Address) => bigint;
}

/** The fill entry to log for `submission` (sequence: the log's next), or the refusal. */
export function checkFill(ctx: FillCheckContext, submission: FillSubmission): FillEntry {
  const { books } = ctx;
  const { makerSequence, takerSequence, quantity, price } = submission;
  const maker = books.orderBySequence(makerSequence)?.signed.order;
  const taker = books.orderBySequence(takerSequence)?.signed.order;
  if (maker === undefined || taker === undefined) throw new EngineRefusal("UNKNOWN_ORDER", `no order entry at ${maker === undefined ? makerSequence : takerSequence}`);
  if (makerSequence >= takerSequence) throw new EngineRefusal("MAKER_NOT_EARLIER", `the maker ${makerSequence} is not earlier than the taker ${takerSequence}`);
  if (maker.security !== taker.security || maker.cash !== taker.cash) throw new EngineRefusal("WRONG_MARKET", `orders ${makerSequence} and ${takerSequence} are of different markets`);
  if (maker.side === taker.side) throw new EngineRefusal("SAME_SIDE", `orders ${makerSequence} and ${takerSequence} are both ${maker.side}s`);
  for (const [sequence, order] of [[makerSequence, maker], [takerSequence, taker]] as const) openOf(ctx, sequence, order);
  if (quantity <= 0n || quantity % maker.lotSize !== 0n) throw new EngineRefusal("BAD_QUANTITY", `${quantity} is not a positive number of lots of ${maker.lotSize}`);
  const open = books.remainingOf(makerSequence) < books.remainingOf(takerSequence) ? books.remainingOf(makerSequence) : books.remainingOf(takerSequence);
  if (quantity > open) throw new EngineRefusal("QUANTITY_ABOVE_REMAINING", `${quantity} exceeds ${open}, what is open of the two orders`);
  const [buyer, seller] = taker.side === "buy" ? [taker, maker] : [maker, taker];
  if (price <= 0n || price > buyer.price || price < seller.price) {
    throw new EngineRefusal("PRICE_OUTSIDE_LIMIT", `price ${price} is outside the limits: buy at most ${buyer.price}, sell at least ${seller.price}`);
  }
  checkMovement(ctx, buyer, seller, quantity);
  return { kind: "fill", sequence: books.nextSequence, makerSequence, takerSequence, quantity, price };
}

/** Refuses an order that does not rest now, saying why. */
function openOf(ctx: FillCheckContext, sequence: bigint, order: Order): void {
  if (order.expiresAt !== 0n && order.expiresAt <= ctx.now) throw new EngineRefusal("ORDER_EXPIRED", `order ${sequence} expired at ${order.expiresAt}`);
  if (ctx.books.isResting(sequence)) return;
  const end = ctx.books.endOf(sequence);
  if (end === "cancelled") throw new EngineRefusal("ORDER_CANCELLED", `order ${sequence} was cancelled`);
  if (end === "expired") throw new EngineRefusal("ORDER_EXPIRED", `order ${sequence} expired at ${order.expiresAt}`);
  throw new EngineRefusal("ORDER_FILLED", `order ${sequence} has nothing left open`);
}

/** The security from the seller to the buyer, the buyer's holdings counting its unsettled fills (a mirror that cannot judge throws COMPLIANCE_UNKNOWN). */
function checkMovement(ctx: FillCheckContext, buyer: Order, seller: Order, quantity: bigint): void {
  if (!isTrackedToken(ctx.facts, buyer.security)) return;
  const holdings = (account: Address): bigint =>
    ctx.holdingsOf(account, buyer.security) + (account === buyer.investor ? ctx.books.incoming.of(account, buyer.security) : 0n);
  const code = detectRestriction(ctx.facts, buyer.security, seller.investor, buyer.investor, quantity, ctx.now, holdings);
  if (code === RESTRICTION_CODES.SUCCESS) return;
  const rule = restrictionOf(code)?.name ?? "UNKNOWN";
  throw new EngineRefusal("NOT_COMPLIANT", `the movement ${seller.investor} → ${buyer.investor} breaks ${rule}`, { code, rule, message: messageFor(code) });
}
