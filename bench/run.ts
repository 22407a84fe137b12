/**
 * `npm run bench`: what a venue node is worth on this machine, in one bounded run.
 *
 *  1. the crypto floor (digests, signs, verifies per second on one core), measured first;
 *  2. gas of every adjudicator operation, next to the anchors;
 *  3. node throughput: Hardhat's node and the venue's node each run as their own process, many
 *     investors get identities, security tokens and an open channel; then a load generator in a
 *     separate process (bench/load.ts) drives 1 … 1,000 channels over real WebSockets with
 *     compliance-checked payments that the node persists (fsync'd group commit) and countersigns,
 *     each channel as fast as the node answers (closed loop): the maximum rate and CPU per update;
 *  4. latency at a fixed rate: an open loop at 25 %, 50 % and 90 % of that maximum over 64 and
 *     1,000 channels, latency from each proposal's due time (bench/lib/open-loop.ts);
 *  5. many connections: the same active load with 10, 1,000 and 10,000 authenticated connections open;
 *  6. one more run with the node under `--cpu-prof`, summarised into what an update costs;
 *  7. memory per open channel and time to restart: the node started on stores of 0, 10,000 and
 *     100,000 channels with 10 agreed states each (filled with the LevelStore API), /metrics after a forced GC;
 *  8. trading: orders accepted and fills settled per second, order → settled fill latency and the
 *     node's CPU per fill by part, on a node with fill settlement (bench/trading.ts);
 *  9. the node on PostgreSQL: the closed-loop throughput of step 3 with the node's store on a
 *     PostgreSQL the bench starts, and the failover time of an active/standby pair (bench/postgres.ts;
 *     skipped, and said so in the report, where PostgreSQL is not installed);
 * 10. workers: the channels sharded by investor over 1 and 2 shard processes of one venue, one load
 *     generator per shard, all at once (bench/workers.ts): `updates_per_s_by_workers`.
 *
 * Writes bench/report.json (headline figures at its top level, bench/lib/headline.ts) and
 * bench/report.md and prints a table. Binds only 127.0.0.1 and stops exactly the processes it started.
 *
 *   npx tsx bench/run.ts [--channels 1,16,64,256,1000] [--open-channels 64,1000] [--fractions 0.25,0.5,0.9]
 *                        [--connections 10,1000,10000] [--connection-lanes 10] [--seconds 8] [--warmup 2]
 *                        [--stores 0,10000,100000] [--updates-per-channel 10] [--profile-channels 64]
 *                        [--trading-pairs 4] [--failover-rounds 3] [--workers 1,2] [--worker-channels 64]
 *                        [--worker-repeats 3]
 *                        [--mirror-holders 10000,100000]
 *                        [--skip gas,open,connections,profile,memory,mirror,trading,postgres,workers]
 *                        [--quick] [--keep] [--out bench]
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { measureCrypto } from "./crypto.js";
import { ANCHORS, measureGas } from "../scripts/gas-measure.js";
import type { LoadResult } from "./load.js";
import { ROLES, devWallet, startStack, type Stack } from "../devstack/stack.js";
import { DEPOSIT, benchInvestors, onboardInvestors, openChannels } from "./lib/setup.js";
import { NODE_PROCESS_FLAGS, nodeLaunch, startBenchNode, startPhasesOf, type BenchNode } from "./lib/node.js";
import { fillNodeStore } from "./lib/channels.js";
import { summarizeProfile } from "./lib/profile.js";
import { measureMirror, type MirrorRow } from "./lib/mirror.js";
import { measureSyncedWrites } from "./lib/disk.js";
import { renderMarkdown, renderConsole, type BenchReport, type MemoryRow, type OpenLoopRow, type ThroughputRow } from "./lib/report/index.js";
import { headlineOf } from "./lib/headline.js";
import { targetRates } from "./lib/open-loop.js";
import { measureTrading } from "./trading.js";
import { measurePostgres } from "./postgres.js";
import { investorsNeeded, measureWorkers, type WorkersBench } from "./workers.js";
import type { NodeConfig } from "../channel-node/src/config.js";
import type { Bytes32 } from "../client/protocol/index.js";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL("./load.ts", import.meta.url));
const OUT_DIR = join(REPO_ROOT, "bench");

const { values } = parseArgs({
  options: {
    channels: { type: "string" },
    "open-channels": { type: "string" },
    fractions: { type: "string", default: "0.25,0.5,0.9" },
    connections: { type: "string" },
    "connection-lanes": { type: "string", default: "10" },
    seconds: { type: "string" },
    warmup: { type: "string" },
    stores: { type: "string" },
    "updates-per-channel": { type: "string" },
    "profile-channels": { type: "string", default: "64" },
    "trading-pairs": { type: "string" },
    "failover-rounds": { type: "string" },
    workers: { type: "string", default: "1,2" },
    "mirror-holders": { type: "string" },
    "worker-repeats": { type: "string" },
    "worker-channels": { type: "string" },
    skip: { type: "string", default: "" },
    quick: { type: "boolean", default: false },
    keep: { type: "boolean", default: false },
    out: { type: "string", default: OUT_DIR },
  },
});

/** A comma-separated list of numbers, each checked by `valid`; a bad flag stops the bench before it starts anything. */
function numbers(flag: string, text: string, valid: (x: number) => boolean): number[] {
  const list = text.split(",").map(Number);
  if (list.length === 0 || !list.every(valid)) {
    console.error(`bench: --${flag} must be a comma-separated list of valid numbers, got ${text}`);
    process.exit(2);
  }
  return list;
}
/** One number, checked by `valid`. */
function one(flag: string, text: string, valid: (x: number) => boolean): number {
  const list = numbers(flag, text, valid);
  if (list.length !== 1) {
    console.error(`bench: --${flag} takes one number, got ${text}`);
    process.exit(2);
  }
  return list[0]!;
}
const count = (x: number) => Number.isSafeInteger(x) && x >= 0;
const positiveCount = (x: number) => Number.isSafeInteger(x) && x > 0;

