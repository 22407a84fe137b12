// The investor's daemon killed and restarted while its order is out, with real processes: a Hardhat
// chain, the venue's node as a child process (no cancel on disconnect, so a resting order outlives
// its session), alice's and bob's `clearline daemon` as child processes, and their commands as
// `clearline` processes that run inside them. Bob's buy rests, his daemon is SIGKILLed (no clean
// stop: its socket file stays behind), alice's sell fills the buy while bob is away, and the fill
// waits; the restarted daemon recognises the order it never saw placed by its signature in the
// venue's log, countersigns its lock pair and the fill settles in both channels. Killed and
// restarted once more, it charges nothing again: balances, nonces and the fill stay as they were.
import type { ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { adminPost, eventually } from "../helpers/node-process.js";
import { startVenue, type Venue } from "../helpers/venue-fixture.js";
import { ChildProcesses, collect } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);
const SECURITY = 0;
const CASH = 1;

let venue: Venue;
let dir: string;
let deploymentFile: string;
const children = new ChildProcesses();

function spawnCli(key: string, args: readonly string[]): ChildProcess {
  return children.spawn(process.execPath, ["--import", "tsx", "client/cli/clearline.ts", "--deployment", deploymentFile, "--data-dir", join(dir, "c"), ...args], {
    cwd: REPO,
    env: { ...process.env, CLEARLINE_KEY: key },
  });
}

