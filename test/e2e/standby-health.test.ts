// A standby's /health and /metrics, with real processes: a local chain, a real PostgreSQL server,
// two node processes of the node's CLI on one schema with `store.lease`. While the standby waits for
// the lease it answers /health with 503 (a load balancer's "not ready"), its role, the holder's
// lease epoch and since when it waits; it refuses everything else, investors' WebSockets included.
// Once the leader is SIGKILLed it takes over and answers 200 with role "active" and the next epoch.
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { StandbyServer } from "../../channel-node/src/standby.js";
import { freePort } from "../../devstack/local-chain.js";
import { startStack, type Stack } from "../../devstack/stack.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the standby health test (active and standby nodes on PostgreSQL)");

const LEASE = { ttlMs: 3_000, renewMs: 500, retryMs: 200 };

interface Health {
  readonly status: string;
  readonly role?: string;
  readonly since?: string;
  readonly leader?: { readonly epoch: string; readonly expiresInMs: number | null } | null;
  readonly checkedAt?: string | null;
  readonly leaseEpoch?: string;
  readonly code?: string;
}

async function get(url: string): Promise<{ status: number; body: Health }> {
  const response = await fetch(url);
  return { status: response.status, body: (await response.json()) as Health };
}

async function metric(node: NodeProcess, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

/** Resolves with the close code or the HTTP status that refused the upgrade. */
function tryWebSocket(url: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.on("open", () => {
      socket.close();
      resolve("open");
    });
    socket.on("unexpected-response", (_req, res) => {
      resolve(`status ${res.statusCode}`);
      socket.terminate();
    });
    socket.on("error", (error) => resolve(`error ${error.message}`));
  });
}

describe("the standby's server, in process", () => {
  it("is bounded like the transport: connections beyond maxConnections are dropped and counted, a silent socket is closed", async () => {
    const metrics = createMetrics();
    const standby = await StandbyServer.start({ host: "127.0.0.1", port: 0, venue: "0x0000000000000000000000000000000000000001", timeoutMs: 500, maxConnections: 2, metrics, logger: pino({ level: "silent" }) });
    try {
      const url = `http://127.0.0.1:${standby.port}`;
      expect(await get(`${url}/health`)).toMatchObject({ status: 503, body: { status: "standby", role: "standby", leader: null, checkedAt: null } });
      standby.waiting({ epoch: "7", expiresInMs: 1200 });
      expect((await get(`${url}/health`)).body).toMatchObject({ status: "standby", leader: { epoch: "7", expiresInMs: 1200 } });
      // Two silent sockets hold both connections; a third is dropped and counted.
      const open = (): Promise<{ closed: Promise<number> }> =>
        new Promise((resolve, reject) => {
          const startedAt = Date.now();
          const socket = connect(standby.port, "127.0.0.1", () => resolve({ closed: new Promise((done) => socket.once("close", () => done(Date.now() - startedAt))) }));
          socket.on("error", reject);
        });
      const held = [await open(), await open()];
      const third = await open();
      expect(await third.closed).toBeLessThan(400);
      expect((await metrics.registry.getSingleMetricAsString("clearline_connection_refusals_total"))).toContain('bound="tcp_max_connections"} 1');
      // The silent ones are closed after the timeout.
      for (const socket of held) expect(await socket.closed).toBeGreaterThanOrEqual(450);
      standby.leading("8");
      expect((await get(`${url}/health`)).body).toMatchObject({ status: "starting", role: "active", leaseEpoch: "8" });
      expect(await metrics.registry.getSingleMetricAsString("clearline_standby")).toContain("clearline_standby 0");
    } finally {
      await standby.close();
    }
  });
});

