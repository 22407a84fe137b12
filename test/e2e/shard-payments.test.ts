// Payments between investors of two shards (docs/operations.md, "Payments between shards"), with real
// processes: a local chain, two shard processes of one venue over one real PostgreSQL, investors
// through the SDK. Alice and carol are served by shard a, bob by shard b. Routed payments settle both
// ways and beside payments within a shard; a secret the receiver's shard cannot pass back still
// reaches the payer's shard, which asks for it; each shard SIGKILLed and restarted under streams of
// payments both ways: nothing agreed is lost, the venue never locks twice under one hashlock, and
// every payment either completes on both sides or on neither.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { isClientError } from "../../client/sdk/errors.js";
import type { Address, Bytes32 } from "../../client/protocol/index.js";
import type { HistoryEntry } from "../../client/store/store.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { freePort } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the payments between shards");

const CASH = 1;
const VENUE = 0;
const INVESTOR = 1;
const DEPOSIT = 1_000n * CASH_UNIT;
/** Paid to the venue first in every channel: what the venue's locks to that investor draw on. */
const LIQUIDITY = 10_000n;
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);
const carol = devWallet(ROLES.carol);

type ShardId = "a" | "b";

/** Hashlocks of the locks of `sender` that were resolved (claimed with their secret) in a channel's history. */
function resolvedLocks(history: readonly HistoryEntry[], sender: number): Set<Bytes32> {
  const resolved = new Set<Bytes32>();
  let previous: HistoryEntry["signed"]["state"]["locks"] = [];
  for (const entry of history) {
    const locks = entry.signed.state.locks;
    if (entry.update.kind === "resolveLock") {
      for (const lock of previous) if (lock.sender === sender && !locks.some((l) => l.hashlock === lock.hashlock)) resolved.add(lock.hashlock);
    }
    previous = locks;
  }
  return resolved;
}

/** How many times each hashlock was locked by `sender` in a channel's history. */
function lockCounts(history: readonly HistoryEntry[], sender: number): Map<Bytes32, number> {
  const counts = new Map<Bytes32, number>();
  let previous = new Set<Bytes32>();
  for (const entry of history) {
    const now = new Set(entry.signed.state.locks.filter((l) => l.sender === sender).map((l) => l.hashlock));
    for (const hashlock of now) if (!previous.has(hashlock)) counts.set(hashlock, (counts.get(hashlock) ?? 0) + 1);
    previous = now;
  }
  return counts;
}