async function okJson<T>(key: string, ...args: string[]): Promise<T> {
  const run = await collect(spawnCli(key, ["--json", ...args]));
  if (run.code !== 0) throw new Error(`clearline ${args.join(" ")} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** An investor's daemon: its JSON events as they come, and its exit. */
class Daemon {
  readonly events: Record<string, unknown>[] = [];
  private stderr = "";
  private readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(key: string) {
    this.child = spawnCli(key, ["--json", "daemon", "--interval", "500", "--backoff-min", "100", "--backoff-max", "800"]);
    let buffered = "";
    this.child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      for (let end = buffered.indexOf("\n"); end >= 0; end = buffered.indexOf("\n")) {
        this.events.push(JSON.parse(buffered.slice(0, end)) as Record<string, unknown>);
        buffered = buffered.slice(end + 1);
      }
    });
    this.child.stderr!.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.child.once("exit", (code, signal) => resolve({ code, signal })));
  }

  async waitFor(fields: Record<string, unknown>, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const matches = (e: Record<string, unknown>) => Object.entries(fields).every(([k, v]) => e[k] === v);
    return eventually(
      async () => {
        if (this.child.exitCode !== null) throw new Error(`the daemon exited (${this.child.exitCode}): ${this.stderr}`);
        return this.events.find(matches);
      },
      (found) => found !== undefined,
      timeoutMs,
    ) as Promise<Record<string, unknown>>;
  }

  /** Sends `signal` to exactly this process (by its pid) and waits for its exit. */
  stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) process.kill(this.child.pid!, signal);
    return this.exited;
  }
}

interface Balances {
  readonly nonce: string;
  readonly balances: readonly { readonly symbol: string; readonly me: string; readonly venue: string }[];
}
interface Fill {
  readonly sequence: string;
  readonly side: string;
  readonly role: string;
  readonly state: string;
}

const balancesOf = async (key: string, channel: string): Promise<[string, string, string][] & { nonce?: string }> => {
  const result = await okJson<Balances>(key, "balances", channel);
  return Object.assign(result.balances.map((b): [string, string, string] => [b.symbol, b.me, b.venue]), { nonce: result.nonce });
};
const fillsOf = async (key: string): Promise<Fill[]> => (await okJson<{ fills: Fill[] }>(key, "fills")).fills;

beforeAll(async () => {
  venue = await startVenue({
    node: {
      trading: {
        maxOrdersPerBook: 100,
        // Bob's resting buy stays on the book while his daemon is down.
        cancelOnDisconnect: false,
        // Long enough to wait for a restarted daemon.
        settlement: { lockSeconds: 3_600, timeoutMs: 180_000, intervalMs: 200 },
      },
    },
  });
  dir = venue.dir;
  deploymentFile = join(dir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: venue.stack.chain.url, chainId: venue.stack.chainId.toString(), contracts: venue.stack.addresses, nodeUrl: venue.node.url }));
}, 240_000);

afterAll(async () => {
  children.killAll();
  await venue?.stop();
});

describe("clearline daemon, SIGKILLed and restarted while its order is out (real processes)", () => {
  it("the restarted daemon settles the fill of the order placed before the kill, and a second restart charges nothing again", async () => {
    // Channels of both assets: each investor's own leg, and the venue's leg to it (an operator's deposit).
    const aliceChannel = (await okJson<{ channelId: string }>(alice.privateKey, "open", "--asset", "security", "--amount", "10")).channelId;
    const bobChannel = (await okJson<{ channelId: string }>(bob.privateKey, "open", "--asset", "cash", "--amount", "1000")).channelId;
    await adminPost(venue.node, `/channels/${aliceChannel}/deposit?asset=${CASH}&amount=${1_000n * CASH_UNIT}`);
    await adminPost(venue.node, `/channels/${bobChannel}/deposit?asset=${SECURITY}&amount=${10n * SECURITY_UNIT}`);

    const aliceDaemon = new Daemon(alice.privateKey);
    let bobDaemon = new Daemon(bob.privateKey);
    await aliceDaemon.waitFor({ event: "connected" });
    await bobDaemon.waitFor({ event: "connected" });
    await eventually(() => balancesOf(bob.privateKey, bobChannel), (b) => b[0]?.[2] === "10", 20_000);

    // Bob's buy, placed inside his daemon, rests.
    const buy = await okJson<{ orderHash: string; fills: unknown[]; resting: { resting: string } }>(bob.privateKey, "order", "place", "--side", "buy", "--quantity", "3", "--price", "101");
    expect(buy.fills).toEqual([]);
    expect(buy.resting.resting).toBe("3");

    // SIGKILL: no clean stop, the control socket is left behind.
    expect(await bobDaemon.stop("SIGKILL")).toEqual({ code: null, signal: "SIGKILL" });
    expect(existsSync(join(dir, "c", bob.address.toLowerCase(), "daemon.sock"))).toBe(true);

    // Alice's sell fills bob's buy at his price while he is away; the fill waits for his pair.
    const sell = await okJson<{ fills: { sequence: string; state: string }[] }>(alice.privateKey, "order", "place", "--side", "sell", "--quantity", "3", "--price", "100", "--ioc");
    expect(sell.fills).toEqual([expect.objectContaining({ state: "matched" })]);
    const fillSequence = sell.fills[0]!.sequence;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect((await fillsOf(alice.privateKey)).map((f) => [f.sequence, f.state])).toEqual([[fillSequence, "matched"]]);

    // The restarted daemon takes over the stale socket, resyncs, and countersigns bob's pair of the order it never saw placed.
    bobDaemon = new Daemon(bob.privateKey);
    await bobDaemon.waitFor({ event: "connected" });
    await eventually(() => fillsOf(bob.privateKey), (fills) => fills.length === 1 && fills[0]!.state === "settled", 60_000);
    await eventually(() => fillsOf(alice.privateKey), (fills) => fills.length === 1 && fills[0]!.state === "settled", 30_000);
    expect(await fillsOf(bob.privateKey)).toEqual([expect.objectContaining({ sequence: fillSequence, side: "buy", role: "maker", state: "settled" })]);

    // Bob bought 3 at 101: 303 cUSD to the venue, 3 CLS from it; alice the mirror image. Each leg once.
    const settledBob = await balancesOf(bob.privateKey, bobChannel);
    const settledAlice = await balancesOf(alice.privateKey, aliceChannel);
    expect([...settledBob]).toEqual([
      ["CLS", "3", "7"],
      ["cUSD", "697", "303"],
    ]);
    expect([...settledAlice]).toEqual([
      ["CLS", "7", "3"],
      ["cUSD", "303", "697"],
    ]);
    expect(await (await fetch(`${venue.node.httpUrl}/metrics`)).text()).toMatch(/clearline_fill_settlements_total\{outcome="settled"\} 1\n/);

    // Killed and restarted once more: the resync offers nothing new, and nothing moves again.
    expect((await bobDaemon.stop("SIGKILL")).signal).toBe("SIGKILL");
    bobDaemon = new Daemon(bob.privateKey);
    await bobDaemon.waitFor({ event: "connected" });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const againBob = await balancesOf(bob.privateKey, bobChannel);
    expect([...againBob]).toEqual([...settledBob]);
    expect(againBob.nonce).toBe(settledBob.nonce);
    expect((await balancesOf(alice.privateKey, aliceChannel)).nonce).toBe(settledAlice.nonce);
    expect((await fillsOf(bob.privateKey)).map((f) => [f.sequence, f.state])).toEqual([[fillSequence, "settled"]]);
    expect(bobDaemon.events.filter((e) => e.event === "agreed")).toEqual([]);

    expect((await bobDaemon.stop("SIGTERM")).code).toBe(0);
    expect((await aliceDaemon.stop("SIGTERM")).code).toBe(0);
  }, 300_000);
});
