/**
 * The benchmark's load generator, run as its own process by bench/run.ts (never in the node's
 * process). It logs in as N investors over N real WebSockets, each with one open channel, and has
 * every channel propose payments of the restricted security token to the venue; within a channel
 * strictly one after the other (the protocol's order), channels in parallel. Each proposal is a real
 * next state built with the protocol core (`applyUpdate`), digested (`stateDigest`) and signed with
 * the investor's key (libsecp256k1); the node validates it, checks compliance against its mirror,
 * persists it with an fsync'd group commit and countersigns.
 *
 * A lane's payments are deterministic, so its proposals are built and signed before the warm-up
 * (bench/lib/presign.ts): in the window this process only sends them, and its CPU does not compete
 * with the node's (a real investor signs on its own machine). Open loop: exactly the proposals due
 * up to the window's end. Closed loop: enough for `--presign-rate` updates/s over all lanes through
 * warm-up and window; a lane that runs out builds and signs live. The result says how many of each.
 * `--live-only` builds every proposal live, as before (to compare). With `--ready-signal` it writes
 * "ready" to stdout once pre-signed and starts the warm-up on a line "go" on stdin, so several
 * generators (bench/workers.ts) start their windows together.
 *
 * Two modes. Closed loop (default): each channel sends its next proposal when the previous one is
 * answered, as fast as the node goes; updates whose answer arrives inside the window count, latency
 * from send to answer. Open loop (`--rate R`): proposals are due at a constant total rate R set by
 * a clock (bench/lib/open-loop.ts); those due inside the window count, latency from the time each
 * was due (not sent) to its answer, so a node that falls behind shows its queueing.
 *
 * `--idle-connections K` also holds K authenticated connections (fresh investor keys, no channel)
 * open for the whole run, sending nothing: the many-connections measurement.
 *
 * It reads the node's CPU time (/proc) and counters (/metrics) at the window's edges and writes a
 * JSON result to --out, with what stalled the node and this process in the window (GC pauses,
 * event-loop delay, time waiting for a core: bench/lib/stalls.ts). To keep its own CPU low it
 * verifies only every --verify-every-th countersignature (and reports any that fail); a real
 * client verifies each, on its own machine.
 *
 *   tsx bench/load.ts --url ws://127.0.0.1:PORT --keys keys.json --channels 64 [--rate 1500]
 *     [--idle-connections 990] [--presign-rate 5000 | --live-only] [--verify-every 256] [--ready-signal]
 *     --warmup 2 --seconds 8 --node-pid PID --metrics-url http://127.0.0.1:PORT/metrics --out result.json
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { NativeSigner, channelOf, loadVerifier, paramsFromJson, signedStateFromJson, type Update } from "../client/protocol/index.js";
import { WireSession } from "./lib/wire.js";
import { machineCpuSeconds, parseMetrics, processCpuSeconds } from "./lib/node.js";
import { threadCpuOf, threadGroupsBetween, type ThreadCpu, type ThreadGroups } from "./lib/threads.js";
import { arrivalsDueBy, dueAt, laneDueBy, openLoopSchedule } from "./lib/open-loop.js";
import { ProposalSupply } from "./lib/presign.js";
import { percentilesOf, type Percentiles } from "./lib/percentiles.js";
import { GcWatch, gcPausesBetween, gcTotalsOf, runQueueWaitMs, storeBatchTotalsOf, storeBatchesBetween, type GcPauses, type GcTotals, type StoreBatchTotals, type StoreBatches } from "./lib/stalls.js";

export interface LoadResult {
  readonly channels: number;
  /** "closed": send on answer, as fast as the node goes; "open": proposals due at `offeredPerSecond`. */
  readonly mode: "closed" | "open";
  /** Open loop: the constant rate proposals were due at, all channels together. */
  readonly offeredPerSecond?: number;
  /** Authenticated connections held open alongside the channels' own, sending nothing. */
  readonly idleConnections: number;
  readonly warmupSeconds: number;
  readonly windowSeconds: number;
  /** The window on the machine's monotonic clock (µs, as V8 CPU profiles time their samples). */
  readonly windowMonotonicUs: readonly [number, number];
  /** Countersigned updates counted: answered inside the window (closed), due inside the window (open). */
  readonly updates: number;
  readonly updatesPerSecond: number;
  /** Latency in ms to the countersignature: from the send (closed) or from the time it was due (open). */
  readonly latencyMs: Percentiles;
  /** Open loop: how late proposals left after they were due, ms (the channel was still waiting, or this process was). */
  readonly sendLagMs?: Percentiles;
  /** Open loop: proposals due inside the window still unanswered when the drain time ran out. */
  readonly unanswered: number;
  /** Fewest and most updates one channel completed in the window (fairness). */
  readonly perChannel: { readonly min: number; readonly max: number };
  /** Answers other than `accepted`, by code. */
  readonly refusals: Record<string, number>;
  readonly verifiedCountersignatures: number;
  readonly badCountersignatures: number;
  /**
   * Where the proposals came from: built and signed before the warm-up (`presigned`, in
   * `presignSeconds` of this process's CPU), of those sent in the window (`sentPresignedInWindow`),
   * and built and signed live once a lane's supply ran out (`builtLive`, `builtLiveInWindow`).
   */
  readonly proposals: { readonly presigned: number; readonly presignSeconds: number; readonly sentPresignedInWindow: number; readonly builtLive: number; readonly builtLiveInWindow: number };
  /**
   * CPU seconds in the window: the node process (and by thread: its main thread, libuv's workers,
   * V8's helpers; user and kernel time), this process, and the whole machine (all processes).
   */
  readonly cpu: { readonly node: number; readonly nodeThreads?: ThreadGroups; readonly loadGenerator: number; readonly machineBusy: number; readonly machineCapacity: number };
  /** What the node's own /metrics say about the window. */
  readonly nodeMetrics: {
    readonly updates: number;
    readonly meanUpdateMs: number;
  };
  /**
   * Stalls in the window that are not the node's work on an update: garbage-collection pauses by
   * kind and event-loop delay, of the node (its /metrics; the delay is sampled every 10 ms) and of
   * this process (a stalled generator sends late and reads answers late, which the latency counts),
   * and how long each one's main thread was ready to run but waited for a core (Linux schedstat):
   * on a shared machine that wait, not the node's work, is what the percentiles mostly show.
   */
  readonly stalls: {
    /** `storeBatches`: the store's write batches in the window (each countersignature waits for its batch to be durable). */
    readonly node: { readonly gc: GcPauses; readonly eventLoopDelayMaxMs: number; readonly runQueueWaitMs: number; readonly storeBatches?: StoreBatches };
    readonly loadGenerator: { readonly gc: GcPauses; readonly eventLoopDelayMs: { readonly p99: number; readonly max: number }; readonly runQueueWaitMs: number };
  };
}

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    keys: { type: "string" },
    channels: { type: "string", default: "1" },
    rate: { type: "string" },
    "idle-connections": { type: "string", default: "0" },
    warmup: { type: "string", default: "2" },
    seconds: { type: "string", default: "8" },
    "drain-seconds": { type: "string", default: "10" },
    "node-pid": { type: "string" },
    "metrics-url": { type: "string" },
    "verify-every": { type: "string", default: "256" },
    "presign-rate": { type: "string", default: "5000" },
    "live-only": { type: "boolean", default: false },
    "ready-signal": { type: "boolean", default: false },
    out: { type: "string" },
  },
});

