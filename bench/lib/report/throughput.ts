// Section 1: the node's closed-loop throughput, CPU per update, and the run's cross-checks.
import type { Derived } from "./derive.js";
import { fixed, int, refusalsText, table } from "./format.js";
import type { BenchReport } from "./types.js";

export function throughputSection(report: BenchReport, d: Derived): string[] {
  const checks = report.throughput.map((r) => `${r.channels}: node counted ${int(r.nodeMetrics.updates)} (mean ${fixed(r.nodeMetrics.meanUpdateMs, 2)} ms inside the node), ${r.verifiedCountersignatures} countersignatures verified, ${r.badCountersignatures} bad`);
  return [
    "## 1. Node throughput",
    "",
    "Compliance-checked (restricted security token, every update checked against the node's mirror of the ERC-1404 rules), " +
      "durably persisted (LevelDB, fsync'd group commit, before the countersignature leaves), countersigned payments. " +
      "The node and the load generator are separate processes on the same 2 cores, talking over real WebSockets on 127.0.0.1; " +
      "one investor, one connection and one channel per lane; each channel's updates strictly sequential. " +
      `Window ${report.settings.windowSeconds} s after a ${report.settings.warmupSeconds} s warm-up. Latency: proposal sent → countersignature received, at the client.`,
    "",
    table(
      ["channels", "updates/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "node CPU (% of 1 core)", "node CPU µs/update", "updates per node-CPU-second", "load generator CPU", "machine busy", "refused"],
      d.rows.map(({ row, nodeCpuUs, perNodeCpuSecond, nodeCorePercent, loadCorePercent, machinePercent }) => [
        row.channels,
        int(row.updatesPerSecond),
        fixed(row.latencyMs.p50, 2),
        fixed(row.latencyMs.p90, 2),
        fixed(row.latencyMs.p99, 2),
        fixed(row.latencyMs.max, 1),
        `${fixed(nodeCorePercent, 0)}%`,
        int(nodeCpuUs),
        int(perNodeCpuSecond),
        `${fixed(loadCorePercent, 0)}%`,
        `${fixed(machinePercent, 0)}%`,
        refusalsText(row.refusals),
      ]),
    ),
    "",
    `Cross-checks per run (channels: the node's own /metrics over the same window): ${checks.join("; ")}.`,
    "",
    `The idle node (${int(report.liveNode.channels)} channels loaded, chain watchers polling every second) used ${fixed(report.idleNodeCorePercent)}% of a core; ` +
      "that is included in the node CPU figures above. CPU comes from /proc (all of a process's threads: the JS thread, libuv's fsync/LevelDB workers, GC helpers); " +
      "\"machine busy\" counts every process on the machine, other tenants included.",
    "",
    `Disk: one fsync'd LevelDB write of a record-sized value takes ${fixed(report.disk.p50Ms, 3)} ms (p50; p99 ${fixed(report.disk.p99Ms, 3)} ms) here. ` +
      "A lone channel pays one such write per update (nothing to group it with), so its latency cannot fall below it; with many channels one synced batch carries many updates.",
    "",
    `Fairness (fewest / most updates of one channel in the window): ${report.throughput.map((r) => `${r.channels}: ${r.perChannel.min} / ${r.perChannel.max}`).join("; ")}.`,
    "",
  ];
}
