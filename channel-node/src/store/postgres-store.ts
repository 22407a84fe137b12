/**
 * The node's ChannelStore on PostgreSQL, with group commit — the LevelDB store's design
 * (client/store/level-store.ts) on a database that can be replicated and shared by a standby.
 *
 * Same semantics: every event goes through the pure transitions (client/store/transitions.ts) in
 * call order against `working` (every accepted event); reads answer from `committed` (what the
 * database holds). One writer connection takes everything queued (whole events, up to
 * `maxBatchRows` rows) and writes it as ONE transaction with synchronous_commit on; each caller's
 * promise resolves once that transaction committed, so an agreed state is durable (and, with
 * synchronous replication, on the standby) before the node countersigns it. Writes arriving while a
 * transaction commits form the next one: concurrent channels share the commit.
 *
 * A transaction is one query message, one round trip (postgres-batch.ts: rows folded per key, one
 * statement per table). Abandoning a channel deletes its history by channel, so it forms a
 * transaction of its own, as in the LevelDB store.
 *
 * A failed transaction poisons the store (WRITE_FAILED for every later write): `working` may be
 * ahead of the database; the process restarts and reopens. Every transaction first checks that
 * this instance still holds the store (postgres-lease.ts): opened without a lease it takes it over at
 * once, deposing any other instance; a lost lease poisons the store with FENCED, and nothing more is
 * ever committed by this instance.
 */
import pg from "pg";
import type { Bytes32 } from "../../../client/protocol/types.js";
import { BatchedStore, type BatchedBackendOps, type BatchedState } from "../../../client/store/batched-store.js";
import { decodeChainBinding, encodeChainBinding, resolveChainBinding, type ChainBinding } from "../../../client/store/chain-binding.js";
import { decodeHistoryEntry, encodeHistoryEntry, encodeRecord } from "../../../client/store/codec.js";
import { RecordLoader } from "../../../client/store/record-loader.js";
import { StoreError, isStoreError } from "../../../client/store/errors.js";
import type { ChannelRecord, HistoryEntry, HistoryOptions } from "../../../client/store/store.js";
import { checkEventId, checkSecret } from "../../../client/store/transitions.js";
import { storableText } from "./postgres-arrays.js";
import { transactionSql, type Op } from "./postgres-batch.js";
import { leaseSettings, releaseLease, renewLease, takeOverLease, tryAcquireLease, type LeaseGrant, type LeaseOptions, type LeaseSettings } from "./postgres-lease.js";
import { FENCED_SQLSTATE, checkSchemaName, migrate } from "./postgres-schema.js";

export interface PostgresStoreOptions {
  /** postgres://user:password@host:port/database (the `pg` client's connection string). */
  readonly url: string;
  /** The schema holding the store's tables (default "public"); one per node, or per shard. */
  readonly schema?: string;
  /** Connections for reads and lease renewals (default 4); writes use one connection of their own. */
  readonly poolSize?: number;
  /** A connection attempt, a statement, or a transaction left idle is given up after this long (default 10,000 ms). */
  readonly statementTimeoutMs?: number;
  /** A transaction takes whole events until it holds this many rows (default 16,384; one event may exceed it). */
  readonly maxBatchRows?: number;
  /** As LevelStoreOptions.chain: the chain the store belongs to (WRONG_CHAIN otherwise). */
  readonly chain?: ChainBinding;
  /** As LevelStoreOptions.adoptLegacy. */
  readonly adoptLegacy?: (channels: readonly ChannelRecord[]) => Promise<boolean>;
  /**
   * Wait for the leader lease (another holder's to expire) and hold it, renewing it. Without this
   * option the store takes the lease at once, without expiry, deposing any other instance (the
   * process it restarts). Either way every write transaction checks it (FENCED otherwise).
   */
  readonly lease?: LeaseOptions;
  /** Called once when the lease is lost: the store refuses every later write with FENCED. */
  readonly onFenced?: (error: StoreError<"FENCED">) => void;
  /** Called once when a write transaction failed (the database went away, a timeout): the store refuses every later write with WRITE_FAILED. */
  readonly onFailed?: (error: StoreError<"WRITE_FAILED">) => void;
  /** Called after each transaction committed with how long it took (ms). */
  readonly onBatch?: (ms: number) => void;
}