const quick = values.quick;
const channelCounts = numbers("channels", values.channels ?? (quick ? "1,16" : "1,16,64,256,1000"), positiveCount);
const openChannelCounts = numbers("open-channels", values["open-channels"] ?? (quick ? "16" : "64,1000"), positiveCount);
const loadFractions = numbers("fractions", values.fractions, (x) => x > 0 && x <= 1);
const connectionCounts = numbers("connections", values.connections ?? (quick ? "10,200" : "10,1000,10000"), positiveCount);
const connectionLanes = one("connection-lanes", values["connection-lanes"], positiveCount);
const windowSeconds = one("seconds", values.seconds ?? (quick ? "2" : "8"), (x) => x > 0);
const warmupSeconds = one("warmup", values.warmup ?? (quick ? "1" : "2"), (x) => x >= 0);
const storeSizes = numbers("stores", values.stores ?? (quick ? "0,500" : "0,10000,100000"), count);
const updatesPerChannel = one("updates-per-channel", values["updates-per-channel"] ?? (quick ? "2" : "10"), positiveCount);
const profileChannels = one("profile-channels", values["profile-channels"], positiveCount);
const tradingPairs = one("trading-pairs", values["trading-pairs"] ?? (quick ? "2" : "4"), positiveCount);
const failoverRounds = one("failover-rounds", values["failover-rounds"] ?? (quick ? "1" : "3"), positiveCount);
const workerCounts = numbers("workers", values.workers, (x) => Number.isSafeInteger(x) && x >= 1 && x <= 16);
if (!workerCounts.includes(1)) {
  // The headline's updates_per_s_by_workers needs the 1-worker figure.
  console.error("bench: --workers needs 1 among its counts");
  process.exit(2);
}
const workerRepeats = one("worker-repeats", values["worker-repeats"] ?? (quick ? "1" : "3"), positiveCount);
const workerChannels = one("worker-channels", values["worker-channels"] ?? (quick ? "16" : "64"), positiveCount);
const mirrorHolders = numbers("mirror-holders", values["mirror-holders"] ?? (quick ? "10000" : "10000,100000"), positiveCount);
const SKIPPABLE = ["gas", "open", "connections", "profile", "memory", "mirror", "trading", "postgres", "workers"];
const skip = new Set(values.skip.split(",").filter(Boolean));
for (const name of skip) {
  if (!SKIPPABLE.includes(name)) {
    console.error(`bench: --skip takes any of ${SKIPPABLE.join(",")}, got ${name}`);
    process.exit(2);
  }
}
if (!channelCounts.some((c) => c > 1)) {
  // The headline's node CPU per update is taken from a multi-channel row (bench/lib/headline.ts).
  console.error("bench: --channels needs at least one count above 1");
  process.exit(2);
}
const maxChannels = Math.max(
  ...channelCounts,
  ...(skip.has("open") ? [] : openChannelCounts),
  skip.has("connections") ? 0 : Math.min(connectionLanes, ...connectionCounts),
  skip.has("profile") ? 0 : profileChannels,
);
/** Connections the bench's node must accept: every lane, the idle ones, and the setup's logins. */
const maxConnections = Math.max(maxChannels, ...(skip.has("connections") ? [] : connectionCounts)) + 100;

