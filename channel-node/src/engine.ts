// The venue's channel engine: the imperative shell around the pure protocol core. For every channel
// it serialises updates, validates proposals with the core (nonce, conservation, balances given the
// confirmed deposits, compliance from the mirror, signatures), persists each agreed state before its
// countersignature leaves the process, and proposes the venue's own updates (routed locks and their
// resolution or expiry).
//
// Routed payments are hashlocked (docs/protocol.md, "Off-chain protocol" 5): the payer locks funds
// to the venue under the receiver's hashlock, the venue locks the same amount to the receiver with
// an earlier expiry, the receiver resolves its lock with the secret, and the venue, having learnt
// the secret, resolves the payer's. No agreed state pays one investor without the other's lock
// being claimable by the venue with the same secret.
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
  onChainBalanceOf,
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
  hashlockOf,
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
  type Lock,
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

/** An `invoice_request` relayed to the receiver, awaiting its `invoice` (keyed by the relayed id). */
interface RelayedInvoiceRequest {
  readonly payer: Session;
  readonly message: Extract<ClientMessage, { type: "invoice_request" }>;
  readonly timer: NodeJS.Timeout;
}

const VENUE = 0;
const INVESTOR = 1;

export class ChannelEngine {
  private readonly live = new Map<Bytes32, Live>();
  /** Each investor's channels, for its layer-two holdings (the maximum-balance rule counts them all). */
  private readonly channelsOfInvestor = new Map<Address, Set<Bytes32>>();
  private readonly sessions = new Map<Address, Session>();
  /** Secrets of routed locks the venue learnt (persisted before use), by hashlock. */
  private readonly learnt = new Map<Bytes32, Bytes32>();
  private readonly invoiceRequests = new Map<string, RelayedInvoiceRequest>();
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
      this.track({ channel, record, queue: Promise.resolve(), outstanding: undefined });
    }
    for (const [hashlock, secret] of await this.options.store.secrets()) this.learnt.set(hashlock, secret);
    this.updateChannelGauge();
  }

  /** The secrets the venue learnt, by hashlock (for its watchtower's on-chain reveals). */
  get secrets(): ReadonlyMap<Bytes32, Bytes32> {
    return this.learnt;
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
      case "invoice_request":
        return this.handleInvoiceRequest(session, message);
      case "invoice":
      case "invoice_refused":
        return this.handleInvoice(session, message);
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
      this.track({ channel, record, queue: Promise.resolve(), outstanding: undefined });
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
    const followUp = await this.serialized(live, async () => {
      try {
        const { signature, next } = await this.countersign(live, session, message);
        session.send({ v: PROTOCOL_VERSION, type: "accepted", id: message.id, channelId: message.channelId, nonce: message.state.nonce.toString(), signature });
        this.options.metrics.updateLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
        return next;
      } catch (error) {
        const rejection = rejectionOrWire(error);
        this.options.metrics.rejections.inc({ code: rejection.code });
        session.send(rejectedMessage(message.id, message.channelId, rejection));
        return undefined;
      }
    });
    // Outside this channel's queue and unawaited: it waits for other investors, and this one's
    // next messages (answers to the venue's proposals among them) must not wait behind it.
    followUp?.().catch((error: unknown) => this.options.logger.warn({ channelId: message.channelId, err: error }, "routing follow-up failed"));
  }

  /**
   * Validates, persists and countersigns an investor's proposal; throws the reason to reject it.
   * `next`: what the venue does next, once the countersignature is sent (forward a routed lock,
   * resolve the payer's lock whose secret the receiver just revealed).
   */
  private async countersign(
    live: Live,
    session: Session,
    message: Extract<ClientMessage, { type: "propose" }>,
  ): Promise<{ signature: string; next?: () => Promise<void> }> {
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
    const expiring = update.kind === "expireLock" ? this.latestOf(live).state.locks.find((l) => l.hashlock === update.hashlock) : undefined;
    if (expiring?.sender === INVESTOR && this.learnt.has(expiring.hashlock)) {
      throw new ProtocolError("LOCK_ACTIVE", "the venue holds this lock's secret and reveals it on chain before expiry; a force-close lets the chain decide");
    }
    let next: (() => Promise<void>) | undefined;
    if (message.route !== undefined) next = this.routeLock(live, session, update, message.route.to);
    if (update.kind === "resolveLock") {
      // Durable before the countersignature leaves: after a crash the venue still claims the payer's lock.
      await this.learnSecret(update.hashlock, update.secret);
      next = () => this.settleLocksWith(update.hashlock);
    }
    const signature = this.options.signer.sign(digest);
    const agreed = withSignature(proposed, VENUE, signature);
    await this.persistAgreed(live, agreed, summarize(update, Date.now()), "investor");
    return next === undefined ? { signature } : { signature, next };
  }

  /**
   * A routed payment, first half: the payer locks `amount` to the venue under the receiver's
   * hashlock (it moves nothing yet). Checked before the venue countersigns it: compliance of the
   * real movement payer → receiver, the receiver's open channel in the token, the receiver online,
   * no unresolved venue proposal there, the venue's balance for the receiver's lock, and an expiry
   * that leaves the venue a gap (the payer's challenge period) between the receiver's lock expiring
   * and the payer's. Returns the second half: propose the receiver's lock, expiring a gap earlier.
   * Should that fail, the payer's lock stays until its expiry and then returns to the payer.
   */
  private routeLock(payerLive: Live, payer: Session, update: Update, to: Address): () => Promise<void> {
    if (update.kind !== "addLock" || update.lock.sender !== INVESTOR) {
      throw new ProtocolError("INVALID_UPDATE", "only a lock of the investor's funds can be routed (pay an invoice)");
    }
    const token = payerLive.channel.params.assets[update.lock.assetIndex]!;
    const target = this.routeTarget(payer.address, to, token, update.lock.amount);
    const receiver = this.sessions.get(to)!;
    const gap = payerLive.channel.params.challengePeriod;
    const now = this.options.now();
    const expiry = update.lock.expiry - gap;
    if (expiry < now + gap) {
      throw new ProtocolError("BAD_LOCK", `a routed lock must expire at least two challenge periods (${2n * gap} s) ahead`, { hashlock: update.lock.hashlock });
    }
    if (target.record.pending?.proposer === VENUE || target.outstanding !== undefined) {
      throw new ProtocolError("BUSY", "the venue's previous proposal in the receiving channel is unresolved; try again later");
    }
    const lock: Lock = { assetIndex: target.record.params.assets.indexOf(token), sender: VENUE, amount: update.lock.amount, hashlock: update.lock.hashlock, expiry };
    const forward: Update = { kind: "addLock", lock };
    const latest = this.latestOf(target).state;
    checkTransition(target.channel, latest, applyUpdate(target.channel, latest, forward), { facts: this.factsFor(target) });
    return () => this.serialized(target, () => this.proposeUpdate(target, receiver, forward)).then(() => undefined);
  }

  /**
   * The receiver's open channel in `token` for a routed payment from `payer`: compliance of the real
   * movement (NON_COMPLIANT with the ERC-1404 code), the channel (UNKNOWN_CHANNEL), the receiver online.
   */
  private routeTarget(payer: Address, to: Address, token: Address, amount: bigint): Live {
    const facts = this.options.facts();
    if (isTrackedToken(facts, token)) {
      assertCompliant(facts, token, payer, to, amount, this.options.now(), (account) => this.holdingsOf(facts, token, account));
    }
    const target = [...(this.channelsOfInvestor.get(to) ?? [])]
      .map((channelId) => this.live.get(channelId)!)
      .find((l) => l.record.status === "open" && l.record.params.assets.includes(token));
    if (target === undefined) throw new WireError("UNKNOWN_CHANNEL", `the venue has no open channel with ${to} in ${token}`);
    if (!this.sessions.has(to)) throw new ProtocolError("INVALID_UPDATE", `the receiver ${to} is offline; try again later`);
    return target;
  }

  // ------------------------------------------------------------------ invoices

  /** Relays a payer's `invoice_request` to the receiver, after the checks a routed payment must pass. */
  private async handleInvoiceRequest(session: Session, message: Extract<ClientMessage, { type: "invoice_request" }>): Promise<void> {
    const refuse = (error: unknown): void => {
      const rejection = rejectionOrWire(error);
      this.options.metrics.rejections.inc({ code: rejection.code });
      session.send(rejectedMessage(message.id, message.channelId, rejection));
    };
    try {
      const live = this.ownedChannel(session, message.channelId);
      if (!live.channel.params.assets.includes(message.token)) throw new WireError("MALFORMED", `the channel does not hold ${message.token}`);
      const amount = BigInt(message.amount);
      if (amount <= 0n) throw new WireError("MALFORMED", "the amount must be positive");
      this.routeTarget(session.address, message.to, message.token, amount);
    } catch (error) {
      refuse(error);
      return;
    }
    const id = `i${this.nextProposalId++}`;
    const timer = setTimeout(() => {
      this.invoiceRequests.delete(id);
      refuse(new ProtocolError("INVALID_UPDATE", "the receiver did not answer the invoice request in time"));
    }, this.options.responseTimeoutMs);
    this.invoiceRequests.set(id, { payer: session, message, timer });
    this.sessions.get(message.to)!.send({ v: PROTOCOL_VERSION, type: "invoice_request", id, from: session.address, token: message.token, amount: message.amount });
  }

  /** The receiver's invoice (or refusal) for a relayed request: passed on to the payer. */
  private async handleInvoice(session: Session, message: Extract<ClientMessage, { type: "invoice" | "invoice_refused" }>): Promise<void> {
    const relayed = this.invoiceRequests.get(message.id);
    if (relayed === undefined || relayed.message.to !== session.address) {
      throw new WireError("MALFORMED", `no invoice request ${message.id} is awaiting your answer`);
    }
    this.invoiceRequests.delete(message.id);
    clearTimeout(relayed.timer);
    const { id, channelId, to, token, amount } = relayed.message;
    if (message.type === "invoice_refused") {
      this.options.metrics.rejections.inc({ code: message.code });
      relayed.payer.send(rejectedMessage(id, channelId, { code: message.code, message: `the receiver refused the invoice request: ${message.message}` }));
      return;
    }
    relayed.payer.send({ v: PROTOCOL_VERSION, type: "invoice", id, hashlock: message.hashlock, to, token, amount });
  }

  // ------------------------------------------------------------------ locks

  /** Persists a secret the venue learnt (a receiver's resolution, or an on-chain reveal). */
  private async learnSecret(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    if (this.learnt.get(hashlock) === secret) return;
    await this.options.store.secretLearned(hashlock, secret);
    this.learnt.set(hashlock, secret);
  }

  /** A secret was revealed on chain (`SecretRevealed`): learn it and claim the payer's lock with it. */
  async secretRevealed(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    if (hashlockOf(secret) !== hashlock) return;
    if (![...this.live.values()].some((l) => this.latestOf(l).state.locks.some((lock) => lock.hashlock === hashlock))) return; // not one of ours
    await this.learnSecret(hashlock, secret);
    await this.settleLocksWith(hashlock);
  }

  /** Resolves every investor lock under `hashlock` (the payer's side of a routed payment). */
  private async settleLocksWith(hashlock: Bytes32): Promise<void> {
    for (const live of this.live.values()) {
      if (this.latestOf(live).state.locks.some((l) => l.hashlock === hashlock)) await this.settleLocks(live);
    }
  }

  /**
   * Proposes, one by one, what the venue does with the locks of a channel whose investor is online:
   * resolve an investor's lock whose secret it knows (before expiry), expire its own expired locks.
   * Stops at the first refusal or silence (the pending rules apply).
   */
  private async settleLocks(live: Live): Promise<void> {
    const session = this.sessions.get(live.record.params.participants[INVESTOR]);
    if (session === undefined) return;
    await this.serialized(live, async () => {
      for (const lock of this.latestOf(live).state.locks) {
        const update = this.settlementOf(lock);
        if (update === undefined) continue;
        if (live.record.status !== "open" || live.record.pending?.proposer === VENUE) return;
        await this.proposeUpdate(live, session, update);
      }
    });
  }

  private settlementOf(lock: Lock): Update | undefined {
    const now = this.options.now();
    const secret = this.learnt.get(lock.hashlock);
    if (lock.sender === INVESTOR && secret !== undefined && now <= lock.expiry) return { kind: "resolveLock", hashlock: lock.hashlock, secret };
    if (lock.sender === VENUE && now > lock.expiry) return { kind: "expireLock", hashlock: lock.hashlock };
    return undefined;
  }

  /**
   * Settles the locks of every channel (of `investor`, when given) with something to do — after each
   * chain poll and each resync: the venue's expired locks, investors' locks it can now claim (e.g.
   * after a restart). Unawaited per channel.
   */
  sweepLocks(investor?: Address): void {
    for (const live of this.live.values()) {
      if (investor !== undefined && live.record.params.participants[INVESTOR] !== investor) continue;
      if (!this.latestOf(live).state.locks.some((l) => this.settlementOf(l) !== undefined)) continue;
      this.settleLocks(live).catch((error: unknown) => this.options.logger.warn({ channelId: live.channel.channelId, err: error }, "lock settlement failed"));
    }
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
    const secrets = update.kind === "resolveLock" ? [{ hashlock: update.hashlock, secret: update.secret }] : undefined;
    checkTransition(live.channel, latest.state, state, { facts: this.factsFor(live), secrets: new Map(secrets?.map((s) => [s.hashlock, s.secret])) });
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
    session.send({ v: PROTOCOL_VERSION, type: "propose", id, channelId: live.channel.channelId, state: stateToJson(state), signature: ours.signatures[VENUE]!, ...(secrets === undefined ? {} : { secrets }) });
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
    // Back online: what the venue could not settle while the investor was away (or the node down).
    this.sweepLocks(session.address);
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
    const facts = this.options.facts();
    return {
      deposits: live.record.deposits,
      now: this.options.now(),
      compliance: { facts, holdingsOutside: (token, account) => this.holdingsOf(facts, token, account, live.channel.channelId) },
    };
  }

  private track(live: Live): void {
    this.live.set(live.channel.channelId, live);
    const investor = live.channel.params.participants[INVESTOR];
    let channels = this.channelsOfInvestor.get(investor);
    if (channels === undefined) this.channelsOfInvestor.set(investor, (channels = new Set()));
    channels.add(live.channel.channelId);
  }

  /**
   * What `account` holds of `token` at layer two, outside channel `excluding`: its on-chain balance
   * plus, for an investor, its balances in its other channels with the venue that are not yet
   * paid out (tokens in a channel still belong to the investor for every rule).
   */
  private holdingsOf(facts: ComplianceFacts, token: Address, account: Address, excluding?: Bytes32): bigint {
    let total = onChainBalanceOf(facts, token, account);
    for (const channelId of this.channelsOfInvestor.get(account) ?? []) {
      const other = this.live.get(channelId)!;
      const assetIndex = other.channel.params.assets.indexOf(token);
      if (channelId === excluding || assetIndex < 0 || other.record.status === "concluded") continue;
      total += channelBalance(this.latestOf(other).state, other.record.deposits, assetIndex, INVESTOR);
    }
    return total;
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