/** Counters of what was committed, for tests, benchmarks and metrics. */
export interface PostgresStoreStats {
  /** Transactions that committed rows. */
  readonly batches: number;
  /** Write calls (events) whose transaction committed, no-ops included. */
  readonly events: number;
  /** Rows written or deleted by those transactions, before folding. */
  readonly rows: number;
  /** The most events one transaction carried. */
  readonly largestBatch: number;
}

interface Job {
  readonly ops: readonly Op[];
  readonly publish: (() => void) | null;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

const META_LAST_BLOCK = "lastBlock";
const META_FACTS = "facts";
const META_CHAIN = "chain";
const DECIMAL = /^(0|[1-9][0-9]*)$/;

/** INVALID_ARGUMENT unless every numeric setting is a positive safe integer and the URL and lease holder are text. */
function checkOptions(options: PostgresStoreOptions): void {
  if (options === null || typeof options !== "object" || typeof options.url !== "string" || options.url.length === 0) {
    throw new StoreError("INVALID_ARGUMENT", "the PostgreSQL store needs { url: a postgres:// connection URL }");
  }
  const numbers: [string, unknown][] = [
    ["poolSize", options.poolSize],
    ["statementTimeoutMs", options.statementTimeoutMs],
    ["maxBatchRows", options.maxBatchRows],
    ["lease.ttlMs", options.lease?.ttlMs],
    ["lease.renewMs", options.lease?.renewMs],
    ["lease.retryMs", options.lease?.retryMs],
  ];
  for (const [field, value] of numbers) {
    if (value !== undefined && (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1)) {
      throw new StoreError("INVALID_ARGUMENT", `${field} must be a positive integer`, { field, value: String(value) });
    }
  }
  const holder = options.lease?.holder;
  if (holder !== undefined && (typeof holder !== "string" || holder.length === 0 || holder.length > 200 || !storableText(holder))) {
    throw new StoreError("INVALID_ARGUMENT", "lease.holder must be 1–200 characters of text", { field: "lease.holder" });
  }
}

/** checkEventId, and INVALID_ARGUMENT for an id PostgreSQL cannot store exactly (instead of a failed transaction). */
function checkStorableEventId(eventId: string): void {
  checkEventId(eventId);
  if (!storableText(eventId)) throw new StoreError("INVALID_ARGUMENT", "an event id holds a NUL character or a lone surrogate, which PostgreSQL cannot store");
}

/** The URL without its password, and the schema: how errors and logs name the store. */
export function describeLocation(url: string, schema: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return `${parsed.toString()} (schema ${schema})`;
  } catch {
    return `(unparseable PostgreSQL URL) (schema ${schema})`;
  }
}

