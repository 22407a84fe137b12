// The PostgreSQL store against a real server (test/helpers/postgres.ts): the shared store suite
// (store-suite.ts) and storage suite (storage-suite.ts), which reach the database's tables to fail,
// hold and damage writes; then what only a database has — text escaping, deposing an earlier
// instance, the schema and its migrations, its settings, the server being unreachable or going away.
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { PostgresStore, type PostgresStoreOptions } from "../../channel-node/src/store/postgres-store.js";
import { LATEST_SCHEMA_VERSION, migrate } from "../../channel-node/src/store/postgres-schema.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { newChannel, paymentUpdate, signedState } from "./fixtures.js";
import { expectStoreError, storeSuite } from "./store-suite.js";
import { storageSuite, type StorageOptions } from "./storage-suite.js";

reportPostgresSkip("the PostgreSQL store suites");

const WRITER = fileURLToPath(new URL("./postgres-writer.ts", import.meta.url));

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
  /** Opens the store in `schema`, remembered for reopening. */
  async function openIn(schema: string, options: StorageOptions = {}): Promise<PostgresStore> {
    const store = await open({
      schema,
      ...(options.chain === undefined ? {} : { chain: options.chain }),
      ...(options.maxBatchWrites === undefined ? {} : { maxBatchRows: options.maxBatchWrites }),
    });
    schemas.set(store, schema);
    return store;
  }
  const schemaOf = (store: PostgresStore) => schemas.get(store)!;

  storeSuite("PostgresStore", {
    create: () => openIn(freshSchema()),
    async reopen(store) {
      await store.close();
      return openIn(schemaOf(store));
    },
    batches: (store) => store.stats.batches,
    cleanup,
  });

  storageSuite("PostgresStore", {
    create: (options) => openIn(freshSchema(), options),
    openAgain: (store, options) => openIn(schemaOf(store), options),
    stats: (store) => ({ batches: store.stats.batches, events: store.stats.events, writes: store.stats.rows, largestBatch: store.stats.largestBatch }),
    async failWrites(store) {
      // The database refuses the history row of nonce 2 (a trigger): the transaction must roll back whole.
      const admin = await sql(schemaOf(store));
      await admin.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`);
      await admin.query("CREATE TRIGGER refuse BEFORE INSERT ON history FOR EACH ROW WHEN (NEW.nonce = 2) EXECUTE FUNCTION refuse()");
      return { undo: async () => void (await admin.query("DROP TRIGGER refuse ON history")) };
    },
    async holdWrites(store) {
      // Another session holds the channels table: the store's transaction waits inside its upsert.
      const blocker = await sql(schemaOf(store));
      await blocker.query("BEGIN");
      await blocker.query("LOCK TABLE channels IN EXCLUSIVE MODE");
      return { release: async () => void (await blocker.query("COMMIT")) };
    },
    damages(store) {
      const schema = schemaOf(store);
      const run = async (text: string) => void (await (await sql(schema)).query(text));
      return [
        {
          what: "a channel record with an unknown status",
          apply: () => run(`UPDATE channels SET record = replace(record, '"status":"proposed"', '"status":"lost"')`),
          repair: () => run(`UPDATE channels SET record = replace(record, '"status":"lost"', '"status":"proposed"')`),
        },
        {
          what: "a negative watcher cursor",
          apply: () => run("INSERT INTO meta (key, value) VALUES ('lastBlock', '-3')"),
          repair: () => run("DELETE FROM meta WHERE key = 'lastBlock'"),
        },
      ];
    },
    crashWriter: (store, channels) => [WRITER, server.url, schemaOf(store), "none", String(channels)],
    crash: { rounds: 3, channels: 16, killAfter: [200, 800], timeoutMs: 120_000 },
    wrongChainNames: (store) => `schema ${schemaOf(store)}`,
    cleanup,
  });

  describe("PostgresStore specifics", () => {
    afterEach(cleanup);

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

    it("refuses a malformed schema name or setting (INVALID_ARGUMENT)", async () => {
      const schema = freshSchema();
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

    it("an unreachable database is UNAVAILABLE at open; the URL's password never appears in the error", async () => {
      const error = await PostgresStore.open({ url: `postgres://clearline:s3cret@127.0.0.1:1/postgres`, schema: "public", statementTimeoutMs: 2_000 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "UNAVAILABLE" });
      expect(String((error as Error).message)).not.toContain("s3cret");
    });

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
