// The leader lease on a real PostgreSQL server: two store instances on one database, exactly one of
// which can commit. A standby waits while the leader renews; a clean close hands over at once; a
// leader that stops renewing (a paused process) is deposed, and its next write is FENCED and
// commits nothing; a writer process SIGSTOPped mid-stream is taken over and, once SIGCONTed,
// commits nothing more. A waiting standby is told whose lease (epoch, expiry) it waits for.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { StoreError } from "../../client/store/errors.js";
import { PostgresStore, type PostgresStoreOptions } from "../../channel-node/src/store/postgres-store.js";
import type { HeldLease } from "../../channel-node/src/store/postgres-lease.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { newChannel, paymentUpdate, signedState } from "./fixtures.js";
import { expectStoreError } from "./store-suite.js";
import { EXIT_WITH_PARENT } from "../helpers/child-processes.js";

reportPostgresSkip("the PostgreSQL leader-lease suite");

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const WRITER = fileURLToPath(new URL("./postgres-writer.ts", import.meta.url));

describe.skipIf(POSTGRES_MISSING !== null)(`PostgresStore leader lease${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  const stores: PostgresStore[] = [];
  const aborts: AbortController[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });
  afterEach(async () => {
    for (const abort of aborts.splice(0)) abort.abort();
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  /** Opens a store holding the lease (waiting for it); `standby` resolves once it is leader. */
  function open(schema: string, lease: PostgresStoreOptions["lease"], extra: Partial<PostgresStoreOptions> = {}): Promise<PostgresStore> {
    const abort = new AbortController();
    aborts.push(abort);
    return PostgresStore.open({ url: server.url, schema, lease: { retryMs: 50, signal: abort.signal, ...lease }, ...extra }).then((store) => {
      stores.push(store);
      return store;
    });
  }

  async function leaderRow(schema: string): Promise<{ epoch: string; holder: string }> {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query<{ epoch: string; holder: string }>(`SELECT epoch::text AS epoch, holder FROM ${schema}.leader`)).rows[0]!;
    } finally {
      await client.end();
    }
  }

  it("a standby waits while the leader renews, and takes over at once when the leader closes", async () => {
    const schema = freshSchema("lease");
    const ch = newChannel(1);
    const leader = await open(schema, { holder: "a", ttlMs: 3_000, renewMs: 200 });
    expect(leader.leaseEpoch).toBe("1");
    await leader.channelCreated(ch);
    let standbyLeads = false;
    const standby = open(schema, { holder: "b", ttlMs: 3_000, renewMs: 200 }).then((store) => ((standbyLeads = true), store));
    // Longer than a lease: the leader keeps renewing, the standby keeps waiting.
    for (let n = 1n; n <= 4n; n++) {
      await leader.stateAgreed(ch.channelId, signedState(ch, n), paymentUpdate(n));
      await sleep(1_000);
    }
    expect(standbyLeads).toBe(false);
    expect(await leaderRow(schema)).toEqual({ epoch: "1", holder: "a" });

    const closedAt = Date.now();
    await leader.close();
    const next = await standby;
    // Released, not expired: well within the 3 s lease.
    expect(Date.now() - closedAt).toBeLessThan(2_000);
    expect(next.leaseEpoch).toBe("2");
    expect((await next.channel(ch.channelId))?.latest?.state.nonce).toBe(4n);
    await next.stateAgreed(ch.channelId, signedState(ch, 5n), paymentUpdate(5n));
  });

  it("a waiting standby is told the holder's lease epoch and expiry after each attempt (never its name), and none without expiry for a node without a lease", async () => {
    const schema = freshSchema("waiting");
    const leader = await open(schema, { holder: "secret-host:1", ttlMs: 3_000, renewMs: 200 });
    const seen: HeldLease[] = [];
    const standby = open(schema, { holder: "b", ttlMs: 3_000, onWaiting: (held) => seen.push(held) });
    await vi.waitFor(() => expect(seen.length).toBeGreaterThanOrEqual(3), { timeout: 5_000 });
    for (const held of seen) {
      expect(held).toEqual({ epoch: leader.leaseEpoch, expiresInMs: expect.any(Number) as number });
      expect(held.expiresInMs!).toBeGreaterThan(0);
      expect(held.expiresInMs!).toBeLessThanOrEqual(3_000);
    }
    // A node opened without a lease takes it without expiry: the standby is told so (null).
    const unleased = await PostgresStore.open({ url: server.url, schema });
    stores.push(unleased);
    const from = seen.length;
    await vi.waitFor(() => expect(seen.slice(from).some((held) => held.expiresInMs === null)).toBe(true), { timeout: 5_000 });
    expect(seen.at(-1)).toEqual({ epoch: unleased.leaseEpoch, expiresInMs: null });
    await unleased.close();
    expect((await standby).leaseEpoch).toBe(String(BigInt(unleased.leaseEpoch) + 1n));
  });

  it("a leader that stops renewing is deposed: its next write is FENCED, commits nothing, and it never writes again", async () => {
    const schema = freshSchema("lease");
    const ch = newChannel(1);
    const fenced: StoreError<"FENCED">[] = [];
    // renewMs far above the ttl: the leader behaves like a paused process that never renews.
    const old = await open(schema, { holder: "old", ttlMs: 1_500, renewMs: 60_000 }, { onFenced: (e) => fenced.push(e) });
    await old.channelCreated(ch);
    await old.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
    const standby = await open(schema, { holder: "new", ttlMs: 5_000 });
    expect(standby.leaseEpoch).toBe("2");

    await expectStoreError(old.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n)), "FENCED");
    await expectStoreError(old.blockProcessed(9), "FENCED");
    expect(fenced).toHaveLength(1);
    expect(fenced[0]!.details).toMatchObject({ epoch: "1" });
    // The standby agrees nonce 2 itself: the deposed leader's nonce 2 never reached the database.
    await standby.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n, 42));
    await standby.close();
    const reader = await open(schema, { holder: "reader" });
    expect((await reader.history(ch.channelId)).map((e) => [e.signed.state.nonce, e.update.at])).toEqual([[1n, paymentUpdate(1n).at], [2n, 42]]);
    expect(await reader.lastProcessedBlock()).toBeNull();
  });

  it("a leader whose lease expired is FENCED even when no standby took over (the database's clock decides)", async () => {
    const schema = freshSchema("lease");
    const old = await open(schema, { holder: "old", ttlMs: 1_000, renewMs: 60_000 });
    await old.channelCreated(newChannel(1));
    await sleep(1_300);
    await expectStoreError(old.channelCreated(newChannel(2)), "FENCED");
    expect(await leaderRow(schema)).toEqual({ epoch: "1", holder: "old" });
    await old.close();
    const next = await open(schema, { holder: "next" });
    expect((await next.channels()).map((r) => r.channelId)).toEqual([newChannel(1).channelId]);
  });

  it("the renewal timer notices a lost lease before any write (onFenced), and every later write is FENCED", async () => {
    const schema = freshSchema("lease");
    const fenced: string[] = [];
    // Renews only after its lease expired: by then the standby holds it.
    const old = await open(schema, { holder: "old", ttlMs: 1_000, renewMs: 2_000 }, { onFenced: (e) => fenced.push(e.code) });
    const standby = await open(schema, { holder: "new", ttlMs: 5_000 });
    expect(standby.leaseEpoch).toBe("2");
    await vi.waitFor(() => expect(fenced).toEqual(["FENCED"]), { timeout: 10_000, interval: 50 });
    await expectStoreError(old.channelCreated(newChannel(1)), "FENCED");
    expect(await standby.channels()).toEqual([]);
  });

  it("a writer process SIGSTOPped mid-stream is taken over; SIGCONTed, it commits nothing more and stops on FENCED", async () => {
    const schema = freshSchema("lease");
    const ttlMs = 1_000;
    const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", WRITER, server.url, schema, String(ttlMs)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
    try {
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const lines: string[] = [];
      let buffered = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const parts = buffered.split("\n");
        buffered = parts.pop() ?? "";
        lines.push(...parts);
      });
      const acked = () => lines.filter((l) => /^0 \d+$/.test(l)).map((l) => BigInt(l.slice(2)));
      for (let waited = 0; acked().length < 50; waited += 50) {
        if (waited > 30_000 || child.exitCode !== null) throw new Error(`the writer did not get going: ${stderr}`);
        await sleep(50);
      }
      child.kill("SIGSTOP");
      const stoppedAt = Date.now();
      const standby = await open(schema, { holder: "standby", ttlMs: 5_000 });
      const tookOverMs = Date.now() - stoppedAt;
      expect(standby.leaseEpoch).toBe("2");
      // Within the lease and the retry, plus the open itself (slow on a loaded machine).
      expect(tookOverMs).toBeLessThan(ttlMs + 5_000);
      const ch = newChannel(0);
      const loaded = (await standby.channel(ch.channelId))!.latest!.state.nonce;
      // Every state the paused writer acknowledged before the stop is in the database.
      expect(loaded).toBeGreaterThanOrEqual(acked().at(-1)!);

      child.kill("SIGCONT");
      expect(await exited).toBe(3);
      expect(lines.find((l) => l.startsWith("refused"))).toMatch(/^refused (FENCED|WRITE_FAILED)$/);
      // It acknowledged nothing the standby did not load, and the database holds nothing past it.
      expect(acked().at(-1)!).toBeLessThanOrEqual(loaded);
      const history = await standby.history(ch.channelId, { newestFirst: true, limit: 1 });
      expect(history[0]!.signed.state.nonce).toBe(loaded);
      await standby.stateAgreed(ch.channelId, signedState(ch, loaded + 1n), paymentUpdate(1n));
    } finally {
      clearTimeout(guard);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGCONT");
        child.kill("SIGKILL");
        await exited;
      }
    }
  }, 90_000);
});
