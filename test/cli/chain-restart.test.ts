// The investor's store after the embedded chain is restarted: two real Hardhat node processes one
// after the other (same chain id, same deterministic contract addresses, another genesis block),
// the venue's node on each, and the `clearline` CLI spawned as a person runs it.
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { Level } from "level";
import { hexlify, JsonRpcProvider, Wallet } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { channelIdOf } from "../../client/protocol/encoding.js";
import { nobleVerifier, createSigner, type Address, type Bytes32 } from "../../client/protocol/index.js";
import { ClearlineClient, chainBindingOf } from "../../client/sdk/index.js";
import { LevelStore } from "../../client/store/level-store.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { ChildProcesses, type ProcessRun } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const alice = devWallet(ROLES.alice);

let dir: string;
let deploymentFile: string;
let stack: Stack | undefined;
let node: RunningNode | undefined;

/** The investor CLI's processes, killed by pid in afterAll if a test ends while one runs. */
const children = new ChildProcesses();

function cli(dataDir: string, ...args: string[]): Promise<ProcessRun> {
  return children.run(process.execPath, ["--import", "tsx", "client/cli/clearline.ts", "--deployment", deploymentFile, "--data-dir", dataDir, ...args], {
    cwd: REPO,
    env: { ...process.env, CLEARLINE_KEY: alice.privateKey },
  });
}

