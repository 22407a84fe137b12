// `clearline daemon` end to end: bob's daemon is a real child process (stopped by its pid on every
// path) against a real stack — Hardhat's node, the deployed system, the venue's node in this process
// on free 127.0.0.1 ports. Alice pays bob with `pay --to` from her CLI; bob's own commands run
// through his daemon's control socket; the daemon reconnects after the node restarts; orders placed
// through two investors' daemons rest, match and settle in both channels; SIGTERM stops it cleanly.
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createConnection } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, devWallet, ROLES, SECURITY_UNIT, type Stack } from "../../devstack/stack.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import type { Bytes32 } from "../../client/protocol/index.js";
import { backoffDelay } from "../../client/cli/daemon.js";
import { ChildProcesses, collect, type ProcessRun } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = "client/cli/clearline.ts";
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);
const venue = devWallet(ROLES.venue);

let stack: Stack;
let node: RunningNode | undefined;
let nodePort: number;
let dir: string;
let deploymentFile: string;
const children = new ChildProcesses();

function spawnCli(key: string, args: readonly string[]): ChildProcess {
  return children.spawn(process.execPath, ["--import", "tsx", CLI, "--deployment", deploymentFile, "--data-dir", join(dir, "c"), ...args], {
    cwd: REPO,
    env: { ...process.env, CLEARLINE_KEY: key },
  });
}

function cli(key: string, ...args: string[]): Promise<ProcessRun> {
  return collect(spawnCli(key, args));
}

async function okJson<T = Record<string, unknown>>(key: string, ...args: string[]): Promise<T> {
  const run = await cli(key, "--json", ...args);
  if (run.code !== 0) throw new Error(`clearline ${args.join(" ")} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** An investor's daemon (bob's unless told): its JSON events as they come, waits for one, and its exit. */
class Daemon {
  readonly events: Record<string, unknown>[] = [];
  stderr = "";
  private readonly child: ChildProcess;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;

  constructor(key: string = bob.privateKey) {
    this.child = spawnCli(key, ["--json", "daemon", "--interval", "300", "--backoff-min", "100", "--backoff-max", "800"]);
    let buffered = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
        this.events.push(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>);
        buffered = buffered.slice(end + 1);
      }
      for (const wake of this.waiters) wake();
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the first event (counting from `from`) that has all of `fields`. */
  async waitFor(fields: Record<string, unknown>, from = 0, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(from).find((e) => Object.entries(fields).every(([k, v]) => e[k] === v));
      if (found !== undefined) return found;
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`no daemon event ${JSON.stringify(fields)}; events: ${JSON.stringify(this.events)}\nstderr: ${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve);
        setTimeout(resolve, 200);
      });
    }
  }

  stop(signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    if (this.child.exitCode === null) process.kill(this.pid, signal);
    return this.exited;
  }
}

/** One raw request on the control socket; resolves with the frames the daemon sent before it closed. */
function control(socketPath: string, payload: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(socketPath);
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", (error) => (text === "" ? reject(error) : undefined));
    socket.on("close", () => resolve(text.split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>)));
    socket.write(payload);
  });
}

const bobStore = () => join(dir, "c", bob.address.toLowerCase());
const socketOf = () => join(bobStore(), "daemon.sock");

async function startVenue(port = 0): Promise<void> {
  const { token, cash, orderLogAnchor } = stack.addresses;
  const trading = {
    orderLogAnchor,
    markets: [{ security: token, cash, lotSize: SECURITY_UNIT.toString() }],
    maxRestingOrdersPerInvestor: 10,
    orderRate: { perSecond: 100, burst: 100 },
    maxOrdersPerBook: 100,
    cancelOnDisconnect: true,
    anchorIntervalMs: 0,
    settlement: { lockSeconds: 3_600, timeoutMs: 20_000, intervalMs: 200 },
  };
  node = await startNode(stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "silent", port, trading }));
  nodePort = Number(new URL(node.url).port);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "cl-daemon-"));
  stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }] });
  await startVenue();
  deploymentFile = join(dir, "deployment.json");
  writeFileSync(
    deploymentFile,
    JSON.stringify({
      rpcUrl: stack.chain.url,
      chainId: stack.chainId.toString(),
      contracts: stack.addresses,
      nodeUrl: node!.url,
      accounts: { venue: venue.address, alice: alice.address, bob: bob.address },
    }),
  );
}, 240_000);

