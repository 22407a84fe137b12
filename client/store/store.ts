/**
 * The persistence layer shared by the investor client and the venue's channel node.
 *
 * `ChannelStore` has ONE WRITE METHOD PER EVENT, and each is a single atomic write: either every
 * effect of the event is stored or none is (e.g. `stateAgreed` writes the latest state, appends
 * the history entry and clears the pending proposal together). Chain events carry an `eventId`
 * (e.g. `${txHash}:${logIndex}`) and are applied at most once: a repeated id is a no-op that
 * resolves to `false`, so the chain watcher may replay any range of blocks.
 *
 * Guarantees of every implementation:
 * - Validation happens in call order, against the effects of every earlier call (awaited or not),
 *   so a caller may issue a sequence of writes without awaiting each one.
 * - When a write's promise resolves, its effects and those of every write called before it are
 *   durable (prefix durability) and visible to reads. Reads show only durable data.
 * - A refused write (a rejected promise with a `StoreError`) changes nothing.
 * - After a failed disk write every later write rejects with WRITE_FAILED: the process should
 *   restart and reopen the store, which then holds exactly the writes that had resolved (and
 *   possibly some that were in flight, but never part of one event).
 *
 * Records are immutable values: the store keeps what it is given, so callers must not mutate them.
 */
import type { Bytes32, Deployment, Deposits, ParticipantIndex, Params, SignedState } from "../protocol/types.js";

export { StoreError, isStoreError, STORE_ERROR_CODES, type StoreErrorCode, type StoreErrorDetails } from "./errors.js";
export type { ChainBinding } from "./chain-binding.js";

/**
 * - `proposed`: agreed off-chain, not yet opened on chain;
 * - `open`: the adjudicator holds it (ChannelOpened, or any later event of the channel, seen);
 * - `disputed`: a state (or "no state") was registered on chain; see `dispute`;
 * - `concluded`: paid out on chain; nothing may change any more.
 */
export type ChannelStatus = "proposed" | "open" | "disputed" | "concluded";
export const CHANNEL_STATUSES: readonly ChannelStatus[] = ["proposed", "open", "disputed", "concluded"];

/**
 * One movement an update made, for showing a channel's history. `from`/`to` are participant
 * indexes; `null` is outside the channel (a withdrawal goes to `null`, an acknowledged deposit
 * comes from `null`). A trade has two movements, one per asset.
 */
export interface Movement {
  readonly assetIndex: number;
  /** ≥ 0, in the asset's smallest unit. */
  readonly amount: bigint;
  readonly from: ParticipantIndex | null;
  readonly to: ParticipantIndex | null;
}

/** A short description of an update: what kind (the core's update kind), what moved, when. */
export interface UpdateSummary {
  /** The protocol core's update kind, e.g. "payment", "trade", "withdrawal", "lock", "unlock", "final". */
  readonly kind: string;
  readonly movements: readonly Movement[];
  /** When it was proposed or agreed, milliseconds since the Unix epoch (the caller's clock). */
  readonly at: number;
  /** Optional free text: an order id, a payment reference. */
  readonly memo?: string;
}

/** A proposal sent or received but not yet answered: kept so a crash in between is recoverable. */
export interface PendingProposal {
  /** Who proposed it: our own index (sent, awaiting the countersignature) or the peer's (received). */
  readonly proposer: ParticipantIndex;
  /** The proposed state; carries at least the proposer's signature. */
  readonly signed: SignedState;
  readonly update: UpdateSummary;
  /**
   * The venue's proposal was refused or expired unanswered and is void (docs/protocol.md, off-chain
   * protocol 7): never offered again; the next state skips its nonce. Kept so it survives a restart.
   */
  readonly voided?: true;
}

/** One agreed state in a channel's append-only history. Its nonce is `signed.state.nonce`. */
export interface HistoryEntry {
  /** Fully signed. */
  readonly signed: SignedState;
  readonly update: UpdateSummary;
}

/** The on-chain dispute: the registered nonce (0 = "no state") and when it settles (unix seconds). */
export interface DisputeFacts {
  readonly nonce: bigint;
  readonly deadline: bigint;
}

