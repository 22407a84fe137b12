// The performance issue's goals against one run's figures (bench/report.md, "Against the goals"):
// for each goal the target, what this run measured, whether it is met, and — where it is not — the
// limit this run measured (from its own rows, thread split and profiles) and what would move it.
// Pure: a report in, rows out.
import type { BenchReport, ProfiledRun, ThroughputRow } from "./report/index.js";
import { nodeCpuUsPerUpdate } from "./report/derive.js";
import { HALF_LOAD } from "./headline.js";

export interface GoalRow {
  readonly goal: string;
  readonly target: string;
  readonly measured: string;
  /** undefined: not measured in this run. */
  readonly met: boolean | undefined;
  /** The measured limit and what would move it (empty when met). */
  readonly limit: string;
}

export const GOALS = {
  ceilingRatio: 0.7,
  p99MsAtHalfLoad: 5,
  workerScaling: 1.3,
  restartSeconds: 5,
  heapBytesPerChannel: 2048,
} as const;

const us = (x: number) => `${Math.round(x)} µs`;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** µs of the run's node CPU per update spent by a thread group (`main`, `libuv-worker`, the rest), user + system. */
export function threadUsPerUpdate(row: ThroughputRow): { main: number; mainSystem: number; libuv: number; other: number } | undefined {
  const groups = row.cpu.nodeThreads;
  if (groups === undefined || row.updates === 0) return undefined;
  let main = 0;
  let mainSystem = 0;
  let libuv = 0;
  let other = 0;
  for (const [name, g] of Object.entries(groups)) {
    const total = g.userSeconds + g.systemSeconds;
    if (name === "main") {
      main += total;
      mainSystem += g.systemSeconds;
    } else if (name === "libuv-worker") libuv += total;
    else other += total;
  }
  const per = (s: number) => (s * 1e6) / row.updates;
  return { main: per(main), mainSystem: per(mainSystem), libuv: per(libuv), other: per(other) };
}

/** The main thread's profiled time per update by kind of work: crypto, sockets, store, protocol core, the rest. */
export function profileSplit(run: ProfiledRun): { crypto: number; sockets: number; store: number; core: number; rest: number } {
  const split = { crypto: 0, sockets: 0, store: 0, core: 0, rest: 0 };
  for (const { name, ms: spent } of run.summary.byComponent) {
    const perUpdate = (spent * 1000) / run.updates;
    if (name.startsWith("libsecp256k1")) split.crypto += perUpdate;
    else if (name.startsWith("Node.js runtime") || name.startsWith("ws ")) split.sockets += perUpdate;
    else if (name.startsWith("store") || name.startsWith("LevelDB")) split.store += perUpdate;
    else if (name.startsWith("core") || name.startsWith("keccak")) split.core += perUpdate;
    else split.rest += perUpdate;
  }
  return split;
}

function ratioGoal(report: BenchReport): GoalRow {
  const ratio = report.ceiling_ratio;
  const floor = report.crypto_floor_us_per_update;
  const node = report.node_cpu_us_per_update;
  const best = report.throughput.find((row) => row.channels > 1 && row.updates > 0 && Math.abs(nodeCpuUsPerUpdate(row) - node) < 0.5);
  const threads = best === undefined ? undefined : threadUsPerUpdate(best);
  const parts: string[] = [`Node CPU ${us(node)} per update against a floor of ${us(floor)}: ${us(node - floor)} of other work, where 0.70 allows ${us(floor / GOALS.ceilingRatio - floor)}.`];
  if (threads !== undefined && best !== undefined) {
    parts.push(
      `By thread (${best.channels} channels): main ${us(threads.main)} (of it ${us(threads.mainSystem)} in the kernel: socket reads and writes), libuv's workers ${us(threads.libuv)} (LevelDB's writes, the fsync of each batch), V8's helpers and the rest ${us(threads.other)}.`,
    );
  }
  if (report.profile !== undefined && report.profile.updates > 0) {
    const p = profileSplit(report.profile);
    parts.push(
      `The profiled main thread per update: crypto ${us(p.crypto)}, Node's socket and stream machinery and ws ${us(p.sockets)}, store encoding and the LevelDB call ${us(p.store)}, the protocol core (parsing, rules, compliance, digest) ${us(p.core)}, engine and the rest ${us(p.rest)}: removing any one of them entirely would not close the gap.`,
    );
  }
  parts.push(
    "What would move it: socket work off the JavaScript thread (a native WebSocket front end, several answers per write), a store that appends only the new state instead of rewriting the channel's record, fewer allocations per update; each is a share of the gap, not all of it. Throughput beyond one thread comes from shards (workers row).",
  );
  return { goal: "Per-update efficiency: crypto floor ÷ node CPU per update", target: `≥ ${GOALS.ceilingRatio}`, measured: ratio.toFixed(2), met: ratio >= GOALS.ceilingRatio, limit: ratio >= GOALS.ceilingRatio ? "" : parts.join(" ") };
}

