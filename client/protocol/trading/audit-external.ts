/**
 * The priority audit of a log written with an external matching engine (docs/trading.md, "External
 * matching engine"): orders rest on arrival and the engine's fills come later, each taking from an
 * earlier resting order (the maker) and a later one (the taker). A fill must take the maker that had
 * price–time priority among the orders of its side resting when the taker arrived (a lower sequence
 * number than the taker's), at the maker's price and within the taker's limit. Every violation is
 * reported, as in `auditPriority`, whose kinds it uses. A crossed book is not a violation here: the
 * log cannot tell a slow engine from a missed match. An IOC order comes only from a built-in book
 * (a log carried on by an engine; the node refuses IOC orders under one): it rests for the fills
 * that directly follow it, judged by the same rules, and leaves at the next other entry.
 */
import { TradingError } from "./errors.js";
import { advanceTime, crosses, levelsOf, opposite, reduce, remove, type Book, type RestingOrder } from "./book.js";
import type { LogEntry, OrderEntry } from "./log-entry.js";
import type { Market } from "./order.js";
import { restOrder, restingOf } from "./external-matching.js";
import type { Order } from "./order.js";
import { initialReplayState, type ReplayState } from "./replay.js";
import type { Violation, ViolationKind } from "./audit.js";

/** The first order of `side` in price–time priority among those logged before `before`. */
function headBefore(book: Book, side: RestingOrder["side"], before: bigint): RestingOrder | undefined {
  for (const level of levelsOf(book, side)) {
    const first = level.orders.find((o) => o.sequence < before);
    if (first !== undefined) return first;
  }
  return undefined;
}

/** Every priority and terms violation in `entries` of an external engine's log, a segment starting at `from`. */
export function auditExternalPriority(entries: Iterable<LogEntry>, market: Market, from: ReplayState = initialReplayState(market)): Violation[] {
  const violations: Violation[] = [];
  const orders = new Map<bigint, OrderEntry>(from.orders);
  const lookup = (sequence: bigint) => orders.get(sequence);
  let book: Book = from.book;
  let next = from.nextSequence;
  const report = (kind: ViolationKind, sequence: bigint, takerSequence: bigint, makerSequence: bigint | null, overtaken: bigint | null = null): void => {
    violations.push({ kind, sequence, takerSequence, makerSequence, overtakenSequence: overtaken });
  };

  /** A built-in IOC order, resting until an entry that is not its fill. */
  let ioc: OrderEntry | undefined;

  for (const entry of entries) {
    if (entry.sequence !== next) throw new TradingError("OUT_OF_ORDER", `entry ${entry.sequence} where ${next} is next`, { sequence: entry.sequence });
    next += 1n;
    if (ioc !== undefined && !(entry.kind === "fill" && entry.takerSequence === ioc.sequence)) {
      const { side, price } = ioc.signed.order;
      if (restingOf(book, lookup, ioc.sequence) !== undefined) book = remove(book, side, price, ioc.sequence).book;
      ioc = undefined;
    }
    if (entry.kind === "order") {
      orders.set(entry.sequence, entry);
      const { order } = entry.signed;
      if (order.timeInForce === "IOC") ioc = entry;
      const resting = order.timeInForce === "IOC" ? { ...entry, signed: { ...entry.signed, order: { ...order, timeInForce: "GTC" } satisfies Order } } : entry;
      book = restOrder(book, resting).book;
      continue;
    }
    if (entry.kind !== "fill") {
      book = { ...advanceTime(book, entry.receivedAt).book, lastSequence: entry.sequence };
      const target = orders.get(entry.target);
      if (target !== undefined) book = remove(book, target.signed.order.side, target.signed.order.price, target.sequence).book;
      continue;
    }
    const maker = restingOf(book, lookup, entry.makerSequence);
    const taker = restingOf(book, lookup, entry.takerSequence);
    if (maker === undefined || taker === undefined || maker.side === taker.side) {
      report("not-resting", entry.sequence, entry.takerSequence, entry.makerSequence);
      continue;
    }
    if (maker.sequence >= taker.sequence) {
      report("orphan-fill", entry.sequence, entry.takerSequence, entry.makerSequence);
      continue;
    }
    const q = entry.quantity;
    if (q <= 0n || q % market.lotSize !== 0n || q > maker.remaining || q > taker.remaining) {
      report("quantity", entry.sequence, taker.sequence, maker.sequence);
      continue;
    }
    if (entry.price !== maker.price || !crosses(taker.side, taker.price, entry.price)) report("price", entry.sequence, taker.sequence, maker.sequence);
    const head = headBefore(book, opposite(taker.side), taker.sequence);
    if (head !== undefined && head.sequence !== maker.sequence) report("priority", entry.sequence, taker.sequence, maker.sequence, head.sequence);
    book = reduce(book, maker.side, maker.price, maker.sequence, maker.remaining - q).book;
    book = reduce(book, taker.side, taker.price, taker.sequence, taker.remaining - q).book;
  }
  return violations;
}
