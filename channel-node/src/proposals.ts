// The venue's own proposals and the rule that keeps them safe: the venue never signs two different
// states of one nonce in a channel. Its proposal is recorded before it is sent and then reserves its
// nonce: the investor holds the venue's signature on it and could countersign it at any time. While
// it is pending, silence, a resync without it, a restart, or an investor proposal of the same nonce
// (valid or not) leave it pending; the venue offers it again — after a resync, and after refusing an
// investor's proposal with CONFLICT — and proposes nothing else in the channel meanwhile (BUSY).
//
// Liveness: a proposal the investor refuses (`rejected` on its authenticated session) or leaves
// unanswered for `voidAfterMs` since it was made is void. It is never offered again, and the next
// state — either side's — is built on the latest agreed state with the nonce above the voided one,
// so the venue still signs nothing else at that nonce. Until the venue signs a state above it, a late
// countersignature (answer or resync) makes the voided proposal the agreed state after all; once it
// has (its proposal over the void replaces the void in the store, or an investor state above it is
// agreed), the void is final and the voided state, countersigned, is merely stale — on chain the
// higher agreed state answers it (docs/protocol.md, off-chain protocol 7).
import type { Logger } from "pino";
import { PROTOCOL_VERSION, WireError, type ClientMessage } from "../../client/protocol/wire.js";
import {
  ProtocolError,
  applyUpdate,
  baseAfterVoid,
  checkStateBounds,
  checkTransition,
  stateDigest,
  stateToJson,
  verifyAgreed,
  withSignature,
  type Bytes32,
  type SignedState,
  type Signer,
  type Update,
  type Verifier,
} from "../../client/protocol/index.js";
import type { ChannelStore, PendingProposal, UpdateSummary } from "../../client/store/store.js";
import { summarize } from "../../client/store/summary.js";
import { INVESTOR, VENUE, investorOf, type Channels, type Live } from "./channels.js";
import type { Sessions } from "./sessions.js";
import type { Session } from "./transport.js";
import type { NodeMetrics } from "./metrics.js";

export interface VenueProposalsOptions {
  readonly store: ChannelStore;
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly responseTimeoutMs: number;
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** The secret a lock resolution needs (the venue learnt it), to send along with the proposal. */
  readonly secretOf: (hashlock: Bytes32) => Bytes32 | undefined;
  /** A proposal left unanswered this long since it was made is void (EngineBounds.venueProposalVoidMs). */
  readonly voidAfterMs: number;
  /** The fill being settled under a hashlock (trading/settlement.ts): a lock pair's proposal names it. */
  readonly fillOf: (hashlock: Bytes32) => bigint | undefined;
}

/** The investor let a proposal of the venue go unanswered (timeout or lost connection). */
export class UnansweredError extends ProtocolError<"INVALID_UPDATE"> {
  constructor() {
    super("INVALID_UPDATE", "the receiver did not answer in time");
  }
}

/** The investor refused a proposal of the venue: the proposal is void. */
export class RefusedError extends ProtocolError<"INVALID_UPDATE"> {
  constructor(code: string, message: string) {
    super("INVALID_UPDATE", `the receiver refused: ${code} ${message}`);
  }
}

export class VenueProposals {
  private nextId = 1;
  /** The id of each channel's last offer: its investor's refusal may arrive after the offer timed out. */
  private readonly lastOffers = new WeakMap<Live, string>();

  constructor(
    private readonly channels: Channels,
    private readonly sessions: Sessions,
    private readonly options: VenueProposalsOptions,
  ) {}

  /** Whether the venue's own proposal in the channel is unresolved and not void (it is offered, nothing else is proposed). */
  isPending(live: Live): boolean {
    return live.record.pending?.proposer === VENUE && this.voidedOf(live) === undefined;
  }

  /** The nonce of the venue's void proposal the channel's next state skips, if any (`baseAfterVoid`). */
  voidedNonce(live: Live): bigint | undefined {
    return this.voidedOf(live)?.signed.state.nonce;
  }

  /** The venue's void proposal, as the investor is told of it at (re)connection: an investor away when it expired learns to skip its nonce. */
  voidedProposal(live: Live): SignedState | undefined {
    return this.voidedOf(live)?.signed;
  }

  /** The venue's proposal if it is void: refused, or unanswered (not being offered) for `voidAfterMs`. */
  private voidedOf(live: Live): PendingProposal | undefined {
    const pending = live.record.pending;
    if (pending?.proposer !== VENUE) return undefined;
    if (pending.voided === true) return pending;
    const expired = live.outstanding === undefined && this.options.clock() - pending.update.at >= this.options.voidAfterMs;
    return expired ? pending : undefined;
  }