describe.skipIf(POSTGRES_MISSING !== null)("payments between investors of two shards over one PostgreSQL", () => {
  let stack: Stack;
  let dir: string;
  let server: PostgresServer;
  let db: pg.Client;
  const nodes = new Map<ShardId, NodeProcess>();
  const clients: OpenedClient[] = [];
  const mapSchema = freshSchema("paymap");
  const schemas = { a: freshSchema("pay_a"), b: freshSchema("pay_b") };
  const ports = { a: 0, b: 0 };
  const urls = { a: "", b: "" };
  const investors = {} as Record<"alice" | "bob" | "carol", { opened: OpenedClient; channelId: Bytes32; shard: ShardId }>;

  const configOf = (id: ShardId): NodeConfig =>
    stack.nodeConfig({
      dataDir: join(dir, `shard-${id}`),
      port: ports[id],
      responseTimeoutMs: 5_000,
      store: { url: server.url, schema: schemas[id], poolSize: 2, statementTimeoutMs: 5_000 },
      shard: { id, url: urls[id], mapSchema, link: { secretPullMs: 1_000 } },
    });

  async function startShard(id: ShardId): Promise<NodeProcess> {
    const node = await startNodeProcess(configOf(id), dir);
    nodes.set(id, node);
    return node;
  }

  async function killShard(id: ShardId): Promise<void> {
    await nodes.get(id)!.kill();
    nodes.delete(id);
  }

  /** A counter of /metrics by its full name with labels, e.g. `x_total{a="1"}`; 0 when absent. */
  async function metric(id: ShardId, name: string): Promise<number> {
    const text = await (await fetch(`${nodes.get(id)!.httpUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `));
    return line === undefined ? 0 : Number(line.split(" ")[1]);
  }

  const cashOf = async (name: keyof typeof investors) => (await investors[name].opened.client.balances(investors[name].channelId))[CASH]!.me;
  const pay = (from: keyof typeof investors, to: Address, amount: bigint) =>
    investors[from].opened.client.pay(investors[from].channelId, { assetIndex: CASH, amount, to });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-shard-pay-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.carol }] });
    server = await startPostgres();
    for (const id of ["a", "b"] as const) {
      ports[id] = await freePort();
      urls[id] = `ws://127.0.0.1:${ports[id]}`;
    }
    await startShard("a");
    await startShard("b");
    db = new pg.Client({ connectionString: server.url });
    db.on("error", () => undefined);
    await db.connect();
    await db.query(`INSERT INTO ${mapSchema}.investors (investor, shard_id) VALUES ($1, 'a'), ($2, 'a'), ($3, 'b')`, [alice.address, carol.address, bob.address]);
    for (const [name, wallet, shard] of [["alice", alice, "a"], ["bob", bob, "b"], ["carol", carol, "a"]] as const) {
      const opened = await openClient({ nodeUrl: urls[shard], privateKey: wallet.privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, name), responseTimeoutMs: 5_000 });
      clients.push(opened);
      await opened.client.connect();
      const channelId = await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: DEPOSIT } });
      await opened.client.pay(channelId, { assetIndex: CASH, amount: LIQUIDITY });
      investors[name] = { opened, channelId, shard };
    }
  }, 180_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.values()) await node.stop();
    nodes.clear();
    await db?.end();
    await stack?.stop();
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("routed payments settle both ways between the shards, beside a payment within a shard; a receiver the venue has no channel with is refused and nothing changes", async () => {
    const before = { alice: await cashOf("alice"), bob: await cashOf("bob"), carol: await cashOf("carol") };
    const toBob = await pay("alice", bob.address, 7n);
    expect(toBob.state.locks).toEqual([]);
    await pay("bob", alice.address, 5n);
    await pay("carol", bob.address, 3n);
    await pay("alice", carol.address, 2n); // within shard a
    await eventually(
      async () => ({ alice: await cashOf("alice"), bob: await cashOf("bob"), carol: await cashOf("carol") }),
      (now) => now.alice === before.alice - 7n + 5n - 2n && now.bob === before.bob + 7n - 5n + 3n && now.carol === before.carol - 3n + 2n,
      15_000,
    );
    // The invoices crossed the link as requests of the payer's shard, answered by the receiver's.
    expect(await metric("a", 'clearline_shard_link_requests_total{direction="out",type="invoice",outcome="ok"}')).toBe(2);
    expect(await metric("b", 'clearline_shard_link_requests_total{direction="in",type="route_lock",outcome="ok"}')).toBe(2);
    expect(await metric("b", 'clearline_shard_link_requests_total{direction="out",type="invoice",outcome="ok"}')).toBe(1);

    // Dave has no channel with the venue (whichever shard the map gives him): refused, nothing agreed.
    const nonce = (await investors.alice.opened.store.channel(investors.alice.channelId))!.latest!.state.nonce;
    const refused = await pay("alice", devWallet(ROLES.dave).address, 1n).catch((error: unknown) => error);
    expect(isClientError(refused, "REJECTED")).toBe(true);
    expect((refused as { rejection?: { code: string } }).rejection?.code).toBe("UNKNOWN_CHANNEL");
    expect((await investors.alice.opened.store.channel(investors.alice.channelId))!.latest!.state.nonce).toBe(nonce);
  }, 120_000);

  it("a secret the receiver's shard cannot pass back reaches the payer's shard all the same: it asks for the secrets of its unclaimed locks", async () => {
    // Shard b finds shard a at the URL in the map: point it at a port nobody listens on.
    const dead = `ws://127.0.0.1:${await freePort()}`;
    await db.query(`UPDATE ${mapSchema}.shards SET url = $1 WHERE shard_id = 'a'`, [dead]);
    try {
      const pushed = await metric("b", 'clearline_shard_link_requests_total{direction="out",type="secrets_learned",outcome="ok"}');
      const pulled = await metric("a", 'clearline_shard_link_requests_total{direction="out",type="secrets",outcome="ok"}');
      const bobBefore = await cashOf("bob");
      const paid = await pay("alice", bob.address, 4n);
      expect(paid.state.locks).toEqual([]);
      await eventually(() => cashOf("bob"), (cash) => cash === bobBefore + 4n, 10_000);
      expect(await metric("b", 'clearline_shard_link_requests_total{direction="out",type="secrets_learned",outcome="ok"}')).toBe(pushed);
      expect(await metric("a", 'clearline_shard_link_requests_total{direction="out",type="secrets",outcome="ok"}')).toBeGreaterThan(pulled);
    } finally {
      await db.query(`UPDATE ${mapSchema}.shards SET url = $1 WHERE shard_id = 'a'`, [urls.a]);
    }
  }, 60_000);

  it("each shard SIGKILLed and restarted under payments both ways: nothing agreed is lost, no hashlock is locked twice, every payment completes on both sides or on neither", async () => {
    let running = true;
    const completed = { alice: 0, bob: 0 };
    const errors = { alice: "", bob: "" };
    const stream = async (from: "alice" | "bob", to: Address) => {
      while (running) {
        try {
          await pay(from, to, 1n);
          completed[from] += 1;
        } catch (error) {
          errors[from] += `${new Date().toISOString()} ${error instanceof Error ? error.message : String(error)}\n`;
          await sleep(1_000); // within the venue's invoice request rate (1 per second per payer)
        }
      }
    };
    /** Until `count` payments completed; else fails naming the payers' last errors. */
    const progress = (count: number, timeoutMs: number) =>
      eventually(async () => completed.alice + completed.bob, (n) => n >= count, timeoutMs).catch((error: unknown) => {
        throw new Error(`${String(error)}; the payers' errors: ${JSON.stringify(errors).slice(-2_000)}`);
      });
    const streams = Promise.all([stream("alice", bob.address), stream("bob", alice.address)]);
    await progress(6, 30_000);
    await killShard("b");
    await sleep(1_500);
    await startShard("b");
    await progress(14, 60_000);
    await killShard("a");
    await sleep(1_500);
    await startShard("a");
    const resumed = completed.alice + completed.bob;
    await progress(resumed + 6, 60_000);
    running = false;
    await streams;
    for (const opened of clients) await eventually(async () => opened.client.connected, (connected) => connected, 30_000);
    // Both shards pay on, both ways (once the invoice request budget has refilled).
    await sleep(2_000);
    await pay("alice", bob.address, 1n);
    await pay("bob", alice.address, 1n);

    const histories = async () => Promise.all((["alice", "bob", "carol"] as const).map((name) => investors[name].opened.store.history(investors[name].channelId)));
    // Eventually every lock the venue paid a receiver with (in any channel) is claimed from its payer, and no other.
    const settled = await eventually(
      async () => {
        const all = await histories();
        const claimed = new Set(all.flatMap((h) => [...resolvedLocks(h, INVESTOR)]));
        const paid = new Set(all.flatMap((h) => [...resolvedLocks(h, VENUE)]));
        return { all, unclaimed: [...paid].filter((h) => !claimed.has(h)), unpaid: [...claimed].filter((h) => !paid.has(h)) };
      },
      ({ unclaimed, unpaid }) => unclaimed.length === 0 && unpaid.length === 0,
      30_000,
    );
    const [aliceHistory, bobHistory] = settled.all;
    expect(resolvedLocks(aliceHistory!, INVESTOR).size).toBeGreaterThanOrEqual(completed.alice);
    expect(resolvedLocks(bobHistory!, INVESTOR).size).toBeGreaterThanOrEqual(completed.bob);
    // The venue never locked twice to a receiver under one hashlock.
    for (const history of settled.all) expect(Math.max(0, ...lockCounts(history, VENUE).values())).toBeLessThanOrEqual(1);

    // Nothing agreed is lost: each investor's latest state is the shard's latest stored state. The
    // shard stores a state it proposed once the investor's countersignature reaches it, after the
    // investor stored it: compare once both sides have settled.
    for (const name of ["alice", "bob"] as const) {
      const { opened, channelId, shard } = investors[name];
      await eventually(
        async () => {
          const record = await opened.store.channel(channelId);
          const { rows } = await db.query<{ nonce: string }>(`SELECT max(nonce)::text AS nonce FROM ${schemas[shard]}.history WHERE channel_id = $1`, [channelId]);
          return { pending: record?.pending ?? null, investor: record!.latest!.state.nonce, shard: BigInt(rows[0]!.nonce) };
        },
        ({ pending, investor, shard }) => pending === null && investor === shard,
        15_000,
      );
    }
  }, 300_000);
});
