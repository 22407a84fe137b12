// The venue's channel engine: the imperative shell around the pure protocol core. It wires the
// capabilities and dispatches investors' messages to them:
// - channels.ts: live channels, one update queue per channel, layer-two holdings;
// - sessions.ts: one session per investor online;
// - opening.ts: channel registration, its bounds and the pruning of channels never opened on chain;
// - countersign.ts: investors' proposals (validated, persisted, then countersigned);
// - proposals.ts: the venue's own proposals — never two signed states of one nonce;
// - routing.ts: hashlocked routed payments and the venue's lock work;
// - invoices.ts: relayed invoice requests;
// - shards/remote-routes.ts: routed payments to receivers other shards serve (wired by `interShard`);
// - limits.ts: what one investor may consume (docs/operations.md, "Bounds (engine)").
import type { Logger } from "pino";
import { PROTOCOL_VERSION, WireError, type ClientMessage } from "../../client/protocol/wire.js";
import {
  ProtocolError,
  channelBalance,
  type Address,
  type Bytes32,
  type Channel,
  type ComplianceFacts,
  type Deployment,
  type SignedState,
  type Signer,
  type Update,
  type Verifier,
} from "../../client/protocol/index.js";
import type { ChannelRecord, ChannelStore } from "../../client/store/store.js";
import { Channels, INVESTOR, VENUE, investorOf } from "./channels.js";
import { Countersigner, type Price } from "./countersign.js";
import { InvoiceRelay, type RemoteInvoices } from "./invoices.js";
import { DEFAULT_ENGINE_BOUNDS, type EngineBounds } from "./limits.js";
import { Opening } from "./opening.js";
import { VenueProposals } from "./proposals.js";
import { Router, type RemoteRouting } from "./routing.js";
import type { InterShardPort } from "./shards/remote-routes.js";
import { Sessions } from "./sessions.js";
import type { Session } from "./transport.js";
import type { NodeMetrics } from "./metrics.js";
import type { InFlightFunds } from "./trading/reservations.js";

export type { Price } from "./countersign.js";

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
  /** The chain's time in seconds (chain-clock.ts): lock-ups, attribute and lock expiries are judged by it. */
  now: () => bigint;
  /** Wall-clock milliseconds (registration times, rate buckets, history); Date.now by default. */
  clock?: () => number;
  /** What one investor may consume; DEFAULT_ENGINE_BOUNDS by default. */
  bounds?: EngineBounds;
  /** Whether the adjudicator knows a channel (asked before a stale registration is forgotten); none: not asked. */
  onChain?: (channelId: Bytes32) => Promise<boolean>;
  /** What an investor's orders reserve of a token (trading/desk.ts): its own updates may not spend it. */
  reservedOf?: (investor: Address, token: Address) => bigint;
  /** Where the investors' updates being persisted are counted (trading/reservations.ts): order intake sees them. */
  inFlight?: InFlightFunds;
  logger: Logger;
  metrics: NodeMetrics;
}

export class ChannelEngine {
  private readonly channels: Channels;
  private readonly sessions = new Sessions();
  private readonly opening: Opening;
  private readonly proposals: VenueProposals;
  private readonly router: Router;
  private readonly countersigner: Countersigner;
  private readonly invoices: InvoiceRelay;
  private pruning: Promise<number> | undefined;
  /** The fill settled under a hashlock, named in the venue's lock-pair proposals (set by trading/settlement.ts). */
  private fillOfHashlock: (hashlock: Bytes32) => bigint | undefined = () => undefined;

