/**
 * Matching driven by the log (docs/trading.md, "Replay"). `applyEntry` turns an accepted order or
 * cancel entry into a book event and returns the fill entries that follow it in the log (sequence
 * numbers entry.sequence + 1, + 2, …): what the node appends. `replay` runs a log through the same
 * function and checks that every logged fill is exactly the one the matcher makes, in place.
 */
import type { Eip712Domain } from "../types.js";
import { TradingError } from "./errors.js";
import { emptyBook, type Book, type BookLimits } from "./book.js";
import { applyEvent, type Outcome, type OrderEvent } from "./matching.js";
import type { CancelEntry, FillEntry, LogEntry, OrderEntry, VenueCancelEntry } from "./log-entry.js";
import { orderHashOf, type Market } from "./order.js";

/** Replay accepts whatever the log holds: the node enforced its limits when it accepted the entries. */
const UNLIMITED: BookLimits = { maxOrders: Number.POSITIVE_INFINITY };

/** The order event of a logged order; WRONG_MARKET unless it is for `market`. */
export function orderEventOf(entry: OrderEntry, market: Market): OrderEvent {
  const { order } = entry.signed;
  if (order.security !== market.security || order.cash !== market.cash || order.lotSize !== market.lotSize) {
    throw new TradingError("WRONG_MARKET", `order ${entry.sequence} is for another market`, { sequence: entry.sequence });
  }
  return {
    kind: "order",
    sequence: entry.sequence,
    time: entry.receivedAt,
    side: order.side,
    price: order.price,
    quantity: order.quantity,
    timeInForce: order.timeInForce,
    expiresAt: order.expiresAt,
  };
}

/** Looks up a logged order by its sequence number. */
export type OrderLookup = (sequence: bigint) => OrderEntry | undefined;

/**
 * Applies an accepted order or cancel entry to the book. A cancel must name an order entry of the
 * same investor whose order hash it signed (UNKNOWN_ORDER otherwise); a venue cancel must name an
 * order entry. Either removes the order if it still rests. Returns the matcher's outcome and the
 * fill entries to log after the entry.
 */
export function applyEntry(
  book: Book,
  entry: OrderEntry | CancelEntry | VenueCancelEntry,
  lookup: OrderLookup,
  domain: Eip712Domain,
): { outcome: Outcome; fills: FillEntry[] } {
  let outcome: Outcome;
  if (entry.kind === "order") {
    outcome = applyEvent(book, orderEventOf(entry, book.market));
  } else if (entry.kind === "venueCancel") {
    const target = lookup(entry.target);
    if (target === undefined) throw new TradingError("UNKNOWN_ORDER", `venue cancel ${entry.sequence} names no order at ${entry.target}`, { sequence: entry.sequence, target: entry.target });
    const { order } = target.signed;
    outcome = applyEvent(book, { kind: "cancel", sequence: entry.sequence, time: entry.receivedAt, target: { sequence: target.sequence, side: order.side, price: order.price } });
  } else {
    const target = lookup(entry.target);
    const { cancel } = entry.signed;
    if (target === undefined || target.signed.order.investor !== cancel.investor || orderHashOf(target.signed.order, domain) !== cancel.orderHash) {
      throw new TradingError("UNKNOWN_ORDER", `cancel ${entry.sequence} names no order of ${cancel.investor} at ${entry.target}`, {
        sequence: entry.sequence,
        target: entry.target,
      });
    }
    const { order } = target.signed;
    outcome = applyEvent(book, {
      kind: "cancel",
      sequence: entry.sequence,
      time: entry.receivedAt,
      target: { sequence: target.sequence, side: order.side, price: order.price },
    });
  }
  const fills = outcome.fills.map(
    (fill, i): FillEntry => ({ kind: "fill", sequence: entry.sequence + 1n + BigInt(i), ...fill }),
  );
  return { outcome, fills };
}

/** Where a replay stands: the book, the orders logged so far, and the next sequence number. */
export interface ReplayState {
  readonly book: Book;
  readonly orders: ReadonlyMap<bigint, OrderEntry>;
  readonly nextSequence: bigint;
}

export function initialReplayState(market: Market): ReplayState {
  return { book: emptyBook(market, UNLIMITED), orders: new Map(), nextSequence: 0n };
}

const sameFill = (a: FillEntry, b: FillEntry): boolean =>
  a.sequence === b.sequence &&
  a.makerSequence === b.makerSequence &&
  a.takerSequence === b.takerSequence &&
  a.quantity === b.quantity &&
  a.price === b.price;

const describe = (entry: LogEntry | undefined, none: string): string =>
  entry === undefined
    ? none
    : entry.kind === "fill"
      ? `fill ${entry.sequence} (maker ${entry.makerSequence}, taker ${entry.takerSequence}, ${entry.quantity} at ${entry.price})`
      : `${entry.kind} ${entry.sequence}`;

function mismatch(expected: FillEntry | undefined, found: LogEntry | undefined): never {
  throw new TradingError(
    "REPLAY_MISMATCH",
    `the log has ${describe(found, "its end")} where the matcher makes ${describe(expected, "no fill")}`,
    { sequence: (found ?? expected)?.sequence ?? null },
  );
}

/**
 * Replays log entries from `from` (the start of the log by default): OUT_OF_ORDER for a gap in
 * the sequence numbers or time going back, REPLAY_MISMATCH for any fill the matcher does not make
 * exactly there (or a missing one), plus every error of `applyEntry`. Returns the state after the
 * entries and the fills, each checked.
 */
export function replay(
  entries: Iterable<LogEntry>,
  domain: Eip712Domain,
  from: ReplayState,
): { state: ReplayState; fills: FillEntry[] } {
  let { book, nextSequence } = from;
  const orders = new Map(from.orders);
  const fills: FillEntry[] = [];
  let expected: FillEntry[] = [];
  for (const entry of entries) {
    if (entry.sequence !== nextSequence) {
      throw new TradingError("OUT_OF_ORDER", `entry ${entry.sequence} where ${nextSequence} is next`, { sequence: entry.sequence });
    }
    nextSequence += 1n;
    const due = expected.shift();
    if (due !== undefined) {
      if (entry.kind !== "fill" || !sameFill(due, entry)) mismatch(due, entry);
      fills.push(entry);
      continue;
    }
    if (entry.kind === "fill") mismatch(undefined, entry);
    const applied = applyEntry(book, entry, (sequence) => orders.get(sequence), domain);
    book = applied.outcome.book;
    expected = applied.fills;
    if (entry.kind === "order") orders.set(entry.sequence, entry);
  }
  if (expected.length > 0) mismatch(expected[0], undefined);
  return { state: { book, orders, nextSequence }, fills };
}
