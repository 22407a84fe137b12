// Section 1.3: the node on PostgreSQL beside LevelDB, and the failover time (bench/postgres.ts).
import type { PostgresBench } from "../../postgres.js";
import { nodeCpuUsPerUpdate } from "./derive.js";
import { fixed, int, refusalsText, table } from "./format.js";
import type { ThroughputRow } from "./types.js";

export function postgresSection(p: PostgresBench, levelRows: readonly ThroughputRow[]): string[] {
  const out = ["## 1.3 The node on PostgreSQL, and failover", ""];
  if (p.skipped !== undefined) {
    out.push(`Not measured in this run: ${p.skipped}.`, "");
    return out;
  }
  out.push(
    `The same closed loop as section 1 with the node's store on PostgreSQL ${p.serverVersion} (a server the bench starts on 127.0.0.1, default settings, \`synchronous_commit\` on, ` +
      `no replica), the node holding the leader lease (ttl ${int(p.lease.ttlMs)} ms, renewed every ${int(p.lease.renewMs)} ms). Its ${int(p.channels)} channels were copied from the LevelDB node's store ` +
      `(record, deposits, latest agreed state; ${fixed(p.copyMs / 1000)} s). Every update commits one transaction (group commit across channels) before the countersignature leaves.`,
    "",
  );
  const level = new Map(levelRows.map((row) => [row.channels, row]));
  out.push(
    table(
      ["channels", "LevelDB updates/s", "PostgreSQL updates/s", "PostgreSQL ÷ LevelDB", "p50 ms", "p99 ms", "node CPU µs/update", "refused"],
      p.throughput.map((row) => {
        const base = level.get(row.channels);
        return [
          row.channels,
          base === undefined ? "" : int(base.updatesPerSecond),
          int(row.updatesPerSecond),
          base === undefined || base.updatesPerSecond === 0 ? "" : `${fixed((row.updatesPerSecond / base.updatesPerSecond) * 100, 0)}%`,
          fixed(row.latencyMs.p50, 2),
          fixed(row.latencyMs.p99, 2),
          int(nodeCpuUsPerUpdate(row)),
          refusalsText(row.refusals),
        ];
      }),
    ),
    "",
  );
  out.push(
    `Failover: an active and a standby node (the node's CLI) on that schema; once the standby's /health names the leader's lease, the leader is SIGKILLed, ` +
      `and the time until the standby's /health answers 200 (lease taken, ${int(p.channels)} channels loaded, listening) is measured; then the roles swap. ` +
      `The lease dominates it: the standby can take the lease only once it expired, ttl − (time since the last renewal) after the kill, then within one retry (${int(p.lease.retryMs)} ms).`,
    "",
  );
  out.push(
    table(
      ["round", "SIGKILL → lease taken, ms", "SIGKILL → standby serving, ms"],
      p.failover.samples.map((sample, i) => [i + 1, sample.leaseTakenMs === null ? "not seen" : int(sample.leaseTakenMs), int(sample.ms)]),
    ),
    "",
    `**Failover: median ${int(p.failover.medianMs)} ms, max ${int(p.failover.maxMs)} ms** with the default lease.`,
    "",
  );
  return out;
}
