/**
 * The LevelDB ChannelStore, with group commit.
 *
 * Layout (string keys, JSON values, bigints as decimal strings — see codec.ts):
 *   meta/version            schema version ("1")
 *   meta/lastBlock          last block processed by the chain watcher (decimal)
 *   meta/facts              the compliance facts snapshot (opaque JSON text)
 *   meta/chain              the chain the store belongs to (chain-binding.ts), once bound
 *   secret/<hashlock>       a lock's secret (32 bytes of hex), loaded into memory on open
 *   invoice/<hashlock>      a pending invoice's expiry (ms, decimal), loaded into memory on open
 *   ch/<channelId>          the channel record (params, deployment, status, latest, pending, deposits, dispute…)
 *   hist/<channelId>/<nonce, 20 digits zero-padded>   an agreed state and its update summary
 *   ev/<eventId>            a chain event already applied (value: its channel id)
 *   fill/<anchor>/<sequence, 20 digits>   a fill charge of the investor's (fill-charges.ts), read on demand
 *
 * Group commit: every event becomes a list of ops, queued in call order. One writer at a time
 * takes everything queued (whole events only, up to `maxBatchOps`) and writes it as ONE
 * `db.batch(ops, { sync: true })`; each caller's promise resolves when its batch is on disk. Writes
 * that arrive while a batch is being synced form the next batch, so the fsync cost is shared by
 * every concurrent writer and a lone writer waits for no timer.
 *
 * Memory: channel records and the ids of applied chain events are held in memory (loaded on open,
 * read in batches and decoded by record-loader.ts: a restarting node resumes every channel anyway);
 * history stays on disk. Two views of the records
 * are kept: `working` (every accepted event, validated in call order) and `committed` (what is on
 * disk), which reads return. A failed batch poisons the store: `working` may then be ahead of the
 * disk, so every later write rejects with WRITE_FAILED until the process reopens the store.
 */
import { Level } from "level";
import type { Address, Bytes32 } from "../protocol/types.js";
import { BatchedStore, type BatchedBackendOps, type BatchedState } from "./batched-store.js";
import { decodeChainBinding, encodeChainBinding, resolveChainBinding, type ChainBinding } from "./chain-binding.js";
import { decodeHistoryEntry, encodeHistoryEntry, encodeRecord, SCHEMA_VERSION } from "./codec.js";
import { RecordLoader } from "./record-loader.js";
import { StoreError } from "./errors.js";
import type { ChannelRecord, HistoryEntry, HistoryOptions } from "./store.js";
import { checkSecret } from "./transitions.js";
import { checkFillCharge, decodeFillCharge, encodeFillCharge, fillChargeKey, fillChargePrefix, type FillCharge, type FillChargeTable } from "./fill-charges.js";

export type LevelDb = Level<string, string>;

type Op = { readonly type: "put"; readonly key: string; readonly value: string } | { readonly type: "del"; readonly key: string };

