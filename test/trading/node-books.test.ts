// The node's books driven by its log (channel-node/src/trading/books.ts): prepare changes nothing
// until commit; reservations follow resting orders and unsettled fills; a restore from the stored
// log rebuilds the same books and refuses a log whose fills the matcher does not make.
import { describe, expect, it } from "vitest";
import { OrderBooks } from "../../channel-node/src/trading/books.js";
import { restingOrders, signOrder, type LogEntry, type Order, type OrderEntry } from "../../client/protocol/trading/index.js";
import { CASH, DOMAIN, MARKET, NOW, SECURITY, alice, bob, order } from "./fixtures.js";

const LIMITS = { maxOrders: 100 };
const lot = MARKET.lotSize;

function entryOf(sequence: bigint, o: Partial<Order>, signer = alice): OrderEntry {
  return { kind: "order", sequence, receivedAt: NOW, signed: signOrder(order({ investor: signer.address, ...o }), DOMAIN, signer) };
}

/** Appends like the desk: prepare, then commit; returns every logged entry. */
function run(books: OrderBooks, make: (sequence: bigint) => OrderEntry | LogEntry): LogEntry[] {
  const entry = make(books.nextSequence);
  if (entry.kind === "fill") throw new Error("not a fill");
  const prepared = books.prepare(entry);
  prepared.commit();
  return [...prepared.entries];
}

function scenario(): { books: OrderBooks; log: LogEntry[] } {
  const books = new OrderBooks([MARKET], LIMITS, DOMAIN);
  const log = [
    ...run(books, (s) => entryOf(s, { side: "sell", quantity: 5n * lot, price: 101n, nonce: 1n })),
    ...run(books, (s) => entryOf(s, { side: "sell", quantity: 2n * lot, price: 100n, nonce: 2n })),
    ...run(books, (s) => entryOf(s, { side: "buy", quantity: 3n * lot, price: 102n, nonce: 1n }, bob)),
    ...run(books, (s) => entryOf(s, { side: "buy", quantity: lot, price: 90n, nonce: 2n }, bob)),
  ];
  return { books, log };
}