const url = values.url ?? fail("--url is required");
const keys = JSON.parse(readFileSync(values.keys ?? fail("--keys is required"), "utf8")) as string[];
const channelCount = positiveInteger("--channels", values.channels);
const rate = values.rate === undefined ? undefined : positiveNumber("--rate", values.rate);
const idleConnections = nonNegativeInteger("--idle-connections", values["idle-connections"]);
const warmupSeconds = nonNegativeNumber("--warmup", values.warmup);
const windowSecondsPlanned = positiveNumber("--seconds", values.seconds);
const drainSeconds = nonNegativeNumber("--drain-seconds", values["drain-seconds"]);
const nodePid = values["node-pid"] === undefined ? undefined : positiveInteger("--node-pid", values["node-pid"]);
const metricsUrl = values["metrics-url"];
const verifyEvery = positiveInteger("--verify-every", values["verify-every"]);
const presignRate = nonNegativeNumber("--presign-rate", values["presign-rate"]);
const liveOnly = values["live-only"];
if (keys.length < channelCount) fail(`${channelCount} channels need ${channelCount} keys; got ${keys.length}`);

function fail(message: string): never {
  console.error(`bench load: ${message}`);
  process.exit(2);
}
function positiveNumber(flag: string, text: string): number {
  const x = Number(text);
  return Number.isFinite(x) && x > 0 ? x : fail(`${flag} must be a positive number, got ${text}`);
}
function nonNegativeNumber(flag: string, text: string): number {
  const x = Number(text);
  return Number.isFinite(x) && x >= 0 ? x : fail(`${flag} must be a number ≥ 0, got ${text}`);
}
function positiveInteger(flag: string, text: string): number {
  const x = Number(text);
  return Number.isSafeInteger(x) && x > 0 ? x : fail(`${flag} must be a positive integer, got ${text}`);
}
function nonNegativeInteger(flag: string, text: string): number {
  const x = Number(text);
  return Number.isSafeInteger(x) && x >= 0 ? x : fail(`${flag} must be an integer ≥ 0, got ${text}`);
}