/** Everything started here, stopped in reverse order whatever happens. */
const stoppers: (() => Promise<void>)[] = [];
async function stopAll(): Promise<void> {
  while (stoppers.length > 0) await stoppers.pop()!().catch((error: unknown) => console.error("stop failed:", error));
}
/** Registers `stop` for stopAll; returns an idempotent stop that also unregisters it. */
function track(stop: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const once = () => (done ??= stop());
  stoppers.push(once);
  return async () => {
    const at = stoppers.indexOf(once);
    if (at >= 0) stoppers.splice(at, 1);
    await once();
  };
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping what the bench started`);
    void stopAll().finally(() => process.exit(130));
  });
}

const log = (line: string) => console.error(`[bench ${((performance.now() - startedAt) / 1000).toFixed(1)}s] ${line}`);
const startedAt = performance.now();

function gitCommit(): string {
  try {
    return execFileSync("git", ["describe", "--always", "--dirty"], { cwd: REPO_ROOT, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}

/** Bench settings of the node: the stack's defaults, a rate limit that does not cap one busy channel. */
function benchNodeConfig(stack: Stack, dataDir: string): NodeConfig {
  return stack.nodeConfig({
    dataDir,
    // The default is 500 messages/s per connection: one busy channel would hit it. The node's
    // limit is configuration, not the cost being measured, so the bench lifts it (docs/performance.md).
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    // The load generator is one address with a connection per channel and, in the many-connections
    // runs, up to 10,000 idle ones: both connection bounds are lifted above what the bench opens.
    maxConnections,
    maxConnectionsPerAddress: maxConnections,
    // Its logins come from that one address too, thousands within seconds.
    loginRate: { perSecond: 1_000_000, burst: 1_000_000, maxKeys: 16 },
    pollIntervalMs: 1_000,
    logLevel: "warn",
  });
}

interface LoadOptions {
  readonly channels: number;
  readonly seconds: number;
  /** Open loop at this total rate; closed loop when absent. */
  readonly rate?: number;
  readonly idleConnections?: number;
}

/** Runs the load generator as a separate process and returns its result. */
async function runLoad(node: BenchNode, keysFile: string, workDir: string, load: LoadOptions): Promise<LoadResult> {
  const out = join(workDir, `load-${load.channels}-${Date.now()}.json`);
  const args = [
    // Its own young generation as large as the node's: fewer scavenges, each of which delays sends and the reading of answers.
    ...NODE_PROCESS_FLAGS,
    // A full GC once its proposals are pre-signed (bench/load.ts).
    "--expose-gc",
    "--import",
    "tsx",
    LOAD_SCRIPT,
    ...["--url", node.url, "--keys", keysFile, "--channels", String(load.channels)],
    ...(load.rate === undefined ? [] : ["--rate", String(load.rate)]),
    ...["--idle-connections", String(load.idleConnections ?? 0)],
    ...["--warmup", String(warmupSeconds), "--seconds", String(load.seconds)],
    ...["--node-pid", String(node.pid), "--metrics-url", `${node.httpUrl}/metrics`, "--out", out],
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  const stop = track(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const code = await exited;
  await stop();
  if (code !== 0) throw new Error(`the load generator exited with ${code}: ${stderr}`);
  return JSON.parse(readFileSync(out, "utf8")) as LoadResult;
}

/** The load generator's CPU per counted update, and its proposals built live in the window (pre-signed ones cost it nothing there). */
function generatorText(result: LoadResult): string {
  const us = result.updates === 0 ? 0 : Math.round((result.cpu.loadGenerator * 1e6) / result.updates);
  return `generator ${us} µs CPU per update, ${result.proposals.builtLiveInWindow} of ${result.updates} built live`;
}

async function startNode(config: NodeConfig, workDir: string, options: Parameters<typeof startBenchNode>[2] = {}): Promise<BenchNode> {
  const node = await startBenchNode(config, workDir, options);
  return { ...node, stop: track(() => node.stop()) };
}

/** Waits until the node lists `count` open channels holding the investors' deposits. */
async function waitForChannels(node: BenchNode, count: number): Promise<void> {
  // The node's chain watcher adopts the openings block by block: allow more time for more channels.
  const deadline = Date.now() + 120_000 + count * 100;
  for (;;) {
    const channels = await node.adminGet<{ status: string; balances: { investor: string }[] }[]>("/channels");
    const ready = channels.filter((c) => c.status === "open" && BigInt(c.balances[0]?.investor ?? "0") > 0n).length;
    if (ready >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${count} channels are open at the node`);
    await sleep(250);
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), "clearline-bench-"));
  if (!values.keep) stoppers.unshift(async () => rmSync(workDir, { recursive: true, force: true }));
  const loadStart = loadavg();
  log(`work dir ${workDir}; channels ${channelCounts.join(", ")}; window ${windowSeconds}s after ${warmupSeconds}s warm-up`);
  const launch = nodeLaunch();
  log(launch.compiled ? "node: the compiled clearline-node (dist/)" : `node: the TypeScript sources through tsx, slower to start: ${launch.reason}`);

  // 1. Crypto ceiling first, while nothing else of ours runs.
  const crypto = await measureCrypto(quick ? 0.25 : 0.5);
  const native = crypto.signers.find((s) => s.implementation === "native") ?? crypto.signers[0]!;
  log(`crypto: native sign ${native.signPerSecond}/s, verify ${native.verifyPerSecond}/s, stateDigest ${crypto.stateDigestPerSecond}/s`);

  const disk = await measureSyncedWrites();
  log(`disk: one synced LevelDB write p50 ${disk.p50Ms} ms, p99 ${disk.p99Ms} ms`);

  // 2. Gas, on an in-process chain.
  const gas = skip.has("gas") ? { oneAsset: {}, twoAssets: {}, issuer: {} } : await measureGas();
  if (!skip.has("gas")) log("gas measured");

  // 3. Throughput: chain and node processes, investors with channels, load generator process.
  const stack = await startStack({ investors: [] });
  const stopStack = track(() => stack.stop());
  const investors = benchInvestors(maxChannels);
  await onboardInvestors(stack, investors);
  log(`${investors.length} investors onboarded`);
  const keysFile = join(workDir, "investor-keys.json");
  writeFileSync(keysFile, JSON.stringify(investors.map((i) => i.privateKey)));

  const nodeDir = join(workDir, "node");
  let node = await startNode(benchNodeConfig(stack, nodeDir), workDir);
  const venue = devWallet(ROLES.venue).address;
  await openChannels(stack, node.url, venue, investors);
  await waitForChannels(node, investors.length);
  log(`${investors.length} channels open at the node`);

  // What the node costs with no load (its chain watchers poll), to tell it apart from the updates'.
  await sleep(1_000);
  const idleFrom = { cpu: node.cpuSeconds(), at: performance.now() };
  await sleep(3_000);
  const idleNodeCorePercent = ((node.cpuSeconds() - idleFrom.cpu) / ((performance.now() - idleFrom.at) / 1000)) * 100;
  log(`idle node: ${idleNodeCorePercent.toFixed(1)}% of a core`);

  const throughput: ThroughputRow[] = [];
  for (const channels of channelCounts) {
    const result = await runLoad(node, keysFile, workDir, { channels, seconds: windowSeconds });
    throughput.push({ ...result });
    log(`${channels} channels: ${result.updatesPerSecond} updates/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, node CPU ${(result.cpu.node / result.windowSeconds * 100).toFixed(0)}%, ${generatorText(result)}`);
  }
  const maxUpdatesPerSecond = Math.max(...throughput.map((row) => row.updatesPerSecond));

  // Latency at fixed offered rates (open loop), as fractions of the maximum just measured.
  const openLoop: OpenLoopRow[] = [];
  for (const channels of skip.has("open") ? [] : openChannelCounts) {
    const rates = targetRates(maxUpdatesPerSecond, loadFractions);
    for (const [i, rate] of rates.entries()) {
      const result = await runLoad(node, keysFile, workDir, { channels, seconds: windowSeconds, rate });
      openLoop.push({ ...result, loadFraction: loadFractions[i]! });
      log(`open loop, ${channels} channels at ${rate}/s (${loadFractions[i]! * 100}% of ${maxUpdatesPerSecond}): p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, p99.9 ${result.latencyMs.p999} ms, ${result.unanswered} unanswered, ${generatorText(result)}`);
    }
  }

  // Many connections: the same few active channels, with the rest of the connections idle.
  const connections: ThroughputRow[] = [];
  for (const total of skip.has("connections") ? [] : connectionCounts) {
    const lanes = Math.min(connectionLanes, total);
    const result = await runLoad(node, keysFile, workDir, { channels: lanes, seconds: windowSeconds, idleConnections: total - lanes });
    connections.push(result);
    log(`${total} connections (${lanes} active): ${result.updatesPerSecond} updates/s, p99 ${result.latencyMs.p99} ms`);
  }

  const liveMetrics = await node.metrics();
  const liveNode = {
    channels: investors.length,
    rssBytes: liveMetrics.get("process_resident_memory_bytes") ?? 0,
    heapUsedBytes: liveMetrics.get("nodejs_heap_size_used_bytes") ?? 0,
  };
  await node.stop();

  // The same closed loop with the node on PostgreSQL (its channels copied from the LevelDB node's
  // store), and the failover time of an active/standby pair (bench/postgres.ts).
  const postgres = skip.has("postgres")
    ? undefined
    : await measurePostgres({
        levelDataDir: nodeDir,
        nodeConfig: (dataDir) => benchNodeConfig(stack, dataDir),
        channelCounts,
        failoverRounds,
        workDir,
        startNode: (config) => startNode(config, workDir),
        runLoad: (pgNode, channels) => runLoad(pgNode, keysFile, workDir, { channels, seconds: windowSeconds }),
        track,
        log,
      });

  // 4. The same load once more with the node under the CPU profiler (its rate is not the headline).
  let profile: BenchReport["profile"];
  let profileAtHalfLoad: BenchReport["profileAtHalfLoad"];
  let restartWithLiveChannels = { channels: investors.length, ms: 0 };
  if (!skip.has("profile")) {
    const profileDir = join(workDir, "profile");
    mkdirSync(profileDir);
    node = await startNode(benchNodeConfig(stack, nodeDir), workDir, { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=1000"] });
    restartWithLiveChannels = { channels: investors.length, ms: Math.round(node.startMs) };
    const seconds = quick ? 2 : 5;
    const profiled = await runLoad(node, keysFile, workDir, { channels: profileChannels, seconds });
    log(`profiled run: ${profiled.updatesPerSecond} updates/s under the profiler`);
    // Then, on the same warmed-up node, the open loop at half the maximum: an update costs the main
    // thread more when fewer arrive together (a wake-up, a store batch and an fsync each), and this
    // window of the same profile says where that goes.
    const halfRate = skip.has("open") ? undefined : targetRates(maxUpdatesPerSecond, [0.5])[0];
    const atHalfLoad = halfRate === undefined ? undefined : await runLoad(node, keysFile, workDir, { channels: profileChannels, seconds, rate: halfRate });
    if (atHalfLoad !== undefined) log(`profiled run at ${halfRate}/s: ${atHalfLoad.updatesPerSecond} updates/s under the profiler`);
    await node.stop();
    const profileFile = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    if (profileFile !== undefined) {
      const summaryOf = (run: LoadResult) => ({ channels: profileChannels, updates: run.updates, updatesPerSecond: run.updatesPerSecond, summary: summarizeProfile(join(profileDir, profileFile), run.windowMonotonicUs) });
      profile = summaryOf(profiled);
      if (atHalfLoad !== undefined) profileAtHalfLoad = summaryOf(atHalfLoad);
    }
  }

  // 5. Memory per channel and restart time on stores of many channels.
  const block = await stack.connection.ethers.provider.getBlockNumber();
  const genesisHash = (await stack.connection.ethers.provider.getBlock(0))?.hash;
  if (typeof genesisHash !== "string") throw new Error("the bench's chain has no genesis block");
  const memory: MemoryRow[] = [];
  for (const size of skip.has("memory") ? [] : storeSizes) {
    const dataDir = join(workDir, `store-${size}`);
    const filling = performance.now();
    await fillNodeStore({
      dataDir,
      count: size,
      deployment: { chainId: stack.chainId, adjudicator: stack.addresses.adjudicator },
      genesisHash: genesisHash.toLowerCase() as Bytes32,
      venueKey: devWallet(ROLES.venue).privateKey,
      assets: [stack.addresses.token, stack.addresses.cash],
      deposit: DEPOSIT,
      statesPerChannel: updatesPerChannel,
      lastBlock: block,
    });
    const fillMs = performance.now() - filling;
    const memoryNode = await startNode(benchNodeConfig(stack, dataDir), workDir, { gcOnSignal: true, healthTimeoutMs: 900_000 });
    const listed = Number(memoryNode.health.channels);
    await sleep(1_000);
    await memoryNode.collectGarbage();
    const metrics = await memoryNode.metrics();
    await memoryNode.stop();
    // A second start on the same data: restart times wander on a shared machine; the faster is reported.
    // At "info" the node logs how long each phase of its start took (channel-node/src/start-phases.ts).
    const again = await startNode({ ...benchNodeConfig(stack, dataDir), logLevel: "info" }, workDir, { healthTimeoutMs: 900_000 });
    const phases = startPhasesOf(again.output());
    await again.stop();
    const starts = [memoryNode.startMs, again.startMs].map(Math.round);
    memory.push({
      channels: size,
      storedUpdates: size * updatesPerChannel,
      fillMs: Math.round(fillMs),
      listedAtHealth: listed,
      startMs: Math.min(...starts),
      startsMs: starts,
      rssBytes: metrics.get("process_resident_memory_bytes") ?? 0,
      heapUsedBytes: metrics.get("nodejs_heap_size_used_bytes") ?? 0,
      externalBytes: metrics.get("nodejs_external_memory_bytes") ?? 0,
    });
    const phaseText = phases === undefined ? "not logged" : Object.entries(phases).map(([phase, ms]) => `${phase} ${ms}`).join(", ");
    log(`store of ${size} channels (filled in ${(fillMs / 1000).toFixed(1)}s): /health after ${starts.join(" and ")} ms (second start, ms per phase: ${phaseText}), RSS ${((metrics.get("process_resident_memory_bytes") ?? 0) / 2 ** 20).toFixed(1)} MiB`);
  }

  // 5.1 The node's saved compliance mirror with many holders (in this process, no load running).
  const mirror: MirrorRow[] = [];
  for (const holders of skip.has("mirror") ? [] : mirrorHolders) {
    const row = await measureMirror(holders, quick ? 1 : 3);
    mirror.push(row);
    log(`compliance mirror of ${holders} holders: ${(row.recordBytes / 1e6).toFixed(1)} MB, encode ${row.after.encodeCpuMs.toFixed(0)} ms in slices of at most ${row.after.longestSliceMs.toFixed(1)} ms, decode ${row.after.decodeMs.toFixed(0)} ms`);
  }

  // 10. Workers (on the throughput stack, before it stops): shard processes of one venue, fresh investors for each worker count (bench/workers.ts).
  let workers: WorkersBench | undefined;
  if (!skip.has("workers")) {
    const extra = benchInvestors(maxChannels + investorsNeeded(workerCounts, workerRepeats, workerChannels)).slice(maxChannels);
    await onboardInvestors(stack, extra);
    workers = await measureWorkers({
      stack,
      investors: extra,
      workerCounts,
      repeats: workerRepeats,
      channels: workerChannels,
      warmupSeconds,
      seconds: windowSeconds,
      workDir,
      nodeConfig: (dataDir) => benchNodeConfig(stack, dataDir),
      startNode: (config) => startNode(config, workDir),
      track,
      log,
    });
  }

  await stopStack();

  // 6. Trading: orders and settled fills on a node with fill settlement, on a stack of its own.
  let trading: BenchReport["trading"];
  if (!skip.has("trading")) {
    trading = await measureTrading({
      pairs: tradingPairs,
      warmupSeconds,
      seconds: windowSeconds,
      workDir,
      startNode: (config, options) => startNode(config, workDir, options),
      track,
      log,
    });
    log(`trading: ${trading.ordersAcceptedPerSecond} orders/s, ${trading.fillsSettledPerSecond} fills settled/s, order → settled p50 ${trading.orderToSettledMs.p50} ms, p99 ${trading.orderToSettledMs.p99} ms`);
  }

  const report: BenchReport = {
    ...headlineOf({ crypto, throughput, openLoop, memory, workers }),
    generatedAt: new Date().toISOString(),
    durationSeconds: Math.round((performance.now() - startedAt) / 1000),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      loadAverageBefore: loadStart.map((x) => Math.round(x * 100) / 100),
      loadAverageAfter: loadavg().map((x) => Math.round(x * 100) / 100),
      commit: gitCommit(),
    },
    settings: {
      channelCounts,
      openChannelCounts,
      loadFractions,
      connectionCounts,
      connectionLanes,
      windowSeconds,
      warmupSeconds,
      paymentAsset: "security token (restricted, ERC-1404)",
      deposit: DEPOSIT.toString(),
      storeSizes,
      updatesPerChannel,
      profileChannels,
      tradingPairs,
      failoverRounds,
    },
    crypto,
    disk,
    throughput,
    openLoop,
    connections,
    liveNode,
    idleNodeCorePercent: Math.round(idleNodeCorePercent * 10) / 10,
    restartWithLiveChannels,
    profile,
    profileAtHalfLoad,
    memory,
    ...(mirror.length === 0 ? {} : { mirror }),
    ...(trading === undefined ? {} : { trading }),
    ...(postgres === undefined ? {} : { postgres }),
    ...(workers === undefined ? {} : { workers }),
    gas: { ...gas, anchors: ANCHORS },
  };
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, "report.json"), JSON.stringify(report, null, 2) + "\n");
  writeFileSync(join(values.out, "report.md"), renderMarkdown(report));
  console.log(renderConsole(report));
  log(`wrote ${join(values.out, "report.json")} and report.md`);
}

try {
  await main();
} finally {
  await stopAll();
}