interface Job {
  /** The ops, or a function reading them from disk once every earlier job is durable (the job then forms its own batch). */
  readonly ops: readonly Op[] | (() => Promise<readonly Op[]>);
  /** Makes the job's effects visible to reads; runs once its batch is on disk. */
  readonly publish: (() => void) | null;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface LevelStoreOptions {
  /** fsync every batch (default true). Only benchmarks should turn this off. */
  readonly sync?: boolean;
  /** Called after each batch is on disk with how long it took (call → durable, ms). */
  readonly onBatch?: (ms: number) => void;
  /** A batch takes whole events until it holds this many ops (default 16,384; one event may exceed it). */
  readonly maxBatchOps?: number;
  /**
   * The chain the store belongs to. A store bound to another chain is refused (WRONG_CHAIN); an
   * unbound store is bound to this one, unless it holds channels of another deployment
   * (WRONG_CHAIN) or `adoptLegacy` says its channels are not on this chain.
   */
  readonly chain?: ChainBinding;
  /**
   * Asked before binding a store that holds channels but no binding yet (written before stores
   * were bound): resolve false when its channels are not on this chain (WRONG_CHAIN). Default: adopt.
   */
  readonly adoptLegacy?: (channels: readonly ChannelRecord[]) => Promise<boolean>;
}

/** Counters of what reached the disk, for tests, benchmarks and metrics. */
export interface LevelStoreStats {
  /** `db.batch` calls that succeeded. */
  readonly batches: number;
  /** Write calls (events) whose batch succeeded, no-ops included. */
  readonly events: number;
  /** Key writes in those batches. */
  readonly ops: number;
  /** The most events one batch carried. */
  readonly largestBatch: number;
}

const NONCE_DIGITS = 20; // uint64 max has 20 decimal digits

const META_VERSION = "meta/version";
const META_LAST_BLOCK = "meta/lastBlock";
const META_FACTS = "meta/facts";
const META_CHAIN = "meta/chain";
const channelKey = (id: Bytes32): string => `ch/${id}`;
const historyPrefix = (id: Bytes32): string => `hist/${id}/`;
const historyKey = (id: Bytes32, nonce: bigint): string => `${historyPrefix(id)}${nonce.toString().padStart(NONCE_DIGITS, "0")}`;
const eventKey = (eventId: string): string => `ev/${eventId}`;
const secretKey = (hashlock: Bytes32): string => `secret/${hashlock}`;
const invoiceKey = (hashlock: Bytes32): string => `invoice/${hashlock}`;
/** The first key after every key starting with `prefix` (which ends with "/"; "0" follows "/"). */
const prefixEnd = (prefix: string): string => `${prefix.slice(0, -1)}0`;

/** Entries read from disk per step when the store opens (one step per entry would cost a promise turn each). */
const LOAD_BATCH = 1_024;

/**
 * Runs `each` over every entry of `iterator`, read in batches, and closes it. The next batch is
 * read (on LevelDB's thread) while this one is decoded: reading and decoding overlap instead of
 * taking turns, which at 100,000 channels left the main thread idle for about a second.
 */
async function eachEntry<T>(iterator: { nextv(size: number): Promise<T[]>; close(): Promise<void> }, each: (entry: T) => void): Promise<void> {
  let next: Promise<T[]> | undefined;
  try {
    next = iterator.nextv(LOAD_BATCH);
    for (let batch = await next; batch.length > 0; batch = await next) {
      next = iterator.nextv(LOAD_BATCH);
      batch.forEach(each);
    }
  } finally {
    // An entry failed to decode with the next read in flight: that read's result or failure is dropped, not left unhandled.
    await next?.catch(() => undefined);
    await iterator.close();
  }
}

/** Each event as LevelDB key writes. */
const levelOps: BatchedBackendOps<Op> = {
  channel: (record) => ({ type: "put", key: channelKey(record.channelId), value: encodeRecord(record) }),
  history: (channelId, signed, update) => ({ type: "put", key: historyKey(channelId, signed.state.nonce), value: encodeHistoryEntry(signed, update) }),
  event: (eventId, channelId) => ({ type: "put", key: eventKey(eventId), value: channelId }),
  lastBlock: (blockNumber) => ({ type: "put", key: META_LAST_BLOCK, value: String(blockNumber) }),
  facts: (json) => ({ type: "put", key: META_FACTS, value: json }),
  secret: (hashlock, secret) => (secret === null ? { type: "del", key: secretKey(hashlock) } : { type: "put", key: secretKey(hashlock), value: secret }),
  invoice: (hashlock, expiresAt) => (expiresAt === null ? { type: "del", key: invoiceKey(hashlock) } : { type: "put", key: invoiceKey(hashlock), value: String(expiresAt) }),
};

export class LevelStore extends BatchedStore<Op> implements FillChargeTable {
  private readonly db: LevelDb;
  private readonly sync: boolean;
  private readonly onBatch: ((ms: number) => void) | undefined;
  private readonly maxBatchOps: number;

  private queue: Job[] = [];
  private writer: Promise<void> | null = null;
  private counters = { batches: 0, events: 0, ops: 0, largestBatch: 0 };

  private constructor(db: LevelDb, options: LevelStoreOptions, state: BatchedState) {
    super(levelOps, state);
    this.db = db;
    this.sync = options.sync ?? true;
    this.onBatch = options.onBatch;
    this.maxBatchOps = options.maxBatchOps ?? 16_384;
  }

