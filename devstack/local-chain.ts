// Starts Hardhat's JSON-RPC node as a child process on 127.0.0.1 and a free port, and stops exactly
// that process. Used by the quick start (`npm start`) and the end-to-end tests. A chain is never left
// behind: `stopLocalChains` stops every chain still running (also one still starting), and if this
// process exits without stopping one (an uncaught exception, process.exit), it is killed on exit.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";

const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
const HARDHAT_CLI = fileURLToPath(new URL("../node_modules/hardhat/dist/src/cli.js", import.meta.url));

export interface LocalChain {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function rpcAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Stops a child process: SIGTERM, then SIGKILL if it does not exit within `graceMs`. */
export async function stopProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = sleep(graceMs).then(() => "timeout" as const);
  if ((await Promise.race([exited.then(() => "exited" as const), timer])) === "timeout") {
    child.kill("SIGKILL");
    await exited;
  }
}

/** Children started here and not yet stopped. */
const running = new Set<ChildProcess>();
let killOnExit = false;

/** Stops every chain this process started and has not stopped (e.g. one still starting). */
export async function stopLocalChains(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child)));
}

export async function startLocalChain(options: { port?: number; log?: (line: string) => void } = {}): Promise<LocalChain> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  if (!killOnExit) {
    killOnExit = true;
    // The last resort, synchronous as "exit" handlers must be.
    process.once("exit", () => {
      for (const orphan of running) orphan.kill("SIGKILL");
    });
  }
  let output = "";
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
    options.log?.(chunk.toString());
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const deadline = Date.now() + 90_000;
  while (!(await rpcAnswers(url))) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited with ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`hardhat node did not answer on ${url} within 90 s: ${output}`);
    }
    await sleep(200);
  }
  return { url, port, pid: child.pid!, stop: () => stopProcess(child) };
}