  /**
   * Proposes `update` in a channel (the caller holds the channel's queue) and resolves with the
   * agreed state once the investor countersigns. BUSY while an earlier proposal is unresolved.
   */
  async propose(live: Live, session: Session, update: Update): Promise<SignedState> {
    if (live.record.status !== "open") throw new ProtocolError("INVALID_UPDATE", `the channel is ${live.record.status}`);
    if (this.isPending(live)) {
      throw new ProtocolError("BUSY", "the venue's previous proposal in the receiving channel is unresolved; the investor must resync");
    }
    const latest = this.channels.latestOf(live);
    // Over a void: nonce above the voided one. Recording this proposal replaces the void (now final).
    const voided = this.voidedNonce(live);
    const state = applyUpdate(live.channel, baseAfterVoid(latest.state, voided), update);
    const secrets = update.kind === "resolveLock" ? new Map([[update.hashlock, update.secret]]) : new Map<Bytes32, Bytes32>();
    checkTransition(live.channel, latest.state, state, { facts: this.channels.factsFor(live), secrets, voided });
    const ours = withSignature({ state, signatures: [null, null] }, VENUE, this.options.signer.sign(stateDigest(state, live.channel.domain)));
    const pending: PendingProposal = { proposer: VENUE, signed: ours, update: summarize(update, this.options.clock()) };
    await this.options.store.proposalRecorded(live.channel.channelId, pending);
    live.record = { ...live.record, pending };
    return this.offer(live, session, pending);
  }

  /** Offers the pending proposal again, queued behind the channel's updates, if its investor is online. */
  reoffer(live: Live): void {
    const session = this.sessions.get(investorOf(live));
    if (session === undefined || !this.isPending(live)) return;
    this.channels
      .serialized(live, async () => {
        const pending = live.record.pending;
        if (pending === null || !this.isPending(live) || live.outstanding !== undefined || live.record.status !== "open") return;
        await this.offer(live, session, pending);
      })
      .catch((error: unknown) => {
        if (!(error instanceof ProtocolError)) this.options.logger.warn({ channelId: live.channel.channelId, err: error }, "offering a pending proposal again failed");
      });
  }

  /**
   * Sends the pending proposal and waits for the answer (the caller holds the queue). Only the
   * investor's countersignature resolves it; a refusal rejects and voids it; silence rejects, and it
   * stays pending (until `voidAfterMs`).
   */
  private async offer(live: Live, session: Session, pending: PendingProposal): Promise<SignedState> {
    const ours = pending.signed;
    const id = `n${this.nextId++}`;
    this.lastOffers.set(live, id);
    const answer = new Promise<string>((resolve, reject) => {
      live.outstanding = { id, answered: false, resolve, reject };
    });
    const timer = setTimeout(() => live.outstanding?.reject(new UnansweredError()), this.options.responseTimeoutMs);
    const secrets = this.secretsOf(live, ours);
    const fill = this.fillOf(live, pending);
    session.send({
      v: PROTOCOL_VERSION,
      type: "propose",
      id,
      channelId: live.channel.channelId,
      state: stateToJson(ours.state),
      signature: ours.signatures[VENUE]!,
      ...(secrets.length === 0 ? {} : { secrets }),
      ...(fill === undefined ? {} : { fill: fill.toString() }),
    });
    try {
      const signature = await answer;
      const agreed = withSignature(ours, INVESTOR, signature);
      verifyAgreed(live.channel, agreed, this.options.verifier);
      await this.persistAgreed(live, agreed, pending.update, "venue");
      return agreed;
    } catch (error) {
      if (error instanceof RefusedError) await this.voidRefused(live, pending);
      throw error;
    } finally {
      clearTimeout(timer);
      live.outstanding = undefined;
    }
  }

  /** The secrets of the investor locks the proposal resolves (the investor checks each). */
  private secretsOf(live: Live, ours: SignedState): { hashlock: Bytes32; secret: Bytes32 }[] {
    if (live.record.pending?.update.kind !== "resolveLock") return [];
    const kept = new Set(ours.state.locks.map((lock) => lock.hashlock));
    return this.channels
      .latestOf(live)
      .state.locks.filter((lock) => !kept.has(lock.hashlock) && lock.sender === INVESTOR)
      .flatMap((lock) => {
        const secret = this.options.secretOf(lock.hashlock);
        return secret === undefined ? [] : [{ hashlock: lock.hashlock, secret }];
      });
  }

  /** The fill a lock-pair proposal settles, found from its hashlock (also when the proposal is offered again). */
  private fillOf(live: Live, pending: PendingProposal): bigint | undefined {
    if (pending.update.kind !== "addLockPair") return undefined;
    const agreed = new Set(this.channels.latestOf(live).state.locks.map((lock) => lock.hashlock));
    const added = pending.signed.state.locks.find((lock) => !agreed.has(lock.hashlock));
    return added === undefined ? undefined : this.options.fillOf(added.hashlock);
  }

