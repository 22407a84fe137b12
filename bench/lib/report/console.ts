// The summary the bench prints when it ends: the headline and a few lines of each measured section.
import { derive } from "./derive.js";
import { fixed, int, mib } from "./format.js";
import { gasRows } from "./gas.js";
import { THROUGHPUT_ANCHORS } from "./peers.js";
import type { BenchReport } from "./types.js";

const pad = (text: string | number, width: number) => String(text).padStart(width);

export function renderConsole(report: BenchReport): string {
  const d = derive(report);
  const lines: string[] = [];
  lines.push(
    "",
    `headline: node CPU ${fixed(report.node_cpu_us_per_update)} µs/update, crypto floor ${fixed(report.crypto_floor_us_per_update)} µs, ratio ${fixed(report.ceiling_ratio, 3)}, ` +
      `max ${int(report.max_updates_per_s)}/s, p99 at half load ${report.p99_ms_at_half_load ?? "—"} ms, restart with 100k channels ${report.restart_s_100k_channels ?? "—"} s, ` +
      `heap/channel ${report.heap_bytes_per_channel ?? "—"} bytes`,
  );
  lines.push("", `Clearline bench — ${report.machine.cpus} cores, Node ${report.machine.node}, load avg ${report.machine.loadAverageBefore.join("/")}`, "");
  lines.push("node throughput (compliance-checked, fsync'd, countersigned; load generator in its own process)");
  lines.push(`${"channels".padEnd(9)}${pad("updates/s", 11)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}${pad("node CPU", 10)}${pad("µs/upd", 8)}${pad("÷ceiling", 10)}`);
  for (const { row, nodeCpuUs, nodeCorePercent, ratio } of d.rows) {
    lines.push(
      `${String(row.channels).padEnd(9)}${pad(int(row.updatesPerSecond), 11)}${pad(fixed(row.latencyMs.p50, 2), 9)}${pad(fixed(row.latencyMs.p99, 2), 9)}${pad(`${fixed(nodeCorePercent, 0)}%`, 10)}${pad(int(nodeCpuUs), 8)}${pad(`${fixed(ratio * 100)}%`, 10)}`,
    );
  }
  lines.push(
    "",
    `crypto ceiling (native, one core): sign ${int(d.nativeSign)}/s, verify ${int(d.nativeVerify)}/s → verify+sign ${int(d.verifySignCeiling)} updates/s; with 2 digests ${int(d.verifySignDigestCeiling)}/s`,
    `disk: one fsync'd LevelDB write p50 ${fixed(report.disk.p50Ms, 3)} ms, p99 ${fixed(report.disk.p99Ms, 3)} ms`,
    `anchors: ${THROUGHPUT_ANCHORS.map((a) => `${a.system} ${int(a.paymentsPerSecond)}/s`).join("; ")}`,
  );
  if (report.profile !== undefined) {
    lines.push("", `profile (${report.profile.channels} channels), top components of the node's busy time:`);
    for (const e of report.profile.summary.byComponent.slice(0, 8)) lines.push(`  ${fixed(e.percent).padStart(5)}%  ${e.name}`);
  }
  lines.push("", "memory and restart");
  for (const r of report.memory) lines.push(`  ${pad(int(r.channels), 6)} channels: /health after ${pad(int(r.startMs), 6)} ms, RSS ${pad(mib(r.rssBytes), 6)} MiB, heap ${pad(mib(r.heapUsedBytes), 6)} MiB`);
  if (d.memoryPerChannel !== undefined) lines.push(`  per channel: heap ${fixed(d.memoryPerChannel.heapBytes / 1024, 2)} KiB, RSS ${fixed(d.memoryPerChannel.rssBytes / 1024, 2)} KiB; restart +${int(d.restartPerThousandMs ?? 0)} ms per 1,000 channels`);
  if (report.postgres !== undefined) {
    const p = report.postgres;
    if (p.skipped !== undefined) lines.push("", `postgres: skipped (${p.skipped})`);
    else {
      const level = new Map(report.throughput.map((row) => [row.channels, row.updatesPerSecond]));
      lines.push("", `node on PostgreSQL ${p.serverVersion} (updates/s, LevelDB in brackets): ${p.throughput.map((row) => `${row.channels} ch ${int(row.updatesPerSecond)} (${int(level.get(row.channels) ?? 0)})`).join(", ")}`);
      lines.push(`failover (leader SIGKILLed → standby serving, lease ttl ${int(p.lease.ttlMs)} ms): median ${int(p.failover.medianMs)} ms, max ${int(p.failover.maxMs)} ms`);
    }
  }
  if (report.trading !== undefined) {
    const t = report.trading;
    lines.push("", `trading (${t.pairs} pairs in closed loop): ${fixed(t.ordersAcceptedPerSecond)} orders/s accepted, ${fixed(t.fillsSettledPerSecond)} fills/s settled, order → settled p50 ${fixed(t.orderToSettledMs.p50, 1)} ms, p99 ${fixed(t.orderToSettledMs.p99, 1)} ms, node CPU ${int(t.nodeCpuUsPerFill)} µs per fill`);
  }
  lines.push("", "gas (1 asset | 2 assets | anchor)");
  for (const [operation, one, two, anchor, verdict] of gasRows(report)) lines.push(`  ${String(operation).padEnd(40)}${pad(one!, 9)}${pad(two!, 9)}${pad(anchor!, 9)}  ${verdict}`);
  return lines.join("\n");
}
