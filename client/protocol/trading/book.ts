/**
 * The continuous limit order book of one market (docs/trading.md, "Matching"): resting orders in
 * price levels sorted best first (bids highest, asks lowest), each level first in, first out by
 * sequence number, plus the resting orders that expire, sorted by (expiry, sequence).
 *
 * Books are immutable values. Every operation returns a new book that shares what it did not
 * touch: it copies the levels array of one side, the orders of the levels it changes and, when an
 * expiring order comes or goes, the expiry list — array copies, never a sort of the book.
 */
import { TradingError } from "./errors.js";
import type { Market, Side } from "./order.js";

export interface RestingOrder {
  readonly sequence: bigint;
  readonly side: Side;
  /** Cash raw units per lot. */
  readonly price: bigint;
  /** Security raw units still open, > 0. */
  readonly remaining: bigint;
  /** Unix seconds from which it no longer trades; 0 = never. */
  readonly expiresAt: bigint;
}

export interface PriceLevel {
  readonly price: bigint;
  /** Never empty; ascending sequence numbers (time priority). */
  readonly orders: readonly RestingOrder[];
}

interface Expiry {
  readonly expiresAt: bigint;
  readonly sequence: bigint;
  readonly side: Side;
  readonly price: bigint;
}

export interface BookLimits {
  /** Resting orders the book holds at most; one more is refused with BOOK_FULL. */
  readonly maxOrders: number;
}

export const DEFAULT_BOOK_LIMITS: BookLimits = { maxOrders: 100_000 };

export interface Book {
  readonly market: Market;
  readonly limits: BookLimits;
  /** The latest time the book has seen (unix seconds). */
  readonly time: bigint;
  /** The sequence number of the latest order or cancel applied; -1 before the first. */
  readonly lastSequence: bigint;
  /** Best (highest) first. */
  readonly bids: readonly PriceLevel[];
  /** Best (lowest) first. */
  readonly asks: readonly PriceLevel[];
  /** Resting orders with an expiry, by (expiresAt, sequence). */
  readonly expiries: readonly Expiry[];
  /** Number of resting orders. */
  readonly size: number;
}

export function emptyBook(market: Market, limits: BookLimits = DEFAULT_BOOK_LIMITS): Book {
  return { market, limits, time: 0n, lastSequence: -1n, bids: [], asks: [], expiries: [], size: 0 };
}

export const opposite = (side: Side): Side => (side === "buy" ? "sell" : "buy");

/** Whether `a` is a strictly better price than `b` for resting orders of `side`. */
export const isBetter = (side: Side, a: bigint, b: bigint): boolean => (side === "buy" ? a > b : a < b);

/** Whether a taker of `takerSide` with limit `limit` trades at a maker's `price`. */
export const crosses = (takerSide: Side, limit: bigint, price: bigint): boolean => (takerSide === "buy" ? price <= limit : price >= limit);

export const levelsOf = (book: Book, side: Side): readonly PriceLevel[] => (side === "buy" ? book.bids : book.asks);

function withLevels(book: Book, side: Side, levels: readonly PriceLevel[], sizeChange: number): Book {
  return side === "buy" ? { ...book, bids: levels, size: book.size + sizeChange } : { ...book, asks: levels, size: book.size + sizeChange };
}

