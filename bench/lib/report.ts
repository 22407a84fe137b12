// The benchmark's report: its JSON shape, the figures derived from the raw measurements (crypto
// ceiling, CPU per update, memory per channel), and its Markdown and console renderings.
import type { TradingBench } from "../trading.js";
import type { PostgresBench } from "../postgres.js";
import type { CryptoBench } from "../crypto.js";
import type { GasFigures } from "../../scripts/gas-measure.js";
import type { LoadResult } from "../load.js";
import { goalsOf } from "./goals.js";
import type { MirrorRow } from "./mirror.js";
import type { ProfileSummary } from "./profile.js";

export interface ProfiledRun {
  readonly channels: number;
  readonly updates: number;
  readonly updatesPerSecond: number;
  readonly summary: ProfileSummary;
}
import type { DiskBench } from "./disk.js";
import type { Headline } from "./headline.js";
import type { WorkersBench } from "../workers.js";

export type ThroughputRow = LoadResult;

/** An open-loop run, offered `loadFraction` of the maximum closed-loop rate. */
export interface OpenLoopRow extends LoadResult {
  readonly loadFraction: number;
}

export interface MemoryRow {
  readonly channels: number;
  /** Agreed states in the store (history entries), over all channels. */
  readonly storedUpdates: number;
  /** Time to build the store through the LevelStore API (signing every state), ms. */
  readonly fillMs: number;
  /** Channels the node reported on /health (must equal `channels`). */
  readonly listedAtHealth: number;
  /** Spawn of the node process → first 200 from /health: the faster of two starts, and both. */
  readonly startMs: number;
  readonly startsMs: readonly number[];
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

/** The report: the headline figures at its top level (bench/lib/headline.ts), then every raw row. */
export interface BenchReport extends Headline {
  readonly generatedAt: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
    readonly loadAverageBefore: number[];
    readonly loadAverageAfter: number[];
    readonly commit: string;
  };
  readonly settings: Record<string, unknown>;
  readonly crypto: CryptoBench;
  readonly disk: DiskBench;
  /** Closed loop: each channel as fast as the node answers. */
  readonly throughput: readonly ThroughputRow[];
  /** Open loop: fixed offered rates, latency from each proposal's due time. */
  readonly openLoop: readonly OpenLoopRow[];
  /** Closed loop over a few channels with many more authenticated connections held open, idle. */
  readonly connections: readonly ThroughputRow[];
  /** The throughput node after the runs: all bench channels loaded, sessions closed. */
  readonly liveNode: { readonly channels: number; readonly rssBytes: number; readonly heapUsedBytes: number };
  /** CPU of the node with channels loaded and no load (chain polling), % of one core. */
  readonly idleNodeCorePercent: number;
  /** Restart of the throughput node (before the profiled run) on its own data directory. */
  readonly restartWithLiveChannels: { readonly channels: number; readonly ms: number };
  readonly profile: ProfiledRun | undefined;
  /** The same profile in the open loop at half the maximum rate; absent when the open-loop runs were skipped. */
  readonly profileAtHalfLoad?: ProfiledRun;
  readonly memory: readonly MemoryRow[];
  /** The saved compliance mirror with many holders (bench/lib/mirror.ts); absent when skipped. */
  readonly mirror?: readonly MirrorRow[];
  /** Orders and settled fills (bench/trading.ts); absent when skipped. */
  readonly trading?: TradingBench;
  /** The node on PostgreSQL and its failover time (bench/postgres.ts): absent when skipped by flag, `skipped` when PostgreSQL is missing. */
  readonly postgres?: PostgresBench;
  /** Shard processes of one venue side by side (bench/workers.ts); absent when skipped. */
  readonly workers?: WorkersBench;
  readonly gas: { readonly oneAsset: GasFigures; readonly twoAssets: GasFigures; readonly issuer: GasFigures; readonly anchors: Record<string, number> };
}