async function okJson<T>(dataDir: string, ...args: string[]): Promise<T> {
  const run = await cli(dataDir, "--json", ...args);
  if (run.code !== 0) throw new Error(`clearline ${args.join(" ")} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** Starts a chain with the system deployed and the venue's node, and writes the deployment file as `npm start` does. */
async function startChain(): Promise<Stack> {
  stack = await startStack({ investors: [{ index: ROLES.alice }] });
  node = await startNode(stack.nodeConfig({ dataDir: join(dir, `node-${stack.chain.port}`), logLevel: "silent" }));
  writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: stack.chain.url, chainId: stack.chainId.toString(), contracts: stack.addresses, nodeUrl: node.url }));
  return stack;
}

async function stopChain(): Promise<void> {
  await node?.stop();
  await stack?.stop();
  node = undefined;
  stack = undefined;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clearline-restart-"));
  deploymentFile = join(dir, "deployment.json");
});

afterAll(async () => {
  children.killAll();
  await stopChain();
  rmSync(dir, { recursive: true, force: true });
});

describe("the investor's store after the chain was restarted", () => {
  const clients = (): string => join(dir, "clients");
  const storeDir = (): string => join(clients(), alice.address.toLowerCase());
  let channelId: Bytes32;
  let first: Stack;
  let second: Stack;

  it("is refused with WRONG_CHAIN that says what to do, and shows no negative balance", async () => {
    first = await startChain();
    channelId = (await okJson<{ channelId: Bytes32 }>(clients(), "open", "--asset", "cash", "--amount", "100", "--challenge-period", "60")).channelId;
    await okJson(clients(), "pay", channelId, "--asset", "cash", "--amount", "10");
    await stopChain();

    second = await startChain();
    // The scenario of the issue: nothing but the genesis block tells the two chains apart.
    expect(second.chainId).toBe(first.chainId);
    expect(second.addresses.adjudicator).toBe(first.addresses.adjudicator);

    // The venue's node refuses its own store of the first chain just the same, and leaves nothing open.
    const firstNodeStore = join(dir, `node-${first.chain.port}`);
    await expect(startNode(second.nodeConfig({ dataDir: firstNodeStore, logLevel: "silent" }))).rejects.toMatchObject({ code: "WRONG_CHAIN" });

    for (const command of [["channels"], ["balances", channelId]]) {
      const [human, json] = await Promise.all([cli(clients(), ...command), cli(clients(), "--json", ...command)]);
      expect(human.code).toBe(1);
      expect(human.stdout).toBe("");
      expect(human.stderr).toMatch(/^clearline: the store .* belongs to chain 31337 .* the chain was restarted or replaced .*--data-dir .*--archive-old-store/s);
      const error = (JSON.parse(json.stdout) as { error: { code: string; source: string; message: string } }).error;
      expect(error).toMatchObject({ code: "WRONG_CHAIN", source: "cli" });
      expect(error.message).toContain(storeDir());
    }
    // Nothing changed: the old store still holds its channel, bound to the first chain.
    const old = await LevelStore.open(storeDir());
    try {
      expect((await old.channels()).map((r) => r.channelId)).toEqual([channelId]);
      expect(old.chain?.genesisHash).not.toBe((await chainBindingOf(await aliceChain(second))).genesisHash);
    } finally {
      await old.close();
    }
  });

  it("a store written before stores were bound is refused too when the chain does not know its channels", async () => {
    const legacy = join(dir, "legacy");
    cpSync(clients(), legacy, { recursive: true });
    const db = new Level<string, string>(join(legacy, alice.address.toLowerCase()));
    await db.del("meta/chain");
    await db.close();
    const run = await cli(legacy, "--json", "channels");
    expect(run.code).toBe(1);
    const error = (JSON.parse(run.stdout) as { error: { code: string; message: string } }).error;
    expect(error.code).toBe("WRONG_CHAIN");
    expect(error.message).toContain("channels the chain does not know");
  });

  it("balances the chain does not back are never negative: the SDK reports the shortfall", async () => {
    // The old channel's record and agreed state, in an unbound store, against the new chain.
    const old = await LevelStore.open(storeDir());
    const record = (await old.channel(channelId))!;
    const [entry] = await old.history(channelId, { newestFirst: true, limit: 1 });
    await old.close();
    const store = new MemoryStore();
    await store.channelCreated(record);
    await store.stateAgreed(channelId, entry!.signed, entry!.update);
    const chain = await aliceChain(second);
    const client = new ClearlineClient({
      nodeUrl: "ws://127.0.0.1:0/unused",
      signer: await createSigner(alice.privateKey, "noble"),
      verifier: nobleVerifier,
      store,
      deployment: chain.deployment,
      chain,
      reconnect: false,
    });
    const balances = await client.balances(channelId);
    for (const b of balances) {
      expect(b.me >= 0n && b.venue >= 0n).toBe(true);
    }
    const cash = balances.find((b) => b.asset === second.addresses.cash)!;
    expect(cash).toEqual({ asset: second.addresses.cash, me: 0n, venue: 0n, shortfall: 10_000_000n });
    (chain.provider as JsonRpcProvider).destroy();
  });

  it("--archive-old-store moves the old store aside and starts an empty one bound to the new chain", async () => {
    const run = await cli(clients(), "--json", "--archive-old-store", "channels");
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([]);
    const note = run.stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { note?: string; archived?: string }).find((n) => n.archived !== undefined);
    expect(note?.archived).toMatch(/\.chain-31337-[0-9a-f]{10}$/);
    expect(existsSync(note!.archived!)).toBe(true);
    const archived = await LevelStore.open(note!.archived!);
    expect((await archived.channels()).map((r) => r.channelId)).toEqual([channelId]);
    await archived.close();
    expect(await okJson(clients(), "channels")).toEqual([]);
  });

  it("channels --prune removes an open that never reached the chain; the list on stdout keeps its shape", async () => {
    const opened = await okJson<{ channelId: Bytes32 }>(clients(), "open", "--asset", "cash", "--amount", "5");
    // A crash right after the channel was recorded, before its open was sent.
    const chain = await aliceChain(second);
    const store = await LevelStore.open(storeDir(), { chain: await chainBindingOf(chain) });
    const params = { participants: [node!.venue, alice.address as Address] as const, assets: [second.addresses.cash as Address], challengePeriod: 3_600n, salt: hexlify(randomBytes(32)) };
    const ghost = channelIdOf(params, chain.deployment.chainId, chain.deployment.adjudicator);
    await store.channelCreated({ channelId: ghost, params, deployment: chain.deployment, me: 1, createdAt: Date.now() });
    await store.close();
    (chain.provider as JsonRpcProvider).destroy();

    const human = await cli(clients(), "channels");
    expect(human.stdout).toContain(`${ghost}  not on chain yet (if its open failed: clearline channels --prune)`);
    const listed = await okJson<{ channelId: string; status: string }[]>(clients(), "channels");
    expect(listed.map((c) => [c.channelId, c.status]).sort()).toEqual([[opened.channelId, "open"], [ghost, "proposed"]].sort());
    const run = await cli(clients(), "--json", "channels", "--prune");
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as { channelId: string }[]).map((c) => c.channelId)).toEqual([opened.channelId]);
    expect(run.stderr).toContain(`"pruned":"${ghost}"`);
  });
});

async function aliceChain(on: Stack): Promise<AdjudicatorClient> {
  const provider = new JsonRpcProvider(on.chain.url, undefined, { cacheTimeout: -1 });
  return AdjudicatorClient.connect(new Wallet(alice.privateKey, provider), on.addresses.adjudicator as Address);
}
