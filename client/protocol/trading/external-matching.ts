/**
 * The book of a venue whose fills come from an external matching engine (docs/trading.md, "External
 * matching engine"): an order does not trade on arrival — it rests, even where it crosses the other
 * side — and each fill the engine submits is its own log entry, later, taking its quantity from two
 * resting orders: the maker (the earlier order) and the taker (the later one). Pure.
 */
import { TradingError } from "./errors.js";
import { advanceTime, findOrder, reduce, rest, type Book, type RestingOrder } from "./book.js";
import type { Outcome, Removal } from "./matching.js";
import type { FillEntry, OrderEntry } from "./log-entry.js";
import { orderEventOf, type OrderLookup } from "./replay.js";

/**
 * The book after `entry` arrives: expired orders leave, a GTC order rests whole, an IOC order is
 * dropped (an engine fills only resting orders). OUT_OF_ORDER, EXPIRED and WRONG_MARKET as in matching.
 */
export function restOrder(book: Book, entry: OrderEntry): Outcome {
  const event = orderEventOf(entry, book.market);
  if (event.sequence <= book.lastSequence) {
    throw new TradingError("OUT_OF_ORDER", `sequence ${event.sequence} does not follow ${book.lastSequence}`, { sequence: event.sequence });
  }
  if (event.expiresAt !== 0n && event.expiresAt <= event.time) {
    throw new TradingError("EXPIRED", `order ${event.sequence} expired at ${event.expiresAt}`, { sequence: event.sequence, expiresAt: event.expiresAt });
  }
  const advanced = advanceTime(book, event.time);
  const removed: Removal[] = advanced.expired.map((o) => ({ sequence: o.sequence, reason: "expired", remaining: o.remaining }));
  const next: Book = { ...advanced.book, lastSequence: event.sequence };
  if (event.timeInForce === "IOC") {
    removed.push({ sequence: event.sequence, reason: "unfilled", remaining: event.quantity });
    return { book: next, fills: [], removed, rested: undefined };
  }
  const rested: RestingOrder = { sequence: event.sequence, side: event.side, price: event.price, remaining: event.quantity, expiresAt: event.expiresAt };
  return { book: rest(next, rested), fills: [], removed, rested };
}

/** The resting order of a logged order's sequence number in `book`, if it rests. */
export function restingOf(book: Book, lookup: OrderLookup, sequence: bigint): RestingOrder | undefined {
  const order = lookup(sequence)?.signed.order;
  return order === undefined ? undefined : findOrder(book, order.side, order.price, sequence);
}

/**
 * The book after an engine's fill: both orders lose its quantity (and leave the book at 0).
 * UNKNOWN_ORDER unless both rest; FILL_MISMATCH for a quantity beyond either's open quantity.
 * The terms (sides, limits, lots) are the node's check before it logs the fill.
 */
export function applyExternalFill(book: Book, fill: FillEntry, lookup: OrderLookup): Book {
  const maker = restingOf(book, lookup, fill.makerSequence);
  const taker = restingOf(book, lookup, fill.takerSequence);
  if (maker === undefined || taker === undefined) {
    throw new TradingError("UNKNOWN_ORDER", `fill ${fill.sequence}: order ${maker === undefined ? fill.makerSequence : fill.takerSequence} does not rest`, { sequence: fill.sequence });
  }
  if (fill.quantity <= 0n || fill.quantity > maker.remaining || fill.quantity > taker.remaining) {
    throw new TradingError("FILL_MISMATCH", `fill ${fill.sequence} of ${fill.quantity} exceeds what its orders have open`, { sequence: fill.sequence });
  }
  const afterMaker = reduce(book, maker.side, maker.price, maker.sequence, maker.remaining - fill.quantity).book;
  return reduce(afterMaker, taker.side, taker.price, taker.sequence, taker.remaining - fill.quantity).book;
}
