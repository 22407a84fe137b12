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
 *
 * Group commit: every event becomes a list of ops, queued in call order. One writer at a time
 * takes everything queued (whole events only, up to `maxBatchOps`) and writes it as ONE
 * `db.batch(ops, { sync: true })`; each caller's promise resolves when its batch is on disk. Writes
 * that arrive while a batch is being synced form the next batch, so the fsync cost is shared by
 * every concurrent writer and a lone writer waits for no timer.
 *
 * Memory: channel records and the ids of applied chain events are held in memory (loaded on open:
 * a restarting node resumes every channel anyway); history stays on disk. Two views of the records
 * are kept: `working` (every accepted event, validated in call order) and `committed` (what is on
 * disk), which reads return. A failed batch poisons the store: `working` may then be ahead of the
 * disk, so every later write rejects with WRITE_FAILED until the process reopens the store.
 */
import { Level } from "level";
import type { Bytes32, SignedState } from "../protocol/types.js";
import { checkChainBinding, checkDeploymentOn, decodeChainBinding, describeChain, encodeChainBinding, sameChain, wrongChain, type ChainBinding } from "./chain-binding.js";
import { decodeHistoryEntry, decodeRecord, encodeHistoryEntry, encodeRecord, SCHEMA_VERSION } from "./codec.js";
import { StoreError } from "./errors.js";
import type {
  ChannelFilter,
  ChannelRecord,
  ChannelStore,
  DepositEvent,
  DisputeFacts,
  HistoryEntry,
  HistoryOptions,
  NewChannel,
  PendingProposal,
  UpdateSummary,
} from "./store.js";
import {
  applyChannelAbandoned,
  applyChannelConcluded,
  applyChannelCreated,
  applyChannelOpened,
  applyDepositConfirmed,
  applyDisputeObserved,
  applyProposalCleared,
  applyProposalRecorded,
  applyStateAgreed,
  applyWithdrawalObserved,
  byChannelId,
  checkBlockNumber,
  checkEventId,
  checkFactsJson,
  checkHashlock,
  checkInvoiceExpiry,
  checkSecret,
  checkHistoryOptions,
  lockedHashlocks,
  matchesFilter,
} from "./transitions.js";

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

export class LevelStore implements ChannelStore {
  private readonly db: LevelDb;
  private readonly sync: boolean;
  private readonly maxBatchOps: number;

  private readonly working: Map<Bytes32, ChannelRecord>;
  private readonly committed: Map<Bytes32, ChannelRecord>;
  /** Ids of applied chain events, including those queued but not yet on disk. */
  private readonly events: Set<string>;
  private lastBlock: number | null;
  private factsJson: string | null;
  /** Secrets by hashlock, as on disk (published when their write is durable). */
  private readonly secretsByHashlock: Map<Bytes32, Bytes32>;
  /** Pending invoices' expiries: every accepted call (`working`), and as on disk (`committed`). */
  private readonly workingInvoices: Map<Bytes32, number>;
  private readonly committedInvoices: Map<Bytes32, number>;
  /** The chain the store belongs to, or null for an unbound store. */
  readonly chain: ChainBinding | null;

  private queue: Job[] = [];
  private writer: Promise<void> | null = null;
  private failure: StoreError<"WRITE_FAILED"> | null = null;
  private closing: Promise<void> | null = null;
  private counters = { batches: 0, events: 0, ops: 0, largestBatch: 0 };

