// The venue's own proposals and the rule that keeps them safe: the venue never signs two different
// states of one nonce in a channel. Its proposal is recorded before it is sent and then reserves its
// nonce until the investor countersigns it (answer or resync): silence, a refusal, a resync without
// it, a restart, or an investor proposal of the same nonce (valid or not) leave it pending, because
// the investor holds the venue's signature on it and could countersign it at any time. The venue
// offers it again — after a resync, and after refusing an investor's proposal with CONFLICT — and
// proposes nothing else in the channel meanwhile (BUSY).
import type { Logger } from "pino";
import { PROTOCOL_VERSION, WireError, type ClientMessage } from "../../client/protocol/wire.js";
import {
  ProtocolError,
  applyUpdate,
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
}

/** The investor let a proposal of the venue go unanswered (timeout or lost connection). */
class UnansweredError extends ProtocolError<"INVALID_UPDATE"> {
  constructor() {
    super("INVALID_UPDATE", "the receiver did not answer in time");
  }
}

export class VenueProposals {
  private nextId = 1;

  constructor(
    private readonly channels: Channels,
    private readonly sessions: Sessions,
    private readonly options: VenueProposalsOptions,
  ) {}

  /** Whether the venue's own proposal in the channel is unresolved (its nonce is reserved). */
  isPending(live: Live): boolean {
    return live.record.pending?.proposer === VENUE;
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
    const state = applyUpdate(live.channel, latest.state, update);
    const secrets = update.kind === "resolveLock" ? new Map([[update.hashlock, update.secret]]) : new Map<Bytes32, Bytes32>();
    checkTransition(live.channel, latest.state, state, { facts: this.channels.factsFor(live), secrets });
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
        if (pending === null || pending.proposer !== VENUE || live.outstanding !== undefined || live.record.status !== "open") return;
        await this.offer(live, session, pending);
      })
      .catch((error: unknown) => {
        if (!(error instanceof ProtocolError)) this.options.logger.warn({ channelId: live.channel.channelId, err: error }, "offering a pending proposal again failed");
      });
  }

  /**
   * Sends the pending proposal and waits for the answer (the caller holds the queue). Only the
   * investor's countersignature resolves it; a refusal or silence rejects, and it stays pending.
   */
  private async offer(live: Live, session: Session, pending: PendingProposal): Promise<SignedState> {
    const ours = pending.signed;
    const id = `n${this.nextId++}`;
    const answer = new Promise<string>((resolve, reject) => {
      live.outstanding = { id, answered: false, resolve, reject };
    });
    const timer = setTimeout(() => live.outstanding?.reject(new UnansweredError()), this.options.responseTimeoutMs);
    const secrets = this.secretsOf(live, ours);
    session.send({
      v: PROTOCOL_VERSION,
      type: "propose",
      id,
      channelId: live.channel.channelId,
      state: stateToJson(ours.state),
      signature: ours.signatures[VENUE]!,
      ...(secrets.length === 0 ? {} : { secrets }),
    });
    try {
      const signature = await answer;
      const agreed = withSignature(ours, INVESTOR, signature);
      verifyAgreed(live.channel, agreed, this.options.verifier);
      await this.persistAgreed(live, agreed, pending.update, "venue");
      return agreed;
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

  /** The investor's answer to the venue's outstanding proposal. */
  onAnswer(session: Session, message: Extract<ClientMessage, { type: "accepted" | "rejected" }>): void {
    const live = this.channels.owned(session, message.channelId);
    const outstanding = live.outstanding;
    if (outstanding === undefined || outstanding.id !== message.id) {
      throw new WireError("MALFORMED", `no proposal ${message.id} is awaiting an answer in this channel`);
    }
    outstanding.answered = true;
    if (message.type === "accepted") outstanding.resolve(message.signature);
    else outstanding.reject(new ProtocolError("INVALID_UPDATE", `the receiver refused: ${message.code} ${message.message}`));
  }

  /**
   * Resync: adopts the investor's latest agreed state when it is the venue's pending proposal,
   * countersigned (the answer was lost). Any other state newer than the venue's is refused.
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