interface Lane {
  readonly session: WireSession;
  readonly supply: ProposalSupply;
  completed: number;
}

const SECURITY = 0;
const INVESTOR = 1;
const PAYMENT: Update = { kind: "payment", leg: { assetIndex: SECURITY, from: INVESTOR, amount: 1n } };
/** Logins in flight at once: each costs the node a signature recovery. */
const LOGIN_BATCH = 64;
/** The most proposals pre-signed in all (~0.6 kB of text each, so ~130 MB at most); beyond it lanes build live. */
const MAX_PRESIGNED = 200_000;
/** A closed-loop lane answers at most this often (one round trip each): no lane is pre-signed for more. */
const LANE_CEILING_PER_SECOND = 2_000;
/** Pre-signing yields to the event loop this often (ms), so the open sessions' sockets are served. */
const PRESIGN_SLICE_MS = 20;

/** Logs in as each investor and takes its open channel from the welcome. */
async function connect(): Promise<Lane[]> {
  const lanes: Lane[] = [];
  for (let i = 0; i < channelCount; i += LOGIN_BATCH) {
    const batch = await Promise.all(
      keys.slice(i, Math.min(i + LOGIN_BATCH, channelCount)).map(async (key) => {
        const signer = await NativeSigner.create(key);
        const { session, welcome } = await WireSession.login(url, signer);
        const report = welcome.channels.find((c) => c.status === "open");
        if (report === undefined) throw new Error(`investor ${signer.address} has no open channel at the node`);
        const channel = channelOf(paramsFromJson(report.params), session.deployment);
        const latest = signedStateFromJson(report.latest);
        const supply = new ProposalSupply(channel, signer, PAYMENT, latest.state, (nonce) => nonce % BigInt(verifyEvery) === 0n);
        return { session, supply, completed: 0 };
      }),
    );
    lanes.push(...batch);
  }
  return lanes;
}

/** Authenticated connections of fresh investors (no channel), held open and silent. */
async function connectIdle(count: number): Promise<WireSession[]> {
  const sessions: WireSession[] = [];
  for (let i = 0; i < count; i += LOGIN_BATCH) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(LOGIN_BATCH, count - i) }, async () => {
        const signer = await NativeSigner.create(`0x${randomBytes(32).toString("hex")}`);
        return (await WireSession.login(url, signer)).session;
      }),
    );
    sessions.push(...batch);
  }
  return sessions;
}

