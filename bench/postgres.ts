/**
 * The bench's PostgreSQL step: the same closed-loop node throughput as on LevelDB, with the node on
 * PostgreSQL, and the failover time of an active/standby pair. The bench starts its own PostgreSQL
 * (test/helpers/postgres.ts: initdb into a temporary directory, 127.0.0.1 on a free port, stopped by
 * pid); where the server binaries are missing the step is skipped and the report says why.
 *
 * The node needs the bench's channels: they are copied from the LevelDB node's store (stopped) into
 * the PostgreSQL schema — each channel's record, its confirmed deposits and its latest agreed state
 * (with its history entry), and the watcher's cursor, so the node resumes where the LevelDB node was.
 * The node runs with a leader lease (the active/standby deployment, docs/operations.md).
 *
 * Failover: a leader and a standby on that schema, as the node's CLI; once the standby's /health
 * names the leader's lease, the leader is SIGKILLed, and the time until the standby's /health answers
 * 200 (it took the lease, loaded every channel and listens) is the failover time. The roles swap and
 * it is measured again.
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { LevelStore } from "../client/store/level-store.js";
import { PostgresStore } from "../channel-node/src/store/postgres-store.js";
import type { NodeConfig } from "../channel-node/src/config.js";
import { freePort } from "../devstack/local-chain.js";
import { POSTGRES_MISSING, startPostgres } from "../test/helpers/postgres.js";
import { startNodeProcess, type NodeProcess } from "../test/helpers/node-process.js";
import type { LoadResult } from "./load.js";
import type { BenchNode } from "./lib/node.js";

/** The node's default lease (channel-node/src/config.ts): the failover time measured is the one an operator gets by default. */
export const BENCH_LEASE = { ttlMs: 5_000, renewMs: 1_000, retryMs: 500 } as const;
const SCHEMA = "bench";

export interface FailoverSample {
  /** Leader SIGKILLed → the standby's /health answered 200. */
  readonly ms: number;
  /** Leader SIGKILLed → the standby took the lease (its /health said "starting"), when a poll saw it. */
  readonly leaseTakenMs: number | null;
}

export interface PostgresFigures {
  readonly skipped?: undefined;
  readonly serverVersion: string;
  readonly lease: typeof BENCH_LEASE;
  /** Channels copied into the schema (every channel of the LevelDB node). */
  readonly channels: number;
  readonly copyMs: number;
  /** Closed loop, the same channel counts as the LevelDB rows. */
  readonly throughput: readonly LoadResult[];
  readonly failover: {
    readonly samples: readonly FailoverSample[];
    readonly medianMs: number;
    readonly maxMs: number;
  };
}

export type PostgresBench = { readonly skipped: string } | PostgresFigures;

export interface PostgresBenchOptions {
  /** The LevelDB node's data directory (the node is stopped). */
  readonly levelDataDir: string;
  /** The bench's node configuration for a data directory. */
  readonly nodeConfig: (dataDir: string) => NodeConfig;
  readonly channelCounts: readonly number[];
  readonly failoverRounds: number;
  readonly workDir: string;
  readonly startNode: (config: NodeConfig) => Promise<BenchNode>;
  readonly runLoad: (node: BenchNode, channels: number) => Promise<LoadResult>;
  /** Registers a stop with the bench (stopped whatever happens); returns it, idempotent. */
  readonly track: (stop: () => Promise<void>) => () => Promise<void>;
  readonly log: (line: string) => void;
}

export async function measurePostgres(options: PostgresBenchOptions): Promise<PostgresBench> {
  const { log, track } = options;
  if (POSTGRES_MISSING !== null) {
    log(`postgres: skipped (${POSTGRES_MISSING})`);
    return { skipped: POSTGRES_MISSING };
  }
  const server = await startPostgres();
  const stopServer = track(() => server.destroy());
  try {
    const url = server.url;
    const copying = performance.now();
    const channels = await copyStore(join(options.levelDataDir, "channels"), url);
    const copyMs = Math.round(performance.now() - copying);
    log(`postgres: ${channels} channels copied from the LevelDB store in ${copyMs} ms`);
    const serverVersion = await versionOf(url);

    const configOf = (name: string, port = 0): NodeConfig => ({
      ...options.nodeConfig(join(options.workDir, name)),
      port,
      store: { url, schema: SCHEMA, poolSize: 4, statementTimeoutMs: 10_000, lease: BENCH_LEASE },
    });
    const node = await options.startNode(configOf("node-postgres"));
    const throughput: LoadResult[] = [];
    try {
      for (const count of options.channelCounts) {
        const result = await options.runLoad(node, count);
        throughput.push(result);
        log(`postgres, ${count} channels: ${result.updatesPerSecond} updates/s, p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms`);
      }
    } finally {
      await node.stop();
    }

    const samples = await measureFailover(options, configOf);
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    const failover = { samples, medianMs: sorted[Math.floor((sorted.length - 1) / 2)]!, maxMs: sorted.at(-1)! };
    log(`postgres failover: ${samples.map((s) => s.ms).join(", ")} ms (lease ttl ${BENCH_LEASE.ttlMs} ms)`);
    return { serverVersion, lease: BENCH_LEASE, channels, copyMs, throughput, failover };
  } finally {
    await stopServer();
  }
}

