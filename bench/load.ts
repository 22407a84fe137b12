/**
 * The benchmark's load generator, run as its own process by bench/run.ts (never in the node's
 * process). It logs in as N investors over N real WebSockets, each with one open channel, and has
 * every channel propose payments of the restricted security token to the venue as fast as the node
 * answers: within a channel strictly one after the other (the protocol's order), channels in
 * parallel. Each proposal is a real next state built with the protocol core (`applyUpdate`),
 * digested (`stateDigest`) and signed with the investor's key (libsecp256k1); the node validates it,
 * checks compliance against its mirror, persists it with an fsync'd group commit and countersigns.
 *
 * After a warm-up, it counts the updates whose countersignature arrives within the measurement
 * window and their latency (from sending the proposal to receiving `accepted`), and reads the node's
 * CPU time (/proc) and counters (/metrics) at the window's edges. It writes a JSON result to --out.
 *
 * To keep its own CPU low it does not verify every countersignature, only every --verify-every-th
 * (and reports any that fail); a real client verifies each one, on its own machine.
 *
 *   tsx bench/load.ts --url ws://127.0.0.1:PORT --keys keys.json --channels 64 \
 *     --warmup 2 --seconds 8 --node-pid PID --metrics-url http://127.0.0.1:PORT/metrics --out result.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import {
  NativeSigner,
  applyUpdate,
  channelOf,
  loadVerifier,
  paramsFromJson,
  signedStateFromJson,
  stateDigest,
  stateToJson,
  type Channel,
  type State,
  type Update,
} from "../client/protocol/index.js";
import { PROTOCOL_VERSION } from "../client/protocol/wire.js";
import { WireSession } from "./lib/wire.js";
import { machineCpuSeconds, parseMetrics, processCpuSeconds } from "./lib/node.js";

export interface LoadResult {
  readonly channels: number;
  readonly warmupSeconds: number;
  readonly windowSeconds: number;
  /** The window on the machine's monotonic clock (µs, as V8 CPU profiles time their samples). */
  readonly windowMonotonicUs: readonly [number, number];
  /** Countersigned updates whose answer arrived inside the window. */
  readonly updates: number;
  readonly updatesPerSecond: number;
  /** Client-side latency, proposal sent → countersignature received, in milliseconds. */
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number; readonly mean: number };
  /** Fewest and most updates one channel completed in the window (fairness). */
  readonly perChannel: { readonly min: number; readonly max: number };
  /** Answers other than `accepted`, by code. */
  readonly refusals: Record<string, number>;
  readonly verifiedCountersignatures: number;
  readonly badCountersignatures: number;
  /** CPU seconds in the window: the node process, this process, and the whole machine (all processes). */
  readonly cpu: { readonly node: number; readonly loadGenerator: number; readonly machineBusy: number; readonly machineCapacity: number };
  /** What the node's own /metrics say about the window. */
  readonly nodeMetrics: {
    readonly updates: number;
    readonly meanUpdateMs: number;
  };
}

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    keys: { type: "string" },
    channels: { type: "string", default: "1" },
    warmup: { type: "string", default: "2" },
    seconds: { type: "string", default: "8" },
    "node-pid": { type: "string" },
    "metrics-url": { type: "string" },
    "verify-every": { type: "string", default: "64" },
    out: { type: "string" },
  },
});

const url = values.url ?? fail("--url is required");
const keys = JSON.parse(readFileSync(values.keys ?? fail("--keys is required"), "utf8")) as string[];
const channelCount = Number(values.channels);
const warmupSeconds = Number(values.warmup);
const windowSecondsPlanned = Number(values.seconds);
const nodePid = values["node-pid"] === undefined ? undefined : Number(values["node-pid"]);
const metricsUrl = values["metrics-url"];
const verifyEvery = Math.max(1, Number(values["verify-every"]));
if (keys.length < channelCount) fail(`${channelCount} channels need ${channelCount} keys; got ${keys.length}`);

function fail(message: string): never {
  console.error(`bench-load: ${message}`);
  process.exit(2);
}

interface Lane {
  readonly session: WireSession;
  readonly signer: NativeSigner;
  readonly channel: Channel;
  state: State;
  completed: number;
}

const SECURITY = 0;
const INVESTOR = 1;
const PAYMENT: Update = { kind: "payment", leg: { assetIndex: SECURITY, from: INVESTOR, amount: 1n } };

/** Logs in as each investor and takes its open channel from the welcome. */
async function connect(): Promise<Lane[]> {
  const lanes: Lane[] = [];
  for (let i = 0; i < channelCount; i += 32) {
    const batch = await Promise.all(
      keys.slice(i, Math.min(i + 32, channelCount)).map(async (key) => {
        const signer = await NativeSigner.create(key);
        const { session, welcome } = await WireSession.login(url, signer);
        const report = welcome.channels.find((c) => c.status === "open");
        if (report === undefined) throw new Error(`investor ${signer.address} has no open channel at the node`);
        const channel = channelOf(paramsFromJson(report.params), session.deployment);
        const latest = signedStateFromJson(report.latest);
        return { session, signer, channel, state: latest.state, completed: 0 };
      }),
    );
    lanes.push(...batch);
  }
  return lanes;
}

