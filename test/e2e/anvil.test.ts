// The end-to-end core on a second, independent EVM: Foundry's anvil (not Hardhat's node), started
// here on a free 127.0.0.1 port and stopped by pid, mining a block every second as a real chain
// does, with the venue's node (a child process) waiting 2 confirmations. Client, node and tools
// agree when a deposit counts: the investor's client counts one only once the node reported it, the
// operator's deposit answers once the node counts it, and `--confirmations 2` applies to `approve`
// too. Then the demo story runs unchanged: open, pay, trade, withdraw, a routed payment onto the
// venue's own deposit, refusals, a cooperative close, a stale close challenged, settlement.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonRpcProvider, Wallet } from "ethers";
import { runDemoStory } from "../../devstack/demo-story.js";
import { startAnvil, type LocalChain } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, demoTrading, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import type { Bytes32 } from "../../client/protocol/index.js";
import { adminGet, adminPost, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { ChildProcesses, type ProcessRun } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const BLOCK_TIME = 1;
const CONFIRMATIONS = 2;
const SEC = 0;
const CASH = 1;

interface Progress {
  progress: "submitted" | "mined" | "confirmed";
  action: string;
  blockNumber?: number;
  confirmations?: number;
}

describe("the end-to-end core on anvil with a block time and 2 confirmations", () => {
  let chain: LocalChain | undefined;
  let stack: Stack | undefined;
  let node: NodeProcess | undefined;
  let dir: string;
  let deploymentFile: string;
  /** CLI runs still going (a test that timed out): killed by pid in afterAll. */
  const children = new ChildProcesses();
  /** Closed by each test; here only if a test failed before it could. */
  const clients: OpenedClient[] = [];
  let daveChannel: Bytes32;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-anvil-"));
    stack = await startStack({
      startChain: async () => (chain = await startAnvil({ blockTime: BLOCK_TIME })),
      investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.carol, identity: { kyc: false }, securities: 0n }, { index: ROLES.dave }],
    });
    node = await startNodeProcess(
      stack.nodeConfig({
        dataDir: join(dir, "node"),
        confirmations: CONFIRMATIONS,
        pollIntervalMs: 250,
        // The story trades through the venue's order book and settles the fill: the node settings of its own test.
        trading: demoTrading(stack),
      }),
      dir,
    );
    deploymentFile = join(dir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: stack.chain.url, chainId: stack.chainId.toString(), contracts: stack.addresses, nodeUrl: node.url }));
  }, 300_000);

  afterAll(async () => {
    children.killAll();
    for (const opened of clients) await opened.close().catch(() => undefined);
    await node?.stop();
    // The stack stops its chain; stopped by pid here too if the stack never started.
    if (stack !== undefined) await stack.stop();
    else await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The investor CLI as a child process, as a person runs it. */
  function cli(key: string, args: readonly string[]): Promise<ProcessRun> {
    return children.run(process.execPath, ["--import", "tsx", "client/cli/clearline.ts", "--deployment", deploymentFile, "--data-dir", join(dir, "clients"), ...args], {
      cwd: REPO,
      env: { ...process.env, CLEARLINE_KEY: key },
    });
  }


  it("runs on anvil, not Hardhat's node", async () => {
    const response = await fetch(stack!.chain.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "web3_clientVersion", params: [] }),
    });
    expect(((await response.json()) as { result: string }).result).toMatch(/^anvil\//);
    expect(stack!.chain.pid).toBe(chain!.pid);
  });

  it("waits --confirmations 2 for approve as for every other transaction (CLI)", async () => {
    const run = await cli(devWallet(ROLES.dave).privateKey, ["--json", "--confirmations", "2", "open", "--asset", "cash", "--amount", "100"]);
    expect(run.code, run.stderr).toBe(0);
    const progress = run.stderr
      .split("\n")
      .filter((line) => line.startsWith('{"progress"'))
      .map((line) => JSON.parse(line) as Progress);
    const of = (action: string, stage: Progress["progress"]) => progress.find((p) => p.action === action && p.progress === stage)!;
    expect(of("approve", "confirmed").confirmations).toBe(2);
    expect(of("open", "confirmed").confirmations).toBe(2);
    // `open` was sent only once a block was built on the approval: it cannot be in the next block.
    expect(of("open", "mined").blockNumber!).toBeGreaterThanOrEqual(of("approve", "mined").blockNumber! + 2);
    const opened = JSON.parse(run.stdout) as { channelId: Bytes32; status: string; balances: { symbol: string; me: string }[] };
    expect(opened.status).toBe("open");
    // The CLI answers once the node counts the deposit (2 confirmations): it shows it.
    expect(opened.balances.find((b) => b.symbol === "cUSD")?.me).toBe("100");
    daveChannel = opened.channelId;
  });

  it("counts the venue's deposit for the investor when the node counts it, not when it is mined", async () => {
    const dave = await openClient({ nodeUrl: node!.url, privateKey: devWallet(ROLES.dave).privateKey, rpcUrl: stack!.chain.url, adjudicator: stack!.addresses.adjudicator, dataDir: join(dir, "clients") });
    clients.push(dave);
    await dave.client.connect();
    // Receipts polled every 100 ms: the check below runs well inside the 2 blocks before the node counts the deposit.
    const provider = new JsonRpcProvider(stack!.chain.url, undefined, { cacheTimeout: -1, polling: true, pollingInterval: 100 });
    try {
      // The venue's own transaction, straight on chain: mined in one block, counted by the node two blocks later.
      const venue = new AdjudicatorClient(new Wallet(devWallet(ROLES.venue).privateKey, provider), dave.chain.deployment, { pollIntervalMs: 100 });
      const record = (await dave.store.channel(daveChannel))!;
      const mined = await venue.deposit(record.params, SEC, 5n * SECURITY_UNIT);
      expect((await dave.chain.holdings(daveChannel, SEC)).available0).toBe(5n * SECURITY_UNIT); // on chain at once
      // Right after it was mined (the node counts it 2 blocks later): the client is never ahead of the
      // node — whatever it counts, the node counted already (read after the client, so a node that
      // counted in between only widens the margin).
      const clientCounted = (await dave.client.balances(daveChannel))[SEC]!.venue;
      const nodeCounted = BigInt((await adminGet<{ channelId: string; balances: { venue: string }[] }[]>(node!, "/channels")).find((c) => c.channelId === daveChannel)!.balances[SEC]!.venue);
      expect(clientCounted).toBeLessThanOrEqual(nodeCounted);
      await eventually(
        () => dave.client.balances(daveChannel),
        (balances) => balances[SEC]!.venue === 5n * SECURITY_UNIT,
      );
      expect(await provider.getBlockNumber()).toBeGreaterThanOrEqual(mined.blockNumber + CONFIRMATIONS);
      // The venue may now spend it: a trade in which the venue delivers 1 CLS for 100 cUSD.
      await dave.client.trade(daveChannel, { give: { assetIndex: CASH, amount: 100n * CASH_UNIT }, get: { assetIndex: SEC, amount: 1n * SECURITY_UNIT } });
      const after = await dave.client.balances(daveChannel);
      expect([after[SEC]!.me, after[CASH]!.me]).toEqual([1n * SECURITY_UNIT, 0n]);
      await dave.client.close(daveChannel);
    } finally {
      provider.destroy();
      await dave.close();
    }
  });

  it("answers the operator's deposit once the node counts it", async () => {
    const alice = await openClient({ nodeUrl: node!.url, privateKey: devWallet(ROLES.alice).privateKey, rpcUrl: stack!.chain.url, adjudicator: stack!.addresses.adjudicator, dataDir: join(dir, "clients") });
    clients.push(alice);
    await alice.client.connect();
    try {
      const channel = await alice.client.openChannel({ assets: [stack!.addresses.token, stack!.addresses.cash], deposit: { assetIndex: CASH, amount: 10n * CASH_UNIT } });
      await adminPost(node!, `/channels/${channel}/deposit?asset=${SEC}&amount=${2n * SECURITY_UNIT}`);
      // Answered: the node counts it (its balances come from the deposits it counted).
      const listed = await adminGet<{ channelId: string; balances: { venue: string }[] }[]>(node!, "/channels");
      expect(listed.find((c) => c.channelId === channel)?.balances[SEC]?.venue).toBe((2n * SECURITY_UNIT).toString());
      await alice.client.close(channel);
    } finally {
      // The node keeps one session per investor: the story's Alice connects next.
      await alice.close();
    }
  });

  it("pays everyone what they are owed, refuses the non-KYC transfer and challenges the stale close (the demo story)", async () => {
    const lines: string[] = [];
    const outcome = await runDemoStory({
      stack: stack!,
      nodeUrl: node!.url,
      dataDir: join(dir, "demo"),
      venueDeposit: async (channelId, assetIndex, amount) => {
        await adminPost(node!, `/channels/${channelId}/deposit?asset=${assetIndex}&amount=${amount}`);
      },
      say: (line) => lines.push(line),
    });
    // The story checks every wallet's balance change itself; here, that it ran to the end.
    expect(outcome.refusal).toEqual({ code: 0x57, rule: "RECEIVER_NOT_ELIGIBLE", message: "Receiver lacks valid KYC/AML" });
    expect(outcome.challengedWith).toBeGreaterThan(0n);
    const channels = await eventually(
      () => adminGet<{ status: string }[]>(node!, "/channels"),
      (list) => list.every((c) => c.status === "concluded"),
    );
    expect(channels.length).toBeGreaterThanOrEqual(3);
  }, 300_000);
});
