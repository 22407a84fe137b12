// The report's opening: how and where the run was made, and the headline figures (the top-level
// fields of bench/report.json, bench/lib/headline.ts).
import { fixed, int, table } from "./format.js";
import type { BenchReport } from "./types.js";

export function headlineSection(report: BenchReport): string[] {
  const m = report.machine;
  const missing = "not measured in this run";
  return [
    "# Clearline benchmark report",
    "",
    `Generated ${report.generatedAt} by \`npm run bench\` (commit ${m.commit}) in ${report.durationSeconds} s on ${m.cpus} × ${m.cpuModel}, ` +
      `Node ${m.node}, ${m.platform}. Load average before/after: ${m.loadAverageBefore.join(" / ")} → ${m.loadAverageAfter.join(" / ")} ` +
      "(the machine is shared; every CPU figure below is measured in the same run, so ratios hold even when absolute rates wander).",
    "",
    "Method, caveats and analysis: [docs/performance.md](../docs/performance.md).",
    "",
    "## Headline (the top-level fields of report.json)",
    "",
    table(
      ["figure", "value"],
      [
        ["node CPU per update (best multi-channel row), `node_cpu_us_per_update`", `${fixed(report.node_cpu_us_per_update)} µs`],
        ["1 verify + 1 sign (same run), `crypto_floor_us_per_update`", `${fixed(report.crypto_floor_us_per_update)} µs`],
        ["floor ÷ node CPU, `ceiling_ratio`", fixed(report.ceiling_ratio, 3)],
        ["maximum rate (best closed-loop row), `max_updates_per_s`", int(report.max_updates_per_s)],
        ["p99 at 50 % of the maximum (worst channel count), `p99_ms_at_half_load`", report.p99_ms_at_half_load === undefined ? missing : `${fixed(report.p99_ms_at_half_load, 2)} ms`],
        ["updates/s by workers, `updates_per_s_by_workers`", Object.entries(report.updates_per_s_by_workers).map(([w, r]) => `${w}: ${int(r)}`).join(", ")],
        ["restart with 100,000 channels, `restart_s_100k_channels`", report.restart_s_100k_channels === undefined ? missing : `${fixed(report.restart_s_100k_channels, 2)} s`],
        ["V8 heap per idle channel, `heap_bytes_per_channel`", report.heap_bytes_per_channel === undefined ? missing : `${int(report.heap_bytes_per_channel)} bytes`],
      ],
    ),
    "",
    Object.keys(report.updates_per_s_by_workers).length > 1
      ? "Workers are shard processes of one venue, channels sharded by investor (section 1.4)."
      : "Only the 1-worker figure: the workers section (shard processes side by side) was skipped in this run.",
    "",
  ];
}
