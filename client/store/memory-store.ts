/**
 * An in-memory ChannelStore: the reference implementation (no encoding, no batching) and the store
 * of pure tests. Same semantics as LevelStore: both apply the transitions of transitions.ts; here a
 * write is "durable" as soon as it is applied, i.e. before its promise resolves.
 */
import type { Address, Bytes32, SignedState } from "../protocol/types.js";
import { checkChainBinding, checkDeploymentOn, type ChainBinding } from "./chain-binding.js";
import { StoreError } from "./errors.js";
import { checkFillCharge, fillChargeKey, fillChargePrefix, type FillCharge, type FillChargeTable } from "./fill-charges.js";
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

export class MemoryStore implements ChannelStore, FillChargeTable {
  /** The chain this store belongs to (channels of another deployment are WRONG_CHAIN), or null. */
  readonly chain: ChainBinding | null;
  private readonly records = new Map<Bytes32, ChannelRecord>();
  /** Per channel, in increasing nonce order (nonces only ever increase). */
  private readonly histories = new Map<Bytes32, HistoryEntry[]>();
  private readonly events = new Set<string>();
  private lastBlock: number | null = null;
  private factsJson: string | null = null;
  private readonly secretsByHashlock = new Map<Bytes32, Bytes32>();
  private readonly pendingInvoices = new Map<Bytes32, number>();
  private closed = false;
  private readonly charges = new Map<string, FillCharge>();

  constructor(options: { chain?: ChainBinding } = {}) {
    if (options.chain !== undefined) checkChainBinding(options.chain);
    this.chain = options.chain ?? null;
  }

  async channelCreated(channel: NewChannel): Promise<void> {
    this.assertOpen();
    const record = applyChannelCreated(this.records.get(channel?.channelId), channel);
    checkDeploymentOn(this.chain, record.deployment, record.channelId);
    this.records.set(record.channelId, record);
    this.histories.set(record.channelId, []);
  }

  async proposalRecorded(channelId: Bytes32, pending: PendingProposal): Promise<void> {
    this.assertOpen();
    this.records.set(channelId, applyProposalRecorded(this.records.get(channelId), channelId, pending));
  }

  async proposalCleared(channelId: Bytes32): Promise<void> {
    this.assertOpen();
    this.records.set(channelId, applyProposalCleared(this.records.get(channelId), channelId));
  }

  async stateAgreed(channelId: Bytes32, signed: SignedState, update: UpdateSummary): Promise<void> {
    this.assertOpen();
    const record = applyStateAgreed(this.records.get(channelId), channelId, signed, update);
    this.records.set(channelId, record);
    this.histories.get(channelId)?.push({ signed, update });
  }

  async channelAbandoned(channelId: Bytes32): Promise<void> {
    this.assertOpen();
    applyChannelAbandoned(this.records.get(channelId), channelId);
    this.records.delete(channelId);
    this.histories.delete(channelId);
  }

