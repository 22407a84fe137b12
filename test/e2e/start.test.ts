// `npm start` (scripts/start.ts, run as its own process) stops everything it started on every exit
// path: a busy port is one line on stderr naming the port and CLEARLINE_PORT with a non-zero exit,
// and a SIGTERM while the chain is starting or once everything runs exits cleanly. In each case no
// process it started (the Hardhat node) is left: every descendant seen while it ran is checked by pid.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../devstack/local-chain.js";
import { ROLES, devWallet } from "../../devstack/stack.js";
import { EXIT_WITH_PARENT } from "../helpers/child-processes.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const START = fileURLToPath(new URL("../../scripts/start.ts", import.meta.url));

/** Parent pid of every process, from /proc. */
function parents(): Map<number, number> {
  const map = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      map.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  return map;
}

function descendants(root: number): number[] {
  const map = parents();
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const [child, parent] of map) {
      if (parent === pid) {
        found.push(child);
        queue.push(child);
      }
    }
  }
  return found;
}

/** Running (not exited, not a zombie awaiting its parent). */
/** Whether `pid` runs Hardhat's node (tsx's esbuild service is a descendant too, and starts earlier). */
function isHardhatNode(pid: number): boolean {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    return argv.some((arg) => arg.endsWith("hardhat/dist/src/cli.js")) && argv.includes("node");
  } catch {
    return false;
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

interface Run {
  readonly pid: number;
  /** Every descendant seen while it ran. */
  readonly seen: Set<number>;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  signal(signal: NodeJS.Signals): void;
}

/** Runs scripts/start.ts like `npm start` does (tsx), on `port`, with its data in `dataDir` (and `extraEnv`). */
function runStart(port: number, dataDir: string, extraEnv: NodeJS.ProcessEnv = {}): Run {
  const env: NodeJS.ProcessEnv = { ...process.env, CLEARLINE_PORT: String(port), CLEARLINE_DATA_DIR: dataDir };
  delete env.CLEARLINE_RPC_URL;
  delete env.CLEARLINE_NODE_CONFIG;
  Object.assign(env, extraEnv);
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", START], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const seen = new Set<number>();
  const watch = setInterval(() => {
    for (const pid of descendants(child.pid!)) seen.add(pid);
  }, 50);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => {
      clearInterval(watch);
      resolve({ code, signal });
    }),
  );
  return { pid: child.pid!, seen, stdout: () => stdout, stderr: () => stderr, exited, signal: (s) => child.kill(s) };
}

async function until(condition: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe("npm start (scripts/start.ts as a process)", () => {
  let dir: string;
  const runs: Run[] = [];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-start-"));
  });

  afterAll(async () => {
    // Only if a test failed half-way: stop exactly what it started.
    for (const run of runs) {
      for (const pid of [run.pid, ...run.seen]) if (alive(pid)) process.kill(pid, "SIGKILL");
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("on a busy port: exits non-zero with one line naming the port and CLEARLINE_PORT, and leaves no process behind", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const address = blocker.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const run = runStart(port, join(dir, "busy"));
      runs.push(run);
      const { code } = await run.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      const lines = run.stderr().trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`port ${port}`);
      expect(lines[0]).toContain("CLEARLINE_PORT");
      expect(run.seen.size).toBeGreaterThan(0); // the Hardhat node was started …
      for (const pid of run.seen) expect(alive(pid), `process ${pid} left running`).toBe(false); // … and stopped
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it("with an invalid node configuration: exits 1 naming every missing setting and its variable, the code once", async () => {
    const file = join(dir, "bad-node.json");
    writeFileSync(file, JSON.stringify({ dataDir: join(dir, "bad-config") }));
    const run = runStart(await freePort(), join(dir, "bad-config"), { CLEARLINE_NODE_CONFIG: file });
    runs.push(run);
    const { code } = await run.exited;
    expect(code).toBe(1);
    const text = run.stderr().trim();
    expect(text).toMatch(/^clearline: invalid node configuration: /);
    for (const variable of ["CLEARLINE_RPC_URL", "CLEARLINE_NODE_KEY", "CLEARLINE_CONTRACTS_ADJUDICATOR"]) expect(text).toContain(variable);
    expect(text).toMatch(/ \(INVALID_CONFIG\)$/);
    expect(text.match(/INVALID_CONFIG/g)).toHaveLength(1);
  });

  it("on SIGTERM while the chain is starting: exits and leaves no process behind", async () => {
    const run = runStart(await freePort(), join(dir, "early"));
    runs.push(run);
    await until(() => [...run.seen].some(isHardhatNode), "the Hardhat node to be started");
    run.signal("SIGTERM");
    const { code } = await run.exited;
    expect(code).toBe(0);
    for (const pid of run.seen) expect(alive(pid), `process ${pid} left running`).toBe(false);
  });

  it("on SIGTERM once running: exits 0 and leaves no process behind", async () => {
    const port = await freePort();
    const run = runStart(port, join(dir, "running"));
    runs.push(run);
    await until(() => run.stdout().includes("Ctrl-C stops the node and the chain."), "the start to complete");
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    // The demo investors are printed with their keys, bob's beside alice's, and the issuer's for `npm run issuer`.
    for (const investor of [ROLES.alice, ROLES.bob, ROLES.issuer]) expect(run.stdout()).toContain(`key ${devWallet(investor).privateKey}`);
    // Trading is on: one market is printed and the node settles fills (its settlement metrics exist).
    expect(run.stdout()).toMatch(/market {8}0x[0-9a-fA-F]{40} against 0x[0-9a-fA-F]{40}, lots of 1 token/);
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain("# HELP clearline_fill_settlements_total");
    run.signal("SIGTERM");
    const { code } = await run.exited;
    expect(code).toBe(0);
    expect(run.seen.size).toBeGreaterThan(0);
    for (const pid of run.seen) expect(alive(pid), `process ${pid} left running`).toBe(false);
  });
});