function latencyGoal(report: BenchReport): GoalRow {
  const p99 = report.p99_ms_at_half_load;
  const base = { goal: "Latency at a fixed rate: p99 at 50 % of the maximum", target: `≤ ${GOALS.p99MsAtHalfLoad} ms` };
  if (p99 === undefined) return { ...base, measured: "not measured", met: undefined, limit: "" };
  const met = p99 <= GOALS.p99MsAtHalfLoad;
  const worst = report.openLoop.filter((row) => row.loadFraction === HALF_LOAD).sort((a, b) => b.latencyMs.p99 - a.latencyMs.p99)[0];
  if (met || worst === undefined) return { ...base, measured: ms(p99), met, limit: "" };
  const parts = [`Worst row: ${worst.channels} channels at ${worst.offeredPerSecond ?? worst.updatesPerSecond}/s, p50 ${ms(worst.latencyMs.p50)}, p99 ${ms(worst.latencyMs.p99)}.`];
  const threads = threadUsPerUpdate(worst);
  const perUpdate = nodeCpuUsPerUpdate(worst);
  const stalls = worst.stalls;
  const gc = stalls.node.gc;
  const waitShare = stalls.node.runQueueWaitMs / (worst.windowSeconds * 1000);
  if (threads !== undefined) {
    const busy = (threads.main * worst.updates) / 1e6 / worst.windowSeconds;
    parts.push(
      `At that rate an update cost the node ${us(perUpdate)} of CPU against ${us(report.node_cpu_us_per_update)} saturated (costs paid per wake-up and per store batch, section 4.1); its main thread was busy ${Math.round(busy * 100)} % of the window.`,
    );
  }
  parts.push(
    `In the window: the node's GC ${gc.minor.count} scavenges (${ms(gc.minor.totalMs)} in all) and ${gc.major.count} mark-compacts (${ms(gc.major.totalMs)}), its longest event-loop delay ${ms(stalls.node.eventLoopDelayMaxMs)}; its main thread waited ${ms(stalls.node.runQueueWaitMs)} for a core and the load generator's ${ms(stalls.loadGenerator.runQueueWaitMs)} (both on the same 2 cores); one fsync'd write p99 ${ms(report.disk.p99Ms)}.`,
  );
  const batches = stalls.node.storeBatches;
  if (batches !== undefined && batches.count > 0) {
    parts.push(
      `The store's write batches (each countersignature waits for its batch to be durable): ${batches.count} in the window, mean ${ms(batches.meanMs)}, ${batches.over50ms} over 50 ms and ${batches.over250ms} over 250 ms, ${batches.allWithinMs === null ? "some over every bucket" : `all within ${batches.allWithinMs} ms`}.`,
    );
  }
  const sendLagP99 = worst.sendLagMs?.p99 ?? 0;
  parts.push(`The load generator's send lag (due → sent, charged to the node by this method) p99 ${ms(sendLagP99)}.`);
  parts.push(
    sendLagP99 > worst.latencyMs.p99 / 2
      ? "Most of this tail is the load generator sending late (the process that shares the node's two cores stalled), not the node answering late."
      : waitShare > 0.05
      ? `The node's main thread waited for a core ${Math.round(waitShare * 100)} % of the window: every proposal behind such a wait queues, so this tail is mostly the machine's.`
      : batches !== undefined && batches.over50ms > 0
        ? "The node rarely waited for a core; slow store batches (the disk's fsync) held every countersignature in them and every proposal queued behind them: this tail is the disk's."
        : "The node rarely waited for a core: the tail is its own queueing behind GC pauses and store batches at this utilization.",
  );
  parts.push(
    "What would move it: less main-thread time per update at moderate rates (the costs paid per wake-up and per batch), shorter GC pauses (less garbage per update), and a load generator that does not share the node's cores; a shard per core keeps each node process further from saturation at the same venue rate.",
  );
  return { ...base, measured: ms(p99), met, limit: parts.join(" ") };
}

function simpleGoal(goal: string, target: string, measured: number | undefined, format: (x: number) => string, met: (x: number) => boolean, limit: string): GoalRow {
  if (measured === undefined) return { goal, target, measured: "not measured", met: undefined, limit: "" };
  const ok = met(measured);
  return { goal, target, measured: format(measured), met: ok, limit: ok ? "" : limit };
}

export function goalsOf(report: BenchReport): GoalRow[] {
  const scaling = report.workers?.scaling;
  return [
    ratioGoal(report),
    latencyGoal(report),
    simpleGoal(
      "Every core: updates/s with 2 workers ÷ 1 worker",
      `≥ ${GOALS.workerScaling}×`,
      scaling === undefined || scaling === 0 ? undefined : scaling,
      (x) => `${x.toFixed(2)}×`,
      (x) => x >= GOALS.workerScaling,
      "Two shard processes and their two load generators share 2 cores; each round's machine-busy share is in section 1.4. A machine with a core per shard (and the load elsewhere) is what would show the design's scaling.",
    ),
    simpleGoal(
      "Restart with 100,000 channels and 1,000,000 stored updates",
      `≤ ${GOALS.restartSeconds} s`,
      report.restart_s_100k_channels,
      (x) => `${x.toFixed(2)} s`,
      (x) => x <= GOALS.restartSeconds,
      "The start's phases are in the bench log (the node logs them); most of it is reading and decoding every channel record. Loading channels lazily would move it.",
    ),
    simpleGoal(
      "Heap per idle channel",
      `≤ ${GOALS.heapBytesPerChannel} bytes`,
      report.heap_bytes_per_channel,
      (x) => `${Math.round(x)} bytes`,
      (x) => x <= GOALS.heapBytesPerChannel,
      "Every record is held in memory; loading channels lazily would move it.",
    ),
  ];
}

