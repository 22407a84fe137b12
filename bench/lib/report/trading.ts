// Section 5.1 (trading): orders and settled fills, and where the node's time goes while settling them (bench/trading.ts).
import type { TradingBench } from "../../trading.js";
import { fixed, int, table } from "./format.js";

export function tradingSection(t: TradingBench): string[] {
  const out = ["## 5.1 Trading: orders and settled fills", ""];
  out.push(
    `${t.pairs} pairs of investors (SDK clients, native signer, in the orchestrator's process), each pair a closed loop: the seller rests a GTC sell of one lot, ` +
      "the buyer takes it with an IOC buy at the same price, and the pair waits until neither channel holds a lock of the fill (lock pair agreed in both channels, " +
      `then resolved with the secret) before its next round — ${t.pairs} fills in flight. Node with \`trading.settlement\` (docs/trading.md), under \`--cpu-prof\`; ` +
      `window ${fixed(t.windowSeconds)} s after the warm-up. Latency: the taker's order sent → its fill seen settled in both channels, at the clients.`,
    "",
  );
  out.push(
    table(
      ["orders accepted/s", "fills settled/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "node CPU (% of 1 core)", "node CPU µs per fill", "settled / failed (whole run)"],
      [[fixed(t.ordersAcceptedPerSecond), fixed(t.fillsSettledPerSecond), fixed(t.orderToSettledMs.p50, 1), fixed(t.orderToSettledMs.p90, 1), fixed(t.orderToSettledMs.p99, 1), fixed(t.orderToSettledMs.max, 1), `${fixed(t.nodeCorePercent, 0)}%`, int(t.nodeCpuUsPerFill), `${int(t.settledTotal)} / ${int(t.failedTotal)}`]],
    ),
    "",
  );
  if (t.profile !== undefined) {
    out.push(`The node's main thread in the window: ${int(t.profile.busyMs)} ms busy of ${int(t.profile.wallMs)} ms. Share of its busy time per part:`, "");
    out.push(table(["component (self time)", "ms", "%"], t.profile.byComponent.map((e) => [e.name, int(e.ms), fixed(e.percent)])), "");
    out.push(table(["node/core function (inclusive time)", "ms", "%"], t.profile.topInclusive.slice(0, 15).map((e) => [`\`${e.name}\``, int(e.ms), fixed(e.percent)])), "");
  }
  return out;
}
