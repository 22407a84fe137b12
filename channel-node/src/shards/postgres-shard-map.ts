// The shard map in PostgreSQL, in a schema of its own shared by every shard of the venue (each shard
// keeps its channels in its own schema, with its own leader lease): `shards` (id → public URL, each
// shard registers itself at start) and `investors` (investor → shard, a pin). An investor nobody
// pinned is pinned to its hash default by the first shard it reaches; `claim` pins the investors of
// a shard's live channels to it. Pins change only by the operator's hand (docs/operations.md,
// "Adding a shard"), so the answer for an investor never changes under it.
import pg from "pg";
import type { Address } from "../../../client/protocol/types.js";
import { migrateWith, type Migration } from "../store/postgres-schema.js";
import { defaultShardOf } from "./assignment.js";
import { ShardError } from "./errors.js";
import { checkClaim, type ShardEntry, type ShardMap } from "./shard-map.js";

export const SHARD_MAP_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "the shard map: shards (id → public URL), investors pinned to a shard",
    statements: [
      "CREATE TABLE shards (shard_id text PRIMARY KEY, url text NOT NULL, registered_at timestamptz NOT NULL DEFAULT now())",
      "CREATE TABLE investors (investor text PRIMARY KEY, shard_id text NOT NULL REFERENCES shards (shard_id), pinned_at timestamptz NOT NULL DEFAULT now())",
    ],
  },
];

export interface PostgresShardMapOptions {
  readonly url: string;
  readonly schema: string;
  readonly self: ShardEntry;
  /** A connection attempt or statement taking longer fails (SHARD_MAP_UNAVAILABLE). */
  readonly statementTimeoutMs: number;
}

/** Connections the map holds at most: lookups happen once per handshake, not per update. */
const POOL_SIZE = 2;

export class PostgresShardMap implements ShardMap {
  private constructor(
    readonly self: ShardEntry,
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {}

  /** Creates or migrates the map's schema and registers this shard's URL. SHARD_MAP_UNAVAILABLE when the database cannot be reached. */
  static async open(options: PostgresShardMapOptions): Promise<PostgresShardMap> {
    const pool = new pg.Pool({
      connectionString: options.url,
      connectionTimeoutMillis: options.statementTimeoutMs,
      options: `-c statement_timeout=${options.statementTimeoutMs}`,
      max: POOL_SIZE,
    });
    pool.on("error", () => undefined); // an idle connection's error surfaces as a failed query later
    const map = new PostgresShardMap(options.self, pool, options.schema);
    try {
      const client = await pool.connect().catch((error: unknown) => {
        throw unavailable(error);
      });
      try {
        await migrateWith(client, options.schema, SHARD_MAP_MIGRATIONS).catch((error: unknown) => {
          throw error instanceof Error && "code" in error && error.code === "SCHEMA_TOO_NEW" ? error : unavailable(error);
        });
      } finally {
        client.release();
      }
      await map.query(`INSERT INTO ${options.schema}.shards (shard_id, url) VALUES ($1, $2) ON CONFLICT (shard_id) DO UPDATE SET url = EXCLUDED.url`, [options.self.id, options.self.url]);
      return map;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }

  async shardOf(investor: Address): Promise<ShardEntry> {
    const pinned = await this.pinOf(investor);
    if (pinned !== undefined) return pinned;
    const { rows } = await this.query<{ shard_id: string }>(`SELECT shard_id FROM ${this.schema}.shards`);
    const chosen = defaultShardOf(investor, rows.map((row) => row.shard_id));
    // A concurrent pin by another shard wins; both then read the same row.
    await this.query(`INSERT INTO ${this.schema}.investors (investor, shard_id) VALUES ($1, $2) ON CONFLICT (investor) DO NOTHING`, [investor, chosen]);
    const now = await this.pinOf(investor);
    if (now === undefined) throw unavailable(new Error(`the pin of ${investor} vanished`));
    return now;
  }

  async shards(): Promise<readonly ShardEntry[]> {
    const { rows } = await this.query<{ shard_id: string; url: string }>(`SELECT shard_id, url FROM ${this.schema}.shards ORDER BY shard_id`);
    return rows.map((row) => ({ id: row.shard_id, url: row.url }));
  }

  async claim(investors: readonly Address[]): Promise<void> {
    if (investors.length === 0) return;
    await this.query(`INSERT INTO ${this.schema}.investors (investor, shard_id) SELECT unnest($1::text[]), $2 ON CONFLICT (investor) DO NOTHING`, [investors, this.self.id]);
    const { rows } = await this.query<{ investor: Address; shard_id: string }>(
      `SELECT investor, shard_id FROM ${this.schema}.investors WHERE investor = ANY($1::text[]) AND shard_id <> $2`,
      [investors, this.self.id],
    );
    checkClaim(this.self.id, new Map(rows.map((row) => [row.investor, row.shard_id])));
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private async pinOf(investor: Address): Promise<ShardEntry | undefined> {
    const { rows } = await this.query<{ shard_id: string; url: string }>(
      `SELECT i.shard_id, s.url FROM ${this.schema}.investors i JOIN ${this.schema}.shards s USING (shard_id) WHERE i.investor = $1`,
      [investor],
    );
    const row = rows[0];
    return row === undefined ? undefined : { id: row.shard_id, url: row.url };
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
    try {
      return await this.pool.query<R>(text, values);
    } catch (error) {
      throw unavailable(error);
    }
  }
}

function unavailable(error: unknown): ShardError {
  return new ShardError("SHARD_MAP_UNAVAILABLE", `the shard map cannot be read: ${error instanceof Error ? error.message : String(error)}`);
}
