// The arithmetic of the trading bench's window: what counts as inside it, and the rates and
// latencies it reports. Pure, so test/bench checks it without running any load.
import { percentilesOf, type Percentiles } from "./percentiles.js";

/** One fill as the bench saw it: when its taker order left, and when its settlement was seen done. */
export interface FillTiming {
  /** performance.now() when the taker order that caused the fill was sent. */
  readonly orderSentMs: number;
  /** performance.now() when both investors' channels held no lock of the fill any more. */
  readonly settledMs: number;
}

export interface TradingWindow {
  readonly startMs: number;
  readonly endMs: number;
}

export interface TradingFigures {
  readonly windowSeconds: number;
  /** Orders whose receipt arrived inside the window, per second (makers' and takers'). */
  readonly ordersAcceptedPerSecond: number;
  /** Fills whose settlement ended inside the window, per second. */
  readonly fillsSettledPerSecond: number;
  /** Taker order sent → settlement seen, in ms, of the fills settled inside the window. */
  readonly orderToSettledMs: Percentiles;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** Rates and latencies of the window: an event counts when it ended inside [start, end). */
export function tradingFigures(window: TradingWindow, orderAcceptedAtMs: readonly number[], fills: readonly FillTiming[]): TradingFigures {
  if (!(window.endMs > window.startMs)) throw new RangeError("the window must end after it starts");
  const inside = (at: number) => at >= window.startMs && at < window.endMs;
  const seconds = (window.endMs - window.startMs) / 1000;
  const settled = fills.filter((fill) => inside(fill.settledMs));
  return {
    windowSeconds: round1(seconds),
    ordersAcceptedPerSecond: round1(orderAcceptedAtMs.filter(inside).length / seconds),
    fillsSettledPerSecond: round1(settled.length / seconds),
    orderToSettledMs: percentilesOf(settled.map((fill) => fill.settledMs - fill.orderSentMs)),
  };
}
