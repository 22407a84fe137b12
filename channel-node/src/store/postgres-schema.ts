/**
 * The PostgreSQL store's schema, created and migrated by the node itself. Each migration runs once,
 * in order, inside one transaction that also records its version in `schema_version`; concurrent
 * openers (an active node and its standby) serialize on an advisory lock, so a migration never runs
 * twice. A database holding a version newer than this code knows is refused (SCHEMA_TOO_NEW): an
 * older node must not write into a layout it does not understand.
 *
 * Values are the LevelDB store's JSON (client/store/codec.ts) in `text` columns: one codec for both
 * stores, validated on every read.
 */
import type pg from "pg";
import { StoreError } from "../../../client/store/errors.js";

/** The SQLSTATE check_lease() raises when the caller no longer holds an unexpired lease. */
export const FENCED_SQLSTATE = "CL001";

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "channels, history, applied chain events, secrets, invoices, meta",
    statements: [
      "CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)",
      "CREATE TABLE channels (channel_id text PRIMARY KEY, record text NOT NULL)",
      "CREATE TABLE history (channel_id text NOT NULL, nonce numeric(20, 0) NOT NULL, entry text NOT NULL, PRIMARY KEY (channel_id, nonce))",
      "CREATE TABLE events (event_id text PRIMARY KEY, channel_id text NOT NULL)",
      "CREATE TABLE secrets (hashlock text PRIMARY KEY, secret text NOT NULL)",
      "CREATE TABLE invoices (hashlock text PRIMARY KEY, expires_at bigint NOT NULL)",
    ],
  },
  {
    version: 2,
    description: "the leader lease (fencing of active and standby nodes)",
    statements: ["CREATE TABLE leader (id smallint PRIMARY KEY CHECK (id = 1), epoch bigint NOT NULL, holder text NOT NULL, expires_at timestamptz NOT NULL)"],
  },
  {
    version: 3,
    description: "check_lease(): the lease check run first in every write transaction of a lease holder",
    statements: [
      `CREATE FUNCTION check_lease(p_epoch bigint, p_holder text) RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
       BEGIN
         PERFORM 1 FROM leader WHERE id = 1 AND epoch = p_epoch AND holder = p_holder AND expires_at > clock_timestamp() FOR SHARE;
         IF NOT FOUND THEN
           RAISE EXCEPTION 'the leader lease of epoch % is lost', p_epoch USING ERRCODE = '${FENCED_SQLSTATE}';
         END IF;
       END $$`,
    ],
  },
];

/** The version this code writes. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** INVALID_ARGUMENT unless `schema` is a plain lowercase identifier (it is interpolated into SQL). */
export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError("INVALID_ARGUMENT", "a schema name is 1–63 characters of a-z, 0-9 and _, not starting with a digit", { schema });
  }
}

/**
 * Creates `schema` and brings it to `target` (default: the latest version) on `client`. Resolves with the version now in place. SCHEMA_TOO_NEW (and nothing
 * changed) when the database is ahead of this code.
 */
export async function migrate(client: pg.ClientBase, schema: string, target = LATEST_SCHEMA_VERSION): Promise<number> {
  return migrateWith(client, schema, MIGRATIONS, target);
}

/** As `migrate`, for another versioned layout in a schema of its own (e.g. the shard map, channel-node/src/shards/). */
export async function migrateWith(client: pg.ClientBase, schema: string, migrations: readonly Migration[], target = migrations.at(-1)!.version): Promise<number> {
  const latest = migrations.at(-1)!.version;
  checkSchemaName(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`clearline-schema:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number | null }>(`SELECT max(version) AS version FROM ${schema}.schema_version`);
    const current = rows[0]?.version ?? 0;
    if (current > latest) {
      throw new StoreError(
        "SCHEMA_TOO_NEW",
        `the database schema ${schema} is at version ${current}; this node knows versions up to ${latest}: run a node at least as new as the one that migrated it`,
        { schema, version: current, known: latest },
      );
    }
    for (const migration of migrations) {
      if (migration.version <= current || migration.version > target) continue;
      for (const statement of migration.statements) await client.query(statement);
      await client.query(`INSERT INTO ${schema}.schema_version (version) VALUES ($1)`, [migration.version]);
    }
    await client.query("COMMIT");
    return Math.max(current, Math.min(target, latest));
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
