/**
 * The priority audit (docs/trading.md, "Audit"): replays a log segment with the fills as logged —
 * not as our matcher would make them — and reports every fill that broke price–time priority or
 * the orders' own terms. Unlike `replay`, which stops at the first difference, the audit goes on
 * and lists every violation, so it also judges logs of another matcher.
 *
 * Structural faults (a gap in the sequence numbers, time going back) still throw OUT_OF_ORDER:
 * without order there is no priority to judge.
 */
import { TradingError } from "./errors.js";
import { advanceTime, bestLevel, crosses, findOrder, opposite, reduce, remove, rest, type Book } from "./book.js";
import type { LogEntry, OrderEntry } from "./log-entry.js";
import type { Market, Side, TimeInForce } from "./order.js";
import { initialReplayState, orderEventOf, type ReplayState } from "./replay.js";

export type ViolationKind =
  /** The maker was not the first order in price–time priority on its side: `overtakenSequence` was. */
  | "priority"
  /** The fill is not at the maker's price, or beyond the taker's limit. */
  | "price"
  /** The fill's quantity is not a positive whole number of lots within both orders' open quantity. */
  | "quantity"
  /** The maker is not a resting order of the other side (never logged, filled, cancelled or expired). */
  | "not-resting"
  /** A fill that does not follow its taker's order entry. */
  | "orphan-fill"
  /** The order stopped trading while it still crossed the resting order `overtakenSequence`. */
  | "missed-match";

export interface Violation {
  readonly kind: ViolationKind;
  /** The fill entry's sequence number, or the order's for a missed match. */
  readonly sequence: bigint;
  readonly takerSequence: bigint;
  readonly makerSequence: bigint | null;
  /** The resting order that should have traded first. */
  readonly overtakenSequence: bigint | null;
}

interface Taker {
  readonly sequence: bigint;
  readonly side: Side;
  readonly price: bigint;
  readonly timeInForce: TimeInForce;
  readonly expiresAt: bigint;
  remaining: bigint;
}

/** Every priority and terms violation in `entries`, a segment starting at `from` (the log's start by default). */
export function auditPriority(entries: Iterable<LogEntry>, market: Market, from: ReplayState = initialReplayState(market)): Violation[] {
  const violations: Violation[] = [];
  const orders = new Map<bigint, OrderEntry>(from.orders);
  let book: Book = from.book;
  let next = from.nextSequence;
  let taker: Taker | undefined;

  const report = (kind: ViolationKind, sequence: bigint, takerSequence: bigint, makerSequence: bigint | null, overtaken: bigint | null = null): void => {
    violations.push({ kind, sequence, takerSequence, makerSequence, overtakenSequence: overtaken });
  };

  // The taker's fills are over: what it did not trade must not cross the book; a GTC remainder rests.
  const finishTaker = (): void => {
    if (taker === undefined || taker.remaining === 0n) {
      taker = undefined;
      return;
    }
    const best = bestLevel(book, opposite(taker.side));
    if (best !== undefined && crosses(taker.side, taker.price, best.price)) {
      report("missed-match", taker.sequence, taker.sequence, null, best.orders[0]?.sequence ?? null);
    }
    if (taker.timeInForce === "GTC") {
      book = rest(book, { sequence: taker.sequence, side: taker.side, price: taker.price, remaining: taker.remaining, expiresAt: taker.expiresAt });
    }
    taker = undefined;
  };

  for (const entry of entries) {
    if (entry.sequence !== next) {
      throw new TradingError("OUT_OF_ORDER", `entry ${entry.sequence} where ${next} is next`, { sequence: entry.sequence });
    }
    next += 1n;
    if (entry.kind !== "fill") {
      finishTaker();
      book = { ...advanceTime(book, entry.receivedAt).book, lastSequence: entry.sequence };
      if (entry.kind === "order") {
        const event = orderEventOf(entry, market);
        orders.set(entry.sequence, entry);
        taker = { ...event, remaining: event.quantity };
      } else {
        const target = orders.get(entry.target);
        if (target !== undefined) book = remove(book, target.signed.order.side, target.signed.order.price, target.sequence).book;
      }
      continue;
    }

    if (taker === undefined || entry.takerSequence !== taker.sequence) {
      report("orphan-fill", entry.sequence, entry.takerSequence, entry.makerSequence);
      continue;
    }
    const makerSide = opposite(taker.side);
    const makerOrder = orders.get(entry.makerSequence)?.signed.order;
    const maker = makerOrder === undefined || makerOrder.side !== makerSide ? undefined : findOrder(book, makerSide, makerOrder.price, entry.makerSequence);
    if (maker === undefined) {
      report("not-resting", entry.sequence, taker.sequence, entry.makerSequence);
      continue;
    }
    const q = entry.quantity;
    if (q <= 0n || q % market.lotSize !== 0n || q > maker.remaining || q > taker.remaining) {
      report("quantity", entry.sequence, taker.sequence, maker.sequence);
      continue;
    }
    if (entry.price !== maker.price || !crosses(taker.side, taker.price, entry.price)) report("price", entry.sequence, taker.sequence, maker.sequence);
    // Levels are never empty and sorted best first: the head of the best level has priority.
    const head = bestLevel(book, makerSide)?.orders[0];
    if (head !== undefined && head.sequence !== maker.sequence) report("priority", entry.sequence, taker.sequence, maker.sequence, head.sequence);
    book = reduce(book, makerSide, maker.price, maker.sequence, maker.remaining - q).book;
    taker.remaining -= q;
  }
  finishTaker();
  return violations;
}