  /** Records the refused proposal as void (it survives a restart as such). */
  private async voidRefused(live: Live, pending: PendingProposal): Promise<void> {
    const voided: PendingProposal = { ...pending, voided: true };
    await this.options.store.proposalRecorded(live.channel.channelId, voided);
    live.record = { ...live.record, pending: voided };
    this.options.logger.info({ channelId: live.channel.channelId, nonce: pending.signed.state.nonce.toString() }, "the investor refused the venue's proposal: void");
  }

  /**
   * The investor's answer to the venue's outstanding proposal — or a late countersignature of the
   * venue's pending or void proposal (its offer timed out), adopted if nothing was signed above it.
   */
  async onAnswer(session: Session, message: Extract<ClientMessage, { type: "accepted" | "rejected" }>): Promise<void> {
    const live = this.channels.owned(session, message.channelId);
    const outstanding = live.outstanding;
    if (outstanding !== undefined && outstanding.id === message.id) {
      outstanding.answered = true;
      if (message.type === "accepted") outstanding.resolve(message.signature);
      else outstanding.reject(new RefusedError(message.code, message.message));
      return;
    }
    if (message.type === "accepted" && live.record.pending?.proposer === VENUE && live.record.pending.signed.state.nonce.toString() === message.nonce) {
      return this.channels.serialized(live, () => this.adoptLate(live, message.nonce, message.signature));
    }
    if (message.type === "rejected" && this.refusesLastOffer(live, message.id)) {
      return this.channels.serialized(live, () => this.voidRefusedLate(live, message.id, message.code));
    }
    throw new WireError("MALFORMED", `no proposal ${message.id} is awaiting an answer in this channel`);
  }

  /** Whether `id` names the last offer of the venue's pending proposal, which timed out unanswered. */
  private refusesLastOffer(live: Live, id: string): boolean {
    return this.lastOffers.get(live) === id && live.outstanding === undefined && this.isPending(live);
  }

  /**
   * A refusal of the pending proposal's last offer that came after the offer timed out (the
   * investor's client could not judge it in time): void, as a refusal in time is (the caller holds the queue).
   */
  private async voidRefusedLate(live: Live, id: string, code: string): Promise<void> {
    const pending = live.record.pending;
    if (pending === null || !this.refusesLastOffer(live, id)) return;
    this.options.logger.info({ channelId: live.channel.channelId, code }, "a late refusal of the venue's proposal");
    await this.voidRefused(live, pending);
  }

  /** Adopts the venue's proposal at `nonce`, countersigned late, if it is still the one recorded (the caller holds the queue). */
  private async adoptLate(live: Live, nonce: string, signature: string): Promise<void> {
    const pending = live.record.pending;
    if (pending?.proposer !== VENUE || pending.signed.state.nonce.toString() !== nonce || live.outstanding !== undefined) {
      throw new WireError("MALFORMED", `the venue's proposal of nonce ${nonce} is no longer open to a countersignature`);
    }
    const agreed = withSignature(pending.signed, INVESTOR, signature);
    try {
      verifyAgreed(live.channel, agreed, this.options.verifier);
    } catch (error) {
      if (error instanceof ProtocolError) throw new WireError("MALFORMED", `the countersignature does not verify: ${error.message}`);
      throw error;
    }
    await this.persistAgreed(live, agreed, pending.update, "venue");
  }

  /**
   * Resync: adopts the investor's latest agreed state when it is the venue's pending (or void, not
   * yet superseded) proposal, countersigned (the answer was lost or late). Any other state newer than
   * the venue's is refused.
   */
  async reconcile(live: Live, theirs: SignedState | null): Promise<void> {
    const pending = live.record.pending;
    const ours = this.channels.latestOf(live).state.nonce;
    if (theirs === null || theirs.state.nonce <= ours) return;
    checkStateBounds(theirs.state);
    if (pending === null || pending.proposer !== VENUE || stateDigest(pending.signed.state, live.channel.domain) !== stateDigest(theirs.state, live.channel.domain)) {
      throw new ProtocolError("BAD_NONCE", "the venue never proposed this state");
    }
    verifyAgreed(live.channel, theirs, this.options.verifier);
    await this.persistAgreed(live, theirs, pending.update, "resync");
    this.options.logger.info({ channelId: live.channel.channelId, nonce: theirs.state.nonce.toString() }, "adopted a state from resync");
  }

  /** Stores an agreed state (clearing the pending proposal with it) and counts it. */
  async persistAgreed(live: Live, agreed: SignedState, summary: UpdateSummary, proposer: string): Promise<void> {
    await this.options.store.stateAgreed(live.channel.channelId, agreed, summary);
    live.record = { ...live.record, latest: agreed, pending: null };
    this.options.metrics.updates.inc({ kind: summary.kind, proposer });
  }
}
