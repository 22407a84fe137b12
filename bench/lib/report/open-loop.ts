// Section 1.1: latency at a fixed offered rate (open loop); empty when the open-loop runs were skipped.
import { nodeCpuUsPerUpdate } from "./derive.js";
import { fixed, int, refusalsText, table } from "./format.js";
import type { OpenLoopRow } from "./types.js";

export function openLoopSection(rows: readonly OpenLoopRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    "## 1.1 Latency at a fixed rate (open loop)",
    "",
    "Proposals are due at a constant total rate, set by a clock and dealt round-robin to the channels; a channel still waiting for its previous answer sends late. " +
      "Latency runs from the time each proposal was due to its countersignature, so queueing is counted (no coordinated omission); the send lag is how late proposals left. " +
      "Rates are fractions of the maximum closed-loop rate above.",
    "",
    table(
      ["channels", "offered", "of max", "achieved updates/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "send lag p99 ms", "node CPU µs/update", "store batches (over 50 ms; all within)", "unanswered", "refused"],
      rows.map((row) => [
        row.channels,
        int(row.offeredPerSecond ?? 0),
        `${fixed(row.loadFraction * 100, 0)}%`,
        int(row.updatesPerSecond),
        fixed(row.latencyMs.p50, 2),
        fixed(row.latencyMs.p99, 2),
        fixed(row.latencyMs.p999, 2),
        fixed(row.latencyMs.max, 1),
        fixed(row.sendLagMs?.p99 ?? 0, 2),
        int(nodeCpuUsPerUpdate(row)),
        row.stalls.node.storeBatches === undefined
          ? "not measured"
          : `${int(row.stalls.node.storeBatches.count)} (${int(row.stalls.node.storeBatches.over50ms)}; ${row.stalls.node.storeBatches.allWithinMs === null ? "over 2.5 s" : `${row.stalls.node.storeBatches.allWithinMs} ms`})`,
        int(row.unanswered),
        refusalsText(row.refusals),
      ]),
    ),
    "",
  ];
}