  /**
   * Opens (creating if needed) the store in directory `location`, or on a `Level` instance the
   * caller constructed (string keys and values). Loads every channel record and event id.
   * With `options.chain`, checks or establishes which chain the store belongs to (WRONG_CHAIN).
   */
  static async open(location: string | LevelDb, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const db = typeof location === "string" ? new Level<string, string>(location) : location;
    await db.open();
    try {
      const version = await db.get(META_VERSION);
      if (version === undefined) {
        await db.put(META_VERSION, String(SCHEMA_VERSION), { sync: true });
      } else if (version !== String(SCHEMA_VERSION)) {
        throw new StoreError("CORRUPT", `unsupported store schema version ${version}`, { version });
      }

      const records = new Map<Bytes32, ChannelRecord>();
      const loader = new RecordLoader();
      const events = new Set<string>();
      // Both read at once: LevelDB reads the event ids while the records are decoded.
      const loaded = await Promise.allSettled([
        eachEntry(db.iterator({ gt: "ch/", lt: prefixEnd("ch/") }), ([key, value]) => {
          const record = loader.decode(value, key);
          if (key !== channelKey(record.channelId)) throw new StoreError("CORRUPT", `${key} holds channel ${record.channelId}`, { key });
          records.set(record.channelId, record);
        }),
        eachEntry(db.keys({ gt: "ev/", lt: prefixEnd("ev/") }), (key) => events.add(key.slice(3))),
      ]);
      for (const result of loaded) if (result.status === "rejected") throw result.reason;

      const lastBlockText = await db.get(META_LAST_BLOCK);
      let lastBlock: number | null = null;
      if (lastBlockText !== undefined) {
        lastBlock = Number(lastBlockText);
        if (!/^(0|[1-9][0-9]*)$/.test(lastBlockText) || !Number.isSafeInteger(lastBlock)) {
          throw new StoreError("CORRUPT", `${META_LAST_BLOCK} holds ${lastBlockText}`, { key: META_LAST_BLOCK });
        }
      }
      const facts = (await db.get(META_FACTS)) ?? null;
      const secrets = new Map<Bytes32, Bytes32>();
      for await (const [key, value] of db.iterator({ gt: "secret/", lt: prefixEnd("secret/") })) {
        const hashlock = key.slice("secret/".length);
        try {
          checkSecret(hashlock, value);
        } catch (cause) {
          throw new StoreError("CORRUPT", `${key} holds ${value}`, { key }, { cause });
        }
        secrets.set(hashlock, value);
      }
      const invoices = new Map<Bytes32, number>();
      for await (const [key, value] of db.iterator({ gt: "invoice/", lt: prefixEnd("invoice/") })) {
        const hashlock = key.slice("invoice/".length);
        const expiresAt = Number(value);
        if (!/^(0|[1-9][0-9]*)$/.test(value) || !Number.isSafeInteger(expiresAt) || !secrets.has(hashlock)) {
          throw new StoreError("CORRUPT", `${key} holds ${value}`, { key });
        }
        invoices.set(hashlock, expiresAt);
      }
      const chain = await LevelStore.bindChain(db, typeof location === "string" ? location : db.location, records, options);
      return new LevelStore(db, options, { records, events, lastBlock, facts, secrets, invoices, chain });
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /** The stored binding checked against (or, for an unbound store, set to) `options.chain`. */
  private static async bindChain(db: LevelDb, location: string, records: Map<Bytes32, ChannelRecord>, options: LevelStoreOptions): Promise<ChainBinding | null> {
    const text = await db.get(META_CHAIN);
    const stored = text === undefined ? null : decodeChainBinding(text, META_CHAIN);
    const { binding, bindNow } = await resolveChainBinding(location, stored, records, options, "data directory");
    if (bindNow) await db.put(META_CHAIN, encodeChainBinding(binding), { sync: true });
    return binding;
  }

  /** What has reached the disk so far. */
  get stats(): LevelStoreStats {
    return { ...this.counters };
  }

  // ---- backend ----------------------------------------------------------------------------

  /** History keys are read once every earlier write is on disk (the job is its own batch). */
  protected enqueueAbandon(channelId: Bytes32, publish: () => void): Promise<void> {
    const ops = async (): Promise<readonly Op[]> => {
      const prefix = historyPrefix(channelId);
      const history = await this.db.keys({ gt: prefix, lt: prefixEnd(prefix) }).all();
      return [{ type: "del", key: channelKey(channelId) }, ...history.map((key): Op => ({ type: "del", key }))];
    };
    return this.enqueue(ops, publish);
  }

  protected async readHistory(channelId: Bytes32, options: HistoryOptions): Promise<readonly HistoryEntry[]> {
    const prefix = historyPrefix(channelId);
    const pad = (nonce: bigint): string => nonce.toString().padStart(NONCE_DIGITS, "0");
    const entries = await this.db
      .iterator({
        gt: options.afterNonce === undefined ? prefix : prefix + pad(options.afterNonce),
        lt: options.beforeNonce === undefined ? prefixEnd(prefix) : prefix + pad(options.beforeNonce),
        reverse: options.newestFirst === true,
        limit: options.limit ?? Infinity,
      })
      .all();
    return entries.map(([key, value]) => decodeHistoryEntry(value, key));
  }

  // ---- fill charges (fill-charges.ts): group-committed like every write, read from disk ------

  async fillCharged(charge: FillCharge): Promise<void> {
    this.assertWritable();
    checkFillCharge(charge);
    await this.enqueue([{ type: "put", key: fillChargeKey(charge.log, charge.fill), value: encodeFillCharge(charge) }], null);
  }

  async fillCharges(log: Address): Promise<readonly FillCharge[]> {
    this.assertReadable();
    const prefix = fillChargePrefix(log);
    const entries = await this.db.iterator({ gt: prefix, lt: prefixEnd(prefix) }).all();
    return entries.map(([key, value]) => decodeFillCharge(value, key));
  }

  protected async readEventApplied(eventId: string): Promise<boolean> {
    return (await this.db.get(eventKey(eventId))) !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.writer !== null) await this.writer;
      await this.db.close();
    })();
    return this.closing;
  }