/** A confirmed on-chain deposit (the adjudicator's `Deposited` event). */
export interface DepositEvent {
  readonly assetIndex: number;
  readonly participant: ParticipantIndex;
  /** The deposited amount (the event's `amount`), added to the participant's cumulative total. */
  readonly amount: bigint;
}

/** What `channelCreated` needs: the agreed parameters and where the channel lives. */
export interface NewChannel {
  /** Must equal `channelIdOf(params, deployment.chainId, deployment.adjudicator)`. */
  readonly channelId: Bytes32;
  readonly params: Params;
  readonly deployment: Deployment;
  /** Which participant we are (0 = the venue, 1 = the investor, by convention). */
  readonly me: ParticipantIndex;
  /** Milliseconds since the Unix epoch. */
  readonly createdAt: number;
}

/** Everything the store knows about one channel. */
export interface ChannelRecord extends NewChannel {
  readonly status: ChannelStatus;
  /** The latest fully signed state, with its locks; null before the first agreed update. */
  readonly latest: SignedState | null;
  /** The unanswered proposal, ours or the peer's; at most one. */
  readonly pending: PendingProposal | null;
  /** Confirmed on-chain deposits, `deposits[assetIndex][participant]`, cumulative. */
  readonly deposits: Deposits;
  /** Nonce of the last on-chain withdrawal checkpoint (`Withdrawn` event); 0 when none. */
  readonly checkpointNonce: bigint;
  /** The on-chain dispute, once a state was registered; kept after conclusion. */
  readonly dispute: DisputeFacts | null;
  /** The nonce the channel was paid out with (`ChannelConcluded`); null until then. */
  readonly concludedNonce: bigint | null;
}

export interface ChannelFilter {
  /** Only channels in this status (or any of these). */
  readonly status?: ChannelStatus | readonly ChannelStatus[];
}

export interface HistoryOptions {
  /** At most this many entries (the first ones in the chosen order). */
  readonly limit?: number;
  /** Newest (highest nonce) first; default oldest first. */
  readonly newestFirst?: boolean;
  /** Only entries with a nonce strictly above this (paging). */
  readonly afterNonce?: bigint;
  /** Only entries with a nonce strictly below this (paging). */
  readonly beforeNonce?: bigint;
}

export interface ChannelStore {
  // ---- off-chain events -------------------------------------------------------------------

  /** A channel was agreed off-chain (status `proposed`). DUPLICATE_CHANNEL if the id is known. */
  channelCreated(channel: NewChannel): Promise<void>;
  /**
   * A proposal was sent (before it leaves the process) or received. Replaces any pending one.
   * STALE_STATE unless its nonce is above the latest agreed one.
   */
  proposalRecorded(channelId: Bytes32, pending: PendingProposal): Promise<void>;
  /** The pending proposal was rejected or abandoned. A no-op when none is pending. */
  proposalCleared(channelId: Bytes32): Promise<void>;
  /**
   * A fully signed state was agreed (persist it BEFORE the countersignature leaves the process):
   * writes it as the latest, appends it to the history and clears the pending proposal, atomically.
   * NOT_AGREED if a signature is missing; STALE_STATE unless its nonce is above the latest one.
   */
  stateAgreed(channelId: Bytes32, signed: SignedState, update: UpdateSummary): Promise<void>;
  /**
   * A channel that never reached the chain is given up (its open transaction failed, or never mined
   * and never can): the record and its history are deleted. Only a `proposed` channel can be
   * abandoned (INVALID_TRANSITION otherwise): the caller checks the chain first.
   */
  channelAbandoned(channelId: Bytes32): Promise<void>;

  // ---- chain events (idempotent by eventId; resolve to false when already applied) ----------
  //
  // Chain events are facts: any event after ChannelOpened on a `proposed` channel proves it open
  // (its ChannelOpened went by before the record existed). Only a fact contradicting a concluded
  // channel is refused (INVALID_TRANSITION): the watcher's handler should alert on it, not retry.
  // Deposits add up, so an event id must be stable for the event (e.g. `${txHash}:${logIndex}`
  // after enough confirmations): the same deposit under two ids would be counted twice.