function unavailable(location: string, cause: unknown): StoreError<"UNAVAILABLE"> {
  return new StoreError("UNAVAILABLE", `the database ${location} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { location }, { cause });
}

/** The store's rows, with its chain binding still as stored text. */
interface Loaded extends Omit<BatchedState, "chain"> {
  readonly chainText: string | null;
}

/** Each event as rows (postgres-batch.ts). */
const postgresOps: BatchedBackendOps<Op> = {
  channel: (record) => ({ kind: "channel", id: record.channelId, record: encodeRecord(record) }),
  history: (channelId, signed, update) => ({ kind: "history", id: channelId, nonce: signed.state.nonce, entry: encodeHistoryEntry(signed, update) }),
  event: (eventId, channelId) => ({ kind: "event", eventId, id: channelId }),
  lastBlock: (blockNumber) => ({ kind: "meta", key: META_LAST_BLOCK, value: String(blockNumber) }),
  facts: (json) => ({ kind: "meta", key: META_FACTS, value: json }),
  secret: (hashlock, secret) => ({ kind: "secret", hashlock, secret }),
  invoice: (hashlock, expiresAt) => ({ kind: "invoice", hashlock, expiresAt }),
};

export class PostgresStore extends BatchedStore<Op> {
  /** How errors and logs name this store (URL without password, schema). */
  readonly location: string;

  private readonly writer: pg.Client;
  private readonly pool: pg.Pool;
  private readonly maxBatchRows: number;
  /** The fencing grant every write checks; `settings` (renewal) only for a store that waited for an expiring lease. */
  private readonly lease: { readonly grant: LeaseGrant; readonly settings: LeaseSettings | null; timer: NodeJS.Timeout | null };
  private readonly onFenced: ((error: StoreError<"FENCED">) => void) | undefined;
  private readonly onFailed: ((error: StoreError<"WRITE_FAILED">) => void) | undefined;
  private readonly onBatch: ((ms: number) => void) | undefined;

  private queue: Job[] = [];
  private writing: Promise<void> | null = null;
  private counters = { batches: 0, events: 0, rows: 0, largestBatch: 0 };

  private constructor(
    writer: pg.Client,
    pool: pg.Pool,
    options: PostgresStoreOptions,
    location: string,
    loaded: Loaded,
    chain: ChainBinding | null,
    lease: { grant: LeaseGrant; settings: LeaseSettings | null },
  ) {
    super(postgresOps, { ...loaded, chain });
    this.writer = writer;
    this.pool = pool;
    this.location = location;
    this.maxBatchRows = options.maxBatchRows ?? 16_384;
    this.onFenced = options.onFenced;
    this.onFailed = options.onFailed;
    this.onBatch = options.onBatch;
    this.lease = { ...lease, timer: null };
    if (lease.settings !== null) {
      this.lease.timer = setInterval(() => void this.renew(), lease.settings.renewMs);
      this.lease.timer.unref();
    }
  }

  /**
   * Connects, creates or migrates the schema (SCHEMA_TOO_NEW for a newer one), takes the leader
   * lease when asked (waiting while another node holds it), loads every channel record and applied
   * event id, and checks or establishes the chain binding (WRONG_CHAIN). UNAVAILABLE when the
   * database cannot be reached.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    checkOptions(options);
    const schema = options.schema ?? "public";
    checkSchemaName(schema);
    const location = describeLocation(options.url, schema);
    const timeoutMs = options.statementTimeoutMs ?? 10_000;
    const settings = options.lease === undefined ? null : leaseSettings(options.lease);
    // standard_conforming_strings: the write transactions' literals rely on it (postgres-batch.ts).
    const config: pg.ClientConfig = {
      connectionString: options.url,
      connectionTimeoutMillis: timeoutMs,
      options: `-c search_path=${schema} -c synchronous_commit=on -c standard_conforming_strings=on -c statement_timeout=${timeoutMs} -c idle_in_transaction_session_timeout=${timeoutMs}`,
    };
    const newClient = () => {
      const client = new pg.Client(config);
      // Errors of an idle connection (the server went away) surface as a failed query later.
      client.on("error", () => undefined);
      return client;
    };
    let writer = newClient();
    const pool = new pg.Pool({ ...config, max: options.poolSize ?? 4 });
    pool.on("error", () => undefined);
    const release = async () => {
      await writer.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
    };
    try {
      try {
        await writer.connect();
        await migrate(writer, schema);
      } catch (error) {
        throw isStoreError(error) ? error : unavailable(location, error);
      }
      // Without a lease this instance deposes any other at once (a restart); with one it waits for it.
      let grant: LeaseGrant;
      if (settings === null) grant = await PostgresStore.takeOver(writer, leaseSettings({}).holder, location);
      else {
        // A standby outlives a database restart while it waits: it reconnects and waits on.
        for (;;) {
          try {
            grant = await PostgresStore.acquire(writer, settings, location, options.lease?.signal);
            break;
          } catch (error) {
            if (!isStoreError(error, "UNAVAILABLE")) throw error;
            await writer.end().catch(() => undefined);
            await new Promise((resolve) => setTimeout(resolve, settings.retryMs));
            writer = newClient();
            await writer.connect().catch(() => undefined);
          }
        }
      }
      const loaded = await PostgresStore.load(writer, location);
      const chain = await PostgresStore.bindChain(writer, location, loaded, options);
      return new PostgresStore(writer, pool, options, location, loaded, chain, { grant, settings });
    } catch (error) {
      await release();
      throw error;
    }
  }

  private static async takeOver(client: pg.Client, holder: string, location: string): Promise<LeaseGrant> {
    try {
      return await takeOverLease(client, holder);
    } catch (error) {
      throw unavailable(location, error);
    }
  }

  /** Waits until the lease is free and takes it (a standby waits here while the active node lives). */
  private static async acquire(client: pg.Client, settings: LeaseSettings, location: string, signal: AbortSignal | undefined): Promise<LeaseGrant> {
    for (;;) {
      if (signal?.aborted === true) throw new StoreError("CLOSED", "stopped waiting for the leader lease");
      let grant: LeaseGrant | null;
      try {
        grant = await tryAcquireLease(client, settings);
      } catch (error) {
        throw unavailable(location, error);
      }
      if (grant !== null) return grant;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, settings.retryMs);
        signal?.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }

  private static async load(client: pg.Client, location: string): Promise<Loaded> {
    let rows: {
      channels: { channel_id: string; record: string }[];
      events: { event_id: string }[];
      meta: { key: string; value: string }[];
      secrets: { hashlock: string; secret: string }[];
      invoices: { hashlock: string; expires_at: string }[];
    };
    try {
      rows = {
        channels: (await client.query<{ channel_id: string; record: string }>("SELECT channel_id, record FROM channels")).rows,
        events: (await client.query<{ event_id: string }>("SELECT event_id FROM events")).rows,
        meta: (await client.query<{ key: string; value: string }>("SELECT key, value FROM meta")).rows,
        secrets: (await client.query<{ hashlock: string; secret: string }>("SELECT hashlock, secret FROM secrets")).rows,
        invoices: (await client.query<{ hashlock: string; expires_at: string }>("SELECT hashlock, expires_at::text AS expires_at FROM invoices")).rows,
      };
    } catch (error) {
      throw unavailable(location, error);
    }
    const records = new Map<Bytes32, ChannelRecord>();
    const loader = new RecordLoader();
    for (const { channel_id, record: text } of rows.channels) {
      const key = `channels/${channel_id}`;
      const record = loader.decode(text, key);
      if (record.channelId !== channel_id) throw new StoreError("CORRUPT", `${key} holds channel ${record.channelId}`, { key });
      records.set(record.channelId, record);
    }
    const meta = new Map(rows.meta.map(({ key, value }) => [key, value]));
    const lastBlockText = meta.get(META_LAST_BLOCK);
    let lastBlock: number | null = null;
    if (lastBlockText !== undefined) {
      lastBlock = Number(lastBlockText);
      if (!DECIMAL.test(lastBlockText) || !Number.isSafeInteger(lastBlock)) {
        throw new StoreError("CORRUPT", `meta/${META_LAST_BLOCK} holds ${lastBlockText}`, { key: `meta/${META_LAST_BLOCK}` });
      }
    }
    const secrets = new Map<Bytes32, Bytes32>();
    for (const { hashlock, secret } of rows.secrets) {
      try {
        checkSecret(hashlock, secret);
      } catch (cause) {
        throw new StoreError("CORRUPT", `secrets/${hashlock} holds ${secret}`, { key: `secrets/${hashlock}` }, { cause });
      }
      secrets.set(hashlock, secret);
    }
    const invoices = new Map<Bytes32, number>();
    for (const { hashlock, expires_at } of rows.invoices) {
      const expiresAt = Number(expires_at);
      if (!DECIMAL.test(expires_at) || !Number.isSafeInteger(expiresAt) || !secrets.has(hashlock)) {
        throw new StoreError("CORRUPT", `invoices/${hashlock} holds ${expires_at}`, { key: `invoices/${hashlock}` });
      }
      invoices.set(hashlock, expiresAt);
    }
    return {
      records,
      events: new Set(rows.events.map((r) => r.event_id)),
      lastBlock,
      facts: meta.get(META_FACTS) ?? null,
      secrets,
      invoices,
      chainText: meta.get(META_CHAIN) ?? null,
    };
  }

  /** The stored binding checked against (or, for an unbound store, set to) `options.chain` — as LevelStore. */
  private static async bindChain(client: pg.Client, location: string, loaded: Loaded, options: PostgresStoreOptions): Promise<ChainBinding | null> {
    const stored = loaded.chainText === null ? null : decodeChainBinding(loaded.chainText, `meta/${META_CHAIN}`);
    const { binding, bindNow } = await resolveChainBinding(location, stored, loaded.records, options, "database or schema");
    if (!bindNow) return binding;
    try {
      await client.query("INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [META_CHAIN, encodeChainBinding(binding)]);
    } catch (error) {
      throw unavailable(location, error);
    }
    return binding;
  }

  /** What was committed so far. */
  get stats(): PostgresStoreStats {
    return { ...this.counters };
  }

  /** The epoch of the lease this store holds (decimal): every opening or takeover raises it. */
  get leaseEpoch(): string {
    return this.lease.grant.epoch;
  }

  /** A round trip to the database (the node's health check); UNAVAILABLE when it fails. */
  async probe(): Promise<void> {
    this.assertReadable();
    await this.read((client) => client.query("SELECT 1"));
  }

  // ---- backend ----------------------------------------------------------------------------

  protected override checkEventId(eventId: string): void {
    checkStorableEventId(eventId);
  }

  protected enqueueAbandon(channelId: Bytes32, publish: () => void): Promise<void> {
    return this.enqueue([{ kind: "abandon", id: channelId }], publish);
  }

  protected async readHistory(channelId: Bytes32, options: HistoryOptions): Promise<readonly HistoryEntry[]> {
    const order = options.newestFirst === true ? "DESC" : "ASC";
    const { rows } = await this.read((client) =>
      client.query<{ nonce_text: string; entry: string }>(
        `SELECT nonce::text AS nonce_text, entry FROM history
         WHERE channel_id = $1 AND ($2::numeric IS NULL OR nonce > $2::numeric) AND ($3::numeric IS NULL OR nonce < $3::numeric)
         ORDER BY nonce ${order} LIMIT $4`,
        [channelId, options.afterNonce?.toString() ?? null, options.beforeNonce?.toString() ?? null, options.limit ?? null],
      ),
    );
    return rows.map(({ nonce_text, entry }) => decodeHistoryEntry(entry, `history/${channelId}/${nonce_text}`));
  }

  protected async readEventApplied(eventId: string): Promise<boolean> {
    const { rowCount } = await this.read((client) => client.query("SELECT 1 FROM events WHERE event_id = $1", [eventId]));
    return rowCount === 1;
  }

  /** Waits for every write in flight, hands the lease back (a standby takes over at once), then disconnects. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.writing !== null) await this.writing;
      if (this.lease.timer !== null) clearInterval(this.lease.timer);
      if (this.failure === null) await releaseLease(this.writer, this.lease.grant).catch(() => undefined);
      await this.writer.end().catch(() => undefined);
      await this.pool.end().catch(() => undefined);
    })();
    return this.closing;
  }

  // ---- group commit -------------------------------------------------------------------------

  protected enqueue(ops: readonly Op[], publish: (() => void) | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, publish, resolve, reject });
      this.writing ??= this.write();
    });
  }

  /** The single writer: drains the queue transaction by transaction, then stops. */
  private async write(): Promise<void> {
    // Let every write issued in the current tick join the first transaction.
    await Promise.resolve();
    for (;;) {
      if (this.queue.length === 0) {
        this.writing = null;
        return;
      }
      const group = this.takeGroup();
      const fencedBefore = this.failure !== null;
      const ops = group.flatMap((job) => job.ops);
      try {
        // The lease timer found the lease lost: nothing more is attempted.
        if (this.failure !== null) throw this.failure;
        if (ops.length > 0) {
          const started = performance.now();
          await this.transaction(ops);
          this.onBatch?.(performance.now() - started);
        }
      } catch (cause) {
        this.failure = isStoreError(cause, "FENCED") || isStoreError(cause, "WRITE_FAILED")
          ? cause
          : new StoreError("WRITE_FAILED", `writing to the store ${this.location} failed: ${cause instanceof Error ? cause.message : String(cause)}`, {}, { cause });
        if (isStoreError(cause, "FENCED") && !fencedBefore) this.onFenced?.(cause);
        if (!fencedBefore && isStoreError(this.failure, "WRITE_FAILED")) this.onFailed?.(this.failure);
        const failed = [...group, ...this.queue];
        this.queue = [];
        this.writing = null;
        for (const job of failed) job.reject(this.failure);
        return;
      }
      if (ops.length > 0) this.counters.batches += 1;
      this.counters.events += group.length;
      this.counters.rows += ops.length;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, group.length);
      for (const job of group) job.publish?.();
      for (const job of group) job.resolve();
    }
  }

  /** Whole jobs from the head of the queue, up to maxBatchRows rows (at least one job); an abandon goes alone. */
  private takeGroup(): Job[] {
    const alone = (job: Job) => job.ops.some((op) => op.kind === "abandon");
    let count = 0;
    let rows = 0;
    for (const job of this.queue) {
      if (alone(job)) {
        if (count === 0) count = 1;
        break;
      }
      if (count > 0 && rows + job.ops.length > this.maxBatchRows) break;
      count += 1;
      rows += job.ops.length;
    }
    return this.queue.splice(0, count);
  }

  /** One transaction, one round trip (postgres-batch.ts); FENCED when the lease check fails. */
  private async transaction(ops: readonly Op[]): Promise<void> {
    try {
      await this.writer.query(transactionSql(ops, this.lease.grant));
    } catch (error) {
      if ((error as { code?: unknown }).code === FENCED_SQLSTATE) throw this.fenced();
      throw error;
    }
  }

  private fenced(): StoreError<"FENCED"> {
    return new StoreError(
      "FENCED",
      `this instance no longer holds the store ${this.location} (epoch ${this.lease.grant.epoch}): another instance opened it or took over its expired lease; it writes and signs nothing more`,
      { location: this.location, epoch: this.lease.grant.epoch },
    );
  }

  /** The lease timer: extend the lease; once lost, poison the store with FENCED. Database errors are retried on the next tick (the write check guards meanwhile). */
  private async renew(): Promise<void> {
    const settings = this.lease.settings;
    if (settings === null || this.failure !== null || this.closing !== null) return;
    let held: boolean;
    try {
      held = await renewLease(this.pool, this.lease.grant, settings.ttlMs);
    } catch {
      return;
    }
    if (held || this.failure !== null || this.closing !== null) return;
    const error = this.fenced();
    this.failure = error;
    if (this.lease.timer !== null) clearInterval(this.lease.timer);
    this.onFenced?.(error);
  }

  private async read<T>(query: (client: pg.Pool) => Promise<T>): Promise<T> {
    try {
      return await query(this.pool);
    } catch (error) {
      throw unavailable(this.location, error);
    }
  }
}
