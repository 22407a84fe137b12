// The venue's channel engine: the imperative shell around the pure protocol core. For every channel
// it serialises updates, validates proposals with the core (nonce, conservation, balances given the
// confirmed deposits, compliance from the mirror, signatures), persists each agreed state before its
// countersignature leaves the process, and proposes the venue's own updates (routed payments).
//
// Simultaneous proposals: each side has at most one unanswered proposal per channel. When the
// investor proposes while the venue's own proposal for the same channel is unanswered, the venue's
// takes precedence and the investor's is rejected with CONFLICT; the investor's client, on receiving
// the venue's proposal while its own is unanswered, drops its own. Both then continue from the
// venue's state.
import type { Logger } from "pino";
import {
  PROTOCOL_VERSION,
  WireError,
  rejectedMessage,
  type RejectionReason,
  type ChannelReport,
  type ClientMessage,
} from "../../client/protocol/wire.js";
import {
  applyUpdate,
  assertCompliant,
  channelBalance,
  channelOf,
  checkTransition,
  genesisState,
  isTrackedToken,
  paramsToJson,
  rejectionOf,
  signedStateToJson,
  stateDigest,
  checkStateBounds,
  domainOf,
  validateParams,
  stateToJson,
  validateTransition,
  verifyAgreed,
  withSignature,
  ProtocolError,
  type Channel,
  type ChannelFacts,
  type ComplianceFacts,
  type Deployment,
  type Signer,
  type SignedState,
  type Update,
  type Verifier,
  type Address,
  type Bytes32,
} from "../../client/protocol/index.js";
import type { ChannelRecord, ChannelStore, UpdateSummary } from "../../client/store/store.js";
import { summarize } from "../../client/store/summary.js";
import type { Session } from "./transport.js";
import type { NodeMetrics } from "./metrics.js";

export interface Price {
  security: Address;
  cash: Address;
  /** Cash smallest units per one security smallest unit, as a fraction cashAmount / securityAmount. */
  price: string;
  toleranceBps: number;
}

export interface EngineOptions {
  store: ChannelStore;
  signer: Signer;
  verifier: Verifier;
  deployment: Deployment;
  /** Tokens the venue accepts in channels. */
  assets: readonly Address[];
  minChallengePeriod: bigint;
  maxChallengePeriod: bigint;
  prices: readonly Price[];
  responseTimeoutMs: number;
  /** The compliance mirror, kept fresh by the chain watcher. */
  facts: () => ComplianceFacts;
  /** Seconds since the Unix epoch (the chain's notion of time is close enough for attribute expiry). */
  now: () => bigint;
  logger: Logger;
  metrics: NodeMetrics;
}

interface Outstanding {
  readonly id: string;
  readonly signed: SignedState;
  resolve(signature: string): void;
  reject(error: Error): void;
}

/** Per-channel live data: the cached record and the queue that serialises its updates. */
interface Live {
  channel: Channel;
  record: ChannelRecord;
  queue: Promise<unknown>;
  outstanding: Outstanding | undefined;
}

const VENUE = 0;
const INVESTOR = 1;

export class ChannelEngine {
  private readonly live = new Map<Bytes32, Live>();
  private readonly sessions = new Map<Address, Session>();
  private nextProposalId = 1;

  constructor(private readonly options: EngineOptions) {}

  get venue(): Address {
    return this.options.signer.address;
  }

  /** Loads every channel from the store (after a restart: all open channels resume). */
  async load(): Promise<void> {
    for (const record of await this.options.store.channels()) {
      // The store checked the id against the parameters when the channel was created; recomputing
      // it for every channel would dominate a restart with many channels.
      const channel: Channel = { params: record.params, deployment: record.deployment, channelId: record.channelId, domain: domainOf(record.deployment) };
      this.live.set(record.channelId, { channel, record, queue: Promise.resolve(), outstanding: undefined });
    }
    this.updateChannelGauge();
  }