  /** ChannelOpened: `proposed` → `open` (nothing changes on a channel already known to be on chain). */
  channelOpened(channelId: Bytes32, eventId: string): Promise<boolean>;
  /** Deposited: adds `amount` to the participant's confirmed deposits. */
  depositConfirmed(channelId: Bytes32, deposit: DepositEvent, eventId: string): Promise<boolean>;
  /** Withdrawn: the state with `nonce` became the on-chain checkpoint. */
  withdrawalObserved(channelId: Bytes32, nonce: bigint, eventId: string): Promise<boolean>;
  /** StateRegistered (a registration or a challenge): status `disputed` with these facts. */
  disputeObserved(channelId: Bytes32, dispute: DisputeFacts, eventId: string): Promise<boolean>;
  /**
   * ChannelConcluded: status `concluded`, paid out with `nonce`; clears the pending proposal.
   * The same conclusion again is accepted and changes nothing; another nonce is INVALID_TRANSITION.
   */
  channelConcluded(channelId: Bytes32, nonce: bigint, eventId: string): Promise<boolean>;

  // ---- global -------------------------------------------------------------------------------

  /** The chain watcher processed every event up to and including this block (may move back on a reorg). */
  blockProcessed(blockNumber: number): Promise<void>;
  /** Replaces the compliance facts snapshot: opaque JSON text (INVALID_ARGUMENT if not JSON). */
  factsSaved(json: string): Promise<void>;
  /**
   * A lock's secret became known (an invoice of ours, or a receiver's resolution): kept so that a
   * restart can still resolve or reveal it. INVALID_ARGUMENT unless both are 32 bytes of lowercase
   * 0x-hex; storing a hashlock again replaces its secret.
   */
  secretLearned(hashlock: Bytes32, secret: Bytes32): Promise<void>;
  /**
   * We issued an invoice: its secret is kept (as `secretLearned`) and the invoice is pending until
   * `expiresAt` (ms since the epoch) unless paid first. Issuing a hashlock again replaces both.
   */
  invoiceIssued(hashlock: Bytes32, secret: Bytes32, expiresAt: number): Promise<void>;
  /** A lock under the invoice's hashlock arrived: no longer pending, its secret is kept. A no-op for other hashlocks. */
  invoicePaid(hashlock: Bytes32): Promise<void>;
  /**
   * Deletes every pending invoice that expired at `now` (ms) or before, with its secret, and
   * resolves with their hashlocks. An expired invoice whose hashlock is locked in a channel (latest
   * or pending state) was paid after all: it is kept as paid instead.
   */
  invoicesExpired(now: number): Promise<readonly Bytes32[]>;

  // ---- reads (durable data only) -------------------------------------------------------------

  /** The channel, or undefined when the store does not know it. */
  channel(channelId: Bytes32): Promise<ChannelRecord | undefined>;
  /** Every channel (optionally filtered), ordered by channel id. */
  channels(filter?: ChannelFilter): Promise<readonly ChannelRecord[]>;
  /** Agreed states of a channel in nonce order (UNKNOWN_CHANNEL for an unknown id). */
  history(channelId: Bytes32, options?: HistoryOptions): Promise<readonly HistoryEntry[]>;
  /** Whether the chain event with this id has been applied. */
  eventApplied(eventId: string): Promise<boolean>;
  /** The last block the chain watcher processed, or null before the first. */
  lastProcessedBlock(): Promise<number | null>;
  /** The compliance facts snapshot, or null when none was saved. */
  facts(): Promise<string | null>;
  /** Every secret learnt, by hashlock. */
  secrets(): Promise<ReadonlyMap<Bytes32, Bytes32>>;
  /** Pending (issued, unpaid, not yet deleted) invoices: their expiry (ms) by hashlock. */
  invoices(): Promise<ReadonlyMap<Bytes32, number>>;

  /** Waits for every write in flight, then closes; later calls reject with CLOSED. Idempotent. */
  close(): Promise<void>;
}
