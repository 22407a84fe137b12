import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { auditPriority, initialReplayState, replay, type FillEntry, type LogEntry, type Side } from "../../client/protocol/trading/index.js";
import { DOMAIN, MARKET, deepFreeze } from "./fixtures.js";
import { buildLog, realMatcher, stepsArb, type Matcher, type Step } from "./logs.js";

interface Resting {
  sequence: bigint;
  side: Side;
  price: bigint;
  remaining: bigint;
  expiresAt: bigint;
}

/** Which of two crossing resting orders a list matcher fills first (negative: `a`). */
type Rank = (a: Resting, b: Resting, takerSide: Side) => number;

const better = (a: Resting, b: Resting, takerSide: Side): number =>
  a.price === b.price ? 0 : (takerSide === "buy" ? a.price < b.price : a.price > b.price) ? -1 : 1;
const earlier = (a: Resting, b: Resting): number => (a.sequence < b.sequence ? -1 : a.sequence > b.sequence ? 1 : 0);

const RANKS: Record<string, Rank> = {
  priceTime: (a, b, side) => better(a, b, side) || earlier(a, b),
  // Deliberately wrong: newest first within a price (time priority broken).
  lastInFirstOut: (a, b, side) => better(a, b, side) || earlier(b, a),
  // Deliberately wrong: the largest open quantity first, then by time (price priority broken).
  largestFirst: (a, b) => (a.remaining === b.remaining ? earlier(a, b) : a.remaining > b.remaining ? -1 : 1),
};

/** A matcher over a plain list of resting orders, filling crossing orders in the order `rank` gives. */
function listMatcher(rank: Rank): Matcher {
  let resting: Resting[] = [];
  return (entry) => {
    resting = resting.filter((o) => o.expiresAt === 0n || o.expiresAt > entry.receivedAt);
    if (entry.kind === "cancel") {
      resting = resting.filter((o) => o.sequence !== entry.target);
      return [];
    }
    const { order } = entry.signed;
    const crossing = resting
      .filter((o) => o.side !== order.side && (order.side === "buy" ? o.price <= order.price : o.price >= order.price))
      .sort((a, b) => rank(a, b, order.side));
    const fills: FillEntry[] = [];
    let left = order.quantity;
    for (const maker of crossing) {
      if (left === 0n) break;
      const quantity = maker.remaining < left ? maker.remaining : left;
      fills.push({ kind: "fill", sequence: entry.sequence + 1n + BigInt(fills.length), makerSequence: maker.sequence, takerSequence: entry.sequence, quantity, price: maker.price });
      maker.remaining -= quantity;
      left -= quantity;
    }
    resting = resting.filter((o) => o.remaining > 0n);
    if (left > 0n && order.timeInForce === "GTC") resting.push({ sequence: entry.sequence, side: order.side, price: order.price, remaining: left, expiresAt: order.expiresAt });
    return fills;
  };
}

const step = (s: Partial<Step>): Step => ({ kind: "order", investor: 0, side: "buy", price: 100n, lots: 1n, ioc: false, expiry: undefined, dt: 0n, pick: 1, ...s });
const stringify = (log: readonly LogEntry[]): string => JSON.stringify(log, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));

