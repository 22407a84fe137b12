// The PostgreSQL store against a real server (test/helpers/postgres.ts): the shared store suite,
// then what is specific to a database — a failed transaction, acknowledgement only after commit,
// the schema and its migrations, damaged rows, the chain binding, the server going away.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { getAddress } from "ethers";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { channelIdOf } from "../../client/protocol/encoding.js";
import type { ChainBinding } from "../../client/store/chain-binding.js";
import { PostgresStore, type PostgresStoreOptions } from "../../channel-node/src/store/postgres-store.js";
import { LATEST_SCHEMA_VERSION, migrate } from "../../channel-node/src/store/postgres-schema.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { DEPLOYMENT, newChannel, paymentUpdate, proposal, signedState } from "./fixtures.js";
import { expectStoreError, storeSuite } from "./store-suite.js";

reportPostgresSkip("the PostgreSQL store suites");

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const WRITER = fileURLToPath(new URL("./postgres-writer.ts", import.meta.url));
const CHAIN: ChainBinding = { ...DEPLOYMENT, genesisHash: `0x${"01".repeat(32)}` };

describe.skipIf(POSTGRES_MISSING !== null)(`PostgresStore${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  const stores: PostgresStore[] = [];
  const clients: pg.Client[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });

  async function open(options: Partial<PostgresStoreOptions> & { schema: string }): Promise<PostgresStore> {
    const store = await PostgresStore.open({ url: server.url, ...options });
    stores.push(store);
    return store;
  }

  /** A plain connection to the test server, with `schema` as its search path. */
  async function sql(schema: string): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: server.url, options: `-c search_path=${schema}` });
    client.on("error", () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  }

  async function cleanup(): Promise<void> {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
  }

  const schemas = new WeakMap<PostgresStore, string>();
  storeSuite("PostgresStore", {
    async create() {
      const schema = freshSchema();
      const store = await open({ schema });
      schemas.set(store, schema);
      return store;
    },
    async reopen(store) {
      const schema = schemas.get(store)!;
      await store.close();
      const reopened = await open({ schema });
      schemas.set(reopened, schema);
      return reopened;
    },
    batches: (store) => store.stats.batches,
    cleanup,
  });

  describe("PostgresStore specifics", () => {
    afterEach(cleanup);

    it("a failed transaction writes neither the latest state nor its history entry, and poisons the store", async () => {
      const schema = freshSchema();
      const store = await open({ schema });
      const ch = newChannel(1);
      await store.channelCreated(ch);
      await store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
      await store.proposalRecorded(ch.channelId, proposal(ch, 2n, 0));
      // The database refuses the history row of nonce 2 (a trigger): the transaction must roll back whole.
      const admin = await sql(schema);
      await admin.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await admin.query("CREATE TRIGGER refuse BEFORE INSERT ON history FOR EACH ROW WHEN (NEW.nonce = 2) EXECUTE FUNCTION refuse()");

      const failing = store.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n));
      const queuedBehind = store.blockProcessed(5);
      await expectStoreError(failing, "WRITE_FAILED");
      await expectStoreError(queuedBehind, "WRITE_FAILED");
      await expectStoreError(store.blockProcessed(6), "WRITE_FAILED");
      expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
      expect(await store.history(ch.channelId)).toHaveLength(1);
      expect(await store.lastProcessedBlock()).toBeNull();

      await store.close();
      await admin.query("DROP TRIGGER refuse ON history");
      const reopened = await open({ schema });
      const record = await reopened.channel(ch.channelId);
      expect(record?.latest?.state.nonce).toBe(1n);
      expect(record?.pending?.signed.state.nonce).toBe(2n);
      expect((await reopened.history(ch.channelId)).map((e) => e.signed.state.nonce)).toEqual([1n]);
      expect(await reopened.lastProcessedBlock()).toBeNull();
      await reopened.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n));
    });

    it("neither acknowledges nor shows a write before its transaction committed", async () => {
      const schema = freshSchema();
      const store = await open({ schema });
      const ch = newChannel(1);
      await store.channelCreated(ch);
      // Another session holds the channels table: the store's transaction waits inside its upsert.
      const blocker = await sql(schema);
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE channels IN EXCLUSIVE MODE");
      const write = store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
      let acknowledged = false;
      void write.then(() => (acknowledged = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(acknowledged, "acknowledged before its transaction committed").toBe(false);
      expect((await store.channel(ch.channelId))?.latest).toBeNull();
      expect(await store.history(ch.channelId)).toEqual([]);
      // ...but later writes are validated against it already.
      await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n)), "STALE_STATE");
      await blocker.query("COMMIT");
      await write;
      expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
      const { rows } = await blocker.query<{ n: string }>("SELECT count(*)::text AS n FROM history");
      expect(rows[0]!.n).toBe("1");
    });

    it("stores text needing escapes exactly (quotes, apostrophes, backslashes, braces, commas, semicolons, newlines, emoji), and refuses an event id it cannot store", async () => {
      const schema = freshSchema();
      const store = await open({ schema });
      const ch = newChannel(1);
      await store.channelCreated(ch);
      const awkward = 'a "quoted" \'single\' \'\' \\ back\\slash, {braces}, NULL\n tab\t € 🚀 \\"; SELECT 1; --';
      const facts = JSON.stringify({ note: awkward, list: ["{", "}", ","] }, null, 2);
      const eventId = `ev ${awkward}`;
      await store.factsSaved(facts);
      await store.channelOpened(ch.channelId, eventId);
      await store.stateAgreed(ch.channelId, signedState(ch, 1n), { ...paymentUpdate(1n), memo: awkward });
      for (const bad of ["nul\u0000id", "lone \ud800 surrogate"]) {
        await expectStoreError(store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 0, amount: 1n }, bad), "INVALID_ARGUMENT");
        await expectStoreError(store.eventApplied(bad), "INVALID_ARGUMENT");
      }
      await store.blockProcessed(3); // still writable: the refusals changed nothing
      await store.close();
      const reopened = await open({ schema });
      expect(await reopened.facts()).toBe(facts);
      expect(await reopened.eventApplied(eventId)).toBe(true);
      expect(await reopened.channelOpened(ch.channelId, eventId)).toBe(false);
      expect((await reopened.history(ch.channelId))[0]!.update.memo).toBe(awkward);
      expect((await reopened.channel(ch.channelId))?.deposits[0]).toEqual([0n, 0n]);
    });

    it("a store opened on the same schema deposes the earlier instance at once: its next write is FENCED and commits nothing", async () => {
      const schema = freshSchema();
      const ch = newChannel(1);
      const fenced: string[] = [];
      const first = await open({ schema, onFenced: (e) => fenced.push(e.code) });
      await first.channelCreated(ch);
      const second = await open({ schema });
      expect(BigInt(second.leaseEpoch)).toBe(BigInt(first.leaseEpoch) + 1n);
      await expectStoreError(first.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n)), "FENCED");
      expect(fenced).toEqual(["FENCED"]);
      await second.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n, 7));
      expect((await second.history(ch.channelId)).map((e) => e.update.at)).toEqual([7]);
    });

    it("concurrent channels share one transaction; a channel written many times in it keeps the last record", async () => {
      const schema = freshSchema();
      const store = await open({ schema, maxBatchRows: 1_000_000 });
      const channels = Array.from({ length: 20 }, (_, i) => newChannel(i));
      await Promise.all(channels.map((c) => store.channelCreated(c)));
      const before = store.stats.batches;
      await Promise.all(channels.flatMap((c) => [1n, 2n, 3n].map((n) => store.stateAgreed(c.channelId, signedState(c, n), paymentUpdate(n)))));
      expect(store.stats.batches - before).toBe(1);
      expect(store.stats.largestBatch).toBe(60);
      await store.close();
      const reopened = await open({ schema });
      for (const c of channels) {
        expect((await reopened.channel(c.channelId))?.latest?.state.nonce).toBe(3n);
        expect((await reopened.history(c.channelId)).map((e) => e.signed.state.nonce)).toEqual([1n, 2n, 3n]);
      }
    });

    it("never splits an event across transactions, whatever the row limit", async () => {
      const schema = freshSchema();
      const store = await open({ schema, maxBatchRows: 5 });
      const channels = Array.from({ length: 10 }, (_, i) => newChannel(i));
      await Promise.all(channels.map((c) => store.channelCreated(c)));
      const before = store.stats;
      await Promise.all(channels.flatMap((c) => [1n, 2n, 3n].map((n) => store.stateAgreed(c.channelId, signedState(c, n), paymentUpdate(n)))));
      // Two rows per agreed state, at most five rows per transaction: two states each, never one and a half.
      expect(store.stats.batches - before.batches).toBe(15);
      expect(store.stats.rows - before.rows).toBe(60);
      expect(store.stats.events - before.events).toBe(30);
    });

    it("creates the schema versioned, migrates an older one, and refuses a newer one (SCHEMA_TOO_NEW) without changing it", async () => {
      const schema = freshSchema();
      const admin = await sql(schema);
      expect(await migrate(admin, schema, 1)).toBe(1);
      const tables = async () =>
        (await admin.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1", [schema])).rows.map((r) => r.table_name);
      expect(await tables()).not.toContain("leader");
      const store = await open({ schema });
      expect(await tables()).toEqual(["channels", "events", "history", "invoices", "leader", "meta", "schema_version", "secrets"]);
      const versions = async () => (await admin.query<{ version: number }>("SELECT version FROM schema_version ORDER BY version")).rows.map((r) => r.version);
      expect(await versions()).toEqual([1, 2, 3]);
      expect(LATEST_SCHEMA_VERSION).toBe(3);
      await store.channelCreated(newChannel(1));
      await store.close();

      await admin.query("INSERT INTO schema_version (version) VALUES (4)");
      const error = await PostgresStore.open({ url: server.url, schema }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "SCHEMA_TOO_NEW", details: { schema, version: 4, known: 3 } });
      expect(await versions()).toEqual([1, 2, 3, 4]);
      await admin.query("DELETE FROM schema_version WHERE version = 4");
      expect((await (await open({ schema })).channels()).length).toBe(1);
    });

    it("two nodes opening a fresh schema at once migrate it exactly once", async () => {
      const schema = freshSchema();
      const [a, b] = await Promise.all([open({ schema }), open({ schema })]);
      expect(a).toBeDefined();
      expect(b).toBeDefined();
      const admin = await sql(schema);
      expect((await admin.query("SELECT version FROM schema_version ORDER BY version")).rows).toEqual([{ version: 1 }, { version: 2 }, { version: 3 }]);
    });

    it("reports a damaged record as CORRUPT and refuses a malformed schema name or setting (INVALID_ARGUMENT)", async () => {
      const schema = freshSchema();
      const store = await open({ schema });
      const ch = newChannel(1);
      await store.channelCreated(ch);
      await store.close();
      const admin = await sql(schema);
      await admin.query(`UPDATE channels SET record = replace(record, '"status":"proposed"', '"status":"lost"')`);
      await expectStoreError(PostgresStore.open({ url: server.url, schema }), "CORRUPT");
      await admin.query(`UPDATE channels SET record = replace(record, '"status":"lost"', '"status":"proposed"')`);
      await admin.query("INSERT INTO meta (key, value) VALUES ('lastBlock', '-3')");
      await expectStoreError(PostgresStore.open({ url: server.url, schema }), "CORRUPT");
      for (const bad of ["Public", "a-b", "x; DROP TABLE channels", "", "1abc"]) {
        await expectStoreError(PostgresStore.open({ url: server.url, schema: bad }), "INVALID_ARGUMENT");
      }
      const badOptions: Partial<PostgresStoreOptions>[] = [
        { url: "" },
        { poolSize: 0 },
        { statementTimeoutMs: 1.5 },
        { maxBatchRows: -1 },
        { lease: { ttlMs: 0 } },
        { lease: { renewMs: Number.NaN } },
        { lease: { holder: "" } },
        { lease: { holder: "x\u0000y" } },
      ];
      for (const bad of badOptions) {
        await expectStoreError(PostgresStore.open({ url: server.url, schema, ...bad }), "INVALID_ARGUMENT");
      }
    });

    it("is bound to one chain: a restarted chain is refused with WRONG_CHAIN and the store stays as it was", async () => {
      const schema = freshSchema();
      const store = await open({ schema, chain: CHAIN });
      expect(store.chain).toEqual(CHAIN);
      await store.channelCreated(newChannel(1));
      await store.close();
      const restarted = { ...CHAIN, genesisHash: `0x${"02".repeat(32)}` };
      const error = await PostgresStore.open({ url: server.url, schema, chain: restarted }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "WRONG_CHAIN" });
      expect(String((error as Error).message)).toContain("the chain was restarted or replaced");
      expect(String((error as Error).message)).toContain(`schema ${schema}`);
      const again = await open({ schema, chain: CHAIN });
      expect((await again.channels()).length).toBe(1);
      const foreign = newChannel(2);
      const deployment = { chainId: DEPLOYMENT.chainId, adjudicator: getAddress(`0x${"be".repeat(20)}`) };
      await expectStoreError(again.channelCreated({ ...foreign, deployment, channelId: channelIdOf(foreign.params, deployment.chainId, deployment.adjudicator) }), "WRONG_CHAIN");
      expect((await again.channels()).length).toBe(1);
    });

    it("an unreachable database is UNAVAILABLE at open; the URL's password never appears in the error", async () => {
      const error = await PostgresStore.open({ url: `postgres://clearline:s3cret@127.0.0.1:1/postgres`, schema: "public", statementTimeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "UNAVAILABLE" });
      expect(String((error as Error).message)).not.toContain("s3cret");
    });

    it("every acknowledged state survives SIGKILL of the writing process (3 crashes, same schema)", async () => {
      const schema = freshSchema("crash");
      const channels = Array.from({ length: 16 }, (_, i) => newChannel(i));
      const acked = new Map<number, bigint>();
      for (let round = 0; round < 3; round++) {
        // Kill after a varying number of acknowledgements so the kill lands at different points of a transaction.
        const killAfter = 200 + Math.floor(Math.random() * 800);
        const child = spawn(process.execPath, ["--import", "tsx", WRITER, server.url, schema, "none", String(channels.length)], {
          cwd: REPO,
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
        let buffered = "";
        let count = 0;
        child.stdout.on("data", (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          for (const line of lines) {
            if (!/^\d+ \d+$/.test(line)) continue;
            const [index, nonce] = line.split(" ");
            const n = BigInt(nonce!);
            if (n > (acked.get(Number(index)) ?? 0n)) acked.set(Number(index), n);
            count += 1;
          }
          if (count >= killAfter && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        });
        const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
        const ended = await exited;
        clearTimeout(guard);
        expect(ended, `writer ended on its own: ${stderr}`).toBe("SIGKILL");
        expect(count).toBeGreaterThanOrEqual(killAfter);

        const store = await open({ schema });
        for (const [index, nonce] of acked) {
          const c = channels[index]!;
          const record = await store.channel(c.channelId);
          const latest = record?.latest?.state.nonce ?? 0n;
          expect(latest, `channel ${index}: acknowledged ${nonce}, stored ${latest}`).toBeGreaterThanOrEqual(nonce);
          const history = await store.history(c.channelId);
          // Complete and consistent: nonces 1..latest, the last one being the latest state (never split).
          expect(history.map((e) => e.signed.state.nonce)).toEqual(Array.from({ length: Number(latest) }, (_, i) => BigInt(i + 1)));
          expect(history.at(-1)?.signed).toEqual(record?.latest);
        }
        await store.close();
        stores.splice(stores.indexOf(store), 1);
      }
      expect(acked.size).toBe(channels.length);
    }, 120_000);

    it("while the server is down: reads UNAVAILABLE, writes WRITE_FAILED; after it restarts, a reopened store holds every acknowledged write", async () => {
      const schema = freshSchema();
      const store = await open({ schema });
      const ch = newChannel(1);
      await store.channelCreated(ch);
      for (let n = 1n; n <= 5n; n++) await store.stateAgreed(ch.channelId, signedState(ch, n), paymentUpdate(n));
      await server.stop();
      try {
        await expectStoreError(store.history(ch.channelId), "UNAVAILABLE");
        await expectStoreError(store.eventApplied("e"), "UNAVAILABLE");
        await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 6n), paymentUpdate(6n)), "WRITE_FAILED");
        await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 7n), paymentUpdate(7n)), "WRITE_FAILED");
        await expectStoreError(PostgresStore.open({ url: server.url, schema, statementTimeoutMs: 2_000 }), "UNAVAILABLE");
      } finally {
        await server.start();
      }
      const reopened = await open({ schema });
      expect((await reopened.channel(ch.channelId))?.latest?.state.nonce).toBe(5n);
      expect(await reopened.history(ch.channelId)).toHaveLength(5);
      await reopened.stateAgreed(ch.channelId, signedState(ch, 6n), paymentUpdate(6n));
    });
  });
});
