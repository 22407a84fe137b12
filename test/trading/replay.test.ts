import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  initialReplayState,
  isTradingError,
  replay,
  restingOrders,
  type FillEntry,
  type LogEntry,
} from "../../client/protocol/trading/index.js";
import { DOMAIN, MARKET, bob } from "./fixtures.js";
import { buildLog, realMatcher, stepsArb } from "./logs.js";

function codeOf(call: () => unknown): string {
  try {
    call();
    return "none";
  } catch (error) {
    if (isTradingError(error)) return error.code;
    throw error;
  }
}

const fillsOf = (entries: readonly LogEntry[]): FillEntry[] => entries.filter((e): e is FillEntry => e.kind === "fill");
const start = initialReplayState(MARKET);

/** Random logs of the real matcher that hold at least one fill. */
const logsWithFills = stepsArb.map((steps) => buildLog(steps, realMatcher())).filter((log) => fillsOf(log).length > 0);

describe("replay", () => {
  it("reproduces every fill of a random log exactly, and splitting the log anywhere changes nothing", () => {
    fc.assert(
      fc.property(stepsArb, fc.nat(), (steps, cut) => {
        const log = buildLog(steps, realMatcher());
        const whole = replay(log, DOMAIN, start);
        expect(whole.fills).toEqual(fillsOf(log));
        expect(whole.state.nextSequence).toBe(BigInt(log.length));
        // Segments cut between an order and its fills cannot be replayed alone; cut before an order or cancel.
        const cuts = log.flatMap((e, i) => (e.kind === "fill" ? [] : [i]));
        const at = cuts.length === 0 ? 0 : (cuts[cut % cuts.length] as number);
        const first = replay(log.slice(0, at), DOMAIN, start);
        const second = replay(log.slice(at), DOMAIN, first.state);
        expect([...first.fills, ...second.fills]).toEqual(whole.fills);
        expect(restingOrders(second.state.book)).toEqual(restingOrders(whole.state.book));
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a log whose fill was altered, dropped, added or moved: REPLAY_MISMATCH", () => {
    fc.assert(
      fc.property(logsWithFills, fc.nat(), fc.constantFrom("quantity", "price", "maker", "drop", "add", "swap"), (log, pick, how) => {
        const fillAt = log.flatMap((e, i) => (e.kind === "fill" ? [i] : []));
        const at = fillAt[pick % fillAt.length] as number;
        const fill = log[at] as FillEntry;
        const tampered = log.slice();
        const renumber = (entries: LogEntry[]): LogEntry[] => entries.map((e, i) => ({ ...e, sequence: BigInt(i) }));
        switch (how) {
          case "quantity":
            tampered[at] = { ...fill, quantity: fill.quantity + MARKET.lotSize };
            break;
          case "price":
            tampered[at] = { ...fill, price: fill.price - 1n };
            break;
          case "maker":
            tampered[at] = { ...fill, makerSequence: fill.makerSequence + 1n };
            break;
          case "drop":
            tampered.splice(at, 1);
            break;
          case "add":
            tampered.splice(at + 1, 0, { ...fill, sequence: fill.sequence + 1n });
            break;
          case "swap": {
            const before = log[at - 1] as LogEntry;
            fc.pre(before.kind === "fill");
            tampered[at - 1] = { ...fill, sequence: before.sequence };
            tampered[at] = { ...before, sequence: fill.sequence };
            break;
          }
        }
        const renumbered = how === "drop" || how === "add" ? renumber(tampered) : tampered;
        expect(codeOf(() => replay(renumbered, DOMAIN, start))).toBe("REPLAY_MISMATCH");
      }),
      { numRuns: 200 },
    );
  });

  it("refuses gaps in the sequence numbers and time going back: OUT_OF_ORDER", () => {
    fc.assert(
      fc.property(logsWithFills, fc.nat(), (log, pick) => {
        const at = pick % log.length;
        const gap = log.map((e, i) => (i >= at ? { ...e, sequence: e.sequence + 1n } : e));
        expect(codeOf(() => replay(gap, DOMAIN, start))).toBe("OUT_OF_ORDER");
      }),
      { numRuns: 50 },
    );
    const log = buildLog(
      [
        { kind: "order", investor: 0, side: "buy", price: 100n, lots: 1n, ioc: false, expiry: undefined, dt: 5n, pick: 1 },
        { kind: "order", investor: 1, side: "buy", price: 100n, lots: 1n, ioc: false, expiry: undefined, dt: 0n, pick: 1 },
      ],
      realMatcher(),
    );
    const back = log.map((e, i) => (i === 1 && e.kind === "order" ? { ...e, receivedAt: e.receivedAt - 1n } : e));
    expect(codeOf(() => replay(back, DOMAIN, start))).toBe("OUT_OF_ORDER");
  });

  it("refuses a cancel of someone else's order, of a fill, or naming another order hash: UNKNOWN_ORDER", () => {
    const log = buildLog(
      [
        { kind: "order", investor: 0, side: "buy", price: 100n, lots: 2n, ioc: false, expiry: undefined, dt: 0n, pick: 0 },
        { kind: "order", investor: 1, side: "sell", price: 100n, lots: 1n, ioc: false, expiry: undefined, dt: 0n, pick: 0 },
        { kind: "cancel", investor: 0, side: "buy", price: 0n, lots: 0n, ioc: false, expiry: undefined, dt: 1n, pick: 0 },
      ],
      realMatcher(),
    );
    expect(replay(log, DOMAIN, start).state.book.size).toBe(0);
    const cancel = log[3];
    if (cancel?.kind !== "cancel") throw new Error("fixture: order, order, fill, cancel");
    const variants: LogEntry[] = [
      { ...cancel, target: 1n },
      { ...cancel, target: 2n },
      { ...cancel, target: 9n },
      { ...cancel, signed: { ...cancel.signed, cancel: { ...cancel.signed.cancel, orderHash: `0x${"00".repeat(32)}` } } },
      // Bob cancelling Alice's order by its hash: the order hash is right, the investor is not hers.
      { ...cancel, signed: { ...cancel.signed, cancel: { ...cancel.signed.cancel, investor: bob.address } } },
    ];
    for (const variant of variants) expect(codeOf(() => replay([...log.slice(0, 3), variant], DOMAIN, start))).toBe("UNKNOWN_ORDER");
  });

  it("refuses an order of another market: WRONG_MARKET", () => {
    const [first] = buildLog([{ kind: "order", investor: 0, side: "buy", price: 100n, lots: 1n, ioc: false, expiry: undefined, dt: 0n, pick: 0 }], realMatcher());
    if (first?.kind !== "order") throw new Error("fixture");
    const other = { ...first, signed: { ...first.signed, order: { ...first.signed.order, lotSize: 1n } } };
    expect(codeOf(() => replay([other], DOMAIN, start))).toBe("WRONG_MARKET");
  });
});
