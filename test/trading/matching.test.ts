import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  applyEvent,
  emptyBook,
  isTradingError,
  restingOrders,
  type Book,
  type BookEvent,
  type Fill,
  type OrderEvent,
  type Removal,
  type Side,
} from "../../client/protocol/trading/index.js";
import { MARKET, deepFreeze } from "./fixtures.js";

const LOT = MARKET.lotSize;
const T0 = 1_000n;

function codeOf(call: () => unknown): string {
  try {
    call();
    return "none";
  } catch (error) {
    if (isTradingError(error)) return error.code;
    throw error;
  }
}

function orderEvent(sequence: bigint, side: Side, price: bigint, lots: bigint, extra: Partial<OrderEvent> = {}): OrderEvent {
  return { kind: "order", sequence, time: T0, side, price, quantity: lots * LOT, timeInForce: "GTC", expiresAt: 0n, ...extra };
}

/** Applies events in turn, collecting every fill and removal. */
function run(events: readonly BookEvent[], book: Book = emptyBook(MARKET)): { book: Book; fills: Fill[]; removed: Removal[] } {
  const fills: Fill[] = [];
  const removed: Removal[] = [];
  for (const event of events) {
    const outcome = applyEvent(book, event);
    book = outcome.book;
    fills.push(...outcome.fills);
    removed.push(...outcome.removed);
  }
  return { book, fills, removed };
}

describe("price–time priority", () => {
  it("a buy takes the lowest ask first, and at one price the earliest; every fill at the resting price", () => {
    const { fills, book } = run([
      orderEvent(0n, "sell", 102n, 1n),
      orderEvent(1n, "sell", 101n, 2n),
      orderEvent(2n, "sell", 101n, 2n),
      orderEvent(3n, "sell", 100n, 1n),
      orderEvent(4n, "buy", 105n, 4n),
    ]);
    expect(fills).toEqual([
      { makerSequence: 3n, takerSequence: 4n, quantity: 1n * LOT, price: 100n },
      { makerSequence: 1n, takerSequence: 4n, quantity: 2n * LOT, price: 101n },
      { makerSequence: 2n, takerSequence: 4n, quantity: 1n * LOT, price: 101n },
    ]);
    expect(restingOrders(book)).toEqual([
      { sequence: 2n, side: "sell", price: 101n, remaining: 1n * LOT, expiresAt: 0n },
      { sequence: 0n, side: "sell", price: 102n, remaining: 1n * LOT, expiresAt: 0n },
    ]);
  });

  it("a sell takes the highest bid first; what it cannot fill rests at its own limit", () => {
    const { fills, book } = run([
      orderEvent(0n, "buy", 99n, 1n),
      orderEvent(1n, "buy", 100n, 1n),
      orderEvent(2n, "sell", 99n, 3n),
    ]);
    expect(fills.map((f) => [f.makerSequence, f.price])).toEqual([
      [1n, 100n],
      [0n, 99n],
    ]);
    expect(book.asks).toEqual([{ price: 99n, orders: [{ sequence: 2n, side: "sell", price: 99n, remaining: LOT, expiresAt: 0n }] }]);
    expect(book.bids).toEqual([]);
    expect(book.size).toBe(1);
  });

  it("orders that do not cross rest; bids best first, asks best first", () => {
    const { book, fills } = run([orderEvent(0n, "buy", 99n, 1n), orderEvent(1n, "sell", 101n, 1n), orderEvent(2n, "buy", 100n, 1n), orderEvent(3n, "sell", 102n, 1n)]);
    expect(fills).toEqual([]);
    expect(book.bids.map((l) => l.price)).toEqual([100n, 99n]);
    expect(book.asks.map((l) => l.price)).toEqual([101n, 102n]);
  });

  it("IOC trades what it can and never rests", () => {
    const { book, fills, removed } = run([orderEvent(0n, "sell", 100n, 1n), orderEvent(1n, "buy", 100n, 3n, { timeInForce: "IOC" })]);
    expect(fills).toHaveLength(1);
    expect(removed).toEqual([{ sequence: 1n, reason: "unfilled", remaining: 2n * LOT }]);
    expect(book.size).toBe(0);
  });
});

