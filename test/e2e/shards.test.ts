// One venue, two shard processes, with real processes: a local chain, node processes started by the
// node's CLI with a `shard` section, investors through the SDK and a raw WebSocket peer. First with
// the LevelDB store and the shard map from configuration, then over one real PostgreSQL with the map
// in its own schema. An investor that reaches the other shard is answered WRONG_SHARD naming its
// shard's URL (nothing changes there) and the SDK follows it; a payment between investors of the two
// shards settles; a shard SIGKILLed and restarted loses nothing; a shard whose store holds channels of
// an investor the map gives elsewhere refuses to start; a shard's standby takes over its lease and its
// entry in the map.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { shardRedirectOf, WRONG_SHARD } from "../../client/protocol/session.js";
import type { Address, Bytes32 } from "../../client/protocol/index.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { freePort } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { RawPeer } from "../helpers/raw-peer.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the shard tests over PostgreSQL");

const CASH = 1;
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);

interface ChannelSummary {
  readonly channelId: Bytes32;
  readonly investor: Address;
  readonly nonce: string;
}

describe("two shard processes of one venue", () => {
  let stack: Stack;
  let dir: string;
  let server: PostgresServer | undefined;
  const nodes: NodeProcess[] = [];
  const clients: OpenedClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-shards-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }] });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.splice(0)) await node.stop();
    await stack?.stop();
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startShard(config: NodeConfig): Promise<NodeProcess> {
    const node = await startNodeProcess(config, dir);
    nodes.push(node);
    return node;
  }

  async function investor(privateKey: string, nodeUrl: string, name: string, fallbackUrls: readonly string[] = []): Promise<OpenedClient> {
    const opened = await openClient({ nodeUrl, fallbackUrls, privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, name), responseTimeoutMs: 5_000 });
    clients.push(opened);
    await opened.client.connect();
    return opened;
  }

  const openChannel = (opened: OpenedClient) =>
    opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT } });

  /** WRONG_SHARD to `privateKey` at `url`: the answer, how the node closed, and that no session began. */
  async function expectRedirect(url: string, privateKey: string, expected: { shard: string; url: string }): Promise<void> {
    const { peer } = await RawPeer.open(url);
    const answer = await peer.authenticate(privateKey);
    expect(answer.typed).toMatchObject({ type: "error", code: WRONG_SHARD });
    expect(shardRedirectOf((answer.raw as { message: string }).message)).toEqual(expected);
    expect((await peer.waitClosed()).code).toBe(4001);
  }

  const channelsOf = (node: NodeProcess) => adminGet<ChannelSummary[]>(node, "/channels");
  const metric = async (node: NodeProcess, name: string) => {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };

  it("LevelDB, the map from configuration: each investor is sent to its shard and served only there; a shard killed and restarted loses nothing; a map that moves an investor with channels stops the start", async () => {
    const ports = { a: await freePort(), b: await freePort() };
    const shards = { a: `ws://127.0.0.1:${ports.a}`, b: `ws://127.0.0.1:${ports.b}` };
    const configOf = (id: "a" | "b", investors: Record<string, string> = { [alice.address]: "a", [bob.address]: "b" }): NodeConfig =>
      stack.nodeConfig({ dataDir: join(dir, `level-${id}`), port: ports[id], shard: { id, shards, investors, mapSchema: "clearline_shard_map" } });
    const a = await startShard(configOf("a"));
    const b = await startShard(configOf("b"));

    // The wrong shard answers WRONG_SHARD with the right one's URL and keeps nothing.
    await expectRedirect(b.url, alice.privateKey, { shard: "a", url: shards.a });
    await expectRedirect(a.url, bob.privateKey, { shard: "b", url: shards.b });
    expect(await metric(b, "clearline_shard_redirects_total")).toBe(1);
    expect((await RawPeer.login(b.url, bob.privateKey)).welcome.address).toBe(bob.address);

    // The SDK pointed at the wrong shard ends up at its own, transparently.
    const aliceClient = await investor(alice.privateKey, shards.b, "alice-level", [shards.a]);
    const bobClient = await investor(bob.privateKey, shards.a, "bob-level");
    const aliceChannel = await openChannel(aliceClient);
    const bobChannel = await openChannel(bobClient);
    for (let i = 0; i < 5; i++) {
      await aliceClient.client.pay(aliceChannel, { assetIndex: CASH, amount: 1n });
      await bobClient.client.pay(bobChannel, { assetIndex: CASH, amount: 2n });
    }
    expect((await channelsOf(a)).map((c) => c.channelId)).toEqual([aliceChannel]);
    expect((await channelsOf(b)).map((c) => c.channelId)).toEqual([bobChannel]);

    // A payment between investors of two shards goes over the link between them (test/e2e/shard-payments.test.ts has the rest).
    const bobBefore = (await bobClient.client.balances(bobChannel))[CASH]!.me;
    const crossShard = await aliceClient.client.pay(aliceChannel, { assetIndex: CASH, amount: 1n, to: bob.address });
    expect(crossShard.state.locks).toEqual([]);
    await eventually(async () => (await bobClient.client.balances(bobChannel))[CASH]!.me, (balance) => balance === bobBefore + 1n, 10_000);

    // Shard a SIGKILLed mid-way and restarted on its store: alice's SDK comes back to it and goes on from the last agreed state.
    const before = (await aliceClient.store.channel(aliceChannel))!.latest!.state.nonce;
    await a.kill();
    nodes.splice(nodes.indexOf(a), 1);
    await bobClient.client.pay(bobChannel, { assetIndex: CASH, amount: 2n }); // shard b does not notice
    const restarted = await startShard(configOf("a"));
    await eventually(async () => aliceClient.client.connected, (connected) => connected, 30_000);
    expect((await channelsOf(restarted)).find((c) => c.channelId === aliceChannel)?.nonce).toBe(before.toString());
    expect((await aliceClient.client.pay(aliceChannel, { assetIndex: CASH, amount: 1n })).state.nonce).toBe(before + 1n);

    // A map that gives alice (with a live channel on a) to b: shard a refuses to start.
    await restarted.stop();
    nodes.splice(nodes.indexOf(restarted), 1);
    const refused = await startNodeProcess(configOf("a", { [alice.address]: "b", [bob.address]: "b" }), dir, { untilHealthy: false });
    nodes.push(refused);
    expect(await refused.exited()).toBe(1);
    expect(refused.output()).toContain("INVESTOR_ELSEWHERE");
    expect(refused.output()).toContain(`${alice.address} → b`);
  }, 240_000);

  it.skipIf(POSTGRES_MISSING !== null)("PostgreSQL, the map in its own schema: pins chosen in the table decide, both shards redirect, a shard SIGKILLed and restarted loses nothing", async () => {
    server ??= await startPostgres();
    const mapSchema = freshSchema("shardmap");
    const ports = { a: await freePort(), b: await freePort() };
    const urls = { a: `ws://127.0.0.1:${ports.a}`, b: `ws://127.0.0.1:${ports.b}` };
    const schemas = { a: freshSchema("shard_a"), b: freshSchema("shard_b") };
    const configOf = (id: "a" | "b"): NodeConfig =>
      stack.nodeConfig({
        dataDir: join(dir, `pg-${id}`),
        port: ports[id],
        store: { url: server!.url, schema: schemas[id], poolSize: 2, statementTimeoutMs: 5_000 },
        shard: { id, url: urls[id], mapSchema },
      });
    const a = await startShard(configOf("a"));
    const b = await startShard(configOf("b"));
    const db = new pg.Client({ connectionString: server.url });
    db.on("error", () => undefined);
    await db.connect();
    try {
      expect((await db.query(`SELECT shard_id, url FROM ${mapSchema}.shards ORDER BY shard_id`)).rows).toEqual([
        { shard_id: "a", url: urls.a },
        { shard_id: "b", url: urls.b },
      ]);
      // The operator pins them against the hash where need be: the table decides.
      await db.query(`INSERT INTO ${mapSchema}.investors (investor, shard_id) VALUES ($1, 'b'), ($2, 'a')`, [alice.address, bob.address]);
      await expectRedirect(a.url, alice.privateKey, { shard: "b", url: urls.b });
      await expectRedirect(b.url, bob.privateKey, { shard: "a", url: urls.a });

      const aliceClient = await investor(alice.privateKey, urls.a, "alice-pg");
      const bobClient = await investor(bob.privateKey, urls.b, "bob-pg");
      const aliceChannel = await openChannel(aliceClient);
      const bobChannel = await openChannel(bobClient);
      const stored = async (schema: string, channelId: Bytes32) =>
        (await db.query<{ nonce: string | null }>(`SELECT max(nonce)::text AS nonce FROM ${schema}.history WHERE channel_id = $1`, [channelId])).rows[0]!.nonce;

      // Payments on both shards; shard a (bob's) SIGKILLed under bob's stream and restarted.
      const stream = (async () => {
        const agreed: bigint[] = [];
        for (;;) {
          try {
            agreed.push((await bobClient.client.pay(bobChannel, { assetIndex: CASH, amount: 1n })).state.nonce);
          } catch {
            return agreed;
          }
        }
      })();
      await eventually(async () => stored(schemas.a, bobChannel), (nonce) => nonce !== null && BigInt(nonce) >= 10n, 30_000);
      await a.kill();
      nodes.splice(nodes.indexOf(a), 1);
      const agreed = await stream;
      for (let i = 0; i < 3; i++) await aliceClient.client.pay(aliceChannel, { assetIndex: CASH, amount: 1n }); // shard b serves on
      const restarted = await startShard(configOf("a"));
      await eventually(async () => bobClient.client.connected, (connected) => connected, 30_000);
      await eventually(() => bobClient.store.channel(bobChannel), (record) => record?.pending === null, 15_000);
      const latest = (await bobClient.store.channel(bobChannel))!.latest!.state.nonce;
      expect(latest).toBeGreaterThanOrEqual(agreed.at(-1)!);
      expect(await stored(schemas.b, bobChannel)).toBeNull();
      expect(BigInt((await stored(schemas.a, bobChannel))!)).toBe(latest);
      expect((await bobClient.client.pay(bobChannel, { assetIndex: CASH, amount: 1n })).state.nonce).toBe(latest + 1n);
      expect((await channelsOf(restarted)).map((c) => c.channelId)).toEqual([bobChannel]);
      expect((await channelsOf(b)).map((c) => c.channelId)).toEqual([aliceChannel]);
    } finally {
      await db.end();
    }
  }, 240_000);

  it.skipIf(POSTGRES_MISSING !== null)("PostgreSQL, a shard with a standby: the lease is the shard's own; the standby that takes over registers its URL, and the other shard sends the investor there", async () => {
    server ??= await startPostgres();
    const mapSchema = freshSchema("shardmap_standby");
    const ports = { a: await freePort(), a2: await freePort(), b: await freePort() };
    const url = (name: keyof typeof ports) => `ws://127.0.0.1:${ports[name]}`;
    const schemas = { a: freshSchema("sb_a"), b: freshSchema("sb_b") };
    const lease = { ttlMs: 3_000, renewMs: 500, retryMs: 200 };
    const configOf = (name: keyof typeof ports, id: "a" | "b"): NodeConfig =>
      stack.nodeConfig({
        dataDir: join(dir, `standby-${name}`),
        port: ports[name],
        logLevel: "info",
        store: { url: server!.url, schema: schemas[id], poolSize: 2, statementTimeoutMs: 5_000, ...(id === "a" ? { lease } : {}) },
        shard: { id, url: url(name), mapSchema },
      });
    const a = await startShard(configOf("a", "a"));
    const b = await startShard(configOf("b", "b"));
    const a2 = await startNodeProcess(configOf("a2", "a"), dir, { untilHealthy: false });
    nodes.push(a2);
    await eventually(async () => a2.output(), (output) => output.includes("standby: waiting for the leader lease"), 30_000);
    const db = new pg.Client({ connectionString: server.url });
    db.on("error", () => undefined);
    await db.connect();
    try {
      await db.query(`INSERT INTO ${mapSchema}.investors (investor, shard_id) VALUES ($1, 'a'), ($2, 'b')`, [alice.address, bob.address]);
      // Alice knows only shard b's URL.
      const aliceClient = await investor(alice.privateKey, url("b"), "alice-standby");
      const channelId = await openChannel(aliceClient);
      await aliceClient.client.pay(channelId, { assetIndex: CASH, amount: 1n });
      const before = (await aliceClient.store.channel(channelId))!.latest!.state.nonce;

      await a.kill();
      nodes.splice(nodes.indexOf(a), 1);
      await a2.healthy(20_000);
      expect((await db.query(`SELECT url FROM ${mapSchema}.shards WHERE shard_id = 'a'`)).rows).toEqual([{ url: url("a2") }]);
      await expectRedirect(b.url, alice.privateKey, { shard: "a", url: url("a2") });
      // The SDK's reconnect: the dead node, then shard b, which sends it to the standby now leading.
      await eventually(async () => aliceClient.client.connected, (connected) => connected, 30_000);
      expect((await aliceClient.client.pay(channelId, { assetIndex: CASH, amount: 1n })).state.nonce).toBe(before + 1n);
      expect((await channelsOf(a2)).map((c) => c.channelId)).toEqual([channelId]);
      expect((await channelsOf(b)).map((c) => c.channelId)).toEqual([]);

      // With the database gone the map cannot be read: the handshake answers UNAVAILABLE and closes, admitting no one.
      await server.stop();
      try {
        const { peer } = await RawPeer.open(b.url);
        expect((await peer.authenticate(bob.privateKey)).typed).toMatchObject({ type: "error", code: "UNAVAILABLE" });
        expect((await peer.waitClosed()).code).toBe(4001);
      } finally {
        await server.start();
      }
      expect((await RawPeer.login(b.url, bob.privateKey)).welcome.address).toBe(bob.address);
    } finally {
      await db.end();
    }
  }, 240_000);
});