afterAll(async () => {
  children.killAll();
  await node?.stop();
  await stack?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("backoffDelay", () => {
  it("doubles from the minimum up to the cap, less at most a quarter at random", () => {
    expect([0, 1, 2, 3, 4, 10, 1_000].map((n) => backoffDelay(n, 100, 1_000, () => 0))).toEqual([100, 200, 400, 800, 1_000, 1_000, 1_000]);
    expect(backoffDelay(2, 100, 1_000, () => 1)).toBe(300);
  });
});

describe("clearline daemon", () => {
  let aliceChannel: Bytes32;
  let bobChannel: Bytes32;
  let daemon: Daemon;

  it("answers the invoice of a payment routed to bob: alice's pay --to works from her CLI", async () => {
    aliceChannel = (await okJson<{ channelId: Bytes32 }>(alice.privateKey, "open", "--asset", "cash", "--amount", "100")).channelId;
    bobChannel = (await okJson<{ channelId: Bytes32 }>(bob.privateKey, "open", "--asset", "cash", "--amount", "10")).channelId;
    // the venue holds no cash of its own in bob's channel: bob pays it 5 first, so it can forward
    await okJson(bob.privateKey, "pay", bobChannel, "--asset", "cash", "--amount", "5");

    // without bob online the venue cannot get an invoice from him
    const offline = await cli(alice.privateKey, "--json", "pay", aliceChannel, "--asset", "cash", "--amount", "2", "--to", "bob");
    expect(offline.code).toBe(1);
    expect((JSON.parse(offline.stdout) as { error: { code: string } }).error.code).toBe("REJECTED");

    daemon = new Daemon();
    const started = await daemon.waitFor({ event: "started" });
    expect(started).toMatchObject({ address: bob.address, channels: 1, socket: socketOf() });
    await daemon.waitFor({ event: "connected" });
    expect(statSync(socketOf()).mode & 0o777).toBe(0o600);

    const paid = await okJson<{ to: string; nonce: string }>(alice.privateKey, "pay", aliceChannel, "--asset", "cash", "--amount", "2", "--to", "bob");
    expect(paid.to).toBe(bob.address);
    // the venue's lock was countersigned by the daemon, then claimed with the invoice's secret
    await daemon.waitFor({ event: "agreed", channelId: bobChannel, proposer: "venue" });
    await daemon.waitFor({ event: "agreed", channelId: bobChannel, proposer: "me" });
  }, 180_000);

  it("runs bob's own commands inside the daemon (it holds his store), errors included", async () => {
    const from = daemon.events.length;
    const balances = await okJson<{ balances: { symbol: string; me: string; venue: string }[] }>(bob.privateKey, "balances", bobChannel);
    expect(balances.balances.map((b) => [b.symbol, b.me, b.venue])).toEqual([
      ["CLS", "0", "0"],
      ["cUSD", "7", "3"],
    ]);
    await daemon.waitFor({ event: "command", command: "balances", exit: 0 }, from);

    // a refusal comes back as the CLI's own failure, with its code and exit code
    const refused = await cli(bob.privateKey, "--json", "pay", bobChannel, "--asset", "cash", "--amount", "1000");
    expect(refused.code).toBe(1);
    expect((JSON.parse(refused.stdout) as { error: { code: string } }).error.code).toBe("INSUFFICIENT_BALANCE");
    const unknown = await cli(bob.privateKey, "balances", "0xdeadbeef");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("no channel starting with 0xdeadbeef");
    await daemon.waitFor({ event: "command", command: "balances", exit: 2 }, from);

    // a second daemon, or watch, for the same investor is refused
    const second = await cli(bob.privateKey, "--json", "daemon");
    expect(second.code).toBe(1);
    expect((JSON.parse(second.stdout) as { error: { code: string } }).error.code).toBe("DAEMON_RUNNING");
    const watch = await cli(bob.privateKey, "--json", "watch", "--once");
    expect((JSON.parse(watch.stdout) as { error: { code: string } }).error.code).toBe("DAEMON_RUNNING");
  }, 120_000);

  it("refuses malformed, foreign, oversized and surplus control requests, and keeps serving", async () => {
    const refusal = (frames: Record<string, unknown>[]) => (frames[0] as { refused?: { code: string } }).refused?.code;
    expect(refusal(await control(socketOf(), "not json\n"))).toBe("BAD_CONTROL_REQUEST");
    const request = { v: 1, address: bob.address, command: "balances", positional: [bobChannel], options: {}, json: true };
    expect(refusal(await control(socketOf(), `${JSON.stringify({ ...request, address: alice.address })}\n`))).toBe("BAD_CONTROL_REQUEST");
    expect(refusal(await control(socketOf(), `${JSON.stringify({ ...request, command: "daemon" })}\n`))).toBe("BAD_CONTROL_REQUEST");
    expect(refusal(await control(socketOf(), `${JSON.stringify({ ...request, positional: [] })}\n`))).toBe("BAD_CONTROL_REQUEST");
    expect(refusal(await control(socketOf(), "x".repeat(70_000)))).toBe("BAD_CONTROL_REQUEST");

    // 16 commands at once (the default): the 17th connection is refused
    const held = await Promise.all(
      Array.from({ length: 16 }, () => new Promise<ReturnType<typeof createConnection>>((resolve) => {
        const socket = createConnection(socketOf(), () => resolve(socket));
      })),
    );
    try {
      expect(refusal(await control(socketOf(), `${JSON.stringify(request)}\n`))).toBe("DAEMON_BUSY");
    } finally {
      for (const socket of held) socket.destroy();
    }
    await daemon.waitFor({ event: "refused", code: "DAEMON_BUSY" });

    // once the held connections are gone (the daemon sees them close a moment later), commands run again
    let frames = await control(socketOf(), `${JSON.stringify(request)}\n`);
    for (let tries = 0; refusal(frames) === "DAEMON_BUSY" && tries < 20; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      frames = await control(socketOf(), `${JSON.stringify(request)}\n`);
    }
    expect(frames.at(-1)).toEqual({ exit: 0 });
    expect(JSON.parse(frames.filter((f) => "out" in f).map((f) => f.out as string).join(""))).toMatchObject({ channelId: bobChannel });
  }, 60_000);

  it("reconnects with back-off when the node goes away, resyncs, and takes payments again", async () => {
    const from = daemon.events.length;
    await node!.stop();
    node = undefined;
    await daemon.waitFor({ event: "disconnected" }, from);
    await daemon.waitFor({ event: "reconnecting", attempt: 3 }, from);
    const delays = daemon.events.slice(from).filter((e) => e.event === "reconnecting").map((e) => e.delayMs as number);
    expect(delays.slice(0, 3).every((d, i) => d <= 100 * 2 ** i && d >= 75 * 2 ** i)).toBe(true);
    await startVenue(nodePort);
    await daemon.waitFor({ event: "connected" }, from);

    await okJson(alice.privateKey, "pay", aliceChannel, "--asset", "cash", "--amount", "1", "--to", "bob");
    const balances = await okJson<{ balances: { symbol: string; me: string }[] }>(bob.privateKey, "balances", bobChannel);
    expect(balances.balances.find((b) => b.symbol === "cUSD")?.me).toBe("8");
  }, 120_000);

  it("orders placed through two daemons rest, match, and their fill settles in both channels", async () => {
    await okJson(alice.privateKey, "deposit", aliceChannel, "--asset", "security", "--amount", "5");
    // the venue's legs: 1 CLS to bob in his channel; alice's channel holds 3 cUSD of the venue's (the routed payments)
    await node!.deposit(bobChannel, 0, SECURITY_UNIT);
    const aliceDaemon = new Daemon(alice.privateKey);
    try {
      await aliceDaemon.waitFor({ event: "connected" });
      const from = daemon.events.length;
      const buy = await cli(bob.privateKey, "order", "place", "--side", "buy", "--quantity", "1", "--price", "2");
      expect(buy.code, buy.stderr).toBe(0);
      // placed inside bob's daemon: it rests as long as the daemon stays connected
      expect(buy.stdout).toContain("resting 1 CLS on the book while the daemon stays connected");
      const sell = await okJson<{ fills: { state: string }[] }>(alice.privateKey, "order", "place", "--side", "sell", "--quantity", "1", "--price", "2");
      expect(sell.fills).toHaveLength(1);
      await daemon.waitFor({ event: "orderFilled" }, from);

      // both daemons countersign their lock pair (an order each of them placed); the venue then settles both legs
      let fills: { state: string; side: string }[] = [];
      for (let tries = 0; tries < 30 && fills[0]?.state !== "settled"; tries++) {
        if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 500));
        fills = (await okJson<{ fills: { state: string; side: string }[] }>(bob.privateKey, "fills")).fills;
      }
      expect(fills).toEqual([expect.objectContaining({ side: "buy", state: "settled" })]);
      const bobs = await okJson<{ balances: { symbol: string; me: string; venue: string }[] }>(bob.privateKey, "balances", bobChannel);
      expect(bobs.balances.map((b) => [b.symbol, b.me, b.venue])).toEqual([
        ["CLS", "1", "0"],
        ["cUSD", "6", "4"],
      ]);
      const alices = await okJson<{ balances: { symbol: string; me: string; venue: string }[] }>(alice.privateKey, "balances", aliceChannel);
      expect(alices.balances.map((b) => [b.symbol, b.me, b.venue])).toEqual([
        ["CLS", "4", "1"],
        ["cUSD", "99", "1"],
      ]);
      expect(await aliceDaemon.stop()).toBe(0);
    } finally {
      await aliceDaemon.stop("SIGKILL");
    }
  }, 180_000);

  it("a data dir too long for a unix socket: commands run as before, a daemon there is refused USAGE", async () => {
    const long = join(dir, "x".repeat(80));
    const channels = await cli(bob.privateKey, "--json", "--data-dir", long, "channels");
    expect(channels.code, channels.stdout).toBe(0);
    expect(JSON.parse(channels.stdout)).toEqual([]);
    const refused = await cli(bob.privateKey, "--json", "--data-dir", long, "daemon");
    expect(refused.code).toBe(2);
    expect((JSON.parse(refused.stdout) as { error: { code: string; message: string } }).error).toMatchObject({ code: "USAGE", message: expect.stringContaining("107 bytes") });
  }, 60_000);

  it("stops cleanly on SIGTERM: exit 0, socket removed, the store free for the next command", async () => {
    expect(await daemon.stop("SIGTERM")).toBe(0);
    expect(daemon.events.at(-1)).toMatchObject({ event: "stopped" });
    expect(existsSync(socketOf())).toBe(false);
    const balances = await okJson<{ nonce: string }>(bob.privateKey, "balances", bobChannel);
    expect(balances.nonce).toBe("7");
  }, 60_000);
});
