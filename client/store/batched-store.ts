/**
 * The write path and in-memory reads shared by the durable stores (LevelDB, PostgreSQL).
 *
 * Every event goes through the pure transitions (transitions.ts) in call order against `working`
 * (every accepted event); reads answer from `committed` (what the backend holds). A backend only
 * turns each event into its own operations (`BatchedBackendOps`) and queues them with its group
 * commit (`enqueue`), running `publish` once they are durable so reads see them. A failed write
 * sets `failure`, after which every write is refused; `closing` refuses everything.
 */
import type { Bytes32, SignedState } from "../protocol/types.js";
import { checkDeploymentOn, type ChainBinding } from "./chain-binding.js";
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
  checkHistoryOptions,
  checkInvoiceExpiry,
  checkSecret,
  lockedHashlocks,
  matchesFilter,
} from "./transitions.js";

/** What a durable store holds when it opens. */
export interface BatchedState {
  readonly records: Map<Bytes32, ChannelRecord>;
  /** Ids of applied chain events. */
  readonly events: Set<string>;
  readonly lastBlock: number | null;
  readonly facts: string | null;
  readonly secrets: Map<Bytes32, Bytes32>;
  readonly invoices: Map<Bytes32, number>;
  readonly chain: ChainBinding | null;
}

/** How a backend writes each kind of fact (`null` deletes it). */
export interface BatchedBackendOps<Op> {
  channel(record: ChannelRecord): Op;
  history(channelId: Bytes32, signed: SignedState, update: UpdateSummary): Op;
  event(eventId: string, channelId: Bytes32): Op;
  lastBlock(blockNumber: number): Op;
  facts(json: string): Op;
  secret(hashlock: Bytes32, secret: Bytes32 | null): Op;
  invoice(hashlock: Bytes32, expiresAt: number | null): Op;
}

export abstract class BatchedStore<Op> implements ChannelStore {
  /** The chain the store belongs to, or null for an unbound store. */
  readonly chain: ChainBinding | null;

  protected readonly working: Map<Bytes32, ChannelRecord>;
  protected readonly committed: Map<Bytes32, ChannelRecord>;
  /** Ids of applied chain events, including those queued but not yet durable. */
  private readonly events: Set<string>;
  private lastBlock: number | null;
  private factsJson: string | null;
  /** Secrets by hashlock, as durable (published when their write is). */
  private readonly secretsByHashlock: Map<Bytes32, Bytes32>;
  /** Pending invoices' expiries: every accepted call (`working`), and as durable (`committed`). */
  private readonly workingInvoices: Map<Bytes32, number>;
  private readonly committedInvoices: Map<Bytes32, number>;

  protected failure: StoreError<"WRITE_FAILED" | "FENCED"> | null = null;
  protected closing: Promise<void> | null = null;

  protected constructor(
    private readonly ops: BatchedBackendOps<Op>,
    state: BatchedState,
  ) {
    this.working = state.records;
    this.committed = new Map(state.records);
    this.events = state.events;
    this.lastBlock = state.lastBlock;
    this.factsJson = state.facts;
    this.secretsByHashlock = state.secrets;
    this.workingInvoices = state.invoices;
    this.committedInvoices = new Map(state.invoices);
    this.chain = state.chain;
  }

  /** Queues one event's ops as one atomic write; resolves once it (and every earlier write) is durable, after `publish` ran. */
  protected abstract enqueue(ops: readonly Op[], publish: (() => void) | null): Promise<void>;
  /** Queues deleting the channel and its history; `publish` runs once that is durable. */
  protected abstract enqueueAbandon(channelId: Bytes32, publish: () => void): Promise<void>;
  /** The channel's history (known to be committed; options checked, limit not 0). */
  protected abstract readHistory(channelId: Bytes32, options: HistoryOptions): Promise<readonly HistoryEntry[]>;
  /** Whether the (checked) event id is durably applied. */
  protected abstract readEventApplied(eventId: string): Promise<boolean>;
  abstract close(): Promise<void>;

  /** INVALID_ARGUMENT for an event id the backend cannot store. */
  protected checkEventId(eventId: string): void {
    checkEventId(eventId);
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
    await this.commitRecord(record, [this.ops.history(channelId, signed, update)]);
  }

  async channelAbandoned(channelId: Bytes32): Promise<void> {
    this.assertWritable();
    applyChannelAbandoned(this.working.get(channelId), channelId);
    this.working.delete(channelId);
    await this.enqueueAbandon(channelId, () => {
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
    await this.enqueue([this.ops.lastBlock(blockNumber)], () => {
      this.lastBlock = blockNumber;
    });
  }

  async factsSaved(json: string): Promise<void> {
    this.assertWritable();
    checkFactsJson(json);
    await this.enqueue([this.ops.facts(json)], () => {
      this.factsJson = json;
    });
  }

  async secretLearned(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    this.assertWritable();
    checkSecret(hashlock, secret);
    await this.enqueue([this.ops.secret(hashlock, secret)], () => {
      this.secretsByHashlock.set(hashlock, secret);
    });
  }

  async invoiceIssued(hashlock: Bytes32, secret: Bytes32, expiresAt: number): Promise<void> {
    this.assertWritable();
    checkSecret(hashlock, secret);
    checkInvoiceExpiry(expiresAt);
    this.workingInvoices.set(hashlock, expiresAt);
    await this.enqueue([this.ops.secret(hashlock, secret), this.ops.invoice(hashlock, expiresAt)], () => {
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
    await this.enqueue([this.ops.invoice(hashlock, null)], () => {
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
    const ops: Op[] = [...expired.map((hashlock) => this.ops.invoice(hashlock, null)), ...deleted.map((hashlock) => this.ops.secret(hashlock, null))];
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
    return this.readHistory(channelId, options);
  }

  async eventApplied(eventId: string): Promise<boolean> {
    this.assertReadable();
    this.checkEventId(eventId);
    return this.readEventApplied(eventId);
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

  // ---- shared write steps -------------------------------------------------------------------

  private chainEvent(eventId: string, apply: () => ChannelRecord): Promise<boolean> {
    this.assertWritable();
    this.checkEventId(eventId);
    // Already applied (or queued): write nothing, but answer only once that application is durable.
    if (this.events.has(eventId)) return this.enqueue([], null).then(() => false);
    const record = apply();
    this.events.add(eventId);
    return this.commitRecord(record, [this.ops.event(eventId, record.channelId)]).then(() => true);
  }

  /** Queues the record (and `extra` ops of the same event) as one atomic write. */
  private commitRecord(record: ChannelRecord, extra: readonly Op[]): Promise<void> {
    this.working.set(record.channelId, record);
    return this.enqueue([this.ops.channel(record), ...extra], () => {
      this.committed.set(record.channelId, record);
    });
  }

  protected assertReadable(): void {
    if (this.closing !== null) throw new StoreError("CLOSED", "the store is closed");
  }

  protected assertWritable(): void {
    this.assertReadable();
    if (this.failure !== null) throw this.failure;
  }
}