describe("cancel and expiry", () => {
  it("a cancel removes a resting order; cancelling again or a filled order changes nothing", () => {
    const start = run([orderEvent(0n, "buy", 100n, 2n), orderEvent(1n, "buy", 100n, 1n)]).book;
    const cancel = (sequence: bigint, target: bigint): BookEvent => ({ kind: "cancel", sequence, time: T0, target: { sequence: target, side: "buy", price: 100n } });
    const once = applyEvent(start, cancel(2n, 0n));
    expect(once.removed).toEqual([{ sequence: 0n, reason: "cancelled", remaining: 2n * LOT }]);
    expect(restingOrders(once.book).map((o) => o.sequence)).toEqual([1n]);
    const twice = applyEvent(once.book, cancel(3n, 0n));
    expect(twice.removed).toEqual([]);
    expect(restingOrders(twice.book)).toEqual(restingOrders(once.book));
  });

  it("an order trades before its expiry and is gone from the first event at or after it", () => {
    const start = run([orderEvent(0n, "sell", 100n, 2n, { expiresAt: T0 + 10n })]).book;
    expect(applyEvent(start, orderEvent(1n, "buy", 100n, 1n, { time: T0 + 9n })).fills).toHaveLength(1);
    const expired = applyEvent(start, orderEvent(1n, "buy", 100n, 1n, { time: T0 + 10n }));
    expect(expired.fills).toEqual([]);
    expect(expired.removed).toEqual([{ sequence: 0n, reason: "expired", remaining: 2n * LOT }]);
    const ticked = applyEvent(start, { kind: "time", time: T0 + 10n });
    expect(ticked.book.size).toBe(0);
    expect(ticked.book.expiries).toEqual([]);
  });

  it("a filled or cancelled order leaves the expiry list too", () => {
    const start = run([orderEvent(0n, "sell", 100n, 1n, { expiresAt: T0 + 10n }), orderEvent(1n, "sell", 100n, 1n, { expiresAt: T0 + 20n })]).book;
    const filled = applyEvent(start, orderEvent(2n, "buy", 100n, 1n));
    expect(filled.book.expiries.map((e) => e.sequence)).toEqual([1n]);
    const cancelled = applyEvent(filled.book, { kind: "cancel", sequence: 3n, time: T0, target: { sequence: 1n, side: "sell", price: 100n } });
    expect(cancelled.book.expiries).toEqual([]);
  });
});

