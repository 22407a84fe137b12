// A stale close registered on chain during a failover is still challenged: a leader and a standby
// on one PostgreSQL schema (real processes, a real PostgreSQL server, a local chain); the investor
// holds older agreed states; the leader is SIGKILLed and, while no node holds the lease, the
// investor force-closes with an older state. The standby takes over, resumes its chain watcher
// from the stored block, challenges with the latest state before the deadline, and settlement pays
// what the latest state says.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Contract, JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { erc20Abi, interfaceOf } from "../../client/chain/abi.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { freePort } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the failover dispute test (a stale close during a takeover on PostgreSQL)");

const CASH = 1;
/** Long enough that the close is surely registered before the standby can take the lease, even on a loaded machine. */
const LEASE = { ttlMs: 10_000, renewMs: 1_000, retryMs: 200 };
/** An hour: no load can make the node miss it; the test advances chain time instead of waiting. */
const CHALLENGE_PERIOD = 3_600n;

describe.skipIf(POSTGRES_MISSING !== null)(`a stale close during a failover${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  let stack: Stack;
  let dir: string;
  let provider: JsonRpcProvider;
  const nodes: NodeProcess[] = [];
  const clients: OpenedClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-failover-dispute-"));
    server = await startPostgres();
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.splice(0)) await node.stop();
    provider?.destroy();
    await stack?.stop();
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startNode(config: NodeConfig, untilHealthy: boolean): Promise<NodeProcess> {
    const node = await startNodeProcess(config, dir, { untilHealthy });
    nodes.push(node);
    return node;
  }

  async function cashOf(address: string): Promise<bigint> {
    return (await new Contract(stack.addresses.cash, erc20Abi() as never, provider).getFunction("balanceOf")(address)) as bigint;
  }

  async function passTime(seconds: bigint): Promise<void> {
    await provider.send("evm_increaseTime", [Number(seconds)]);
    await provider.send("evm_mine", []);
  }

  /** Who sent the transaction that registered `nonce` for `channelId` (StateRegistered). */
  async function registeredBy(channelId: string, nonce: bigint): Promise<string> {
    const adjudicator = interfaceOf("Adjudicator");
    const event = adjudicator.getEvent("StateRegistered")!;
    const logs = await provider.getLogs({ address: stack.addresses.adjudicator, topics: [event.topicHash, channelId], fromBlock: 0 });
    const log = logs.find((entry) => (adjudicator.parseLog(entry)!.args.getValue("nonce") as bigint) === nonce);
    if (log === undefined) throw new Error(`no StateRegistered for nonce ${nonce}`);
    return (await provider.getTransaction(log.transactionHash))!.from;
  }

  it("the leader SIGKILLed, a stale state force-closed before the standby takes over: the standby challenges with the latest state in time and settlement pays it", async () => {
    const schema = freshSchema("failoverdispute");
    const ports = { leader: await freePort(), standby: await freePort() };
    const configOf = (name: keyof typeof ports): NodeConfig =>
      stack.nodeConfig({ dataDir: join(dir, name), port: ports[name], logLevel: "info", store: { url: server.url, schema, poolSize: 2, statementTimeoutMs: 5_000, lease: LEASE } });
    const leader = await startNode(configOf("leader"), true);
    const standby = await startNode(configOf("standby"), false);
    await eventually(async () => standby.output(), (output) => output.includes("standby: waiting for the leader lease"), 30_000);

    const investor = await openClient({
      nodeUrl: leader.url,
      fallbackUrls: [standby.url],
      privateKey: devWallet(ROLES.alice).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, "client"),
      responseTimeoutMs: 5_000,
    });
    clients.push(investor);
    await investor.client.connect();
    const channelId = await investor.client.openChannel({
      assets: [stack.addresses.token, stack.addresses.cash],
      challengePeriod: CHALLENGE_PERIOD,
      deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT },
    });

    // Several payments: the investor holds older agreed states, the oldest of which pays the venue least.
    await investor.client.pay(channelId, { assetIndex: CASH, amount: 100n * CASH_UNIT });
    const stale = (await investor.client.history(channelId, 1))[0]!.signed;
    await investor.client.pay(channelId, { assetIndex: CASH, amount: 150n * CASH_UNIT });
    const latest = await investor.client.pay(channelId, { assetIndex: CASH, amount: 50n * CASH_UNIT });
    expect(latest.state.nonce).toBe(stale.state.nonce + 2n);

    // The leader crashes; while its lease runs out, the investor registers the stale state.
    await leader.kill();
    const record = (await investor.store.channel(channelId))!;
    await investor.chain.forceClose(record.params, stale);
    const registered = await investor.chain.channel(channelId);
    expect(registered).toMatchObject({ phase: "Disputed", nonce: stale.state.nonce });
    // Nobody serves yet: the close landed before the takeover, so only the resumed watcher can see it.
    const waiting = await fetch(`${standby.httpUrl}/health`);
    expect(waiting.status).toBe(503);
    expect(await waiting.json()).toMatchObject({ role: "standby" });
    await passTime(CHALLENGE_PERIOD / 2n);

    // The standby takes over and challenges with the latest state before the deadline.
    await standby.healthy(60_000);
    const challenged = await eventually(() => investor.chain.channel(channelId), (c) => c.nonce === latest.state.nonce, 60_000);
    expect(challenged.phase).toBe("Disputed");
    expect(await registeredBy(channelId, latest.state.nonce)).toBe(devWallet(ROLES.venue).address);
    expect(challenged.deadline).toBeGreaterThan(await investor.chain.chainTime());

    // After the deadline the node settles: the chain pays what the latest state says (300 to the venue).
    const venueBefore = await cashOf(devWallet(ROLES.venue).address);
    const aliceBefore = await cashOf(devWallet(ROLES.alice).address);
    await passTime(challenged.deadline - (await investor.chain.chainTime()) + 1n);
    await eventually(() => investor.chain.channel(channelId), (c) => c.phase === "Concluded", 60_000);
    expect((await cashOf(devWallet(ROLES.venue).address)) - venueBefore).toBe(300n * CASH_UNIT);
    expect((await cashOf(devWallet(ROLES.alice).address)) - aliceBefore).toBe(700n * CASH_UNIT);
    const views = await eventually(() => adminGet<{ channelId: string; status: string; nonce: string }[]>(standby, "/channels"), (list) => list.find((v) => v.channelId === channelId)?.status === "concluded", 30_000);
    expect(views.find((v) => v.channelId === channelId)!.nonce).toBe(latest.state.nonce.toString());
  }, 240_000);
});