interface NodeCounters {
  readonly updates: number;
  readonly latencySum: number;
  readonly latencyCount: number;
  /** Seconds spent in GC pauses and their count, by kind, since the node started. */
  readonly gc: GcTotals;
  /** The longest event-loop delay since the previous scrape of /metrics, s (prom-client resets it per scrape). */
  readonly eventLoopDelayMax: number;
  readonly storeBatches: StoreBatchTotals;
}

async function nodeCounters(): Promise<NodeCounters> {
  if (metricsUrl === undefined) return { updates: 0, latencySum: 0, latencyCount: 0, gc: gcTotalsOf(undefined), eventLoopDelayMax: 0, storeBatches: storeBatchTotalsOf(undefined) };
  const metrics = parseMetrics(await (await fetch(metricsUrl)).text());
  let updates = 0;
  for (const [name, value] of metrics) if (name.startsWith("clearline_updates_total{")) updates += value;
  return {
    updates,
    latencySum: metrics.get("clearline_update_seconds_sum") ?? 0,
    latencyCount: metrics.get("clearline_update_seconds_count") ?? 0,
    gc: gcTotalsOf(metrics),
    eventLoopDelayMax: metrics.get("nodejs_eventloop_lag_max_seconds") ?? 0,
    storeBatches: storeBatchTotalsOf(metrics),
  };
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A growable buffer of samples (ms). */
class Samples {
  private data = new Float64Array(1 << 16);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = x;
  }
  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * How many proposals each lane pre-signs: open loop, exactly those due up to the window's end;
 * closed loop, `presignRate` × (warm-up + window) shared by the lanes, at most one lane's ceiling.
 */
function presignCounts(lanes: number): number[] {
  if (liveOnly) return new Array<number>(lanes).fill(0);
  const runMs = (warmupSeconds + windowSecondsPlanned) * 1000;
  const wanted =
    rate === undefined
      ? new Array<number>(lanes).fill(Math.min(Math.ceil((presignRate * runMs) / 1000 / lanes), Math.ceil((LANE_CEILING_PER_SECOND * runMs) / 1000)))
      : Array.from({ length: lanes }, (_, lane) => laneDueBy(openLoopSchedule(rate, lanes, 0), lane, runMs));
  const total = wanted.reduce((a, b) => a + b, 0);
  return total <= MAX_PRESIGNED ? wanted : wanted.map((n) => Math.floor((n * MAX_PRESIGNED) / total));
}

/** Pre-signs every lane's share, a slice at a time; returns this process's CPU seconds spent. */
async function presignAll(lanes: readonly Lane[]): Promise<number> {
  const left = presignCounts(lanes.length);
  const cpuBefore = process.cpuUsage();
  const STEP = 16;
  for (let pending = left.some((n) => n > 0); pending; ) {
    pending = false;
    let sliceEnd = performance.now() + PRESIGN_SLICE_MS;
    for (const [i, lane] of lanes.entries()) {
      const n = Math.min(STEP, left[i]!);
      lane.supply.presign(n);
      left[i]! -= n;
      if (left[i]! > 0) pending = true;
      if (performance.now() > sliceEnd) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + PRESIGN_SLICE_MS;
      }
    }
  }
  const used = process.cpuUsage(cpuBefore);
  return (used.user + used.system) / 1e6;
}

/** With --ready-signal: says "ready" on stdout and waits for "go" on stdin. */
async function readySignal(): Promise<void> {
  if (!values["ready-signal"]) return;
  process.stdout.write("ready\n");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === "go") break;
  lines.close();
}