/** Index of the level at `price`, or where it would be inserted. */
function levelIndex(levels: readonly PriceLevel[], side: Side, price: bigint): number {
  let lo = 0;
  let hi = levels.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (isBetter(side, (levels[mid] as PriceLevel).price, price)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function orderIndex(orders: readonly RestingOrder[], sequence: bigint): number {
  let lo = 0;
  let hi = orders.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((orders[mid] as RestingOrder).sequence < sequence) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function expiryIndex(expiries: readonly Expiry[], expiresAt: bigint, sequence: bigint): number {
  let lo = 0;
  let hi = expiries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = expiries[mid] as Expiry;
    if (e.expiresAt < expiresAt || (e.expiresAt === expiresAt && e.sequence < sequence)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The best level of a side, if any. */
export function bestLevel(book: Book, side: Side): PriceLevel | undefined {
  return levelsOf(book, side)[0];
}

/** The resting order with this sequence at this side and price, if it still rests. */
export function findOrder(book: Book, side: Side, price: bigint, sequence: bigint): RestingOrder | undefined {
  const levels = levelsOf(book, side);
  const level = levels[levelIndex(levels, side, price)];
  if (level === undefined || level.price !== price) return undefined;
  const order = level.orders[orderIndex(level.orders, sequence)];
  return order?.sequence === sequence ? order : undefined;
}

/** Every resting order, each side best first and FIFO within a level. */
export function restingOrders(book: Book): RestingOrder[] {
  return [...book.bids, ...book.asks].flatMap((level) => level.orders);
}

/**
 * The book with `order` resting behind every order of its price that came before it. BOOK_FULL at
 * the limit; OUT_OF_ORDER unless it is the latest order of its level (time priority is by sequence).
 */
export function rest(book: Book, order: RestingOrder): Book {
  if (book.size >= book.limits.maxOrders) {
    throw new TradingError("BOOK_FULL", `the book holds its limit of ${book.limits.maxOrders} resting orders`, { limit: book.limits.maxOrders });
  }
  const levels = levelsOf(book, order.side).slice();
  const at = levelIndex(levels, order.side, order.price);
  const level = levels[at];
  if (level?.price === order.price) {
    const last = level.orders[level.orders.length - 1] as RestingOrder;
    if (last.sequence >= order.sequence) {
      throw new TradingError("OUT_OF_ORDER", `order ${order.sequence} cannot rest behind order ${last.sequence}`, { sequence: order.sequence });
    }
    levels[at] = { price: level.price, orders: [...level.orders, order] };
  } else {
    levels.splice(at, 0, { price: order.price, orders: [order] });
  }
  let next = withLevels(book, order.side, levels, 1);
  if (order.expiresAt !== 0n) {
    const expiries = book.expiries.slice();
    expiries.splice(expiryIndex(expiries, order.expiresAt, order.sequence), 0, {
      expiresAt: order.expiresAt,
      sequence: order.sequence,
      side: order.side,
      price: order.price,
    });
    next = { ...next, expiries };
  }
  return next;
}

function withoutExpiries(book: Book, gone: readonly RestingOrder[]): Book {
  const expiring = gone.filter((o) => o.expiresAt !== 0n);
  if (expiring.length === 0) return book;
  const sequences = new Set(expiring.map((o) => o.sequence));
  return { ...book, expiries: book.expiries.filter((e) => !sequences.has(e.sequence)) };
}

/** The book with `remaining` of a resting order set to a smaller amount, or the order removed at 0. */
export function reduce(book: Book, side: Side, price: bigint, sequence: bigint, remaining: bigint): { book: Book; order: RestingOrder | undefined } {
  const levels = levelsOf(book, side);
  const at = levelIndex(levels, side, price);
  const level = levels[at];
  if (level === undefined || level.price !== price) return { book, order: undefined };
  const index = orderIndex(level.orders, sequence);
  const order = level.orders[index];
  if (order?.sequence !== sequence) return { book, order: undefined };
  const nextLevels = levels.slice();
  if (remaining > 0n) {
    const orders = level.orders.slice();
    orders[index] = { ...order, remaining };
    nextLevels[at] = { price, orders };
    return { book: withLevels(book, side, nextLevels, 0), order };
  }
  const orders = level.orders.filter((_, i) => i !== index);
  if (orders.length === 0) nextLevels.splice(at, 1);
  else nextLevels[at] = { price, orders };
  return { book: withoutExpiries(withLevels(book, side, nextLevels, -1), [order]), order };
}

/** The book without a resting order; `order` is what was removed (undefined when it did not rest). */
export function remove(book: Book, side: Side, price: bigint, sequence: bigint): { book: Book; order: RestingOrder | undefined } {
  return reduce(book, side, price, sequence, 0n);
}

/** The book at `time`: every order with 0 < expiresAt ≤ time removed. */
export function advanceTime(book: Book, time: bigint): { book: Book; expired: RestingOrder[] } {
  if (time < book.time) {
    throw new TradingError("OUT_OF_ORDER", `time ${time} is before the book's time ${book.time}`, { time, bookTime: book.time });
  }
  let next: Book = { ...book, time };
  const expired: RestingOrder[] = [];
  let count = 0;
  while (count < book.expiries.length && (book.expiries[count] as Expiry).expiresAt <= time) count++;
  if (count === 0) return { book: next, expired };
  // Remove each expired order from its level; the expiry list loses its first `count` entries at once.
  for (const e of book.expiries.slice(0, count)) {
    const levels = levelsOf(next, e.side);
    const at = levelIndex(levels, e.side, e.price);
    const level = levels[at] as PriceLevel;
    const index = orderIndex(level.orders, e.sequence);
    expired.push(level.orders[index] as RestingOrder);
    const nextLevels = levels.slice();
    const orders = level.orders.filter((_, i) => i !== index);
    if (orders.length === 0) nextLevels.splice(at, 1);
    else nextLevels[at] = { price: level.price, orders };
    next = withLevels(next, e.side, nextLevels, -1);
  }
  return { book: { ...next, expiries: book.expiries.slice(count) }, expired };
}

export interface Take {
  readonly maker: RestingOrder;
  readonly quantity: bigint;
}

/**
 * Takes up to `quantity` from the resting orders of `makerSide` that cross `limit`, best price
 * first and first in, first out within a price: what price–time priority means.
 */
export function takeBest(book: Book, makerSide: Side, limit: bigint, quantity: bigint): { book: Book; takes: Take[] } {
  const takerSide = opposite(makerSide);
  const levels = levelsOf(book, makerSide);
  const takes: Take[] = [];
  const gone: RestingOrder[] = [];
  let left = quantity;
  let fullLevels = 0;
  let partial: PriceLevel | undefined;
  for (const level of levels) {
    if (left === 0n || !crosses(takerSide, limit, level.price)) break;
    let consumed = 0;
    let reduced: RestingOrder | undefined;
    for (const maker of level.orders) {
      if (left === 0n) break;
      const traded = maker.remaining < left ? maker.remaining : left;
      takes.push({ maker, quantity: traded });
      left -= traded;
      if (traded === maker.remaining) {
        consumed++;
        gone.push(maker);
      } else {
        reduced = { ...maker, remaining: maker.remaining - traded };
      }
    }
    if (consumed === level.orders.length) {
      fullLevels++;
    } else {
      const open = level.orders.slice(consumed);
      if (reduced !== undefined) open[0] = reduced;
      partial = { price: level.price, orders: open };
      break;
    }
  }
  if (takes.length === 0) return { book, takes };
  const remainingLevels = levels.slice(fullLevels);
  if (partial !== undefined) remainingLevels[0] = partial;
  return { book: withoutExpiries(withLevels(book, makerSide, remainingLevels, -gone.length), gone), takes };
}
