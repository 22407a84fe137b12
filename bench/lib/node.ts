// The venue's node as a separate process for the benchmark: the operator CLI's `start` as a venue
// runs it (`clearline-node`: channel-node/bin.mjs on the JavaScript compiled to dist/), plus what a
// measurement needs: extra V8 flags (a CPU profile, an exposed GC), the exact time from spawn to the
// first answer of /health, its /metrics parsed into numbers, and its CPU time read from /proc. It
// stops exactly the process it started.
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, stopProcess } from "../../devstack/local-chain.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { ADMIN_TOKEN_FILE, readAdminToken } from "../../channel-node/src/admin-auth.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE_BIN = fileURLToPath(new URL("../../channel-node/bin.mjs", import.meta.url));
const NODE_COMPILED = fileURLToPath(new URL("../../dist/channel-node/src/cli.js", import.meta.url));
const NODE_SOURCES = fileURLToPath(new URL("../../channel-node/src/cli.ts", import.meta.url));
/** The TypeScript dist/ is compiled from (tsconfig.build.json, without the console's own app). */
const SOURCE_DIRS = ["client", "channel-node"];
const NOT_COMPILED = /(^|\/)(node_modules|dist|artifacts)\/|^channel-node\/console\/|\.d\.ts$/;
const GC_HOOK = fileURLToPath(new URL("./gc-hook.mjs", import.meta.url));

export interface BenchNodeOptions {
  /** Extra flags for the node's V8/Node runtime, e.g. ["--cpu-prof", "--cpu-prof-dir=…"]. */
  readonly nodeFlags?: readonly string[];
  /** Start with --expose-gc and a SIGUSR2 handler that runs a full GC (for memory readings). */
  readonly gcOnSignal?: boolean;
  readonly healthTimeoutMs?: number;
}

/** How the bench starts the node: the compiled CLI, or the TypeScript sources through tsx and why. */
export interface NodeLaunch {
  readonly compiled: boolean;
  /** Arguments after the runtime flags: the script and the CLI's `start`. */
  readonly script: readonly string[];
  /** Why the sources are run (the compiled CLI is missing or older than a source), or "" */
  readonly reason: string;
}

export interface BenchNode {
  readonly url: string;
  readonly httpUrl: string;
  readonly pid: number;
  /** Started from the compiled JavaScript (as a venue runs it), not through tsx. */
  readonly compiled: boolean;
  /** Milliseconds from spawn until /health first answered 200. */
  readonly startMs: number;
  readonly health: Record<string, unknown>;
  output(): string;
  /** Prometheus text of /metrics, as name{labels} → value. */
  metrics(): Promise<Map<string, number>>;
  /** GET of an /admin endpoint with the node's admin token (from its data directory). */
  adminGet<T>(path: string): Promise<T>;
  /** POST to an /admin endpoint with the node's admin token. */
  adminPost<T>(path: string): Promise<T>;
  /** Asks the process for a full GC (needs gcOnSignal) and waits a moment for it to finish. */
  collectGarbage(): Promise<void>;
  /** User + system CPU seconds the process has used so far (from /proc). */
  cpuSeconds(): number;
  /** SIGTERM (the CLI stops the node cleanly and exits, which writes a CPU profile), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * V8 flags the node process runs with, as `clearline-node` (channel-node/bin.mjs) and `npm run node`
 * start it: a young generation of up to 64 MiB per semi-space instead of 16 takes 4–10× fewer
 * scavenges per update, each a pause of the event loop that every proposal in flight waits behind,
 * and promotes less short-lived garbage into the old generation (docs/performance.md, latency).
 */
export const NODE_PROCESS_FLAGS: readonly string[] = ["--max-semi-space-size=64"];

/** The newest TypeScript source dist/ is compiled from: its path and modification time (ms). */
function newestSource(): { path: string; mtimeMs: number } {
  let newest = { path: "", mtimeMs: 0 };
  for (const dir of SOURCE_DIRS) {
    for (const name of readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: "utf8" })) {
      const path = `${dir}/${name}`;
      if (!path.endsWith(".ts") || NOT_COMPILED.test(path)) continue;
      const { mtimeMs } = statSync(join(REPO_ROOT, path));
      if (mtimeMs > newest.mtimeMs) newest = { path, mtimeMs };
    }
  }
  return newest;
}

let launch: NodeLaunch | undefined;