/** Published throughput figures of peer systems. */
export const THROUGHPUT_ANCHORS = [
  { system: "Celer (published, one node)", paymentsPerSecond: 4_000 },
  { system: "Raiden (published)", paymentsPerSecond: 164 },
  { system: "LND (published, 2 vCPUs)", paymentsPerSecond: 22 },
] as const;

export interface Derived {
  readonly nativeSign: number;
  readonly nativeVerify: number;
  /** Updates/s one core could countersign if a verify and a sign were all an update cost. */
  readonly verifySignCeiling: number;
  /** The same with two state digests per update added (what the node computed before it reused the digest). */
  readonly verifySignDigestCeiling: number;
  readonly rows: readonly {
    readonly row: ThroughputRow;
    /** updates/s ÷ verifySignCeiling. */
    readonly ratio: number;
    /** Node CPU per update, µs. */
    readonly nodeCpuUs: number;
    /** Updates per second of node CPU: the rate one saturated core would give. */
    readonly perNodeCpuSecond: number;
    readonly nodeCorePercent: number;
    readonly loadCorePercent: number;
    /** Busy share of the whole machine (all cores, all processes). */
    readonly machinePercent: number;
  }[];
  readonly memoryPerChannel: { readonly rssBytes: number; readonly heapBytes: number } | undefined;
  readonly restartPerThousandMs: number | undefined;
}

export function derive(report: BenchReport): Derived {
  const native = report.crypto.signers.find((s) => s.implementation === "native") ?? report.crypto.signers[0]!;
  const verifySignCeiling = 1 / (1 / native.signPerSecond + 1 / native.verifyPerSecond);
  const verifySignDigestCeiling = 1 / (1 / native.signPerSecond + 1 / native.verifyPerSecond + 2 / report.crypto.stateDigestPerSecond);
  const rows = report.throughput.map((row) => ({
    row,
    ratio: row.updatesPerSecond / verifySignCeiling,
    nodeCpuUs: row.updates === 0 ? 0 : (row.cpu.node * 1e6) / row.updates,
    perNodeCpuSecond: row.cpu.node === 0 ? 0 : row.updates / row.cpu.node,
    nodeCorePercent: (row.cpu.node / row.windowSeconds) * 100,
    loadCorePercent: (row.cpu.loadGenerator / row.windowSeconds) * 100,
    machinePercent: row.cpu.machineCapacity === 0 ? 0 : (row.cpu.machineBusy / row.cpu.machineCapacity) * 100,
  }));
  const sorted = [...report.memory].sort((a, b) => a.channels - b.channels);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const span = first !== undefined && last !== undefined ? last.channels - first.channels : 0;
  return {
    nativeSign: native.signPerSecond,
    nativeVerify: native.verifyPerSecond,
    verifySignCeiling,
    verifySignDigestCeiling,
    rows,
    memoryPerChannel: span > 0 ? { rssBytes: (last!.rssBytes - first!.rssBytes) / span, heapBytes: (last!.heapUsedBytes - first!.heapUsedBytes) / span } : undefined,
    restartPerThousandMs: span > 0 ? ((last!.startMs - first!.startMs) / span) * 1000 : undefined,
  };
}

