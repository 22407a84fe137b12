/**
 * Throughput by worker count (issue 10): the venue's channels sharded by investor over 1, 2, …
 * shard processes of one venue (channel-node/src/shards/, docs/operations.md "Shards"), each a full
 * node with its own LevelDB store, the shard map from configuration with every bench investor pinned
 * round-robin. Each shard gets the same number of channels per worker count's total; one load
 * generator process per shard (bench/load.ts) logs its investors in at their shard and drives
 * them in a closed loop, all windows together: each pre-signs its proposals (bench/lib/presign.ts),
 * says "ready", and all start their warm-up on one "go". updates/s is the sum over the shards, counted by each
 * load generator inside its window. The worker counts take turns (1, 2, 1, 2, … for `repeats`
 * rounds) and each count's figure is its median, so a machine whose other load changes during the
 * run does not favour one count. On this 2-core machine the load generators share the cores with
 * the shards, so the ratio shows what a second process buys here, not on a bigger machine.
 *
 * Run by bench/run.ts (section "workers"), or alone:
 *   npx tsx bench/workers.ts [--channels 64] [--workers 1,2] [--repeats 3] [--seconds 8] [--warmup 2]
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../devstack/local-chain.js";
import { ROLES, devWallet, startStack, type Stack } from "../devstack/stack.js";
import type { NodeConfig } from "../channel-node/src/config.js";
import type { LoadResult } from "./load.js";
import { benchInvestors, onboardInvestors, openChannels, type BenchInvestor } from "./lib/setup.js";
import { NODE_PROCESS_FLAGS, startBenchNode, type BenchNode } from "./lib/node.js";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const LOAD_SCRIPT = fileURLToPath(new URL("./load.ts", import.meta.url));

export interface WorkersRow {
  readonly workers: number;
  readonly channels: number;
  /** All shards together, counted inside the window. */
  readonly updatesPerSecond: number;
  readonly perShard: readonly { readonly shard: string; readonly updatesPerSecond: number; readonly nodeCorePercent: number; readonly loadGeneratorCorePercent: number; readonly loadGeneratorCpuUsPerUpdate: number; readonly builtLiveInWindow: number; readonly p99Ms: number }[];
  /** Busy share of the whole machine in the window, % of all its cores. */
  readonly machineBusyPercent: number;
  /**
   * CPU of every process other than the shards and their load generators (the chain, other tenants)
   * in the first generator's window, % of one core: what the shards did not get.
   */
  readonly otherCorePercent: number;
}

export interface WorkersBench {
  readonly channels: number;
  readonly windowSeconds: number;
  readonly rows: readonly WorkersRow[];
  /** Worker count → median updates/s of its rounds (the report's `updates_per_s_by_workers`). */
  readonly byWorkers: Record<string, number>;
  /** Median updates/s with the most workers over median updates/s with one. */
  readonly scaling: number;
}

export interface WorkersOptions {
  readonly stack: Stack;
  /** Onboarded investors without channels yet: `channels` for each worker count. */
  readonly investors: readonly BenchInvestor[];
  readonly workerCounts: readonly number[];
  /** Rounds of every worker count, taking turns. */
  readonly repeats: number;
  readonly channels: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly workDir: string;
  /** The bench's node settings for a data directory (rate and connection bounds lifted). */
  readonly nodeConfig: (dataDir: string) => NodeConfig;
  readonly startNode: (config: NodeConfig) => Promise<BenchNode>;
  /** Registers a stop with the bench's stopper list; returns an idempotent stop. */
  readonly track: (stop: () => Promise<void>) => () => Promise<void>;
  readonly log: (line: string) => void;
}

/** Investors needed by `measureWorkers`: every round opens channels for fresh ones (a channel cannot be opened twice). */
export const investorsNeeded = (workerCounts: readonly number[], repeats: number, channels: number): number => workerCounts.length * repeats * channels;

export async function measureWorkers(options: WorkersOptions): Promise<WorkersBench> {
  const { workerCounts, channels, repeats } = options;
  if (options.investors.length < investorsNeeded(workerCounts, repeats, channels)) throw new Error(`measureWorkers needs ${investorsNeeded(workerCounts, repeats, channels)} investors`);
  const rounds = Array.from({ length: repeats }, () => workerCounts).flat();
  const rows: WorkersRow[] = [];
  for (const [round, workers] of rounds.entries()) {
    const investors = options.investors.slice(round * channels, (round + 1) * channels);
    rows.push(await measureRound(options, workers, investors, round));
    const row = rows.at(-1)!;
    options.log(`${workers} shard process(es), ${channels} channels: ${row.updatesPerSecond} updates/s (${row.perShard.map((s) => `${s.shard} ${s.updatesPerSecond}/s, node ${s.nodeCorePercent}%, generator ${s.loadGeneratorCorePercent}%`).join("; ")}), machine ${row.machineBusyPercent}% busy, other processes ${row.otherCorePercent}% of a core`);
  }
  const byWorkers = Object.fromEntries(workerCounts.map((w) => [String(w), median(rows.filter((row) => row.workers === w).map((row) => row.updatesPerSecond))]));
  const one = byWorkers["1"];
  const most = byWorkers[String(Math.max(...workerCounts))]!;
  return { channels, windowSeconds: options.seconds, rows, byWorkers, scaling: one === undefined ? 0 : Math.round((most / one) * 100) / 100 };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : Math.round((sorted[mid - 1]! + sorted[mid]!) / 2);
}