  channelIds(): Bytes32[] {
    return [...this.live.keys()];
  }

  record(channelId: Bytes32): ChannelRecord | undefined {
    return this.live.get(channelId)?.record;
  }

  channel(channelId: Bytes32): Channel | undefined {
    return this.live.get(channelId)?.channel;
  }

  // ------------------------------------------------------------------ sessions

  onAuthenticated(session: Session): void {
    this.sessions.get(session.address)?.close(4000, "replaced by a newer session");
    this.sessions.set(session.address, session);
    session.send({ v: PROTOCOL_VERSION, type: "welcome", address: session.address, channels: this.reportsOf(session.address) });
  }

  onClosed(session: Session): void {
    if (this.sessions.get(session.address) === session) this.sessions.delete(session.address);
  }

  isConnected(investor: Address): boolean {
    return this.sessions.has(investor);
  }

  async onMessage(session: Session, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "open":
        return this.handleOpen(session, message);
      case "propose":
        return this.handlePropose(session, message);
      case "accepted":
      case "rejected":
        return this.handleAnswer(session, message);
      case "resync":
        return this.handleResync(session, message);
      case "auth":
        throw new WireError("MALFORMED", "already authenticated");
    }
  }

  // ------------------------------------------------------------------ opening

  private async handleOpen(session: Session, message: Extract<ClientMessage, { type: "open" }>): Promise<void> {
    const params = message.params;
    this.guard(() => validateParams(params));
    if (params.participants[VENUE] !== this.venue || params.participants[INVESTOR] !== session.address) {
      throw new WireError("NOT_PARTICIPANT", `participant 0 must be the venue ${this.venue} and participant 1 you, ${session.address}`);
    }
    for (const asset of params.assets) {
      if (!this.options.assets.includes(asset)) throw new WireError("MALFORMED", `the venue does not accept asset ${asset}`);
    }
    const { minChallengePeriod, maxChallengePeriod } = this.options;
    if (params.challengePeriod < minChallengePeriod || params.challengePeriod > maxChallengePeriod) {
      throw new WireError("MALFORMED", `the challenge period must be between ${minChallengePeriod} and ${maxChallengePeriod} seconds`);
    }
    const channel = channelOf(params, this.options.deployment);
    if (!this.live.has(channel.channelId)) {
      await this.options.store.channelCreated({ channelId: channel.channelId, params, deployment: this.options.deployment, me: VENUE, createdAt: Date.now() });
      const record = await this.readRecord(channel.channelId);
      this.live.set(channel.channelId, { channel, record, queue: Promise.resolve(), outstanding: undefined });
      this.updateChannelGauge();
      this.options.logger.info({ channelId: channel.channelId, investor: session.address }, "channel agreed");
    }
    session.send({ v: PROTOCOL_VERSION, type: "opened", id: message.id, channel: this.reportOf(this.live.get(channel.channelId)!) });
  }

  // ------------------------------------------------------------------ investor proposals

  private async handlePropose(session: Session, message: Extract<ClientMessage, { type: "propose" }>): Promise<void> {
    let live: Live;
    try {
      live = this.ownedChannel(session, message.channelId);
    } catch (error) {
      const rejection = rejectionOrWire(error);
      this.options.metrics.rejections.inc({ code: rejection.code });
      session.send(rejectedMessage(message.id, message.channelId, rejection));
      return;
    }
    const started = process.hrtime.bigint();
    if (live.outstanding !== undefined) {
      // Simultaneous proposals: the venue's own, already on its way, takes precedence.
      this.options.metrics.rejections.inc({ code: "CONFLICT" });
      session.send(rejectedMessage(message.id, message.channelId, rejectionOf(new ProtocolError("CONFLICT", "the venue's own proposal for this channel is unanswered and takes precedence"))));
      return;
    }
    await this.serialized(live, async () => {
      try {
        const signature = await this.countersign(live, session, message);
        session.send({ v: PROTOCOL_VERSION, type: "accepted", id: message.id, channelId: message.channelId, nonce: message.state.nonce.toString(), signature });
        this.options.metrics.updateLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
      } catch (error) {
        const rejection = rejectionOrWire(error);
        this.options.metrics.rejections.inc({ code: rejection.code });
        session.send(rejectedMessage(message.id, message.channelId, rejection));
      }
    });
  }

  /** Validates, persists and countersigns an investor's proposal; throws the reason to reject it. */
  private async countersign(live: Live, session: Session, message: Extract<ClientMessage, { type: "propose" }>): Promise<string> {
    if (live.record.status !== "open") {
      throw new ProtocolError("INVALID_UPDATE", `the channel is ${live.record.status}; updates need an open channel`);
    }
    if (live.outstanding !== undefined) {
      throw new ProtocolError("CONFLICT", "the venue's own proposal for this channel is unanswered and takes precedence");
    }
    const state = message.state;
    checkStateBounds(state);
    const unresolved = live.record.pending;
    if (unresolved !== null && unresolved.proposer === VENUE && state.nonce === unresolved.signed.state.nonce) {
      // The investor builds on our latest agreed state, not on our unanswered proposal: it did not
      // take it. (Were it to hold it signed anyway, it could only ever choose between two states of
      // this nonce, and any later agreed state supersedes both on chain.)
      await this.options.store.proposalCleared(live.channel.channelId);
      live.record = { ...live.record, pending: null };
    }
    const proposed: SignedState = { state, signatures: [null, message.signature] };
    const secrets = new Map((message.secrets ?? []).map((s) => [s.hashlock, s.secret] as const));
    const { update, digest } = validateTransition(live.channel, this.latestOf(live), proposed, { facts: this.factsFor(live), secrets }, this.options.verifier);
    checkInvestorMayPropose(update);
    if (update.kind === "trade") this.checkPrice(live, update);
    if (message.route !== undefined) await this.forward(live, session, update, message.route.to);
    const signature = this.options.signer.sign(digest);
    const agreed = withSignature(proposed, VENUE, signature);
    await this.persistAgreed(live, agreed, summarize(update, Date.now()), "investor");
    return signature;
  }

  /**
   * A routed payment: the investor pays the venue in this channel and the venue pays `to` in
   * theirs. The venue first gets the receiver's countersignature, then countersigns the payer's
   * state (which the payer already signed), so no investor pays without the other being paid.
   * Compliance is checked for the real movement, payer → receiver.
   */
  private async forward(payerLive: Live, payer: Session, update: Update, to: Address): Promise<void> {
    if (update.kind !== "payment" || update.leg.from !== INVESTOR) {
      throw new ProtocolError("INVALID_UPDATE", "only a payment from the investor to the venue can be routed");
    }
    const token = payerLive.channel.params.assets[update.leg.assetIndex]!;
    const facts = this.options.facts();
    if (isTrackedToken(facts, token)) {
      assertCompliant(facts, token, payer.address, to, update.leg.amount, this.options.now());
    }
    const target = [...this.live.values()].find(
      (l) => l.record.params.participants[INVESTOR] === to && l.record.status === "open" && l.record.params.assets.includes(token),
    );
    if (target === undefined) throw new WireError("UNKNOWN_CHANNEL", `the venue has no open channel with ${to} in ${token}`);
    const receiver = this.sessions.get(to);
    if (receiver === undefined) throw new ProtocolError("INVALID_UPDATE", `the receiver ${to} is offline; try again later`);
    const leg = { assetIndex: target.record.params.assets.indexOf(token), from: VENUE, amount: update.leg.amount } as const;
    await this.serialized(target, () => this.proposeUpdate(target, receiver, { kind: "payment", leg }));
  }

  private checkPrice(live: Live, update: Extract<Update, { kind: "trade" }>): void {
    const assets = live.channel.params.assets;
    const [a, b] = update.legs;
    for (const quote of this.options.prices) {
      const security = assets.indexOf(quote.security);
      const cash = assets.indexOf(quote.cash);
      const securityLeg = a.assetIndex === security ? a : b.assetIndex === security ? b : undefined;
      const cashLeg = a.assetIndex === cash ? a : b.assetIndex === cash ? b : undefined;
      if (securityLeg === undefined || cashLeg === undefined) continue;
      const [num, den] = parseFraction(quote.price);
      const fair = securityLeg.amount * num; // fair cash × den
      const paid = cashLeg.amount * den;
      const tolerance = (fair * BigInt(quote.toleranceBps)) / 10_000n;
      // The venue sells (security leg from the venue) for at least the price, buys for at most it.
      const acceptable = securityLeg.from === VENUE ? paid >= fair - tolerance : paid <= fair + tolerance;
      if (!acceptable) throw new WireError("MALFORMED", `the venue trades at ${quote.price} cash units per security unit (±${quote.toleranceBps} bps)`);
      return;
    }
    throw new WireError("MALFORMED", "the venue does not trade this pair");
  }

  // ------------------------------------------------------------------ venue proposals

  /**
   * Proposes `update` in a channel (the caller holds the channel's queue) and resolves with the
   * agreed state once the investor countersigns. The proposal is recorded before it is sent.
   */
  private async proposeUpdate(live: Live, session: Session, update: Update): Promise<SignedState> {
    if (live.record.status !== "open") throw new ProtocolError("INVALID_UPDATE", `the channel is ${live.record.status}`);
    if (live.record.pending?.proposer === VENUE) {
      // Never sign two different states of one nonce: the last one must be resolved first.
      throw new ProtocolError("BUSY", "the venue's previous proposal in the receiving channel is unresolved; the investor must resync");
    }
    const latest = this.latestOf(live);
    const state = applyUpdate(live.channel, latest.state, update);
    checkTransition(live.channel, latest.state, state, { facts: this.factsFor(live) });
    const ours = withSignature({ state, signatures: [null, null] }, VENUE, this.options.signer.sign(stateDigest(state, live.channel.domain)));
    const summary = summarize(update, Date.now());
    const pending = { proposer: VENUE, signed: ours, update: summary } as const;
    await this.options.store.proposalRecorded(live.channel.channelId, pending);
    live.record = { ...live.record, pending };
    const id = `n${this.nextProposalId++}`;
    const answer = new Promise<string>((resolve, reject) => {
      live.outstanding = { id, signed: ours, resolve, reject };
    });
    const timer = setTimeout(() => live.outstanding?.reject(new UnansweredError()), this.options.responseTimeoutMs);
    session.send({ v: PROTOCOL_VERSION, type: "propose", id, channelId: live.channel.channelId, state: stateToJson(state), signature: ours.signatures[VENUE]! });
    try {
      const signature = await answer;
      const agreed = withSignature(ours, INVESTOR, signature);
      verifyAgreed(live.channel, agreed, this.options.verifier);
      await this.persistAgreed(live, agreed, summary, "venue");
      return agreed;
    } catch (error) {
      // An explicit rejection ends the proposal. Silence does not: the investor may have signed it,
      // so it stays pending until the investor's next proposal or resync resolves it.
      if (!(error instanceof UnansweredError)) {
        await this.options.store.proposalCleared(live.channel.channelId);
        live.record = { ...live.record, pending: null };
      }
      throw error;
    } finally {
      clearTimeout(timer);
      live.outstanding = undefined;
    }
  }

  private async handleAnswer(session: Session, message: Extract<ClientMessage, { type: "accepted" | "rejected" }>): Promise<void> {
    const live = this.ownedChannel(session, message.channelId);
    const outstanding = live.outstanding;
    if (outstanding === undefined || outstanding.id !== message.id) {
      throw new WireError("MALFORMED", `no proposal ${message.id} is awaiting an answer in this channel`);
    }
    if (message.type === "accepted") outstanding.resolve(message.signature);
    else outstanding.reject(new ProtocolError("INVALID_UPDATE", `the receiver refused: ${message.code} ${message.message}`));
  }

  // ------------------------------------------------------------------ resync

  /**
   * After a reconnect the investor sends its latest agreed state per channel. One the venue lacks
   * (the investor countersigned the venue's proposal but the answer was lost in a crash) is adopted
   * once both signatures check out; the answer holds the venue's view of every channel.
   */
  private async handleResync(session: Session, message: Extract<ClientMessage, { type: "resync" }>): Promise<void> {
    for (const entry of message.channels) {
      const live = this.live.get(entry.channelId);
      if (live === undefined || live.record.params.participants[INVESTOR] !== session.address) continue;
      await this.serialized(live, async () => {
        try {
          await this.reconcile(live, entry.latest);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          this.options.logger.warn({ channelId: live.channel.channelId, err: error }, "resync: the investor's state was not adopted");
        }
      });
    }
    session.send({ v: PROTOCOL_VERSION, type: "resynced", id: message.id, channels: this.reportsOf(session.address) });
  }

  /**
   * Settles an unresolved venue proposal against the investor's latest agreed state: adopted when the
   * investor holds it countersigned, dropped when the investor is still at the state before it.
   */
  private async reconcile(live: Live, theirs: SignedState | null): Promise<void> {
    const pending = live.record.pending;
    const ours = this.latestOf(live).state.nonce;
    const theirNonce = theirs?.state.nonce ?? 0n;
    if (theirs !== null && theirNonce > ours) {
      checkStateBounds(theirs.state);
      if (pending === null || pending.proposer !== VENUE || stateDigest(pending.signed.state, live.channel.domain) !== stateDigest(theirs.state, live.channel.domain)) {
        throw new ProtocolError("BAD_NONCE", "the venue never proposed this state");
      }
      verifyAgreed(live.channel, theirs, this.options.verifier);
      await this.persistAgreed(live, theirs, pending.update, "resync");
      this.options.logger.info({ channelId: live.channel.channelId, nonce: theirNonce.toString() }, "adopted a state from resync");
      return;
    }
    if (pending !== null && pending.proposer === VENUE && theirNonce === ours && live.outstanding === undefined) {
      await this.options.store.proposalCleared(live.channel.channelId);
      live.record = { ...live.record, pending: null };
    }
  }

  // ------------------------------------------------------------------ chain events

  /** Re-reads a channel after the chain watcher stored an event for it, and tells its investor. */
  async refresh(channelId: Bytes32): Promise<void> {
    const live = this.live.get(channelId);
    if (live === undefined) return;
    live.record = await this.readRecord(channelId);
    this.updateChannelGauge();
    const session = this.sessions.get(live.record.params.participants[INVESTOR]);
    session?.send({
      v: PROTOCOL_VERSION,
      type: "deposits",
      channelId,
      status: live.record.status,
      deposits: live.record.deposits.map(([a, b]) => [a.toString(), b.toString()] as [string, string]),
    });
  }

  /** The latest agreed state of a channel (the genesis state before the first update). */
  latest(channelId: Bytes32): SignedState | undefined {
    const live = this.live.get(channelId);
    return live === undefined ? undefined : this.latestOf(live);
  }

  /** Balances of both participants per asset, free to move. */
  balances(channelId: Bytes32): [bigint, bigint][] {
    const live = this.live.get(channelId);
    if (live === undefined) return [];
    const state = this.latestOf(live).state;
    return live.channel.params.assets.map((_, i) => [
      channelBalance(state, live.record.deposits, i, VENUE),
      channelBalance(state, live.record.deposits, i, INVESTOR),
    ]);
  }

  // ------------------------------------------------------------------ internals

  private latestOf(live: Live): SignedState {
    return live.record.latest ?? genesisState(live.channel);
  }

  private factsFor(live: Live): ChannelFacts {
    return { deposits: live.record.deposits, now: this.options.now(), compliance: { facts: this.options.facts() } };
  }

  private async persistAgreed(live: Live, agreed: SignedState, summary: UpdateSummary, proposer: string): Promise<void> {
    await this.options.store.stateAgreed(live.channel.channelId, agreed, summary);
    live.record = { ...live.record, latest: agreed, pending: null };
    this.options.metrics.updates.inc({ kind: summary.kind, proposer });
  }

  private ownedChannel(session: Session, channelId: Bytes32): Live {
    const live = this.live.get(channelId);
    if (live === undefined) throw new WireError("UNKNOWN_CHANNEL", `the venue knows no channel ${channelId}`);
    if (live.record.params.participants[INVESTOR] !== session.address) {
      throw new WireError("NOT_PARTICIPANT", "this channel is not yours");
    }
    return live;
  }

  private serialized<T>(live: Live, work: () => Promise<T>): Promise<T> {
    const run = live.queue.then(work, work);
    live.queue = run.catch(() => undefined);
    return run;
  }

  private async readRecord(channelId: Bytes32): Promise<ChannelRecord> {
    const record = await this.options.store.channel(channelId);
    if (record === undefined) throw new WireError("UNKNOWN_CHANNEL", `the store lost channel ${channelId}`);
    return record;
  }

  /** Turns a core parse failure into a wire-level MALFORMED. */
  private guard<T>(parse: () => T): T {
    try {
      return parse();
    } catch (error) {
      if (error instanceof ProtocolError) throw new WireError("MALFORMED", error.shortMessage);
      throw error;
    }
  }

  private reportsOf(investor: Address): ChannelReport[] {
    return [...this.live.values()].filter((l) => l.record.params.participants[INVESTOR] === investor).map((l) => this.reportOf(l));
  }

  private reportOf(live: Live): ChannelReport {
    return {
      channelId: live.channel.channelId,
      params: paramsToJson(live.channel.params),
      status: live.record.status,
      latest: signedStateToJson(this.latestOf(live)),
      deposits: live.record.deposits.map(([a, b]) => [a.toString(), b.toString()] as [string, string]),
    };
  }

  private updateChannelGauge(): void {
    const counts: Record<string, number> = { proposed: 0, open: 0, disputed: 0, concluded: 0 };
    for (const live of this.live.values()) counts[live.record.status] = (counts[live.record.status] ?? 0) + 1;
    for (const [status, count] of Object.entries(counts)) this.options.metrics.channels.set({ status }, count);
  }
}

