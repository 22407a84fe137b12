// Runs the venue's node as a real child process (the operator's CLI, `start`), on 127.0.0.1 and a
// free port, and stops or kills exactly that process.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort, stopProcess } from "../../devstack/local-chain.js";
import { ADMIN_TOKEN_FILE, readAdminToken } from "../../channel-node/src/admin-auth.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { EXIT_WITH_PARENT } from "./child-processes.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const NODE_CLI = fileURLToPath(new URL("../../channel-node/src/cli.ts", import.meta.url));

export interface NodeProcess {
  readonly url: string;
  readonly httpUrl: string;
  readonly port: number;
  readonly pid: number;
  /** The node's admin token file, and the token in it. */
  readonly adminTokenFile: string;
  readonly adminToken: string;
  /** What the process printed (the last 20 kB). */
  output(): string;
  /** SIGTERM, then SIGKILL after a grace period. */
  stop(): Promise<void>;
  /** SIGKILL at once: a crash. */
  kill(): Promise<void>;
  /** Sends `signal` (e.g. SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (null: killed by a signal) once the process has exited. */
  exited(): Promise<number | null>;
  /** Waits until /health answers 200 (a standby once it took over). */
  healthy(timeoutMs?: number): Promise<void>;
}

/** Node processes started here and not yet exited: killed when this process exits (an uncaught error, process.exit). */
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * Starts the node with `config` (its port is chosen here unless given) and waits until /health
 * answers 200 — unless `untilHealthy` is false (a standby, which does not listen until it leads).
 */
export async function startNodeProcess(config: NodeConfig, configDir: string, { untilHealthy = true }: { untilHealthy?: boolean } = {}): Promise<NodeProcess> {
  const port = config.port === 0 ? await freePort() : config.port;
  const file = join(configDir, `node-${port}.json`);
  writeFileSync(file, JSON.stringify({ ...config, port }, null, 2));
  const child: ChildProcess = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", NODE_CLI, "start", "--config", file], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  const collect = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const exit = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const httpUrl = `http://127.0.0.1:${port}`;
  const healthy = async (timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the node exited with ${child.exitCode}: ${output}`);
      try {
        if ((await fetch(`${httpUrl}/health`)).ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the node did not answer /health within ${timeoutMs} ms: ${output}`);
      await sleep(100);
    }
  };
  if (untilHealthy) {
    await healthy().catch(async (error: unknown) => {
      await stopProcess(child);
      throw error;
    });
  }
  const adminTokenFile = join(config.dataDir, ADMIN_TOKEN_FILE);
  return {
    url: `ws://127.0.0.1:${port}`,
    httpUrl,
    port,
    pid: child.pid!,
    adminTokenFile,
    // A standby writes its token at start, before it waits for the lease.
    get adminToken() {
      return readAdminToken(adminTokenFile);
    },
    output: () => output,
    stop: () => stopProcess(child),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGKILL");
      await exited;
    },
    signal: (signal) => void child.kill(signal),
    exited: () => exit,
    healthy,
  };
}

const bearer = (node: NodeProcess) => ({ authorization: `Bearer ${node.adminToken}` });

/** GET a node admin endpoint, with the node's admin token. */
export async function adminGet<T>(node: NodeProcess, path: string): Promise<T> {
  const response = await fetch(`${node.httpUrl}/admin${path}`, { headers: bearer(node) });
  if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

export async function adminPost<T>(node: NodeProcess, path: string): Promise<T> {
  const response = await fetch(`${node.httpUrl}/admin${path}`, { method: "POST", headers: bearer(node) });
  if (!response.ok) throw new Error(`admin ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** Polls `probe` until it returns a value that `done` accepts (or times out). */
export async function eventually<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out; last value: ${JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v))}`);
    await sleep(200);
  }
}