  constructor(private readonly options: EngineOptions) {
    const { store, logger, metrics } = options;
    const clock = options.clock ?? Date.now;
    const bounds = options.bounds ?? DEFAULT_ENGINE_BOUNDS;
    this.channels = new Channels(store, options.facts, options.now, metrics);
    this.router = new Router(this.channels, this.sessions, { store, facts: options.facts, now: options.now, bounds, logger, metrics });
    this.proposals = new VenueProposals(this.channels, this.sessions, {
      store,
      signer: options.signer,
      verifier: options.verifier,
      responseTimeoutMs: options.responseTimeoutMs,
      clock,
      logger,
      metrics,
      secretOf: (hashlock) => this.router.secrets.get(hashlock),
      voidAfterMs: bounds.venueProposalVoidMs,
      fillOf: (hashlock) => this.fillOfHashlock(hashlock),
    });
    this.router.proposals = this.proposals;
    this.countersigner = new Countersigner(this.channels, this.proposals, this.router, { signer: options.signer, verifier: options.verifier, prices: options.prices, clock, logger, metrics, ...(options.reservedOf ? { reservedOf: options.reservedOf } : {}), ...(options.inFlight ? { inFlight: options.inFlight } : {}) });
    this.invoices = new InvoiceRelay(this.channels, this.sessions, this.router, { bounds, responseTimeoutMs: options.responseTimeoutMs, clock, metrics });
    this.opening = new Opening(this.channels, { ...options, venue: options.signer.address, clock, bounds });
  }

  get venue(): Address {
    return this.options.signer.address;
  }

  /** Loads every channel from the store (after a restart: all open channels resume). */
  async load(): Promise<void> {
    for (const record of await this.options.store.channels()) this.channels.restore(record);
    await this.router.load();
    this.channels.updateGauge();
  }

  /** The secrets the venue learnt, by hashlock (for its watchtower's on-chain reveals). */
  get secrets(): ReadonlyMap<Bytes32, Bytes32> {
    return this.router.secrets;
  }

  channelIds(): Bytes32[] {
    return this.channels.ids();
  }

  record(channelId: Bytes32): ChannelRecord | undefined {
    return this.channels.get(channelId)?.record;
  }

  channel(channelId: Bytes32): Channel | undefined {
    return this.channels.get(channelId)?.channel;
  }

  // ------------------------------------------------------------------ sessions

  onAuthenticated(session: Session): void {
    this.sessions.attach(session);
    session.send({ v: PROTOCOL_VERSION, type: "welcome", address: session.address, channels: this.channels.reportsOf(session.address, (live) => this.proposals.voidedProposal(live)) });
  }

  onClosed(session: Session): void {
    this.sessions.detach(session);
  }

  isConnected(investor: Address): boolean {
    return this.sessions.has(investor);
  }