describe.skipIf(POSTGRES_MISSING !== null)(`a standby's health${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  let stack: Stack;
  let dir: string;
  let db: pg.Client;
  const nodes: NodeProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-standby-"));
    server = await startPostgres();
    db = new pg.Client({ connectionString: server.url });
    db.on("error", () => undefined);
    await db.connect();
    stack = await startStack({ investors: [] });
  }, 120_000);

  afterAll(async () => {
    for (const node of nodes.splice(0)) await node.stop();
    await stack?.stop();
    await db?.end();
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it("waiting for the lease it answers 503 with its role, the holder's epoch and since when; taken over, 200 as the active node", async () => {
    const schema = freshSchema("standby");
    const configOf = async (name: string): Promise<NodeConfig> =>
      stack.nodeConfig({ dataDir: join(dir, name), port: await freePort(), logLevel: "info", store: { url: server.url, schema, poolSize: 2, statementTimeoutMs: 5_000, lease: LEASE } });
    const leader = await startNodeProcess(await configOf("leader"), dir);
    nodes.push(leader);
    const leaderHealth = await get(`${leader.httpUrl}/health`);
    expect(leaderHealth.status).toBe(200);
    expect(leaderHealth.body).toMatchObject({ status: "ok", role: "active" });
    const epoch = (await db.query<{ epoch: string }>(`SELECT epoch::text AS epoch FROM ${schema}.leader`)).rows[0]!.epoch;
    expect(leaderHealth.body.leaseEpoch).toBe(epoch);

    const startedAt = Date.now();
    const standby = await startNodeProcess(await configOf("standby"), dir, { untilHealthy: false });
    nodes.push(standby);
    // Alive but not ready: 503, a standby, waiting for the leader's lease of `epoch`.
    const waiting = await eventually(
      () => get(`${standby.httpUrl}/health`).catch(() => undefined),
      (answer) => answer?.body.leader !== undefined && answer.body.leader !== null,
      60_000,
    );
    expect(waiting!.status).toBe(503);
    expect(waiting!.body).toMatchObject({ status: "standby", role: "standby", leader: { epoch } });
    const expiresInMs = waiting!.body.leader!.expiresInMs!;
    expect(expiresInMs).toBeGreaterThan(0);
    expect(expiresInMs).toBeLessThanOrEqual(LEASE.ttlMs);
    const since = Date.parse(waiting!.body.since!);
    expect(since).toBeGreaterThanOrEqual(startedAt - 1_000);
    expect(since).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(waiting!.body.checkedAt!)).toBeGreaterThanOrEqual(since);
    // The holder's lease is renewed, and the standby keeps checking.
    const later = await eventually(
      () => get(`${standby.httpUrl}/health`),
      (answer) => Date.parse(answer.body.checkedAt ?? "") > Date.parse(waiting!.body.checkedAt!),
      10_000,
    );
    expect(later.body).toMatchObject({ status: "standby", since: waiting!.body.since, leader: { epoch } });
    expect(await metric(standby, "clearline_standby")).toBe(1);
    // Nothing else is served: not the admin API, not an investor's WebSocket.
    expect(await get(`${standby.httpUrl}/admin/info`)).toMatchObject({ status: 503, body: { code: "STANDBY" } });
    expect(await tryWebSocket(standby.url)).toBe("status 503");
    expect(await tryWebSocket(leader.url)).toBe("open");

    // The leader dies: the standby takes the next epoch and serves.
    await leader.kill();
    const seen: string[] = [];
    const active = await eventually(
      async () => {
        const answer = await get(`${standby.httpUrl}/health`).catch(() => undefined);
        if (answer !== undefined && seen.at(-1) !== answer.body.status) seen.push(answer.body.status);
        return answer;
      },
      (answer) => answer?.status === 200,
      LEASE.ttlMs + 15_000,
    );
    expect(active!.body).toMatchObject({ status: "ok", role: "active", leaseEpoch: (BigInt(epoch) + 1n).toString() });
    // Never back to standby once it took the lease ("starting" while it loads, when a poll catches it).
    expect(seen.slice(seen.indexOf("standby") + 1).every((status) => status !== "standby")).toBe(true);
    expect(seen.at(0)).toBe("standby");
    expect(await metric(standby, "clearline_standby")).toBe(0);
    expect(await tryWebSocket(standby.url)).toBe("open");
  }, 180_000);
});