  // ---- group commit -------------------------------------------------------------------------

  protected enqueue(ops: Job["ops"], publish: (() => void) | null): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, publish, resolve, reject });
      this.writer ??= this.write();
    });
  }

  /** The single writer: drains the queue batch by batch, then stops (clearing `writer` synchronously with the last empty check). */
  private async write(): Promise<void> {
    // Let every write issued in the current tick join the first batch.
    await Promise.resolve();
    for (;;) {
      if (this.queue.length === 0) {
        this.writer = null;
        return;
      }
      const group = this.takeGroup();
      const ops: Op[] = [];
      try {
        for (const job of group) ops.push(...(typeof job.ops === "function" ? await job.ops() : job.ops));
        if (ops.length > 0) {
          const started = performance.now();
          await this.db.batch(ops, { sync: this.sync });
          this.onBatch?.(performance.now() - started);
        }
      } catch (cause) {
        this.failure = new StoreError("WRITE_FAILED", `writing to the store failed: ${cause instanceof Error ? cause.message : String(cause)}`, {}, { cause });
        const failed = [...group, ...this.queue];
        this.queue = [];
        this.writer = null;
        for (const job of failed) job.reject(this.failure);
        return;
      }
      if (ops.length > 0) this.counters.batches += 1;
      this.counters.events += group.length;
      this.counters.ops += ops.length;
      this.counters.largestBatch = Math.max(this.counters.largestBatch, group.length);
      for (const job of group) job.publish?.();
      for (const job of group) job.resolve();
    }
  }

  /** Whole jobs from the head of the queue, up to maxBatchOps ops (at least one job); a job reading its ops goes alone. */
  private takeGroup(): Job[] {
    let count = 0;
    let ops = 0;
    for (const job of this.queue) {
      if (typeof job.ops === "function") {
        if (count === 0) count = 1;
        break;
      }
      if (count > 0 && ops + job.ops.length > this.maxBatchOps) break;
      count += 1;
      ops += job.ops.length;
    }
    return this.queue.splice(0, count);
  }
}