const int = (x: number) => Math.round(x).toLocaleString("en-US");
const fixed = (x: number, digits = 1) => x.toFixed(digits);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function table(headers: string[], rows: (string | number)[][], align?: ("l" | "r")[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const rule = `|${headers.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---")).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}

function gasRows(report: BenchReport): (string | number)[][] {
  const { oneAsset, twoAssets, anchors } = report.gas;
  return Object.keys({ ...oneAsset, ...twoAssets }).map((operation) => {
    const one = oneAsset[operation];
    const two = twoAssets[operation];
    const anchor = anchors[operation];
    const verdict = anchor === undefined || one === undefined ? "" : one <= anchor ? `${fixed(((one - anchor) / anchor) * 100)}% (at or below)` : `+${fixed(((one - anchor) / anchor) * 100)}%`;
    return [operation, one === undefined ? "" : int(one), two === undefined ? "" : int(two), anchor === undefined ? "" : int(anchor), verdict];
  });
}

export function renderMarkdown(report: BenchReport): string {
  const d = derive(report);
  const m = report.machine;
  const out: string[] = [];
  out.push("# Clearline benchmark report", "");
  out.push(
    `Generated ${report.generatedAt} by \`npm run bench\` (commit ${m.commit}) in ${report.durationSeconds} s on ${m.cpus} × ${m.cpuModel}, ` +
      `Node ${m.node}, ${m.platform}. Load average before/after: ${m.loadAverageBefore.join(" / ")} → ${m.loadAverageAfter.join(" / ")} ` +
      "(the machine is shared; every CPU figure below is measured in the same run, so ratios hold even when absolute rates wander).",
    "",
    "Method, caveats and analysis: [docs/performance.md](../docs/performance.md).",
    "",
  );

  out.push("## Headline (the top-level fields of report.json)", "");
  const missing = "not measured in this run";
  out.push(
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
  );

  out.push("## Against the goals of the performance issue", "");
  out.push(
    table(
      ["goal", "target", "this run", "met", "measured limit, and what would move it"],
      goalsOf(report).map((g) => [g.goal, g.target, g.measured, g.met === undefined ? "not measured" : g.met ? "yes" : "**no**", g.limit]),
    ),
    "",
  );

  out.push("## 1. Node throughput", "");
  out.push(
    "Compliance-checked (restricted security token, every update checked against the node's mirror of the ERC-1404 rules), " +
      "durably persisted (LevelDB, fsync'd group commit, before the countersignature leaves), countersigned payments. " +
      "The node and the load generator are separate processes on the same 2 cores, talking over real WebSockets on 127.0.0.1; " +
      "one investor, one connection and one channel per lane; each channel's updates strictly sequential. " +
      `Window ${report.settings.windowSeconds} s after a ${report.settings.warmupSeconds} s warm-up. Latency: proposal sent → countersignature received, at the client.`,
    "",
  );
  out.push(
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
        Object.entries(row.refusals).map(([code, n]) => `${code} ${n}`).join(", ") || "0",
      ]),
    ),
    "",
  );
  const checks = report.throughput.map((r) => `${r.channels}: node counted ${int(r.nodeMetrics.updates)} (mean ${fixed(r.nodeMetrics.meanUpdateMs, 2)} ms inside the node), ${r.verifiedCountersignatures} countersignatures verified, ${r.badCountersignatures} bad`);
  out.push(`Cross-checks per run (channels: the node's own /metrics over the same window): ${checks.join("; ")}.`, "");
  out.push(
    `The idle node (${int(report.liveNode.channels)} channels loaded, chain watchers polling every second) used ${fixed(report.idleNodeCorePercent)}% of a core; ` +
      "that is included in the node CPU figures above. CPU comes from /proc (all of a process's threads: the JS thread, libuv's fsync/LevelDB workers, GC helpers); " +
      "\"machine busy\" counts every process on the machine, other tenants included.",
    "",
  );
  out.push(
    `Disk: one fsync'd LevelDB write of a record-sized value takes ${fixed(report.disk.p50Ms, 3)} ms (p50; p99 ${fixed(report.disk.p99Ms, 3)} ms) here. ` +
      "A lone channel pays one such write per update (nothing to group it with), so its latency cannot fall below it; with many channels one synced batch carries many updates.",
    "",
  );
  out.push(`Fairness (fewest / most updates of one channel in the window): ${report.throughput.map((r) => `${r.channels}: ${r.perChannel.min} / ${r.perChannel.max}`).join("; ")}.`, "");

  if (report.openLoop.length > 0) {
    out.push("## 1.1 Latency at a fixed rate (open loop)", "");
    out.push(
      "Proposals are due at a constant total rate, set by a clock and dealt round-robin to the channels; a channel still waiting for its previous answer sends late. " +
        "Latency runs from the time each proposal was due to its countersignature, so queueing is counted (no coordinated omission); the send lag is how late proposals left. " +
        "Rates are fractions of the maximum closed-loop rate above.",
      "",
    );
    out.push(
      table(
        ["channels", "offered", "of max", "achieved updates/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "send lag p99 ms", "node CPU µs/update", "store batches (over 50 ms; all within)", "unanswered", "refused"],
        report.openLoop.map((row) => [
          row.channels,
          int(row.offeredPerSecond ?? 0),
          `${fixed(row.loadFraction * 100, 0)}%`,
          int(row.updatesPerSecond),
          fixed(row.latencyMs.p50, 2),
          fixed(row.latencyMs.p99, 2),
          fixed(row.latencyMs.p999, 2),
          fixed(row.latencyMs.max, 1),
          fixed(row.sendLagMs?.p99 ?? 0, 2),
          int(row.updates === 0 ? 0 : (row.cpu.node * 1e6) / row.updates),
          row.stalls.node.storeBatches === undefined
            ? "not measured"
            : `${int(row.stalls.node.storeBatches.count)} (${int(row.stalls.node.storeBatches.over50ms)}; ${row.stalls.node.storeBatches.allWithinMs === null ? "over 2.5 s" : `${row.stalls.node.storeBatches.allWithinMs} ms`})`,
          int(row.unanswered),
          Object.entries(row.refusals).map(([code, n]) => `${code} ${n}`).join(", ") || "0",
        ]),
      ),
      "",
    );
  }
  const threadRows = [...report.throughput, ...report.openLoop].filter((row) => row.updates > 0 && row.cpu.nodeThreads !== undefined);
  if (threadRows.length > 0) {
    out.push("## 1.1.1 The node's CPU per update by thread", "");
    out.push(
      "From /proc/<pid>/task at the window's edges: the main thread (the JavaScript event loop: parsing, checks, crypto, the store's encoding, socket reads and writes), " +
        "libuv's workers (LevelDB's writes and the fsync of every batch), V8's helper threads (concurrent GC and compilation, named `node`) and the rest; " +
        "user and kernel (sys) time, µs per counted update. Fewer updates per store batch and per wake-up (the open loop at a fixed rate) cost each update more.",
      "",
    );
    const groupUs = (row: ThroughputRow, pick: (name: string) => boolean, kind: "userSeconds" | "systemSeconds") =>
      (Object.entries(row.cpu.nodeThreads ?? {}).filter(([name]) => pick(name)).reduce((sum, [, g]) => sum + g[kind], 0) * 1e6) / row.updates;
    const isMain = (name: string) => name === "main";
    const isLibuv = (name: string) => name === "libuv-worker";
    const isOther = (name: string) => !isMain(name) && !isLibuv(name);
    out.push(
      table(
        ["run", "channels", "updates/s", "main user", "main sys", "libuv workers user", "libuv workers sys", "other threads", "node total µs/update"],
        threadRows.map((row) => [
          row.mode === "open" ? `open, ${fixed(((row as OpenLoopRow).loadFraction ?? 0) * 100, 0)}%` : "closed",
          row.channels,
          int(row.updatesPerSecond),
          int(groupUs(row, isMain, "userSeconds")),
          int(groupUs(row, isMain, "systemSeconds")),
          int(groupUs(row, isLibuv, "userSeconds")),
          int(groupUs(row, isLibuv, "systemSeconds")),
          int(groupUs(row, isOther, "userSeconds") + groupUs(row, isOther, "systemSeconds")),
          int((row.cpu.node * 1e6) / row.updates),
        ]),
      ),
      "",
    );
  }
  if (report.connections.length > 0) {
    out.push("## 1.2 Many connections", "");
    out.push("A few channels run closed-loop while the rest of the connections are authenticated sessions of other investors, held open and silent.", "");
    out.push(
      table(
        ["connections", "active channels", "updates/s", "p50 ms", "p99 ms", "p99.9 ms", "node CPU µs/update", "refused"],
        report.connections.map((row) => [
          int(row.channels + row.idleConnections),
          row.channels,
          int(row.updatesPerSecond),
          fixed(row.latencyMs.p50, 2),
          fixed(row.latencyMs.p99, 2),
          fixed(row.latencyMs.p999, 2),
          int(row.updates === 0 ? 0 : (row.cpu.node * 1e6) / row.updates),
          Object.entries(row.refusals).map(([code, n]) => `${code} ${n}`).join(", ") || "0",
        ]),
      ),
      "",
    );
  }

  if (report.postgres !== undefined) out.push(...postgresSection(report.postgres, report.throughput));
  if (report.workers !== undefined) out.push(...workersSection(report.workers));

  out.push("## 2. Crypto ceiling (same run, one core)", "");
  out.push(
    table(
      ["operation", "per second"],
      [
        ["keccak-256 of 64 bytes", int(report.crypto.keccak64PerSecond)],
        ["stateDigest (core, EIP-712)", int(report.crypto.stateDigestPerSecond)],
        ["TypedDataEncoder.hash (ethers)", int(report.crypto.ethersTypedDataHashPerSecond)],
        ...report.crypto.signers.flatMap((s) => [
          [`sign (${s.implementation})`, int(s.signPerSecond)],
          [`verify (${s.implementation})`, int(s.verifyPerSecond)],
          [`recover (${s.implementation})`, int(s.recoverPerSecond)],
        ]),
        ["**ceiling: 1 native verify + 1 native sign per update**", `**${int(d.verifySignCeiling)}**`],
        ["ceiling with 2 stateDigests per update added", int(d.verifySignDigestCeiling)],
      ],
    ),
    "",
  );
  out.push(
    table(
      ["channels", "updates/s", "÷ verify+sign ceiling", "÷ ceiling with digests", "updates per node-CPU-second ÷ ceiling"],
      d.rows.map(({ row, ratio, perNodeCpuSecond }) => [
        row.channels,
        int(row.updatesPerSecond),
        `${fixed(ratio * 100)}%`,
        `${fixed((row.updatesPerSecond / d.verifySignDigestCeiling) * 100)}%`,
        `${fixed((perNodeCpuSecond / d.verifySignCeiling) * 100)}%`,
      ]),
    ),
    "",
  );

  const best = Math.max(...report.throughput.map((r) => r.updatesPerSecond));
  out.push("## 3. Against published peers", "");
  out.push(
    table(
      ["system", "payments/s", "Clearline best here ÷ anchor"],
      [
        ["Clearline, this run (best row; compliance-checked, fsync'd, 2 cores shared with the load generator)", int(best), ""],
        ...THROUGHPUT_ANCHORS.map((a) => [a.system, int(a.paymentsPerSecond), `${fixed(best / a.paymentsPerSecond, 2)}×`]),
      ],
    ),
    "",
    "The anchors are published figures from other hardware and other definitions of a payment (see docs/performance.md); only the order of magnitude compares.",
    "",
  );

  if (report.profile !== undefined) {
    const p = report.profile;
    out.push("## 4. Where the node's time goes (CPU profile)", "");
    out.push(
      `One extra run of ${p.channels} channels with the node under \`--cpu-prof\` (${int(p.updatesPerSecond)} updates/s under the profiler). ` +
        `Only the samples inside the load generator's measurement window count (${int(p.summary.samples)} samples, 1 ms interval): ` +
        `${int(p.summary.wallMs)} ms wall, ${int(p.summary.busyMs)} ms busy on the node's main thread, ${int(p.summary.idleMs)} ms idle. ` +
        "Percentages are of busy time. Native work (libsecp256k1, LevelDB's JS side) is charged to the JS function that calls it; fsync runs on libuv's thread pool and is not in the main thread's profile.",
      "",
    );
    out.push(table(["component (self time)", "ms", "%"], p.summary.byComponent.map((e) => [e.name, int(e.ms), fixed(e.percent)])), "");
    out.push(table(["function (self time)", "ms", "%"], p.summary.topSelf.slice(0, 15).map((e) => [`\`${e.name}\``, int(e.ms), fixed(e.percent)])), "");
    out.push(table(["node/core function (inclusive time)", "ms", "%"], p.summary.topInclusive.slice(0, 15).map((e) => [`\`${e.name}\``, int(e.ms), fixed(e.percent)])), "");
  }

  if (report.profile !== undefined && report.profileAtHalfLoad !== undefined && report.profile.updates > 0 && report.profileAtHalfLoad.updates > 0) {
    const saturated = report.profile;
    const half = report.profileAtHalfLoad;
    out.push("### 4.1 The same, per update: saturated and at half load", "");
    out.push(
      `The node's main-thread time per update by part, in the closed loop above (${int(saturated.updatesPerSecond)} updates/s) and then, on the same node under the same profiler, in the open loop at half the maximum ` +
        `(${int(half.updatesPerSecond)} updates/s, ${half.channels} channels): ${fixed((saturated.summary.busyMs * 1000) / saturated.updates, 0)} against ${fixed((half.summary.busyMs * 1000) / half.updates, 0)} µs busy per update. ` +
        "What grows at the lower rate is paid per wake-up and per store batch, not per update (socket reads and writes, the LevelDB batch call, timers and promises).",
      "",
    );
    const perUpdate = (run: ProfiledRun) => new Map(run.summary.byComponent.map((e) => [e.name, (e.ms * 1000) / run.updates]));
    const a = perUpdate(saturated);
    const b = perUpdate(half);
    const names = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (b.get(y) ?? 0) - (b.get(x) ?? 0));
    out.push(table(["component (self time)", "µs/update saturated", "µs/update at half load"], names.map((n) => [n, fixed(a.get(n) ?? 0, 1), fixed(b.get(n) ?? 0, 1)])), "");
  }

  out.push("## 5. Memory per open channel and restart time", "");
  out.push(
    `The node process started on a data directory holding N open channels (each with a confirmed deposit and ${report.settings.updatesPerChannel} agreed, doubly signed states ` +
      "in its history), filled with the LevelStore API; /metrics read 1 s after /health first answered, after a forced full GC. " +
      "Restart time = spawn of the node process (the compiled `clearline-node`, as a venue runs it; through tsx only where `dist/` is stale, and the bench log says so) → first 200 from /health; " +
        "the node loads every channel and restores its saved compliance mirror (the first start on a store the bench filled has none and rebuilds it from chain logs) before it listens.",
    "",
  );
  out.push(
    table(
      ["channels in store", "stored updates", "filled in s", "listed by /health", "restart → /health ms (faster of 2)", "both starts ms", "RSS MiB", "V8 heap used MiB", "external MiB"],
      report.memory.map((r) => [
        int(r.channels),
        int(r.storedUpdates),
        fixed(r.fillMs / 1000),
        int(r.listedAtHealth),
        int(r.startMs),
        r.startsMs.map(int).join(", "),
        mib(r.rssBytes),
        mib(r.heapUsedBytes),
        mib(r.externalBytes),
      ]),
    ),
    "",
  );
  if (d.memoryPerChannel !== undefined) {
    out.push(
      `**Per open channel: ${fixed(d.memoryPerChannel.heapBytes / 1024, 2)} KiB of V8 heap, ${fixed(d.memoryPerChannel.rssBytes / 1024, 2)} KiB of RSS** ` +
        `(slope between the smallest and the largest store); restart grows by ${int(d.restartPerThousandMs ?? 0)} ms per 1,000 channels. ` +
        `The throughput node after its runs: ${int(report.liveNode.channels)} channels, RSS ${mib(report.liveNode.rssBytes)} MiB, heap ${mib(report.liveNode.heapUsedBytes)} MiB (no forced GC); ` +
        `it restarted on its own data (${int(report.restartWithLiveChannels.channels)} channels with their full update history) in ${int(report.restartWithLiveChannels.ms)} ms.`,
      "",
    );
  }

  if (report.trading !== undefined) out.push(...tradingSection(report.trading));

  if (report.mirror !== undefined && report.mirror.length > 0) {
    out.push("## 5.1 The saved compliance mirror with many holders", "");
    out.push(
      "The node saves its mirror of the compliance facts (every holder's attributes and balance) in its store and restores it at restart. " +
        "Facts of one registry, rules contract and token; every holder with KYC, AML and COUNTRY attributes and a balance; medians in the bench's own process. " +
        "A save encodes the facts in slices across event-loop turns (the longest slice is the longest the node's loop waits for it), then writes one value to LevelDB; " +
        "a large mirror is saved less often (at most ~2 % of the main thread). \"Before\" is the one-call encoder, the schema decoder and events applied one at a time.",
      "",
    );
    const ms = (x: number) => fixed(x, x < 10 ? 1 : 0);
    out.push(
      table(
        ["holders", "record", "encode before (one call)", "encode now (CPU, longest slice)", "LevelDB write (longest 5 ms timer gap)", "saved every", "decode at restart: before → now", "a watcher chunk: before → now"],
        report.mirror.map((r) => [
          int(r.holders),
          `${fixed(r.recordBytes / 1e6, 1)} MB`,
          `${ms(r.before.encodeMs)} ms`,
          `${ms(r.after.encodeCpuMs)} ms (${ms(r.after.longestSliceMs)} ms)`,
          `${ms(r.after.storeWriteMs)} ms (${ms(r.after.storeWriteLongestGapMs)} ms)`,
          `${fixed(r.after.saveIntervalS, 0)} s`,
          `${ms(r.before.decodeMs)} → ${ms(r.after.decodeMs)} ms`,
          `${ms(r.before.chunkMs)} → ${ms(r.after.chunkMs)} ms`,
        ]),
      ),
      "",
    );
  }

  out.push("## 6. Gas of every adjudicator operation", "");
  out.push(
    "Hardhat 3 / EDR default hardfork, in-process chain, the whole system deployed by Ignition (scripts/gas-measure.ts). " +
      "Anchors: the cheapest of Nitro 0.17 and Vector 0.2 per operation, one ERC-20 asset.",
    "",
  );
  out.push(table(["operation", "1 asset (ERC-20)", "2 assets (security + cash)", "anchor", "1 asset vs anchor"], gasRows(report)), "");
  out.push(table(["issuer / restricted-token path", "gas"], Object.entries(report.gas.issuer).map(([operation, gas]) => [operation, int(gas)])), "");
  return out.join("\n");
}

