// Active and standby nodes on one PostgreSQL, with real processes: a local chain, a real PostgreSQL
// server, node processes started by the node's CLI with `store.lease`, an investor paying through
// the SDK with the standbys as fallback URLs. The leader is SIGKILLed under a stream of payments
// (the standby takes over, nothing agreed is lost on either side); a leader SIGSTOPped past its
// lease is replaced, and once SIGCONTed it commits nothing, countersigns nothing and exits.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { isClientError, type ClientError } from "../../client/sdk/errors.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import type { Bytes32 } from "../../client/protocol/index.js";
import { freePort } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the failover tests (active and standby nodes on PostgreSQL)");

const CASH = 1;
/** Short enough for a test, with room for a loaded machine; the takeover bound below follows from it. */
const LEASE = { ttlMs: 3_000, renewMs: 500, retryMs: 200 };
/** ttl + retry + loading the channels and starting the watchers, on a busy 2-core machine. */
const TAKEOVER_BOUND_MS = 10_000;

describe.skipIf(POSTGRES_MISSING !== null)(`active and standby nodes${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  let stack: Stack;
  let dir: string;
  let db: pg.Client;
  const nodes: NodeProcess[] = [];
  const clients: OpenedClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-failover-"));
    server = await startPostgres();
    db = await connectDb();
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.splice(0)) {
      node.signal("SIGCONT");
      await node.stop();
    }
    await stack?.stop();
    await db?.end();
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The test's own connection, to read what the nodes committed; it dies quietly with the server. */
  async function connectDb(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: server.url });
    client.on("error", () => undefined);
    await client.connect();
    return client;
  }

  async function startNode(config: NodeConfig, untilHealthy: boolean): Promise<NodeProcess> {
    const node = await startNodeProcess(config, dir, { untilHealthy });
    nodes.push(node);
    return node;
  }

  /** Every agreed state in the database, by nonce: its venue and investor signatures. */
  async function storedSignatures(schema: string, channelId: Bytes32): Promise<Map<bigint, readonly [string | null, string | null]>> {
    const { rows } = await db.query<{ nonce: string; entry: string }>(`SELECT nonce::text AS nonce, entry FROM ${schema}.history WHERE channel_id = $1`, [channelId]);
    return new Map(rows.map((row) => [BigInt(row.nonce), (JSON.parse(row.entry) as { signed: { signatures: [string | null, string | null] } }).signed.signatures]));
  }

  /** The investor's agreed states match the database's, signature for signature: one venue signature per nonce across every node. */
  async function expectSameHistory(investor: OpenedClient, schema: string, channelId: Bytes32): Promise<bigint> {
    const stored = await storedSignatures(schema, channelId);
    const history = await investor.store.history(channelId);
    expect(history.length).toBeGreaterThan(0);
    for (const entry of history) {
      expect(stored.get(entry.signed.state.nonce), `nonce ${entry.signed.state.nonce}`).toEqual(entry.signed.signatures);
    }
    const latest = (await investor.store.channel(channelId))!.latest!.state.nonce;
    expect([...stored.keys()].reduce((a, b) => (a > b ? a : b))).toBe(latest);
    return latest;
  }

  /** Pays 1 unit at a time until refused; the nonces the SDK saw agreed, and the refusal. */
  function payments(investor: OpenedClient, channelId: Bytes32) {
    const agreed: bigint[] = [];
    const stream = { agreed, refusal: undefined as unknown, done: Promise.resolve() };
    stream.done = (async () => {
      for (;;) {
        try {
          agreed.push((await investor.client.pay(channelId, { assetIndex: CASH, amount: 1n })).state.nonce);
        } catch (error) {
          stream.refusal = error;
          return;
        }
      }
    })();
    return stream;
  }

  async function investorOn(urls: readonly string[], name: string): Promise<OpenedClient> {
    const investor = await openClient({
      nodeUrl: urls[0]!,
      fallbackUrls: urls.slice(1),
      privateKey: devWallet(ROLES.alice).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, name),
      responseTimeoutMs: 3_000,
    });
    clients.push(investor);
    await investor.client.connect();
    return investor;
  }

  it("the leader SIGKILLed under a stream of payments: the standby takes over in time, nothing agreed is lost on either side; SIGSTOPped past its lease, the old leader signs nothing and steps down", async () => {
    const schema = freshSchema("failover");
    // Three nodes on fixed ports: the investor knows every URL of the venue from the start.
    const ports = { first: await freePort(), second: await freePort(), third: await freePort() };
    const configOf = (name: keyof typeof ports): NodeConfig =>
      stack.nodeConfig({ dataDir: join(dir, name), port: ports[name], logLevel: "info", store: { url: server.url, schema, poolSize: 2, statementTimeoutMs: 5_000, lease: LEASE } });
    const first = await startNode(configOf("first"), true);
    const second = await startNode(configOf("second"), false);
    // The standby waits for the lease and does not serve investors: its /health says 503 (standby-health.test.ts).
    await eventually(async () => second.output(), (output) => output.includes("standby: waiting for the leader lease"), 30_000);
    expect((await fetch(`${second.httpUrl}/health`)).status).toBe(503);

    const investor = await investorOn([first.url, second.url, `ws://127.0.0.1:${ports.third}`], "client");
    const channelId = await investor.client.openChannel({
      assets: [stack.addresses.token, stack.addresses.cash],
      challengePeriod: 3_600n,
      deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT },
    });

    // SIGKILL under a stream of payments.
    const stream = payments(investor, channelId);
    await eventually(async () => stream.agreed.length, (n) => n >= 20, 30_000);
    const killedAt = Date.now();
    await first.kill();
    await stream.done;
    await second.healthy(TAKEOVER_BOUND_MS + 5_000);
    expect(Date.now() - killedAt).toBeLessThan(TAKEOVER_BOUND_MS);

    // The SDK fails over to the standby and resyncs; both sides hold the same agreed states.
    await eventually(async () => investor.client.connected, (connected) => connected, 30_000);
    await eventually(() => investor.store.channel(channelId), (record) => record?.pending === null, 15_000);
    const afterKill = await expectSameHistory(investor, schema, channelId);
    expect(afterKill).toBeGreaterThanOrEqual(stream.agreed.at(-1)!);
    const next = await investor.client.pay(channelId, { assetIndex: CASH, amount: 5n });
    expect(next.state.nonce).toBe(afterKill + 1n);

    // SIGSTOP past the lease: a third node takes over while the second is paused.
    const third = await startNode(configOf("third"), false);
    await eventually(async () => third.output(), (output) => output.includes("standby: waiting for the leader lease"), 30_000);
    second.signal("SIGSTOP");
    const pausedAt = Date.now();
    // A payment sent to the paused leader waits in its socket; the SDK gives up on it.
    await expect(investor.client.pay(channelId, { assetIndex: CASH, amount: 7n })).rejects.toThrow();
    await third.healthy(TAKEOVER_BOUND_MS + 5_000);
    expect(Date.now() - pausedAt).toBeLessThan(TAKEOVER_BOUND_MS);
    const beforeResume = await storedSignatures(schema, channelId);

    // Resumed, the old leader reads the waiting payment and finds its lease gone: it commits
    // nothing (so it countersigns nothing) and exits.
    second.signal("SIGCONT");
    expect(await second.exited()).toBe(1);
    expect(second.output()).toContain("lost the leader lease: stepping down");
    expect(await storedSignatures(schema, channelId)).toEqual(beforeResume);

    // The SDK moves on to the new leader and resyncs; still one agreed state per nonce on both sides.
    await eventually(async () => investor.client.connected, (connected) => connected, 30_000);
    await eventually(() => investor.store.channel(channelId), (record) => record?.pending === null, 15_000);
    const afterPause = await expectSameHistory(investor, schema, channelId);
    const last = await investor.client.pay(channelId, { assetIndex: CASH, amount: 9n });
    expect(last.state.nonce).toBe(afterPause + 1n);
    await expectSameHistory(investor, schema, channelId);
  }, 240_000);

  it("PostgreSQL restarted mid-stream: the update in flight is refused with a typed error, nothing is countersigned without a commit, the leader steps down and the standby serves once the database is back", async () => {
    const schema = freshSchema("dbrestart");
    const ports = { leader: await freePort(), standby: await freePort() };
    const configOf = (name: keyof typeof ports): NodeConfig =>
      stack.nodeConfig({ dataDir: join(dir, `db-${name}`), port: ports[name], logLevel: "info", store: { url: server.url, schema, poolSize: 2, statementTimeoutMs: 2_000, lease: LEASE } });
    const leader = await startNode(configOf("leader"), true);
    const standby = await startNode(configOf("standby"), false);
    await eventually(async () => standby.output(), (output) => output.includes("standby: waiting for the leader lease"), 30_000);
    // The first URL is dead: the SDK's connect goes on to the next one.
    const investor = await investorOn([`ws://127.0.0.1:${await freePort()}`, leader.url, standby.url], "client-db");
    const channelId = await investor.client.openChannel({
      assets: [stack.addresses.token, stack.addresses.cash],
      challengePeriod: 3_600n,
      deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT },
    });

    const stream = payments(investor, channelId);
    await eventually(async () => stream.agreed.length, (n) => n >= 10, 30_000);
    await server.stop();
    await stream.done;
    // Refused as the database being unavailable (or cut off by the node stepping down), never as a node fault.
    const refusal = stream.refusal as ClientError;
    expect(isClientError(refusal)).toBe(true);
    if (refusal.code === "REJECTED") expect(refusal.rejection?.code).toBe("UNAVAILABLE");
    else expect(["NOT_CONNECTED", "TIMEOUT"]).toContain(refusal.code);
    // The leader steps down and exits; the standby waits through the outage.
    expect(await leader.exited()).toBe(1);
    expect(leader.output()).toContain("the store failed a write: stepping down");
    await expect(investor.client.pay(channelId, { assetIndex: CASH, amount: 1n })).rejects.toThrow();

    await server.start();
    await db.end();
    db = await connectDb();
    await standby.healthy(TAKEOVER_BOUND_MS + 10_000);
    await eventually(async () => investor.client.connected, (connected) => connected, 30_000);
    await eventually(() => investor.store.channel(channelId), (record) => record?.pending === null, 15_000);
    const latest = await expectSameHistory(investor, schema, channelId);
    expect(latest).toBeGreaterThanOrEqual(stream.agreed.at(-1)!);
    const next = await investor.client.pay(channelId, { assetIndex: CASH, amount: 3n });
    expect(next.state.nonce).toBe(latest + 1n);
    await expectSameHistory(investor, schema, channelId);
  }, 240_000);
});
