/**
 * Matching as a pure function: (book, event) → (new book, fills). An incoming order first trades
 * with the resting orders it crosses — best price first, first in, first out by sequence number
 * within a price, each fill at the resting (maker) order's price — then a GTC remainder rests and
 * an IOC remainder is dropped. Before any event the book's clock moves to the event's time and
 * every order whose expiry has come is removed, so expiry depends only on the times in the log.
 */
import { TradingError } from "./errors.js";
import { advanceTime, opposite, remove, rest, takeBest, type Book, type RestingOrder } from "./book.js";
import type { Side, TimeInForce } from "./order.js";

/** An accepted order, as the book sees it (the market is the book's; see replay.ts for log entries). */
export interface OrderEvent {
  readonly kind: "order";
  readonly sequence: bigint;
  readonly time: bigint;
  readonly side: Side;
  readonly price: bigint;
  readonly quantity: bigint;
  readonly timeInForce: TimeInForce;
  readonly expiresAt: bigint;
}

/** An accepted cancel of the order `target` (its sequence number, side and price locate it). */
export interface CancelEvent {
  readonly kind: "cancel";
  readonly sequence: bigint;
  readonly time: bigint;
  readonly target: { readonly sequence: bigint; readonly side: Side; readonly price: bigint };
}

/** Time passes: orders that expire by `time` leave the book. */
export interface TimeEvent {
  readonly kind: "time";
  readonly time: bigint;
}

export type BookEvent = OrderEvent | CancelEvent | TimeEvent;

export interface Fill {
  /** The resting order. */
  readonly makerSequence: bigint;
  /** The incoming order. */
  readonly takerSequence: bigint;
  /** Security raw units. */
  readonly quantity: bigint;
  /** The maker's price: cash raw units per lot. */
  readonly price: bigint;
}

export type RemovalReason = "cancelled" | "expired" | "unfilled";

/** An order that left the book, or never rested, without trading its `remaining` quantity. */
export interface Removal {
  readonly sequence: bigint;
  readonly reason: RemovalReason;
  readonly remaining: bigint;
}

export interface Outcome {
  readonly book: Book;
  readonly fills: readonly Fill[];
  readonly removed: readonly Removal[];
  /** The incoming order's remainder, when it now rests. */
  readonly rested: RestingOrder | undefined;
}

function checkOrderEvent(book: Book, event: OrderEvent): void {
  const invalid = (why: string): never => {
    throw new TradingError("INVALID_ORDER", why, { sequence: event.sequence });
  };
  const { lotSize } = book.market;
  if (event.quantity <= 0n || event.quantity % lotSize !== 0n) invalid(`quantity ${event.quantity} is not a positive number of lots of ${lotSize}`);
  if (event.price <= 0n) invalid("price is not positive");
  if (event.timeInForce === "IOC" && event.expiresAt !== 0n) invalid("an IOC order has no expiry");
  if (event.expiresAt < 0n) invalid("expiry is negative");
  if (event.expiresAt !== 0n && event.expiresAt <= event.time) {
    throw new TradingError("EXPIRED", `order ${event.sequence} expired at ${event.expiresAt}`, { sequence: event.sequence, expiresAt: event.expiresAt });
  }
}

/** The book after `event`, the fills it caused and the orders it removed. The input book is never changed. */
export function applyEvent(book: Book, event: BookEvent): Outcome {
  if (event.kind !== "time" && event.sequence <= book.lastSequence) {
    throw new TradingError("OUT_OF_ORDER", `sequence ${event.sequence} does not follow ${book.lastSequence}`, {
      sequence: event.sequence,
      lastSequence: book.lastSequence,
    });
  }
  if (event.kind === "order") checkOrderEvent(book, event);
  const advanced = advanceTime(book, event.time);
  const removed: Removal[] = advanced.expired.map((o) => ({ sequence: o.sequence, reason: "expired", remaining: o.remaining }));
  let next = advanced.book;

  if (event.kind === "time") return { book: next, fills: [], removed, rested: undefined };

  next = { ...next, lastSequence: event.sequence };
  if (event.kind === "cancel") {
    const { target } = event;
    const cancelled = remove(next, target.side, target.price, target.sequence);
    if (cancelled.order !== undefined) removed.push({ sequence: target.sequence, reason: "cancelled", remaining: cancelled.order.remaining });
    return { book: cancelled.book, fills: [], removed, rested: undefined };
  }

  const taken = takeBest(next, opposite(event.side), event.price, event.quantity);
  next = taken.book;
  const fills: Fill[] = taken.takes.map(({ maker, quantity }) => ({
    makerSequence: maker.sequence,
    takerSequence: event.sequence,
    quantity,
    price: maker.price,
  }));
  const remaining = fills.reduce((left, fill) => left - fill.quantity, event.quantity);
  if (remaining === 0n) return { book: next, fills, removed, rested: undefined };
  if (event.timeInForce === "IOC") {
    removed.push({ sequence: event.sequence, reason: "unfilled", remaining });
    return { book: next, fills, removed, rested: undefined };
  }
  const rested: RestingOrder = { sequence: event.sequence, side: event.side, price: event.price, remaining, expiresAt: event.expiresAt };
  return { book: rest(next, rested), fills, removed, rested };
}
