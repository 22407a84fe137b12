// The trading bench's window arithmetic (bench/lib/trading-window.ts), without any load.
import { describe, expect, it } from "vitest";
import { tradingFigures } from "../../bench/lib/trading-window.js";

describe("trading window", () => {
  const window = { startMs: 1_000, endMs: 3_000 };

  it("counts orders and fills that ended inside [start, end) and rates them per second", () => {
    const accepted = [999, 1_000, 1_500, 2_999, 3_000];
    const fills = [
      { orderSentMs: 900, settledMs: 999 }, // settled before the window: left out
      { orderSentMs: 990, settledMs: 1_010 }, // sent before, settled inside: counted with its whole latency
      { orderSentMs: 2_000, settledMs: 2_040 },
      { orderSentMs: 2_900, settledMs: 3_000 }, // settled at the end: left out
    ];
    const figures = tradingFigures(window, accepted, fills);
    expect(figures.windowSeconds).toBe(2);
    expect(figures.ordersAcceptedPerSecond).toBe(1.5);
    expect(figures.fillsSettledPerSecond).toBe(1);
    expect(figures.orderToSettledMs.count).toBe(2);
    expect(figures.orderToSettledMs.p50).toBe(20);
    expect(figures.orderToSettledMs.max).toBe(40);
  });

  it("reports zero rates and empty percentiles for a window without events", () => {
    const figures = tradingFigures(window, [], []);
    expect([figures.ordersAcceptedPerSecond, figures.fillsSettledPerSecond, figures.orderToSettledMs.count]).toEqual([0, 0, 0]);
  });

  it("refuses a window that does not end after it starts", () => {
    expect(() => tradingFigures({ startMs: 5, endMs: 5 }, [], [])).toThrow(RangeError);
  });
});