describe("OrderBooks", () => {
  it("matches by price, then time, and reserves resting orders and unsettled fills on both sides", () => {
    const { books, log } = scenario();
    // Bob's buy of 3 lots took 2 at 100 (the better ask), then 1 at 101.
    expect(log.flatMap((f) => (f.kind === "fill" ? [[f.makerSequence, f.quantity, f.price]] : []))).toEqual([
      [1n, 2n * lot, 100n],
      [0n, lot, 101n],
    ]);
    // Alice: 4 lots of order 0 rest and 3 lots are matched, not settled.
    expect(books.reservedOf(alice.address, SECURITY)).toBe(7n * lot);
    expect(books.reservedOf(alice.address, CASH)).toBe(0n);
    // Bob: 2 × 100 + 1 × 101 matched, 1 lot at 90 resting; 3 lots coming to him.
    expect(books.reservedOf(bob.address, CASH)).toBe(301n + 90n);
    expect(books.incoming.of(bob.address, SECURITY)).toBe(3n * lot);
    expect(books.restingOf(bob.address).map((r) => r.entry.sequence)).toEqual([5n]);
    expect(books.lastNonceOf(alice.address)).toBe(2n);
  });

  it("does not count an order expired by now: it leaves the book before anything trades", () => {
    const books = new OrderBooks([MARKET], LIMITS, DOMAIN);
    run(books, (s) => entryOf(s, { side: "sell", quantity: 2n * lot, price: 100n, expiresAt: NOW + 10n }));
    expect(books.reservedOf(alice.address, SECURITY, NOW + 9n)).toBe(2n * lot);
    expect(books.restingOf(alice.address, NOW + 9n)).toHaveLength(1);
    expect(books.reservedOf(alice.address, SECURITY, NOW + 10n)).toBe(0n);
    expect(books.restingOf(alice.address, NOW + 10n)).toHaveLength(0);
    // It is indeed gone when the next entry comes at that time.
    const later: OrderEntry = { ...entryOf(books.nextSequence, { side: "buy", quantity: lot, price: 100n, nonce: 2n }, bob), receivedAt: NOW + 10n };
    expect(books.prepare(later).fills).toHaveLength(0);
  });

  it("changes nothing until commit", () => {
    const { books } = scenario();
    const before = { next: books.nextSequence, reserved: books.reservedOf(alice.address, SECURITY), book: books.bookOf(SECURITY, CASH) };
    const prepared = books.prepare(entryOf(books.nextSequence, { side: "buy", quantity: 4n * lot, price: 200n, nonce: 3n }, bob));
    expect(prepared.fills).toHaveLength(1);
    expect(books.nextSequence).toBe(before.next);
    expect(books.reservedOf(alice.address, SECURITY)).toBe(before.reserved);
    expect(books.bookOf(SECURITY, CASH)).toBe(before.book);
    expect(books.isResting(0n)).toBe(true);
  });

  it("takes a venue-cancelled order off the book and out of the reservations", () => {
    const { books } = scenario();
    run(books, (s) => ({ kind: "venueCancel", sequence: s, receivedAt: NOW + 1n, target: 0n, reason: "disconnected" }));
    expect(books.isResting(0n)).toBe(false);
    expect(books.reservedOf(alice.address, SECURITY)).toBe(3n * lot); // the matched lots stay reserved
  });

  it("restores the same books from the stored log, also beyond a lowered book limit", () => {
    const { books, log } = scenario();
    const cancel: LogEntry = { kind: "venueCancel", sequence: books.nextSequence, receivedAt: NOW + 1n, target: 5n, reason: "disconnected" };
    books.prepare(cancel).commit();
    const restored = new OrderBooks([MARKET], { maxOrders: 1 }, DOMAIN);
    restored.restore([...log, cancel]);
    expect(restingOrders(restored.bookOf(SECURITY, CASH)!)).toEqual(restingOrders(books.bookOf(SECURITY, CASH)!));
    expect(restored.nextSequence).toBe(books.nextSequence);
    expect(restored.reservedOf(bob.address, CASH)).toBe(books.reservedOf(bob.address, CASH));
    expect(restored.unsettled).toEqual(books.unsettled);
    expect(restored.bookOf(SECURITY, CASH)!.limits.maxOrders).toBe(1);
  });

  it("restores a built-in log under an external engine, IOC fills included (checked as the built-in book makes them); a fill the built-in book would not make is refused", () => {
    const { books, log } = scenario();
    const ioc = run(books, (s) => entryOf(s, { side: "buy", quantity: 2n * lot, price: 101n, timeInForce: "IOC", nonce: 3n }, bob));
    expect(ioc.filter((e) => e.kind === "fill")).toHaveLength(1);
    const stored = [...log, ...ioc];
    const external = new OrderBooks([MARKET], LIMITS, DOMAIN, "external");
    external.restore(stored);
    expect(restingOrders(external.bookOf(SECURITY, CASH)!)).toEqual(restingOrders(books.bookOf(SECURITY, CASH)!));
    expect(external.reservedOf(bob.address, CASH)).toBe(books.reservedOf(bob.address, CASH));
    expect(external.unsettled).toEqual(books.unsettled);
    // An IOC fill the built-in book would not make is refused under the engine too.
    const altered = stored.map((e) => (e.kind === "fill" && e.takerSequence === ioc[0]!.sequence ? { ...e, quantity: lot } : e));
    expect(() => new OrderBooks([MARKET], LIMITS, DOMAIN, "external").restore(altered)).toThrow(expect.objectContaining({ code: "REPLAY_MISMATCH" }));
  });

  it("refuses a stored log whose fills the matcher does not make, or that has a gap", () => {
    const { log } = scenario();
    const fillAt = log.findIndex((e) => e.kind === "fill");
    const altered = log.map((e, i) => (i === fillAt && e.kind === "fill" ? { ...e, price: e.price + 1n } : e));
    expect(() => new OrderBooks([MARKET], LIMITS, DOMAIN).restore(altered)).toThrow(expect.objectContaining({ code: "REPLAY_MISMATCH" }));
    const dropped = log.filter((_, i) => i !== fillAt);
    expect(() => new OrderBooks([MARKET], LIMITS, DOMAIN).restore(dropped)).toThrow(expect.objectContaining({ code: "REPLAY_MISMATCH" }));
    expect(() => new OrderBooks([MARKET], LIMITS, DOMAIN).restore(log.slice(1))).toThrow(expect.objectContaining({ code: "OUT_OF_ORDER" }));
  });
});