async function nodeCounters(): Promise<{ updates: number; latencySum: number; latencyCount: number }> {
  if (metricsUrl === undefined) return { updates: 0, latencySum: 0, latencyCount: 0 };
  const metrics = parseMetrics(await (await fetch(metricsUrl)).text());
  let updates = 0;
  for (const [name, value] of metrics) if (name.startsWith("clearline_updates_total{")) updates += value;
  return { updates, latencySum: metrics.get("clearline_update_seconds_sum") ?? 0, latencyCount: metrics.get("clearline_update_seconds_count") ?? 0 };
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

async function main(): Promise<void> {
  const lanes = await connect();
  const verifier = await loadVerifier();
  const venue = lanes[0]!.session.venue;
  let latencies = new Float64Array(1 << 16);
  let recorded = 0;
  const refusals: Record<string, number> = {};
  let refusalCount = 0;
  let verified = 0;
  let bad = 0;
  let stopping = false;

  const start = performance.now();
  const windowStart = start + warmupSeconds * 1000;
  const windowEnd = windowStart + windowSecondsPlanned * 1000;
  let atStart: { monotonicUs: number; node: number; self: NodeJS.CpuUsage; machine: { busy: number; total: number }; counters: Awaited<ReturnType<typeof nodeCounters>> } | undefined;

  const takeSnapshot = async () => ({
    monotonicUs: Number(process.hrtime.bigint() / 1000n),
    node: nodePid === undefined ? 0 : processCpuSeconds(nodePid),
    self: process.cpuUsage(),
    machine: machineCpuSeconds(),
    counters: await nodeCounters(),
  });
  const windowOpened = sleep(windowStart - performance.now()).then(async () => {
    atStart = await takeSnapshot();
  });

  const run = async (lane: Lane): Promise<void> => {
    let sent = 0;
    while (!stopping) {
      const next = applyUpdate(lane.channel, lane.state, PAYMENT);
      const digest = stateDigest(next, lane.channel.domain);
      const signature = lane.signer.sign(digest);
      const id = lane.session.newId();
      const text = JSON.stringify({ v: PROTOCOL_VERSION, type: "propose", id, channelId: lane.channel.channelId, state: stateToJson(next), signature });
      const sentAt = performance.now();
      const answer = await lane.session.requestText(id, text);
      const answeredAt = performance.now();
      if (answer.type !== "accepted") {
        const code = typeof answer.code === "string" ? answer.code : answer.type;
        refusals[code] = (refusals[code] ?? 0) + 1;
        if (++refusalCount > 1_000 || answer.type === "closed") stopping = true;
        await sleep(10);
        continue;
      }
      lane.state = next;
      if (++sent % verifyEvery === 0) {
        verified += 1;
        if (!verifier.verify(digest, answer.signature as string, venue)) bad += 1;
      }
      if (answeredAt >= windowStart && answeredAt <= windowEnd) {
        lane.completed += 1;
        if (recorded === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[recorded++] = answeredAt - sentAt;
      }
    }
  };

  const loops = lanes.map((lane) => run(lane));
  await windowOpened;
  await sleep(Math.max(0, windowEnd - performance.now()));
  const atEnd = await takeSnapshot();
  stopping = true;
  await Promise.all(loops);
  await Promise.all(lanes.map((lane) => lane.session.close()));

  const begin = atStart!;
  const windowSeconds = windowSecondsPlanned;
  const sorted = latencies.slice(0, recorded).sort();
  const mean = recorded === 0 ? 0 : sorted.reduce((a, b) => a + b, 0) / recorded;
  const selfSeconds = (atEnd.self.user - begin.self.user + atEnd.self.system - begin.self.system) / 1e6;
  const nodeUpdates = atEnd.counters.updates - begin.counters.updates;
  const latencyCount = atEnd.counters.latencyCount - begin.counters.latencyCount;
  const result: LoadResult = {
    channels: channelCount,
    warmupSeconds,
    windowSeconds,
    windowMonotonicUs: [begin.monotonicUs, atEnd.monotonicUs],
    updates: recorded,
    updatesPerSecond: Math.round(recorded / windowSeconds),
    latencyMs: { p50: round3(quantile(sorted, 0.5)), p90: round3(quantile(sorted, 0.9)), p99: round3(quantile(sorted, 0.99)), max: round3(sorted[recorded - 1] ?? 0), mean: round3(mean) },
    perChannel: { min: Math.min(...lanes.map((l) => l.completed)), max: Math.max(...lanes.map((l) => l.completed)) },
    refusals,
    verifiedCountersignatures: verified,
    badCountersignatures: bad,
    cpu: {
      node: round3(atEnd.node - begin.node),
      loadGenerator: round3(selfSeconds),
      machineBusy: round3(atEnd.machine.busy - begin.machine.busy),
      machineCapacity: round3(atEnd.machine.total - begin.machine.total),
    },
    nodeMetrics: {
      updates: nodeUpdates,
      meanUpdateMs: latencyCount === 0 ? 0 : round3(((atEnd.counters.latencySum - begin.counters.latencySum) / latencyCount) * 1000),
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