async function main(): Promise<void> {
  const idle = await connectIdle(idleConnections);
  const lanes = await connect();
  const verifier = await loadVerifier();
  const venue = lanes[0]!.session.venue;
  const presignSeconds = await presignAll(lanes);
  // Pre-signing left garbage in the old generation: collect it now, not in a mark-compact in the
  // window (bench/run.ts and bench/workers.ts start this process with --expose-gc).
  (globalThis as { gc?: () => void }).gc?.();
  await readySignal();
  let sentPresignedInWindow = 0;
  let builtLiveInWindow = 0;
  const latencies = new Samples();
  const sendLags = new Samples();
  const refusals: Record<string, number> = {};
  let refusalCount = 0;
  let verified = 0;
  let bad = 0;
  let refusedInWindow = 0;
  let stopping = false;
  const gcWatch = new GcWatch();
  // Sampled every 2 ms: a stall of the generator as short as the goal it measures against shows.
  const loopDelay = monitorEventLoopDelay({ resolution: 2 });

  const start = performance.now();
  const windowStart = start + warmupSeconds * 1000;
  const windowEnd = windowStart + windowSecondsPlanned * 1000;
  const schedule = rate === undefined ? undefined : openLoopSchedule(rate, lanes.length, start);
  let atStart: { at: number; runQueueWait: { node: number; self: number }; monotonicUs: number; node: number; nodeThreads: Map<number, ThreadCpu>; self: NodeJS.CpuUsage; machine: { busy: number; total: number }; counters: NodeCounters } | undefined;

  const takeSnapshot = async () => ({
    at: performance.now(),
    runQueueWait: { node: nodePid === undefined ? 0 : runQueueWaitMs(nodePid), self: runQueueWaitMs("self") },
    monotonicUs: Number(process.hrtime.bigint() / 1000n),
    node: nodePid === undefined ? 0 : processCpuSeconds(nodePid),
    nodeThreads: nodePid === undefined ? new Map<number, ThreadCpu>() : threadCpuOf(nodePid),
    self: process.cpuUsage(),
    machine: machineCpuSeconds(),
    counters: await nodeCounters(),
  });
  const windowOpened = sleep(windowStart - performance.now()).then(async () => {
    atStart = await takeSnapshot();
    loopDelay.enable();
  });

  const run = async (lane: Lane, index: number): Promise<void> => {
    for (let n = 0; !stopping; n++) {
      const due = schedule === undefined ? undefined : dueAt(schedule, index, n);
      if (due !== undefined && due > windowEnd) return;
      // Pre-signed, or else built and signed before it is due: at the due time only the send is
      // left, so building one lane's proposal does not make it, or other lanes' proposals due at
      // the same moment, leave late. After a refusal the same proposal is sent again.
      const presigned = lane.supply.nextIsPresigned();
      const { id, text, digest } = lane.supply.next();
      if (due !== undefined) {
        // Open loop: wait for this proposal's due time (never for an answer of another channel).
        // A timer counts from the event loop's cached time, which building the proposal has left
        // behind, so it can fire before the due time: never send early, or latency reads short.
        for (let wait = due - performance.now(); wait > 0; wait = due - performance.now()) await sleep(wait);
        if (stopping) return;
      }
      const sentAt = performance.now();
      const answer = await lane.session.requestText(id, text);
      const answeredAt = performance.now();
      if (answer.type !== "accepted") {
        if (stopping) return; // the session was closed under it after the drain time
        if ((due ?? answeredAt) >= windowStart && (due ?? answeredAt) <= windowEnd) refusedInWindow += 1;
        const code = typeof answer.code === "string" ? answer.code : answer.type;
        refusals[code] = (refusals[code] ?? 0) + 1;
        if (++refusalCount > 1_000 || answer.type === "closed") stopping = true;
        await sleep(10);
        continue;
      }
      lane.supply.advance();
      if (digest !== undefined) {
        verified += 1;
        if (!verifier.verify(digest, answer.signature as string, venue)) bad += 1;
      }
      // Closed loop counts answers inside the window; open loop counts proposals due inside it.
      const countedAt = due ?? answeredAt;
      if (countedAt >= windowStart && countedAt <= windowEnd) {
        lane.completed += 1;
        if (presigned) sentPresignedInWindow += 1;
        else builtLiveInWindow += 1;
        latencies.push(answeredAt - (due ?? sentAt));
        if (due !== undefined) sendLags.push(sentAt - due);
      }
    }
  };

  const loops = lanes.map((lane, index) => run(lane, index));
  await windowOpened;
  await sleep(Math.max(0, windowEnd - performance.now()));
  loopDelay.disable();
  const atEnd = await takeSnapshot();
  gcWatch.stop();
  if (schedule === undefined) {
    stopping = true;
    await Promise.all(loops);
  } else {
    // Open loop: proposals due inside the window may still be in flight or queued; give them time,
    // then close the sessions, which ends whatever is still waiting.
    const drainTimer = new AbortController();
    const drained = Promise.all(loops).then(() => true);
    const timedOut = sleep(drainSeconds * 1000, false, { signal: drainTimer.signal }).catch(() => false);
    const done = await Promise.race([drained, timedOut]);
    drainTimer.abort();
    stopping = true;
    if (!done) await Promise.all(lanes.map((lane) => lane.session.close()));
    await Promise.all(loops);
  }
  await Promise.all([...lanes.map((lane) => lane.session.close()), ...idle.map((session) => session.close())]);
  const unanswered = schedule === undefined ? 0 : Math.max(0, arrivalsDueBy(schedule, windowEnd) - arrivalsDueBy(schedule, windowStart) - latencies.length - refusedInWindow);

  const begin = atStart!;
  const windowSeconds = windowSecondsPlanned;
  const selfSeconds = (atEnd.self.user - begin.self.user + atEnd.self.system - begin.self.system) / 1e6;
  const nodeUpdates = atEnd.counters.updates - begin.counters.updates;
  const latencyCount = atEnd.counters.latencyCount - begin.counters.latencyCount;
  const result: LoadResult = {
    channels: channelCount,
    mode: schedule === undefined ? "closed" : "open",
    ...(rate === undefined ? {} : { offeredPerSecond: rate }),
    idleConnections,
    warmupSeconds,
    windowSeconds,
    windowMonotonicUs: [begin.monotonicUs, atEnd.monotonicUs],
    updates: latencies.length,
    updatesPerSecond: Math.round(latencies.length / windowSeconds),
    latencyMs: percentilesOf(latencies.values()),
    ...(schedule === undefined ? {} : { sendLagMs: percentilesOf(sendLags.values()) }),
    unanswered,
    perChannel: { min: Math.min(...lanes.map((l) => l.completed)), max: Math.max(...lanes.map((l) => l.completed)) },
    refusals,
    verifiedCountersignatures: verified,
    badCountersignatures: bad,
    proposals: {
      presigned: lanes.reduce((sum, lane) => sum + lane.supply.presigned, 0),
      presignSeconds: round3(presignSeconds),
      sentPresignedInWindow,
      builtLive: lanes.reduce((sum, lane) => sum + lane.supply.builtLive, 0),
      builtLiveInWindow,
    },
    cpu: {
      node: round3(atEnd.node - begin.node),
      nodeThreads: nodePid === undefined ? {} : threadGroupsBetween(nodePid, begin.nodeThreads, atEnd.nodeThreads),
      loadGenerator: round3(selfSeconds),
      machineBusy: round3(atEnd.machine.busy - begin.machine.busy),
      machineCapacity: round3(atEnd.machine.total - begin.machine.total),
    },
    nodeMetrics: {
      updates: nodeUpdates,
      meanUpdateMs: latencyCount === 0 ? 0 : round3(((atEnd.counters.latencySum - begin.counters.latencySum) / latencyCount) * 1000),
    },
    stalls: {
      node: {
        gc: gcPausesBetween(begin.counters.gc, atEnd.counters.gc),
        eventLoopDelayMaxMs: round3(atEnd.counters.eventLoopDelayMax * 1000),
        runQueueWaitMs: round3(atEnd.runQueueWait.node - begin.runQueueWait.node),
        storeBatches: storeBatchesBetween(begin.counters.storeBatches, atEnd.counters.storeBatches),
      },
      loadGenerator: {
        gc: gcWatch.between(begin.at, atEnd.at),
        eventLoopDelayMs: { p99: round3(loopDelay.percentile(99) / 1e6), max: round3(loopDelay.max / 1e6) },
        runQueueWaitMs: round3(atEnd.runQueueWait.self - begin.runQueueWait.self),
      },
    },
  };
  const text = JSON.stringify(result, null, 2);
  if (values.out !== undefined) writeFileSync(values.out, text + "\n");
  else console.log(text);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
