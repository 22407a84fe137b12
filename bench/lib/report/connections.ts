// Section 1.2: a few channels in closed loop beside many idle authenticated connections; empty when skipped.
import { nodeCpuUsPerUpdate } from "./derive.js";
import { fixed, int, refusalsText, table } from "./format.js";
import type { ThroughputRow } from "./types.js";

export function connectionsSection(rows: readonly ThroughputRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    "## 1.2 Many connections",
    "",
    "A few channels run closed-loop while the rest of the connections are authenticated sessions of other investors, held open and silent.",
    "",
    table(
      ["connections", "active channels", "updates/s", "p50 ms", "p99 ms", "p99.9 ms", "node CPU µs/update", "refused"],
      rows.map((row) => [
        int(row.channels + row.idleConnections),
        row.channels,
        int(row.updatesPerSecond),
        fixed(row.latencyMs.p50, 2),
        fixed(row.latencyMs.p99, 2),
        fixed(row.latencyMs.p999, 2),
        int(nodeCpuUsPerUpdate(row)),
        refusalsText(row.refusals),
      ]),
    ),
    "",
  ];
}
