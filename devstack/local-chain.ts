// Starts a local JSON-RPC chain as a child process on 127.0.0.1 and a free port — Hardhat's node, or
// Foundry's anvil (a second, independent EVM) — and stops exactly that process. Used by the quick
// start (`npm start`) and the end-to-end tests. A chain is never left behind: `stopLocalChains` stops
// every chain still running (also one still starting), and if this process exits without stopping
// one (an uncaught exception, process.exit), it is killed on exit.
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
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

/** Hardhat's node. */
export async function startLocalChain(options: { port?: number; log?: (line: string) => void } = {}): Promise<LocalChain> {
  const port = options.port ?? (await freePort());
  return startChainProcess("hardhat node", process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], port, options.log);
}

/**
 * The anvil binary of `@foundry-rs/anvil`, located as its launcher (bin.mjs) does: the platform
 * package `@foundry-rs/anvil-<platform>-<amd64|arm64>` holds it under `bin/`.
 */
export function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const binary = process.platform === "win32" ? "anvil.exe" : "anvil";
  return createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${process.platform}-${arch}/bin/${binary}`);
}

export interface AnvilOptions {
  port?: number;
  /** Seconds between blocks, as on a real chain; without it anvil mines one block per transaction. */
  blockTime?: number;
  log?: (line: string) => void;
}

/**
 * Foundry's anvil with its default accounts (Hardhat's development mnemonic, so `devWallet` works
 * unchanged) and chain id 31337.
 */
export async function startAnvil(options: AnvilOptions = {}): Promise<LocalChain> {
  const port = options.port ?? (await freePort());
  const args = ["--host", "127.0.0.1", "--port", String(port)];
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  return startChainProcess("anvil", anvilBinary(), args, port, options.log);
}

async function startChainProcess(name: string, command: string, args: string[], port: number, log: ((line: string) => void) | undefined): Promise<LocalChain> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(command, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
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
  let spawnError: Error | undefined;
  child.once("error", (error) => {
    spawnError = error;
    running.delete(child);
  });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4_000);
    log?.(chunk.toString());
  };
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const deadline = Date.now() + 90_000;
  while (!(await rpcAnswers(url))) {
    if (spawnError !== undefined) throw new Error(`${name} did not start: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${output}`);
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`${name} did not answer on ${url} within 90 s: ${output}`);
    }
    await sleep(200);
  }
  return { url, port, pid: child.pid!, stop: () => stopProcess(child) };
}