async function measureRound(options: WorkersOptions, workers: number, investors: readonly BenchInvestor[], round: number): Promise<WorkersRow> {
  const ids = Array.from({ length: workers }, (_, k) => `s${k}`);
  const ports = await Promise.all(ids.map(() => freePort()));
  const shards = Object.fromEntries(ids.map((id, k) => [id, `ws://127.0.0.1:${ports[k]}`]));
  // Round-robin pins: equal shares whatever the hash default would give.
  const pins = Object.fromEntries(investors.map((inv, j) => [inv.address, ids[j % workers]!]));
  const mine = (k: number) => investors.filter((_, j) => j % workers === k);
  const roundDir = join(options.workDir, `workers-${round}-${workers}`);
  mkdirSync(roundDir, { recursive: true });
  const nodes: BenchNode[] = [];
  try {
    for (const [k, id] of ids.entries()) {
      const config = { ...options.nodeConfig(join(roundDir, id)), port: ports[k]!, shard: { id, shards, investors: pins, mapSchema: "clearline_shard_map" } };
      nodes.push(await options.startNode(config));
    }
    const venue = devWallet(ROLES.venue).address;
    for (const [k, node] of nodes.entries()) await openChannels(options.stack, node.url, venue, mine(k));
    for (const [k, node] of nodes.entries()) await waitForChannels(node, mine(k).length);
    const loads = nodes.map((node, k) => {
      const keysFile = join(roundDir, `keys-${ids[k]}.json`);
      writeFileSync(keysFile, JSON.stringify(mine(k).map((inv) => inv.privateKey)));
      return startLoad(options, node, keysFile, roundDir, mine(k).length);
    });
    // Every generator has logged in and pre-signed before any warm-up starts: one's pre-signing
    // must not fall into another's window.
    try {
      await Promise.all(loads.map((load) => load.ready));
    } catch (error) {
      await Promise.all(loads.map((load) => load.stop()));
      throw error;
    }
    const before = machineBusy();
    for (const load of loads) load.go();
    const results = await Promise.all(loads.map((load) => load.result));
    const after = machineBusy();
    const window = results[0]!.windowSeconds;
    return {
      workers,
      channels: investors.length,
      updatesPerSecond: Math.round(results.reduce((sum, r) => sum + r.updatesPerSecond, 0)),
      perShard: results.map((r, k) => ({
        shard: ids[k]!,
        updatesPerSecond: Math.round(r.updatesPerSecond),
        nodeCorePercent: Math.round((r.cpu.node / window) * 100),
        loadGeneratorCorePercent: Math.round((r.cpu.loadGenerator / window) * 100),
        loadGeneratorCpuUsPerUpdate: r.updates === 0 ? 0 : Math.round((r.cpu.loadGenerator * 1e6) / r.updates),
        builtLiveInWindow: r.proposals.builtLiveInWindow,
        p99Ms: r.latencyMs.p99,
      })),
      // The load generators' windows cover warm-up and drain too: the machine's busy share over the whole round.
      machineBusyPercent: Math.round(((after.busy - before.busy) / (after.total - before.total)) * 100),
      // The windows start together (ready/go), so the first one's machine reading covers the others'.
      otherCorePercent: Math.max(0, Math.round(((results[0]!.cpu.machineBusy - results.reduce((sum, r) => sum + r.cpu.node + r.cpu.loadGenerator, 0)) / window) * 100)),
    };
  } finally {
    for (const node of nodes) await node.stop();
  }
}

function machineBusy(): { busy: number; total: number } {
  const values = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - (values[3] ?? 0) - (values[4] ?? 0), total };
}

/** Waits until the shard lists `count` open channels holding the investors' deposits. */
async function waitForChannels(node: BenchNode, count: number): Promise<void> {
  const deadline = Date.now() + 120_000 + count * 100;
  for (;;) {
    const listed = await node.adminGet<{ status: string; balances: { investor: string }[] }[]>("/channels");
    const ready = listed.filter((c) => c.status === "open" && BigInt(c.balances[0]?.investor ?? "0") > 0n).length;
    if (ready >= count) return;
    if (Date.now() > deadline) throw new Error(`only ${ready} of ${count} channels are open at ${node.url}`);
    await sleep(250);
  }
}