  async onMessage(session: Session, message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "open":
        return this.opening.onOpen(session, message);
      case "propose":
        return this.countersigner.onPropose(session, message);
      case "accepted":
      case "rejected":
        return this.proposals.onAnswer(session, message);
      case "resync":
        return this.handleResync(session, message);
      case "invoice_request":
        return this.invoices.onRequest(session, message);
      case "invoice":
      case "invoice_refused":
        return this.invoices.onAnswer(session, message);
      case "auth":
        throw new WireError("MALFORMED", "already authenticated");
    }
  }

  // ------------------------------------------------------------------ resync

  /**
   * After a reconnect the investor sends its latest agreed state per channel. One the venue lacks
   * (the investor countersigned the venue's proposal but the answer was lost in a crash) is adopted
   * once both signatures check out; the answer holds the venue's view of every channel. Then the
   * venue offers its unresolved proposals again and settles what locks it can.
   */
  private async handleResync(session: Session, message: Extract<ClientMessage, { type: "resync" }>): Promise<void> {
    for (const entry of message.channels) {
      const live = this.channels.get(entry.channelId);
      if (live === undefined || investorOf(live) !== session.address) continue;
      await this.channels.serialized(live, async () => {
        try {
          await this.proposals.reconcile(live, entry.latest);
        } catch (error) {
          if (!(error instanceof ProtocolError)) throw error;
          this.options.logger.warn({ channelId: live.channel.channelId, err: error }, "resync: the investor's state was not adopted");
        }
      });
    }
    session.send({ v: PROTOCOL_VERSION, type: "resynced", id: message.id, channels: this.channels.reportsOf(session.address, (live) => this.proposals.voidedProposal(live)) });
    for (const live of this.channels.ofInvestor(session.address)) this.proposals.reoffer(live);
    // Back online: what the venue could not settle while the investor was away (or the node down).
    this.router.sweep(session.address);
  }

  // ------------------------------------------------------------------ chain events and timers

  /** Re-reads a channel after the chain watcher stored an event for it, and tells its investor. */
  async refresh(channelId: Bytes32): Promise<void> {
    const live = this.channels.get(channelId);
    if (live === undefined) return;
    await this.channels.reload(live);
    this.channels.updateGauge();
    this.sessions.get(investorOf(live))?.send({
      v: PROTOCOL_VERSION,
      type: "deposits",
      channelId,
      status: live.record.status,
      deposits: live.record.deposits.map(([a, b]) => [a.toString(), b.toString()] as [string, string]),
    });
  }

  /** A secret was revealed on chain (`SecretRevealed`): learn it and claim the payer's lock with it. */
  secretRevealed(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    return this.router.secretRevealed(hashlock, secret);
  }

  /**
   * Routes payments to receivers other shards serve: `connect` gets what the other shards may ask of
   * this one and returns where this one's routed locks and invoice requests for them go, which is
   * also told of every secret learnt (the payer's shard claims its lock with it).
   */
  interShard<R extends RemoteRouting & RemoteInvoices & { secretLearned(hashlock: Bytes32, secret: Bytes32): void }>(connect: (port: InterShardPort) => R): R {
    const router = this.router;
    const remote = connect({
      relayInvoice: (ask) => this.invoices.relay(ask),
      prepareLock: (route) => router.prepareLock(route),
      offer: (prepared) => router.offer(prepared),
      offeredTo: (to, hashlock) => router.offeredTo(to, hashlock),
      secrets: router.secrets,
      claimWith: (hashlock, secret) => router.secretRevealed(hashlock, secret),
      unclaimedLocks: () => router.unclaimedLocks(),
    });
    router.remote = remote;
    router.onLearnt = (hashlock, secret) => remote.secretLearned(hashlock, secret);
    this.invoices.remote = remote;
    return remote;
  }

  /** Lets the venue's lock-pair proposals name the fill they settle, found from the pair's hashlock. */
  nameFills(fillOf: (hashlock: Bytes32) => bigint | undefined): void {
    this.fillOfHashlock = fillOf;
  }

  /**
   * Proposes the venue's own `update` in a channel whose investor is online (a fill's lock pair,
   * trading/settlement.ts) and resolves with the agreed state; queued behind the channel's updates.
   * BUSY while an earlier venue proposal there is unresolved; INVALID_UPDATE with the investor offline.
   */
  proposeAsVenue(channelId: Bytes32, update: Update): Promise<SignedState> {
    const live = this.channels.get(channelId);
    if (live === undefined) throw new WireError("UNKNOWN_CHANNEL", `no channel ${channelId}`);
    const session = this.sessions.get(investorOf(live));
    if (session === undefined) throw new ProtocolError("INVALID_UPDATE", `the investor ${investorOf(live)} is offline`);
    return this.channels.serialized(live, () => this.proposals.propose(live, session, update));
  }

  /** Settles the locks of every channel (of `investor`, when given) with something to do. Unawaited per channel. */
  sweepLocks(investor?: Address): void {
    this.router.sweep(investor);
  }

  /**
   * Forgets the channels registered longer than the configured time ago and not on chain; resolves
   * with how many. A call while one is running joins it.
   */
  pruneChannels(): Promise<number> {
    this.pruning ??= this.opening.prune().finally(() => {
      this.pruning = undefined;
    });
    return this.pruning;
  }

  // ------------------------------------------------------------------ reads

  /** The latest agreed state of a channel (the genesis state before the first update). */
  latest(channelId: Bytes32): SignedState | undefined {
    const live = this.channels.get(channelId);
    return live === undefined ? undefined : this.channels.latestOf(live);
  }

  /** Balances of both participants per asset, free to move. */
  balances(channelId: Bytes32): [bigint, bigint][] {
    const live = this.channels.get(channelId);
    if (live === undefined) return [];
    const state = this.channels.latestOf(live).state;
    return live.channel.params.assets.map((_, i) => [
      channelBalance(state, live.record.deposits, i, VENUE),
      channelBalance(state, live.record.deposits, i, INVESTOR),
    ]);
  }
}