describe("auditPriority", () => {
  it("finds nothing in the real matcher's logs (and a price–time list matcher writes the same logs)", () => {
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const log = buildLog(steps, realMatcher());
        expect(auditPriority(log, MARKET)).toEqual([]);
        expect(stringify(buildLog(steps, listMatcher(RANKS.priceTime as Rank)))).toBe(stringify(log));
      }),
      { numRuns: 200 },
    );
  });

  it.each(["lastInFirstOut", "largestFirst"])("catches a %s matcher whenever its fills differ from price–time priority", (name) => {
    let caught = 0;
    fc.assert(
      fc.property(stepsArb, (steps) => {
        const right = buildLog(steps, realMatcher());
        const wrong = buildLog(steps, listMatcher(RANKS[name] as Rank));
        const violations = auditPriority(wrong, MARKET);
        if (stringify(wrong) === stringify(right)) {
          expect(violations).toEqual([]);
        } else {
          caught++;
          expect(violations.filter((v) => v.kind === "priority").length).toBeGreaterThan(0);
          // The audit names a real fill of the log and an order that rested before it.
          for (const v of violations.filter((x) => x.kind === "priority")) {
            const fill = wrong[Number(v.sequence)];
            expect(fill?.kind).toBe("fill");
            expect(v.overtakenSequence).not.toBeNull();
            expect((v.overtakenSequence as bigint) < v.sequence).toBe(true);
          }
          // Replay agrees the log is not ours.
          expect(() => replay(wrong, DOMAIN, initialReplayState(MARKET))).toThrow(expect.objectContaining({ code: "REPLAY_MISMATCH" }));
        }
      }),
      { numRuns: 200 },
    );
    // Differences need two crossing orders resting at once; random logs hit that a few percent of the time.
    expect(caught).toBeGreaterThan(0);
  });

  it("reports the exact violation of a hand-made log: a later order at the same price filled first", () => {
    const log = buildLog([step({ side: "sell" }), step({ side: "sell", investor: 1 }), step({ investor: 2 })], listMatcher(RANKS.lastInFirstOut as Rank));
    expect(auditPriority(log, MARKET)).toEqual([{ kind: "priority", sequence: 3n, takerSequence: 2n, makerSequence: 1n, overtakenSequence: 0n }]);
  });

  it("counts an order the venue took off the book (venue cancel) as no longer resting", () => {
    // A's ask is cancelled, then B's ask at the same price is filled: no violation. The same log with
    // the investor's cancel replaced by the venue's (A's session closed) audits the same way.
    const honest = buildLog([step({ side: "sell" }), step({ side: "sell", investor: 1 }), step({ kind: "cancel", pick: 0 }), step({ investor: 2 })], realMatcher());
    const cancel = honest[2] as LogEntry & { kind: "cancel" };
    expect(cancel.kind).toBe("cancel");
    expect((honest[4] as FillEntry).makerSequence).toBe(1n);
    const byVenue: LogEntry[] = honest.map((e) => (e === cancel ? { kind: "venueCancel", sequence: cancel.sequence, receivedAt: cancel.receivedAt, target: cancel.target, reason: "disconnected" } : e));
    expect(auditPriority(honest, MARKET)).toEqual([]);
    expect(auditPriority(byVenue, MARKET)).toEqual([]);
    // Without any cancel, the same fill overtakes A.
    const withoutCancel = honest.filter((e) => e !== cancel).map((e, i) => ({ ...e, sequence: BigInt(i) }) as LogEntry);
    const fill = withoutCancel[3] as FillEntry;
    const overtaking: LogEntry[] = [...withoutCancel.slice(0, 3), { ...fill, takerSequence: 2n }];
    expect(auditPriority(overtaking, MARKET).map((v) => v.kind)).toContain("priority");
  });

  it("reports a worse price filled while a better one rested", () => {
    const honest = buildLog([step({ side: "sell", price: 101n }), step({ side: "sell", price: 100n }), step({ price: 101n })], realMatcher());
    expect(auditPriority(honest, MARKET)).toEqual([]);
    const fill = honest[3] as FillEntry;
    expect(fill.makerSequence).toBe(1n);
    // The same log, but the buyer was given the 101 ask while the 100 ask rested.
    const worse: LogEntry[] = [...honest.slice(0, 3), { ...fill, makerSequence: 0n, price: 101n }];
    expect(auditPriority(worse, MARKET)).toEqual([
      { kind: "priority", sequence: 3n, takerSequence: 2n, makerSequence: 0n, overtakenSequence: 1n },
    ]);
  });

  it("reports fills off the maker's price or beyond the taker's limit, bad quantities, orphans and non-resting makers", () => {
    const honest = buildLog([step({ side: "sell", lots: 2n }), step({ lots: 1n })], realMatcher());
    const fill = honest[2] as FillEntry;
    const kinds = (log: LogEntry[]): string[] => auditPriority(log, MARKET).map((v) => v.kind);
    expect(kinds(honest)).toEqual([]);
    expect(kinds([...honest.slice(0, 2), { ...fill, price: 99n }])).toEqual(["price"]);
    expect(kinds([...honest.slice(0, 2), { ...fill, quantity: 3n * MARKET.lotSize }])).toEqual(["quantity", "missed-match"]);
    expect(kinds([...honest.slice(0, 2), { ...fill, quantity: 1n }])).toEqual(["quantity", "missed-match"]);
    expect(kinds([...honest.slice(0, 2), { ...fill, makerSequence: 1n }])).toEqual(["not-resting", "missed-match"]);
    expect(kinds([honest[0] as LogEntry, { ...fill, sequence: 1n }])).toEqual(["orphan-fill"]);
    // Beyond the buyer's limit: the seller asks 101, the buyer bids 100, and a fill happens anyway.
    const apart = buildLog([step({ side: "sell", price: 101n }), step({ price: 100n })], realMatcher());
    expect(apart).toHaveLength(2);
    expect(kinds([...apart, { kind: "fill", sequence: 2n, makerSequence: 0n, takerSequence: 1n, quantity: MARKET.lotSize, price: 101n }])).toEqual(["price"]);
  });

  it("reports an order that rests, or an IOC that is dropped, while it crosses the book", () => {
    const honest = buildLog([step({ side: "sell" }), step({ lots: 1n })], realMatcher());
    expect(auditPriority(honest.slice(0, 2), MARKET)).toEqual([{ kind: "missed-match", sequence: 1n, takerSequence: 1n, makerSequence: null, overtakenSequence: 0n }]);
    const ioc = buildLog([step({ side: "sell" }), step({ ioc: true, pick: 0 })], realMatcher());
    expect(ioc[1]?.kind === "order" && ioc[1].signed.order.timeInForce).toBe("IOC");
    expect(auditPriority(ioc.slice(0, 2), MARKET).map((v) => v.kind)).toEqual(["missed-match"]);
  });

  it("audits a segment from the state a replay of the earlier entries left", () => {
    fc.assert(
      fc.property(stepsArb, fc.nat(), (steps, cut) => {
        const log = buildLog(steps, listMatcher(RANKS.lastInFirstOut as Rank));
        const cuts = log.flatMap((e, i) => (e.kind === "fill" ? [] : [i]));
        const at = cuts.length === 0 ? 0 : (cuts[cut % cuts.length] as number);
        // Replay the honest prefix only when it is honest; otherwise audit from the start.
        const whole = auditPriority(log, MARKET);
        const prefixViolations = auditPriority(log.slice(0, at), MARKET);
        fc.pre(prefixViolations.length === 0);
        const { state } = replay(log.slice(0, at), DOMAIN, initialReplayState(MARKET));
        // The audit builds on the replayed book without writing to it.
        expect(auditPriority(log.slice(at), MARKET, { ...state, book: deepFreeze(state.book) })).toEqual(whole);
      }),
      { numRuns: 100 },
    );
  });
});
