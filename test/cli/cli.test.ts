// The investor CLI end to end: each command is spawned as a child process (as a person would run it)
// against a real stack — Hardhat's node, the deployed system and the venue's node in this process,
// on free 127.0.0.1 ports — and the test stops exactly what it started.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contract, JsonRpcProvider } from "ethers";
import { startStack, devWallet, ROLES, type Stack } from "../../devstack/stack.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { erc20Abi } from "../../client/chain/abi.js";
import { openClient } from "../../client/sdk/index.js";
import type { Bytes32 } from "../../client/protocol/index.js";
import { ChildProcesses, collect, type ProcessRun } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = "client/cli/clearline.ts";

const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);
const carol = devWallet(ROLES.carol);
const venue = devWallet(ROLES.venue);

let stack: Stack;
let node: RunningNode | undefined;
let dir: string;
let deploymentFile: string;
const children = new ChildProcesses();

function spawnCli(key: string, args: readonly string[]): ChildProcess {
  return children.spawn(process.execPath, ["--import", "tsx", CLI, "--deployment", deploymentFile, "--data-dir", join(dir, "clients"), ...args], {
    cwd: REPO,
    env: { ...process.env, CLEARLINE_KEY: key },
  });
}

function cli(key: string, ...args: string[]): Promise<ProcessRun> {
  return collect(spawnCli(key, args));
}