/**
 * The node as a venue runs it, `clearline-node` on dist/ (`npm bench` builds it first with
 * `npm run build:js`), when the compiled CLI is at least as new as every source it is compiled
 * from; otherwise the sources through tsx, which loads modules about 1.5 s slower
 * (docs/performance.md, "Restart and memory at scale"), with the reason. Decided once per bench run.
 */
export function nodeLaunch(): NodeLaunch {
  if (launch !== undefined) return launch;
  let builtMs: number | undefined;
  try {
    builtMs = statSync(NODE_COMPILED).mtimeMs;
  } catch {
    builtMs = undefined;
  }
  const newest = newestSource();
  const reason =
    builtMs === undefined
      ? `${NODE_COMPILED} is missing (npm run build:js)`
      : newest.mtimeMs > builtMs
        ? `${newest.path} is newer than the compiled node (npm run build:js)`
        : "";
  launch = reason === "" ? { compiled: true, script: [NODE_BIN], reason } : { compiled: false, script: ["--import", "tsx", NODE_SOURCES], reason };
  return launch;
}

/**
 * Milliseconds per phase of a node's start, from its log (it must log at "info"): `modules` from
 * the CLI's "node ready" line (the process's start to its modules loaded), then the phases of the
 * "channel node listening" line (channel-node/src/start-phases.ts). Undefined when not logged.
 */
export function startPhasesOf(output: string): Record<string, number> | undefined {
  let modules: number | undefined;
  let phases: Record<string, number> | undefined;
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    let entry: { msg?: unknown; loadedMs?: unknown; startMs?: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      continue;
    }
    if (typeof entry.loadedMs === "number") modules = entry.loadedMs;
    if (entry.msg === "channel node listening" && typeof entry.startMs === "object" && entry.startMs !== null) phases = entry.startMs as Record<string, number>;
  }
  return modules === undefined || phases === undefined ? undefined : { modules, ...phases };
}

/** utime + stime of a process in seconds, from /proc/<pid>/stat (Linux). */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may contain spaces; fields after its closing parenthesis are fixed.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}

/** Parses Prometheus text exposition into `name{labels}` → value. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}

export async function startBenchNode(config: NodeConfig, configDir: string, options: BenchNodeOptions = {}): Promise<BenchNode> {
  const port = config.port === 0 ? await freePort() : config.port;
  const file = join(configDir, `node-${port}.json`);
  writeFileSync(file, JSON.stringify({ ...config, port }, null, 2));
  const { compiled, script } = nodeLaunch();
  // bin.mjs's shebang flags do not apply when it is started as `node bin.mjs`: NODE_PROCESS_FLAGS are the same flags.
  const flags = [...NODE_PROCESS_FLAGS, ...(options.nodeFlags ?? []), ...(options.gcOnSignal ? ["--expose-gc", "--import", GC_HOOK] : [])];
  const spawnedAt = performance.now();
  const child: ChildProcess = spawn(process.execPath, [...flags, ...script, "start", "--config", file], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const httpUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.healthTimeoutMs ?? 120_000);
  let health: Record<string, unknown>;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the node exited with ${child.exitCode}: ${output}`);
    try {
      const response = await fetch(`${httpUrl}/health`);
      if (response.ok) {
        health = (await response.json()) as Record<string, unknown>;
        break;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`the node did not answer /health in time: ${output}`);
    }
    await sleep(10);
  }
  const startMs = performance.now() - spawnedAt;
  const pid = child.pid!;
  const adminToken = readAdminToken(join(config.dataDir, ADMIN_TOKEN_FILE));
  return {
    url: `ws://127.0.0.1:${port}`,
    httpUrl,
    pid,
    compiled,
    startMs,
    health,
    output: () => output,
    async metrics() {
      const response = await fetch(`${httpUrl}/metrics`);
      if (!response.ok) throw new Error(`/metrics answered ${response.status}`);
      return parseMetrics(await response.text());
    },
    async adminGet<T>(path: string) {
      const response = await fetch(`${httpUrl}/admin${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
      if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    async adminPost<T>(path: string) {
      const response = await fetch(`${httpUrl}/admin${path}`, { method: "POST", headers: { authorization: `Bearer ${adminToken}` } });
      if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
      return (await response.json()) as T;
    },
    async collectGarbage() {
      if (!options.gcOnSignal) throw new Error("start the node with gcOnSignal to force a GC");
      child.kill("SIGUSR2");
      await sleep(500);
    },
    cpuSeconds: () => processCpuSeconds(pid),
    stop: () => stopProcess(child, 10_000),
  };
}