/**
 * What an investor may ask the venue to countersign: nothing that moves the venue's funds except a
 * priced trade (checked separately) or a lock the venue itself had set up and whose secret is shown.
 */
function checkInvestorMayPropose(update: Update): void {
  const refuse = (why: string): never => {
    throw new ProtocolError("INVALID_UPDATE", why);
  };
  switch (update.kind) {
    case "payment":
      if (update.leg.from !== INVESTOR) refuse("an investor can only propose payments from itself; the venue proposes its own");
      return;
    case "withdrawal":
      if (update.withdrawals.some((w) => w.participant !== INVESTOR)) refuse("an investor can only withdraw its own funds");
      return;
    case "addLock":
      if (update.lock.sender !== INVESTOR) refuse("an investor can only lock its own funds");
      return;
    case "trade":
    case "depositAck":
    case "resolveLock":
    case "expireLock":
    case "final":
      return;
  }
}

/** The investor let a proposal of the venue go unanswered (timeout or lost connection). */
class UnansweredError extends ProtocolError<"INVALID_UPDATE"> {
  constructor() {
    super("INVALID_UPDATE", "the receiver did not answer in time");
  }
}

function parseFraction(text: string): [bigint, bigint] {
  const [num, den] = text.split("/");
  return [BigInt(num!), BigInt(den ?? "1")];
}

function rejectionOrWire(error: unknown): RejectionReason {
  if (error instanceof WireError) return { code: error.code, message: error.message };
  if (error instanceof ProtocolError) return rejectionOf(error);
  throw error;
}