/** Runs a command that must succeed; returns its stdout (parsed when --json). */
async function ok(key: string, ...args: string[]): Promise<string> {
  const run = await cli(key, ...args);
  if (run.code !== 0) throw new Error(`clearline ${args.join(" ")} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return run.stdout;
}

async function okJson<T = Record<string, unknown>>(key: string, ...args: string[]): Promise<T> {
  return JSON.parse(await ok(key, "--json", ...args)) as T;
}

async function walletBalance(token: string, holder: string): Promise<bigint> {
  return (await new Contract(token, erc20Abi() as never, stack.connection.ethers.provider).getFunction("balanceOf")(holder)) as bigint;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "clearline-cli-"));
  stack = await startStack({
    investors: [
      { index: ROLES.alice },
      { index: ROLES.bob },
      // carol never got KYC: the security token refuses transfers to her (0x57)
      { index: ROLES.carol, identity: { kyc: false }, securities: 0n },
    ],
  });
  node = await startNode(stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "silent" }));
  deploymentFile = join(dir, "deployment.json");
  writeFileSync(
    deploymentFile,
    JSON.stringify({
      rpcUrl: stack.chain.url,
      chainId: stack.chainId.toString(),
      contracts: stack.addresses,
      nodeUrl: node.url,
      accounts: { venue: venue.address, alice: alice.address, bob: bob.address, carol: carol.address },
    }),
  );
});

afterAll(async () => {
  children.killAll();
  await node?.stop();
  await stack?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("clearline (investor CLI)", () => {
  let aliceChannel: Bytes32;
  let bobChannel: Bytes32;

  it("opens a channel with a first deposit, showing the on-chain progress", async () => {
    const run = await cli(alice.privateKey, "--json", "open", "--asset", "cash", "--amount", "1000", "--challenge-period", "60");
    expect(run.code, run.stderr).toBe(0);
    const opened = JSON.parse(run.stdout) as { channelId: Bytes32; status: string; venue: string; balances: { symbol: string; me: string; venue: string }[] };
    aliceChannel = opened.channelId;
    expect(opened.status).toBe("open");
    expect(opened.venue).toBe(venue.address);
    expect(opened.balances.map((b) => [b.symbol, b.me, b.venue])).toEqual([
      ["CLS", "0", "0"],
      ["cUSD", "1000", "0"],
    ]);
    // progress goes to stderr, one JSON object per line in --json mode
    const progress = run.stderr.split("\n").filter((l) => l.startsWith("{\"progress\"")).map((l) => JSON.parse(l) as { progress: string; action: string; hash: string });
    expect(progress.filter((p) => p.action === "open").map((p) => p.progress)).toEqual(["submitted", "mined", "confirmed"]);
    expect(progress[0]!.hash).toMatch(/^0x[0-9a-f]{64}$/);
  });

  it("deposits and pays, with human progress on stderr", async () => {
    const deposit = await cli(alice.privateKey, "deposit", aliceChannel.slice(0, 12), "--asset", "security", "--amount", "10");
    expect(deposit.code, deposit.stderr).toBe(0);
    expect(deposit.stdout).toMatch(/^deposited 10 CLS into channel 0x[0-9a-f]{6}…[0-9a-f]{4} \(tx 0x[0-9a-f]{64}\)\n {2}your balance: 10 CLS\n$/);
    expect(deposit.stderr).toMatch(/deposit: submitted 0x[0-9a-f]{64}\n {2}deposit: mined in block \d+\n {2}deposit: confirmed \(1 confirmation\)/);

    const pay = await ok(alice.privateKey, "pay", aliceChannel, "--asset", "cUSD", "--amount", "12.5", "--memo", "order 17");
    expect(pay).toBe("paid 12.5 cUSD to the venue (state #1)\n  your balance: 987.5 cUSD\n");
  });

  it("shows balances for people and for machines", async () => {
    const [human, json] = await Promise.all([ok(alice.privateKey, "balances", aliceChannel), okJson(alice.privateKey, "balances", aliceChannel)]);
    expect(human).toBe(`channel ${aliceChannel} (open, state #1)\n  CLS   you 10  venue 0\n  cUSD  you 987.5  venue 12.5\n`);
    expect(json).toMatchObject({
      channelId: aliceChannel,
      status: "open",
      nonce: "1",
      balances: [
        { asset: stack.addresses.token, symbol: "CLS", decimals: 18, me: "10", meUnits: (10n * 10n ** 18n).toString(), venue: "0", venueUnits: "0" },
        { asset: stack.addresses.cash, symbol: "cUSD", decimals: 6, me: "987.5", meUnits: "987500000", venue: "12.5", venueUnits: "12500000" },
      ],
    });
  });

  it("refuses a routed payment to an investor without valid KYC, naming the ERC-1404 rule", async () => {
    const [human, json] = await Promise.all([
      cli(alice.privateKey, "pay", aliceChannel, "--asset", "security", "--amount", "1", "--to", "carol"),
      cli(alice.privateKey, "--json", "pay", aliceChannel, "--asset", "security", "--amount", "1", "--to", carol.address),
    ]);
    expect(human.code).toBe(1);
    expect(human.stdout).toBe("");
    expect(human.stderr).toBe("clearline: refused: receiver lacks valid KYC/AML (ERC-1404 0x57 RECEIVER_NOT_ELIGIBLE)\n");
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      error: {
        code: "REJECTED",
        source: "venue",
        reason: "NON_COMPLIANT",
        restriction: { code: 0x57, rule: "RECEIVER_NOT_ELIGIBLE", message: "Receiver lacks valid KYC/AML" },
        message: "refused: receiver lacks valid KYC/AML (ERC-1404 0x57 RECEIVER_NOT_ELIGIBLE)",
      },
    });
    // nothing changed
    expect(await okJson(alice.privateKey, "balances", aliceChannel)).toMatchObject({ nonce: "1" });
  });

  it("refuses bad input before touching anything (exit code 2, typed codes)", async () => {
    const [decimals, asset, channel, missing] = await Promise.all([
      cli(alice.privateKey, "pay", aliceChannel, "--asset", "cash", "--amount", "1.1234567"),
      cli(alice.privateKey, "--json", "pay", aliceChannel, "--asset", "GOLD", "--amount", "1"),
      cli(alice.privateKey, "--json", "balances", "0x" + "ab".repeat(32)),
      cli(alice.privateKey, "--json", "pay", aliceChannel, "--amount", "1"),
    ]);
    expect(decimals.code).toBe(2);
    expect(decimals.stderr).toBe("clearline: 1.1234567 has too many decimals: cUSD has at most 6 decimals\n");
    expect(asset.code).toBe(2);
    expect(JSON.parse(asset.stdout).error).toMatchObject({ code: "UNKNOWN_ASSET", source: "cli" });
    expect(channel.code).toBe(2);
    expect(JSON.parse(channel.stdout).error.code).toBe("UNKNOWN_CHANNEL");
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error).toMatchObject({ code: "USAGE", message: "required option '--asset <asset>' not specified" });
    const noKey = await cli("", "channels");
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("no investor key: set CLEARLINE_KEY");
  });

  it("trades delivery versus payment and shows the history, newest first", async () => {
    // the venue buys 0.1 CLS at its price of 100 cUSD per CLS
    const trade = await ok(alice.privateKey, "trade", aliceChannel, "--give", "security:0.1", "--get", "cash:10");
    expect(trade).toBe(`traded in channel ${aliceChannel.slice(0, 8)}…${aliceChannel.slice(-4)}: gave 0.1 CLS, got 10 cUSD (state #2)\n`);
    const [human, limited] = await Promise.all([ok(alice.privateKey, "history", aliceChannel), okJson<unknown[]>(alice.privateKey, "history", aliceChannel, "--limit", "1")]);
    const lines = human.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^#2 +\S+Z {2}trade {7}you → venue 0\.1 CLS; venue → you 10 cUSD$/);
    expect(lines[1]).toMatch(/^#1 +\S+Z {2}payment {5}you → venue 12\.5 cUSD {2}"order 17"$/);
    expect(limited).toHaveLength(1);
    expect(limited[0]).toMatchObject({
      nonce: "2",
      kind: "trade",
      movements: [
        { symbol: "CLS", amount: "0.1", amountUnits: (10n ** 17n).toString(), from: "you", to: "venue" },
        { symbol: "cUSD", amount: "10", amountUnits: "10000000", from: "venue", to: "you" },
      ],
    });
  });

  it("routes a payment to another investor through the venue", async () => {
    const opened = await okJson<{ channelId: Bytes32 }>(bob.privateKey, "open", "--asset", "security", "--amount", "5", "--challenge-period", "60");
    bobChannel = opened.channelId;
    // the venue holds no CLS of its own in bob's channel: bob pays it 3 first, so it can forward 2
    expect(await ok(bob.privateKey, "pay", bobChannel, "--asset", "CLS", "--amount", "3")).toContain("(state #1)");
    // bob is online (his SDK, same store) to countersign what the venue forwards to him
    const bobOnline = await openClient({ nodeUrl: node!.url, privateKey: bob.privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "clients"), reconnect: false });
    try {
      await bobOnline.client.connect();
      const routed = await ok(alice.privateKey, "pay", aliceChannel, "--asset", "security", "--amount", "2", "--to", "bob");
      expect(routed).toBe(`paid 2 CLS to ${bob.address} through the venue (state #4)\n  your balance: 7.9 CLS\n`);
    } finally {
      await bobOnline.close();
    }
    expect(await ok(bob.privateKey, "balances", bobChannel)).toBe(`channel ${bobChannel} (open, state #3)\n  CLS   you 4  venue 1\n  cUSD  you 0  venue 0\n`);
  });

  it("closes cooperatively and pays both out", async () => {
    const before = await walletBalance(stack.addresses.cash, alice.address);
    const close = await ok(alice.privateKey, "close", aliceChannel);
    expect(close).toMatch(new RegExp(`^closed channel ${aliceChannel} cooperatively \\(tx 0x[0-9a-f]{64}\\)\\n`));
    expect(close).toContain("paid out 7.9 CLS to you, 2.1 CLS to the venue");
    expect(close).toContain("paid out 997.5 cUSD to you, 2.5 cUSD to the venue");
    expect((await walletBalance(stack.addresses.cash, alice.address)) - before).toBe(997_500_000n);
    const channels = await okJson<{ channelId: string; status: string }[]>(alice.privateKey, "channels");
    expect(channels).toEqual([expect.objectContaining({ channelId: aliceChannel, status: "concluded", nonce: "5" })]);
  });

  it("watch challenges a stale state the venue registers, then settles after the deadline", async () => {
    // The venue turns malicious: it stops its node (and so its own watchtower) and registers an
    // older agreed state, one in which bob had not yet received alice's 2 CLS (locked at #2, claimed at #3).
    const record = (await node!.store.channel(bobChannel))!;
    const history = await node!.store.history(bobChannel);
    expect(history.map((h) => h.signed.state.nonce)).toEqual([1n, 2n, 3n]);
    await node!.stop();
    node = undefined;
    const provider = new JsonRpcProvider(stack.chain.url, undefined, { polling: true, pollingInterval: 100, cacheTimeout: -1 });
    try {
      const venueChain = await AdjudicatorClient.connect(venue.connect(provider), stack.addresses.adjudicator, { pollIntervalMs: 100 });
      await venueChain.forceClose(record.params, history[0]!.signed);
      expect((await venueChain.channel(bobChannel)).nonce).toBe(1n);
      const walletBefore = await walletBalance(stack.addresses.token, bob.address);

      const watch = spawnCli(bob.privateKey, ["watch", "--interval", "200"]);
      let stdout = "";
      let stderr = "";
      const waiters: { pattern: RegExp; resolve: () => void }[] = [];
      const check = () => {
        for (const w of [...waiters]) {
          if (!w.pattern.test(stdout)) continue;
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      };
      watch.stdout!.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
        check();
      });
      watch.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => watch.once("close", (code) => resolve(code)));
      const seen = (pattern: RegExp, ms = 20_000) =>
        Promise.race([
          new Promise<void>((resolve) => (waiters.push({ pattern, resolve }), check())),
          exited.then((code) => Promise.reject(new Error(`watch exited (${code}) before ${pattern}\n${stdout}\n${stderr}`))),
          new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`no ${pattern} within ${ms} ms\nstdout: ${stdout}\nstderr: ${stderr}`)), ms)),
        ]);

      await seen(/challenged with our latest state #3 \(tx 0x[0-9a-f]{64}\)/);
      expect(stdout).toMatch(/watching 1 channel of 0x[0-9a-fA-F]{40} on chain \d+/);
      expect(stdout).toMatch(/channel 0x[0-9a-f]{6}…[0-9a-f]{4}: stale state #1 registered on chain \(our latest is #3\): challenging; challenge period ends \S+Z/);
      expect(stderr).toMatch(/challenge: submitted 0x[0-9a-f]{64}/);
      expect((await venueChain.channel(bobChannel)).nonce).toBe(3n);

      // the challenge period passes
      await stack.connection.ethers.provider.send("evm_increaseTime", [120]);
      await stack.connection.ethers.provider.send("evm_mine", []);
      await seen(/settled after the challenge period \(tx 0x[0-9a-f]{64}\)/);
      await seen(/concluded on chain/);
      // bob is paid by the state he holds (5 deposited − 3 paid + 2 received), not the stale one (2)
      expect((await walletBalance(stack.addresses.token, bob.address)) - walletBefore).toBe(4n * 10n ** 18n);

      watch.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stdout.trimEnd().split("\n").at(-1)).toMatch(/Z stopped$/);

      // one check for a cron job, as JSON lines: nothing left to do
      const once = await cli(bob.privateKey, "--json", "watch", "--once");
      expect(once.code, once.stderr).toBe(0);
      const events = once.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as { event: string; channelId?: string; channels?: number });
      expect(events.map((e) => e.event)).toEqual(["watching", "concluded", "stopped"]);
      expect(events[0]).toMatchObject({ address: bob.address, channels: 1 });
      expect(events[1]!.channelId).toBe(bobChannel);
    } finally {
      provider.destroy();
    }
  });
});