export function renderConsole(report: BenchReport): string {
  const d = derive(report);
  const pad = (text: string | number, width: number) => String(text).padStart(width);
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

/** Section 5.1: orders and settled fills, and where the node's time goes while settling them. */
function tradingSection(t: TradingBench): string[] {
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

/** Section 1.3: the node on PostgreSQL beside LevelDB, and the failover time. */
function workersSection(w: WorkersBench): string[] {
  const out = ["## 1.4 Workers: shard processes of one venue side by side", ""];
  out.push(
    `Each worker is a shard process (its own store, engine and port), with a load generator of its own driving ${int(w.channels)} channels of its investors in closed loop; ` +
      `rounds of each worker count take turns, ${w.windowSeconds} s windows started together. updates/s by workers is the median of its rounds; scaling ${fixed(w.scaling, 2)}×.`,
    "",
  );
  out.push(
    table(
      ["workers", "updates/s", "per shard: updates/s, node CPU, generator CPU, generator µs/update, p99 ms", "machine busy", "other processes (% of 1 core)"],
      w.rows.map((row) => [
        row.workers,
        int(row.updatesPerSecond),
        row.perShard.map((s) => `${s.shard}: ${int(s.updatesPerSecond)}, ${fixed(s.nodeCorePercent, 0)}%, ${fixed(s.loadGeneratorCorePercent, 0)}%, ${int(s.loadGeneratorCpuUsPerUpdate)} µs, ${fixed(s.p99Ms, 1)}`).join("; "),
        `${fixed(row.machineBusyPercent, 0)}%`,
        `${fixed(row.otherCorePercent, 0)}%`,
      ]),
    ),
    "",
  );
  return out;
}

function postgresSection(p: PostgresBench, levelRows: readonly ThroughputRow[]): string[] {
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
          int(row.updates === 0 ? 0 : (row.cpu.node * 1e6) / row.updates),
          Object.entries(row.refusals).map(([code, n]) => `${code} ${n}`).join(", ") || "0",
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