/** Copies every channel of the LevelDB store at `location` into the bench schema; resolves with their number. */
async function copyStore(location: string, url: string): Promise<number> {
  const level = await LevelStore.open(location);
  try {
    const target = await PostgresStore.open({ url, schema: SCHEMA, ...(level.chain === null ? {} : { chain: level.chain }) });
    try {
      const records = await level.channels();
      // The store validates writes in call order: they need not be awaited one by one.
      const writes: Promise<unknown>[] = [];
      for (const record of records) {
        const id = record.channelId;
        writes.push(target.channelCreated({ channelId: id, params: record.params, deployment: record.deployment, me: record.me, createdAt: record.createdAt }));
        if (record.status !== "proposed") writes.push(target.channelOpened(id, `bench-copy-${id}-opened`));
        record.deposits.forEach((byParticipant, assetIndex) =>
          byParticipant.forEach((amount, participant) => {
            if (amount > 0n) writes.push(target.depositConfirmed(id, { assetIndex, participant: participant as 0 | 1, amount }, `bench-copy-${id}-${assetIndex}-${participant}`));
          }),
        );
        const [last] = await level.history(id, { newestFirst: true, limit: 1 });
        if (last !== undefined) writes.push(target.stateAgreed(id, last.signed, last.update));
      }
      const block = await level.lastProcessedBlock();
      if (block !== null) writes.push(target.blockProcessed(block));
      await Promise.all(writes);
      return records.length;
    } finally {
      await target.close();
    }
  } finally {
    await level.close();
  }
}

async function versionOf(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } finally {
    await client.end();
  }
}

/** What a node's /health answers, or undefined while nothing listens. */
async function healthOf(node: NodeProcess): Promise<{ status: number; body: { status?: string; since?: string; leader?: unknown } } | undefined> {
  try {
    const response = await fetch(`${node.httpUrl}/health`);
    return { status: response.status, body: (await response.json()) as { status?: string; since?: string; leader?: unknown } };
  } catch {
    return undefined;
  }
}

/** Polls `probe` every 20 ms until `done`; throws after `timeoutMs`. */
async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`postgres failover: ${what} within ${timeoutMs} ms`);
    await sleep(20);
  }
}

async function measureFailover(options: PostgresBenchOptions, configOf: (name: string, port: number) => NodeConfig): Promise<FailoverSample[]> {
  const roles = [
    { name: "failover-a", port: await freePort() },
    { name: "failover-b", port: await freePort() },
  ];
  const start = async (role: (typeof roles)[number], untilHealthy: boolean): Promise<NodeProcess> => {
    const node = await startNodeProcess(configOf(role.name, role.port), options.workDir, { untilHealthy });
    options.track(() => node.stop());
    return node;
  };
  let leader = await start(roles[0]!, true);
  const samples: FailoverSample[] = [];
  for (let round = 0; round < options.failoverRounds; round++) {
    const standby = await start(roles[(round + 1) % 2]!, false);
    // The standby waits for the leader's lease (its /health names it) before the leader dies.
    await until(() => healthOf(standby), (h) => h?.body.leader !== undefined && h.body.leader !== null, 120_000, "the standby did not report the leader's lease");
    const killedAt = Date.now();
    await leader.kill();
    const seen = { leaseTakenAt: null as number | null };
    await until(
      () => healthOf(standby),
      (h) => {
        if (h?.body.status === "starting" && h.body.since !== undefined) seen.leaseTakenAt = Date.parse(h.body.since);
        return h?.status === 200;
      },
      BENCH_LEASE.ttlMs + 120_000,
      "the standby did not take over",
    );
    samples.push({ ms: Date.now() - killedAt, leaseTakenMs: seen.leaseTakenAt === null ? null : Math.max(0, seen.leaseTakenAt - killedAt) });
    leader = standby;
  }
  await leader.stop();
  return samples;
}