  private constructor(
    db: LevelDb,
    options: LevelStoreOptions,
    records: Map<Bytes32, ChannelRecord>,
    events: Set<string>,
    lastBlock: number | null,
    facts: string | null,
    secrets: Map<Bytes32, Bytes32>,
    invoices: Map<Bytes32, number>,
    chain: ChainBinding | null,
  ) {
    this.db = db;
    this.sync = options.sync ?? true;
    this.maxBatchOps = options.maxBatchOps ?? 16_384;
    this.working = records;
    this.committed = new Map(records);
    this.events = events;
    this.lastBlock = lastBlock;
    this.factsJson = facts;
    this.secretsByHashlock = secrets;
    this.workingInvoices = invoices;
    this.committedInvoices = new Map(invoices);
    this.chain = chain;
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
      for await (const [key, value] of db.iterator({ gt: "ch/", lt: prefixEnd("ch/") })) {
        const record = decodeRecord(value, key);
        if (key !== channelKey(record.channelId)) throw new StoreError("CORRUPT", `${key} holds channel ${record.channelId}`, { key });
        records.set(record.channelId, record);
      }
      const events = new Set<string>();
      for await (const key of db.keys({ gt: "ev/", lt: prefixEnd("ev/") })) events.add(key.slice(3));

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
      const chain = await LevelStore.bind(db, typeof location === "string" ? location : db.location, records, options);
      return new LevelStore(db, options, records, events, lastBlock, facts, secrets, invoices, chain);
    } catch (error) {
      await db.close();
      throw error;
    }
  }

  /** The stored binding checked against (or, for an unbound store, set to) `options.chain`. */
  private static async bind(db: LevelDb, location: string, records: Map<Bytes32, ChannelRecord>, options: LevelStoreOptions): Promise<ChainBinding | null> {
    const text = await db.get(META_CHAIN);
    const stored = text === undefined ? null : decodeChainBinding(text, META_CHAIN);
    const wanted = options.chain;
    if (wanted === undefined) return stored;
    checkChainBinding(wanted);
    if (stored !== null) {
      if (!sameChain(stored, wanted)) throw wrongChain(location, stored, wanted);
      return stored;
    }
    const channels = [...records.values()];
    const foreign = channels.find((r) => r.deployment.chainId !== wanted.chainId || r.deployment.adjudicator !== wanted.adjudicator);
    const adopt = foreign === undefined && channels.length > 0 && options.adoptLegacy !== undefined ? await options.adoptLegacy(channels) : true;
    if (foreign !== undefined || !adopt) {
      const which = foreign === undefined ? "channels the chain does not know" : `channel ${foreign.channelId} of chain ${foreign.deployment.chainId} (adjudicator ${foreign.deployment.adjudicator})`;
      throw new StoreError(
        "WRONG_CHAIN",
        `the store ${location} holds ${which}, so it does not belong to ${describeChain(wanted)} (a restarted chain is another chain). ` +
          "Use a separate data directory per chain; keep this one while its chain exists, move it away once that chain is gone for good",
        { location, chainId: wanted.chainId, adjudicator: wanted.adjudicator, genesisHash: wanted.genesisHash },
      );
    }
    await db.put(META_CHAIN, encodeChainBinding(wanted), { sync: true });
    return wanted;
  }

  /** What has reached the disk so far. */
  get stats(): LevelStoreStats {
    return { ...this.counters };
  }

  // ---- writes -------------------------------------------------------------------------------

  async channelCreated(channel: NewChannel): Promise<void> {
    this.assertWritable();
    const record = applyChannelCreated(this.working.get(channel?.channelId), channel);
    checkDeploymentOn(this.chain, record.deployment, record.channelId);
    await this.commitRecord(record, []);
  }

  async proposalRecorded(channelId: Bytes32, pending: PendingProposal): Promise<void> {
    this.assertWritable();
    await this.commitRecord(applyProposalRecorded(this.working.get(channelId), channelId, pending), []);
  }

  async proposalCleared(channelId: Bytes32): Promise<void> {
    this.assertWritable();
    const before = this.working.get(channelId);
    const record = applyProposalCleared(before, channelId);
    // Nothing pending: write nothing, but still resolve only once every earlier write is durable.
    await (record === before ? this.enqueue([], null) : this.commitRecord(record, []));
  }

  async stateAgreed(channelId: Bytes32, signed: SignedState, update: UpdateSummary): Promise<void> {
    this.assertWritable();
    const record = applyStateAgreed(this.working.get(channelId), channelId, signed, update);
    const entry: Op = { type: "put", key: historyKey(channelId, signed.state.nonce), value: encodeHistoryEntry(signed, update) };
    await this.commitRecord(record, [entry]);
  }

  async channelAbandoned(channelId: Bytes32): Promise<void> {
    this.assertWritable();
    applyChannelAbandoned(this.working.get(channelId), channelId);
    this.working.delete(channelId);
    // History keys are read once every earlier write is on disk (the job is its own batch).
    const ops = async (): Promise<readonly Op[]> => {
      const prefix = historyPrefix(channelId);
      const history = await this.db.keys({ gt: prefix, lt: prefixEnd(prefix) }).all();
      return [{ type: "del", key: channelKey(channelId) }, ...history.map((key): Op => ({ type: "del", key }))];
    };
    await this.enqueue(ops, () => {
      this.committed.delete(channelId);
    });
  }

  async channelOpened(channelId: Bytes32, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyChannelOpened(this.working.get(channelId), channelId));
  }

  async depositConfirmed(channelId: Bytes32, deposit: DepositEvent, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyDepositConfirmed(this.working.get(channelId), channelId, deposit));
  }

  async withdrawalObserved(channelId: Bytes32, nonce: bigint, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyWithdrawalObserved(this.working.get(channelId), channelId, nonce));
  }

  async disputeObserved(channelId: Bytes32, dispute: DisputeFacts, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyDisputeObserved(this.working.get(channelId), channelId, dispute));
  }

  async channelConcluded(channelId: Bytes32, nonce: bigint, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyChannelConcluded(this.working.get(channelId), channelId, nonce));
  }

  async blockProcessed(blockNumber: number): Promise<void> {
    this.assertWritable();
    checkBlockNumber(blockNumber);
    await this.enqueue([{ type: "put", key: META_LAST_BLOCK, value: String(blockNumber) }], () => {
      this.lastBlock = blockNumber;
    });
  }

  async factsSaved(json: string): Promise<void> {
    this.assertWritable();
    checkFactsJson(json);
    await this.enqueue([{ type: "put", key: META_FACTS, value: json }], () => {
      this.factsJson = json;
    });
  }

  async secretLearned(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    this.assertWritable();
    checkSecret(hashlock, secret);
    await this.enqueue([{ type: "put", key: secretKey(hashlock), value: secret }], () => {
      this.secretsByHashlock.set(hashlock, secret);
    });
  }

  async invoiceIssued(hashlock: Bytes32, secret: Bytes32, expiresAt: number): Promise<void> {
    this.assertWritable();
    checkSecret(hashlock, secret);
    checkInvoiceExpiry(expiresAt);
    this.workingInvoices.set(hashlock, expiresAt);
    const ops: Op[] = [
      { type: "put", key: secretKey(hashlock), value: secret },
      { type: "put", key: invoiceKey(hashlock), value: String(expiresAt) },
    ];
    await this.enqueue(ops, () => {
      this.secretsByHashlock.set(hashlock, secret);
      this.committedInvoices.set(hashlock, expiresAt);
    });
  }

  async invoicePaid(hashlock: Bytes32): Promise<void> {
    this.assertWritable();
    checkHashlock(hashlock);
    if (!this.workingInvoices.delete(hashlock)) {
      await this.enqueue([], null);
      return;
    }
    await this.enqueue([{ type: "del", key: invoiceKey(hashlock) }], () => {
      this.committedInvoices.delete(hashlock);
    });
  }

  async invoicesExpired(now: number): Promise<readonly Bytes32[]> {
    this.assertWritable();
    checkInvoiceExpiry(now);
    const locked = lockedHashlocks(this.working.values());
    const expired = [...this.workingInvoices].filter(([, expiresAt]) => expiresAt <= now).map(([hashlock]) => hashlock);
    const deleted = expired.filter((hashlock) => !locked.has(hashlock));
    for (const hashlock of expired) this.workingInvoices.delete(hashlock);
    const ops: Op[] = [
      ...expired.map((hashlock): Op => ({ type: "del", key: invoiceKey(hashlock) })),
      ...deleted.map((hashlock): Op => ({ type: "del", key: secretKey(hashlock) })),
    ];
    await this.enqueue(ops, () => {
      for (const hashlock of expired) this.committedInvoices.delete(hashlock);
      for (const hashlock of deleted) this.secretsByHashlock.delete(hashlock);
    });
    return deleted;
  }

  // ---- reads --------------------------------------------------------------------------------

  async channel(channelId: Bytes32): Promise<ChannelRecord | undefined> {
    this.assertReadable();
    return this.committed.get(channelId);
  }

  async channels(filter: ChannelFilter = {}): Promise<readonly ChannelRecord[]> {
    this.assertReadable();
    return [...this.committed.values()].filter((r) => matchesFilter(r, filter.status)).sort(byChannelId);
  }

  async history(channelId: Bytes32, options: HistoryOptions = {}): Promise<readonly HistoryEntry[]> {
    this.assertReadable();
    checkHistoryOptions(options);
    if (!this.committed.has(channelId)) throw new StoreError("UNKNOWN_CHANNEL", `unknown channel ${channelId}`, { channelId });
    if (options.limit === 0) return [];
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

  async eventApplied(eventId: string): Promise<boolean> {
    this.assertReadable();
    checkEventId(eventId);
    return (await this.db.get(eventKey(eventId))) !== undefined;
  }

  async lastProcessedBlock(): Promise<number | null> {
    this.assertReadable();
    return this.lastBlock;
  }

  async facts(): Promise<string | null> {
    this.assertReadable();
    return this.factsJson;
  }

  async secrets(): Promise<ReadonlyMap<Bytes32, Bytes32>> {
    this.assertReadable();
    return new Map(this.secretsByHashlock);
  }

  async invoices(): Promise<ReadonlyMap<Bytes32, number>> {
    this.assertReadable();
    return new Map(this.committedInvoices);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.writer !== null) await this.writer;
      await this.db.close();
    })();
    return this.closing;
  }

  // ---- group commit -------------------------------------------------------------------------

  private chainEvent(eventId: string, apply: () => ChannelRecord): Promise<boolean> {
    this.assertWritable();
    checkEventId(eventId);
    // Already applied (or queued): write nothing, but answer only once that application is durable.
    if (this.events.has(eventId)) return this.enqueue([], null).then(() => false);
    const record = apply();
    const ops: Op[] = [{ type: "put", key: eventKey(eventId), value: record.channelId }];
    this.events.add(eventId);
    return this.commitRecord(record, ops).then(() => true);
  }

  /** Queues the record (and `extra` ops of the same event) as one atomic write. */
  private commitRecord(record: ChannelRecord, extra: readonly Op[]): Promise<void> {
    const ops: Op[] = [{ type: "put", key: channelKey(record.channelId), value: encodeRecord(record) }, ...extra];
    this.working.set(record.channelId, record);
    return this.enqueue(ops, () => {
      this.committed.set(record.channelId, record);
    });
  }

  private enqueue(ops: Job["ops"], publish: (() => void) | null): Promise<void> {
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
        if (ops.length > 0) await this.db.batch(ops, { sync: this.sync });
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

  private assertReadable(): void {
    if (this.closing !== null) throw new StoreError("CLOSED", "the store is closed");
  }

  private assertWritable(): void {
    this.assertReadable();
    if (this.failure !== null) throw this.failure;
  }
}