  async channelOpened(channelId: Bytes32, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyChannelOpened(this.records.get(channelId), channelId));
  }

  async depositConfirmed(channelId: Bytes32, deposit: DepositEvent, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyDepositConfirmed(this.records.get(channelId), channelId, deposit));
  }

  async withdrawalObserved(channelId: Bytes32, nonce: bigint, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyWithdrawalObserved(this.records.get(channelId), channelId, nonce));
  }

  async disputeObserved(channelId: Bytes32, dispute: DisputeFacts, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyDisputeObserved(this.records.get(channelId), channelId, dispute));
  }

  async channelConcluded(channelId: Bytes32, nonce: bigint, eventId: string): Promise<boolean> {
    return this.chainEvent(eventId, () => applyChannelConcluded(this.records.get(channelId), channelId, nonce));
  }

  async blockProcessed(blockNumber: number): Promise<void> {
    this.assertOpen();
    checkBlockNumber(blockNumber);
    this.lastBlock = blockNumber;
  }

  async factsSaved(json: string): Promise<void> {
    this.assertOpen();
    checkFactsJson(json);
    this.factsJson = json;
  }

  async secretLearned(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    this.assertOpen();
    checkSecret(hashlock, secret);
    this.secretsByHashlock.set(hashlock, secret);
  }

  async invoiceIssued(hashlock: Bytes32, secret: Bytes32, expiresAt: number): Promise<void> {
    this.assertOpen();
    checkSecret(hashlock, secret);
    checkInvoiceExpiry(expiresAt);
    this.secretsByHashlock.set(hashlock, secret);
    this.pendingInvoices.set(hashlock, expiresAt);
  }

  async invoicePaid(hashlock: Bytes32): Promise<void> {
    this.assertOpen();
    checkHashlock(hashlock);
    this.pendingInvoices.delete(hashlock);
  }

  async invoicesExpired(now: number): Promise<readonly Bytes32[]> {
    this.assertOpen();
    checkInvoiceExpiry(now);
    const locked = lockedHashlocks(this.records.values());
    const deleted: Bytes32[] = [];
    for (const [hashlock, expiresAt] of this.pendingInvoices) {
      if (expiresAt > now) continue;
      this.pendingInvoices.delete(hashlock);
      if (locked.has(hashlock)) continue;
      this.secretsByHashlock.delete(hashlock);
      deleted.push(hashlock);
    }
    return deleted;
  }

  async channel(channelId: Bytes32): Promise<ChannelRecord | undefined> {
    this.assertOpen();
    return this.records.get(channelId);
  }

  async channels(filter: ChannelFilter = {}): Promise<readonly ChannelRecord[]> {
    this.assertOpen();
    return [...this.records.values()].filter((r) => matchesFilter(r, filter.status)).sort(byChannelId);
  }

  async history(channelId: Bytes32, options: HistoryOptions = {}): Promise<readonly HistoryEntry[]> {
    this.assertOpen();
    checkHistoryOptions(options);
    const entries = this.histories.get(channelId);
    if (entries === undefined) throw new StoreError("UNKNOWN_CHANNEL", `unknown channel ${channelId}`, { channelId });
    const { afterNonce, beforeNonce, limit } = options;
    let selected = entries.filter(
      (e) =>
        (afterNonce === undefined || e.signed.state.nonce > afterNonce) &&
        (beforeNonce === undefined || e.signed.state.nonce < beforeNonce),
    );
    if (options.newestFirst === true) selected = selected.reverse();
    return limit === undefined ? selected : selected.slice(0, limit);
  }

  async eventApplied(eventId: string): Promise<boolean> {
    this.assertOpen();
    return this.events.has(eventId);
  }

  async lastProcessedBlock(): Promise<number | null> {
    this.assertOpen();
    return this.lastBlock;
  }

  async facts(): Promise<string | null> {
    this.assertOpen();
    return this.factsJson;
  }

  async secrets(): Promise<ReadonlyMap<Bytes32, Bytes32>> {
    this.assertOpen();
    return new Map(this.secretsByHashlock);
  }

  async invoices(): Promise<ReadonlyMap<Bytes32, number>> {
    this.assertOpen();
    return new Map(this.pendingInvoices);
  }

  async fillCharged(charge: FillCharge): Promise<void> {
    this.assertOpen();
    checkFillCharge(charge);
    this.charges.set(fillChargeKey(charge.log, charge.fill), charge);
  }

  async fillCharges(log: Address): Promise<readonly FillCharge[]> {
    this.assertOpen();
    const prefix = fillChargePrefix(log);
    return [...this.charges.entries()].filter(([key]) => key.startsWith(prefix)).map(([, charge]) => charge);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private chainEvent(eventId: string, apply: () => ChannelRecord): boolean {
    this.assertOpen();
    checkEventId(eventId);
    if (this.events.has(eventId)) return false;
    const record = apply();
    this.records.set(record.channelId, record);
    this.events.add(eventId);
    return true;
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError("CLOSED", "the store is closed");
  }
}