describe("refusals change nothing", () => {
  const start = run([orderEvent(0n, "sell", 100n, 1n), orderEvent(1n, "buy", 90n, 1n, { time: T0 + 5n })]).book;
  const snapshot = JSON.stringify(start, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

  it.each<[string, BookEvent, string]>([
    ["a repeated sequence number", orderEvent(1n, "buy", 100n, 1n, { time: T0 + 5n }), "OUT_OF_ORDER"],
    ["time going back", orderEvent(2n, "buy", 100n, 1n, { time: T0 }), "OUT_OF_ORDER"],
    ["time going back (tick)", { kind: "time", time: T0 }, "OUT_OF_ORDER"],
    ["a partial lot", orderEvent(2n, "buy", 100n, 1n, { time: T0 + 5n, quantity: LOT + 1n }), "INVALID_ORDER"],
    ["zero quantity", orderEvent(2n, "buy", 100n, 0n, { time: T0 + 5n }), "INVALID_ORDER"],
    ["zero price", orderEvent(2n, "buy", 0n, 1n, { time: T0 + 5n }), "INVALID_ORDER"],
    ["an IOC with an expiry", orderEvent(2n, "buy", 100n, 1n, { time: T0 + 5n, timeInForce: "IOC", expiresAt: T0 + 9n }), "INVALID_ORDER"],
    ["an order already expired", orderEvent(2n, "buy", 100n, 1n, { time: T0 + 5n, expiresAt: T0 + 5n }), "EXPIRED"],
  ])("%s", (_why, event, code) => {
    expect(codeOf(() => applyEvent(start, event))).toBe(code);
    expect(JSON.stringify(start, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))).toBe(snapshot);
  });

  it("BOOK_FULL when a remainder would rest beyond the limit — after trading it may still fit", () => {
    const small = run([orderEvent(0n, "sell", 100n, 1n), orderEvent(1n, "sell", 101n, 1n)], emptyBook(MARKET, { maxOrders: 2 })).book;
    expect(codeOf(() => applyEvent(small, orderEvent(2n, "buy", 99n, 1n)))).toBe("BOOK_FULL");
    expect(small.size).toBe(2);
    // Taking the 100 ask frees a place for the remainder.
    const fits = applyEvent(small, orderEvent(2n, "buy", 100n, 2n));
    expect(fits.fills).toHaveLength(1);
    expect(fits.book.size).toBe(2);
    // An order that trades in full never needs a place.
    expect(applyEvent(small, orderEvent(2n, "buy", 101n, 2n)).book.size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a reference matcher that re-sorts everything on every order: slow, obviously right.
// ---------------------------------------------------------------------------------------------

interface RefOrder {
  sequence: bigint;
  side: Side;
  price: bigint;
  remaining: bigint;
  expiresAt: bigint;
}

function referenceRun(events: readonly BookEvent[]): { fills: Fill[]; removed: Removal[]; resting: RefOrder[] } {
  let resting: RefOrder[] = [];
  const fills: Fill[] = [];
  const removed: Removal[] = [];
  for (const event of events) {
    const expired = resting.filter((o) => o.expiresAt !== 0n && o.expiresAt <= event.time).sort((a, b) => (a.expiresAt === b.expiresAt ? Number(a.sequence - b.sequence) : Number(a.expiresAt - b.expiresAt)));
    removed.push(...expired.map((o) => ({ sequence: o.sequence, reason: "expired" as const, remaining: o.remaining })));
    resting = resting.filter((o) => !expired.includes(o));
    if (event.kind === "cancel") {
      const target = resting.find((o) => o.sequence === event.target.sequence);
      if (target !== undefined) removed.push({ sequence: target.sequence, reason: "cancelled", remaining: target.remaining });
      resting = resting.filter((o) => o !== target);
    } else if (event.kind === "order") {
      const candidates = resting
        .filter((o) => o.side !== event.side && (event.side === "buy" ? o.price <= event.price : o.price >= event.price))
        .sort((a, b) => (a.price === b.price ? Number(a.sequence - b.sequence) : event.side === "buy" ? Number(a.price - b.price) : Number(b.price - a.price)));
      let left = event.quantity;
      for (const maker of candidates) {
        if (left === 0n) break;
        const q = maker.remaining < left ? maker.remaining : left;
        fills.push({ makerSequence: maker.sequence, takerSequence: event.sequence, quantity: q, price: maker.price });
        maker.remaining -= q;
        left -= q;
      }
      resting = resting.filter((o) => o.remaining > 0n);
      if (left > 0n && event.timeInForce === "IOC") removed.push({ sequence: event.sequence, reason: "unfilled", remaining: left });
      else if (left > 0n) resting.push({ sequence: event.sequence, side: event.side, price: event.price, remaining: left, expiresAt: event.expiresAt });
    }
  }
  return { fills, removed, resting };
}

/** Random valid event streams: few prices so levels fill up, orders that expire, cancels of earlier orders, ticks. */
export const eventsArb: fc.Arbitrary<BookEvent[]> = fc
  .array(
    fc.record({
      kind: fc.constantFrom("order", "order", "order", "order", "cancel", "time"),
      side: fc.constantFrom<Side>("buy", "sell"),
      price: fc.bigInt({ min: 95n, max: 105n }),
      lots: fc.bigInt({ min: 1n, max: 5n }),
      ioc: fc.boolean(),
      expiry: fc.option(fc.bigInt({ min: 1n, max: 30n }), { nil: undefined }),
      dt: fc.bigInt({ min: 0n, max: 3n }),
      pick: fc.nat(),
    }),
    { maxLength: 120 },
  )
  .map((steps) => {
    const events: BookEvent[] = [];
    const orders: OrderEvent[] = [];
    let time = T0;
    let sequence = 0n;
    for (const s of steps) {
      time += s.dt;
      if (s.kind === "time") {
        events.push({ kind: "time", time });
      } else if (s.kind === "cancel" && orders.length > 0) {
        const target = orders[s.pick % orders.length] as OrderEvent;
        events.push({ kind: "cancel", sequence: sequence++, time, target: { sequence: target.sequence, side: target.side, price: target.price } });
      } else {
        const ioc = s.ioc && s.pick % 4 === 0;
        const event = orderEvent(sequence++, s.side, s.price, s.lots, {
          time,
          timeInForce: ioc ? "IOC" : "GTC",
          expiresAt: ioc || s.expiry === undefined ? 0n : time + s.expiry,
        });
        orders.push(event);
        events.push(event);
      }
    }
    return events;
  });

describe("against the reference matcher", () => {
  it("same fills, removals and resting orders for random event streams; the input book is never mutated", () => {
    fc.assert(
      fc.property(eventsArb, (events) => {
        let book = emptyBook(MARKET);
        const fills: Fill[] = [];
        const removed: Removal[] = [];
        for (const event of events) {
          // A frozen book throws on any write: applyEvent must copy what it changes.
          const outcome = applyEvent(deepFreeze(book), event);
          fills.push(...outcome.fills);
          removed.push(...outcome.removed);
          book = outcome.book;
        }
        const reference = referenceRun(events);
        expect(fills).toEqual(reference.fills);
        expect(removed).toEqual(reference.removed);
        const bySequence = (a: { sequence: bigint }, b: { sequence: bigint }): number => Number(a.sequence - b.sequence);
        expect(restingOrders(book).sort(bySequence)).toEqual(reference.resting.sort(bySequence));
        expect(book.size).toBe(reference.resting.length);
        expect(book.expiries.length).toBe(reference.resting.filter((o) => o.expiresAt !== 0n).length);
      }),
      { numRuns: 300 },
    );
  });

  it("keeps a deep book cheap: 20,000 resting orders, then an order that sweeps 500 of them", () => {
    let book = emptyBook(MARKET);
    let sequence = 0n;
    for (let i = 0; i < 20_000; i++) {
      book = applyEvent(book, orderEvent(sequence++, i % 2 === 0 ? "buy" : "sell", i % 2 === 0 ? 1_000n - BigInt(i % 400) : 1_001n + BigInt(i % 400), 1n, { expiresAt: i % 3 === 0 ? T0 + 1_000n : 0n })).book;
    }
    expect(book.size).toBe(20_000);
    const started = performance.now();
    const sweep = applyEvent(book, orderEvent(sequence++, "buy", 2_000n, 500n));
    expect(sweep.fills).toHaveLength(500);
    expect(sweep.fills[0]?.price).toBe(1_002n);
    expect(performance.now() - started).toBeLessThan(500);
  });
});
