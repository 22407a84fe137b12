// The venue's node on PostgreSQL, end to end with real processes: a local chain, a real PostgreSQL
// server, the node started by its CLI with `store.url`, an investor paying through the SDK; the node
// is killed (SIGKILL) mid-stream and restarted on the same database: every agreed state is there and
// the channel goes on.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the node end-to-end test on PostgreSQL");

const CASH = 1;

describe.skipIf(POSTGRES_MISSING !== null)(`the node on PostgreSQL${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  let stack: Stack;
  let dir: string;
  const nodes: NodeProcess[] = [];
  const clients: OpenedClient[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-pg-node-"));
    server = await startPostgres();
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
  }, 120_000);

  afterAll(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.splice(0)) await node.stop();
    await stack?.stop();
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps every agreed state across a SIGKILL and a restart; nothing is written to LevelDB", async () => {
    const schema = freshSchema("node");
    const config = stack.nodeConfig({ dataDir: join(dir, "node"), store: { url: server.url, schema, poolSize: 2, statementTimeoutMs: 5_000 } });
    const first = await startNodeProcess(config, dir);
    nodes.push(first);

    const investor = await openClient({
      nodeUrl: first.url,
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
      challengePeriod: 3_600n,
      deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT },
    });

    // A stream of payments; the node is killed while they are in flight.
    const agreed: bigint[] = [];
    const stream = (async () => {
      for (let i = 0; i < 400; i++) {
        try {
          agreed.push((await investor.client.pay(channelId, { assetIndex: CASH, amount: 1n })).state.nonce);
        } catch {
          return;
        }
      }
    })();
    await eventually(async () => agreed.length, (n) => n >= 20, 30_000);
    await first.kill();
    nodes.splice(nodes.indexOf(first), 1);
    await stream;

    // The rows are in PostgreSQL, in the node's schema; the data directory has no LevelDB store.
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: string }>(`SELECT max(nonce)::text AS n FROM ${schema}.history WHERE channel_id = $1`, [channelId]);
      expect(BigInt(rows[0]!.n)).toBeGreaterThanOrEqual(agreed.at(-1)!);
    } finally {
      await db.end();
    }
    expect(existsSync(join(dir, "node", "channels"))).toBe(false);

    // Restarted on the same database and port: the client reconnects and resyncs.
    const second = await startNodeProcess({ ...config, port: first.port }, dir);
    nodes.push(second);
    await eventually(async () => investor.client.connected, (connected) => connected, 30_000);
    const clientRecord = await eventually(() => investor.store.channel(channelId), (record) => record?.pending === null, 15_000);
    const clientNonce = clientRecord!.latest!.state.nonce;
    const [view] = await adminGet<{ channelId: string; nonce: string }[]>(second, "/channels");
    expect(view?.channelId).toBe(channelId);
    expect(BigInt(view!.nonce)).toBe(clientNonce);
    expect(clientNonce).toBeGreaterThanOrEqual(agreed.at(-1)!);
    const history = await adminGet<{ nonce: string }[]>(second, `/channels/${channelId}/history`);
    const stored = new Set(history.map((entry) => BigInt(entry.nonce)));
    for (const nonce of agreed.filter((n) => n > clientNonce - 100n)) expect(stored.has(nonce)).toBe(true);

    const next = await investor.client.pay(channelId, { assetIndex: CASH, amount: 5n });
    expect(next.state.nonce).toBe(clientNonce + 1n);
  }, 180_000);
});