/** The closed-loop rate each shard's generator pre-signs for: above one node process's maximum on this machine. */
const PRESIGN_RATE_PER_SHARD = 5_000;

interface RunningLoad {
  /** Resolves when the generator has logged in and pre-signed (it said "ready"). */
  readonly ready: Promise<void>;
  /** Lets it start its warm-up and window. */
  go(): void;
  /** Kills it if it still runs. */
  stop(): Promise<void>;
  readonly result: Promise<LoadResult>;
}

/** One load generator process against one shard, closed loop over all of the shard's channels; it waits for `go` once ready. */
function startLoad(options: WorkersOptions, node: BenchNode, keysFile: string, dir: string, channels: number): RunningLoad {
  const out = join(dir, `load-${node.pid}.json`);
  const args = [
    ...NODE_PROCESS_FLAGS,
    "--expose-gc", // a full GC once its proposals are pre-signed (bench/load.ts)
    ...["--import", "tsx", LOAD_SCRIPT],
    ...["--url", node.url, "--keys", keysFile, "--channels", String(channels), "--idle-connections", "0"],
    ...["--warmup", String(options.warmupSeconds), "--seconds", String(options.seconds)],
    ...["--presign-rate", String(PRESIGN_RATE_PER_SHARD), "--ready-signal"],
    ...["--node-pid", String(node.pid), "--metrics-url", `${node.httpUrl}/metrics`, "--out", out],
  ];
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const stop = options.track(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  });
  const failed = async (code: number | null) => new Error(`the load generator for ${node.url} exited with ${code}: ${stderr}`);
  const ready = new Promise<void>((resolve, reject) => {
    let stdout = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("ready\n")) resolve();
    });
    void exited.then(async (code) => reject(await failed(code)));
  });
  const result = (async () => {
    const code = await exited;
    await stop();
    if (code !== 0) throw await failed(code);
    return JSON.parse(readFileSync(out, "utf8")) as LoadResult;
  })();
  // Whoever awaits only one of the two must not leave the other's rejection unhandled.
  ready.catch(() => undefined);
  result.catch(() => undefined);
  return { ready, go: () => child.stdin?.end("go\n"), stop, result };
}

/** Alone: its own chain and investors, the rows printed as JSON. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      channels: { type: "string", default: "64" },
      workers: { type: "string", default: "1,2" },
      repeats: { type: "string", default: "3" },
      seconds: { type: "string", default: "8" },
      warmup: { type: "string", default: "2" },
    },
  });
  const channels = Number(values.channels);
  const workerCounts = values.workers.split(",").map(Number);
  const repeats = Number(values.repeats);
  const seconds = Number(values.seconds);
  const warmupSeconds = Number(values.warmup);
  if (!Number.isSafeInteger(channels) || channels < 1 || !workerCounts.every((w) => Number.isSafeInteger(w) && w >= 1 && w <= 16) || !workerCounts.includes(1) || !Number.isSafeInteger(repeats) || repeats < 1 || !(seconds > 0) || !(warmupSeconds >= 0)) {
    console.error("bench/workers: --channels N (≥ 1), --workers 1,2 (each 1–16, 1 among them), --repeats N (≥ 1), --seconds S (> 0), --warmup S (≥ 0)");
    process.exit(2);
  }
  const stoppers: (() => Promise<void>)[] = [];
  const track = (stop: () => Promise<void>) => {
    let done: Promise<void> | undefined;
    const once = () => (done ??= stop());
    stoppers.push(once);
    return once;
  };
  const workDir = mkdtempSync(join(tmpdir(), "clearline-workers-"));
  const log = (line: string) => console.error(`[workers] ${line}`);
  try {
    const stack = await startStack({ investors: [] });
    track(() => stack.stop());
    const investors = benchInvestors(investorsNeeded(workerCounts, repeats, channels));
    await onboardInvestors(stack, investors);
    const nodeConfig = (dataDir: string): NodeConfig =>
      stack.nodeConfig({ dataDir, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 }, maxConnections: channels + 100, maxConnectionsPerAddress: channels + 100, loginRate: { perSecond: 1_000_000, burst: 1_000_000, maxKeys: 16 }, logLevel: "warn" });
    const startNode = async (config: NodeConfig) => {
      const node = await startBenchNode(config, workDir);
      track(() => node.stop());
      return node;
    };
    const result = await measureWorkers({ stack, investors, workerCounts, repeats, channels, warmupSeconds, seconds, workDir, nodeConfig, startNode, track, log });
    console.log(JSON.stringify(result, null, 2));
  } finally {
    while (stoppers.length > 0) await stoppers.pop()!().catch((error: unknown) => console.error("stop failed:", error));
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
