// Routed payments are hashlocked (docs/protocol.md, "Off-chain protocol" 5): the payer locks funds
// to the venue under the receiver's hashlock, the venue locks the same amount to the receiver with
// an earlier expiry, the receiver resolves its lock with the secret, and the venue, having learnt
// the secret, resolves the payer's. No agreed state pays one investor without the other's lock
// being claimable by the venue with the same secret. Here: the checks before the payer's lock is
// countersigned, the venue's lock to the receiver, the secrets the venue learns, and the venue's
// lock work (resolving payers' locks, expiring its own).
import type { Logger } from "pino";
import { WireError } from "../../client/protocol/wire.js";
import {
  ProtocolError,
  applyUpdate,
  assertCompliant,
  checkTransition,
  hashlockOf,
  isTrackedToken,
  type Address,
  type Bytes32,
  type ComplianceFacts,
  type Lock,
  type SignedState,
  type Update,
} from "../../client/protocol/index.js";
import type { ChannelStore } from "../../client/store/store.js";
import { INVESTOR, VENUE, investorOf, type Channels, type Live } from "./channels.js";
import { checkLockRoom, inFlightOf, type EngineBounds } from "./limits.js";
import type { VenueProposals } from "./proposals.js";
import type { Sessions } from "./sessions.js";
import type { NodeMetrics } from "./metrics.js";
import type { ShardEntry } from "./shards/shard-map.js";

/** A routed payment's second leg: the venue's lock to the receiver, `expiry` a gap before the payer's. */
export interface RoutedLock {
  readonly from: Address;
  readonly to: Address;
  readonly token: Address;
  readonly amount: bigint;
  readonly hashlock: Bytes32;
  readonly expiry: bigint;
}

/** The venue's lock to a receiver, checked and ready to propose. */
export interface PreparedLock {
  readonly target: Live;
  readonly forward: Update;
}

/** The routed payments whose receiver another shard serves (shards/remote-routes.ts). */
export interface RemoteRouting {
  /** The shard serving `investor`, unless it is this one. */
  shardElsewhere(investor: Address): Promise<ShardEntry | undefined>;
  /** Throws what the receiver's shard refuses the venue's lock with (a LinkError). */
  check(shard: ShardEntry, route: RoutedLock): Promise<void>;
  /** The payer's lock is agreed: has the receiver's shard propose the venue's lock. */
  lock(shard: ShardEntry, route: RoutedLock): Promise<void>;
}

export interface RouterOptions {
  readonly store: ChannelStore;
  readonly facts: () => ComplianceFacts;
  readonly now: () => bigint;
  readonly bounds: EngineBounds;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

export class Router {
  /** Secrets of routed locks the venue learnt (persisted before use), by hashlock. */
  private readonly learnt = new Map<Bytes32, Bytes32>();
  /** Set once: the venue's proposals need the secrets, the router needs the proposals. */
  proposals!: VenueProposals;
  /** Receivers served by other shards (shards/remote-routes.ts); absent when the node is not sharded. */
  remote: RemoteRouting | undefined;
  /** Told of every secret learnt, once persisted (the receiver's shard passes it to the payer's). */
  onLearnt: ((hashlock: Bytes32, secret: Bytes32) => void) | undefined;

  constructor(
    private readonly channels: Channels,
    private readonly sessions: Sessions,
    private readonly options: RouterOptions,
  ) {}

  async load(): Promise<void> {
    for (const [hashlock, secret] of await this.options.store.secrets()) this.learnt.set(hashlock, secret);
  }

  get secrets(): ReadonlyMap<Bytes32, Bytes32> {
    return this.learnt;
  }

  /**
   * Throws TOO_MANY_LOCKS or IN_FLIGHT_LIMIT if `investor` may not be party to one more lock of
   * `amount` in `token` (its unresolved locks in all its channels, either direction).
   */
  checkLockRoom(investor: Address, token: Address, amount: bigint): void {
    const channels = this.channels
      .ofInvestor(investor)
      .filter((live) => live.record.status !== "concluded")
      .map((live) => ({ assets: live.channel.params.assets, locks: this.channels.unresolvedLocks(live) }));
    checkLockRoom(this.options.bounds, this.options.metrics, investor, inFlightOf(channels), token, amount);
  }

  /**
   * A routed payment, first half: the payer locks `amount` to the venue under the receiver's
   * hashlock (it moves nothing yet). Checked before the venue countersigns it: an expiry that leaves
   * the venue a gap (the payer's challenge period) between the receiver's lock expiring and the
   * payer's, then the venue's lock to the receiver (`prepareLock`) — by the receiver's shard when
   * another shard serves it (shards/remote-routes.ts). Returns the second half: propose the
   * receiver's lock, expiring a gap earlier. Should that fail, the payer's lock stays until its
   * expiry and then returns to the payer.
   */
  async routeLock(payerLive: Live, update: Update, to: Address): Promise<() => Promise<void>> {
    if (update.kind !== "addLock" || update.lock.sender !== INVESTOR) {
      throw new ProtocolError("INVALID_UPDATE", "only a lock of the investor's funds can be routed (pay an invoice)");
    }
    const gap = payerLive.channel.params.challengePeriod;
    const expiry = update.lock.expiry - gap;
    if (expiry < this.options.now() + gap) {
      throw new ProtocolError("BAD_LOCK", `a routed lock must expire at least two challenge periods (${2n * gap} s) ahead`, { hashlock: update.lock.hashlock });
    }
    const route: RoutedLock = {
      from: investorOf(payerLive),
      to,
      token: payerLive.channel.params.assets[update.lock.assetIndex]!,
      amount: update.lock.amount,
      hashlock: update.lock.hashlock,
      expiry,
    };
    const elsewhere = await this.remote?.shardElsewhere(to);
    if (elsewhere !== undefined) {
      await this.remote!.check(elsewhere, route);
      return () => this.remote!.lock(elsewhere, route);
    }
    const prepared = this.prepareLock(route);
    return () => this.offer(prepared).then(() => undefined);
  }

  /**
   * The venue's lock to a receiver this shard serves, checked: compliance of the real movement, the
   * receiver's open channel and presence (routeTarget), no unresolved venue proposal there (BUSY),
   * the receiver's lock bounds, the venue's balance and the lock itself (checkTransition).
   */
  prepareLock(route: RoutedLock): PreparedLock {
    const target = this.routeTarget(route.from, route.to, route.token, route.amount);
    if (this.proposals.isPending(target) || target.outstanding !== undefined) {
      throw new ProtocolError("BUSY", "the venue's previous proposal in the receiving channel is unresolved; try again later");
    }
    this.checkLockRoom(route.to, route.token, route.amount);
    const lock: Lock = { assetIndex: target.record.params.assets.indexOf(route.token), sender: VENUE, amount: route.amount, hashlock: route.hashlock, expiry: route.expiry };
    const forward: Update = { kind: "addLock", lock };
    const latest = this.channels.latestOf(target).state;
    checkTransition(target.channel, latest, applyUpdate(target.channel, latest, forward), { facts: this.channels.factsFor(target) });
    return { target, forward };
  }

  /** Proposes a prepared lock to its receiver, queued behind the channel's updates; resolves with the agreed state. */
  offer({ target, forward }: PreparedLock): Promise<SignedState> {
    const receiver = this.sessions.get(investorOf(target));
    if (receiver === undefined) throw new ProtocolError("INVALID_UPDATE", `the receiver ${investorOf(target)} is offline; try again later`);
    return this.channels.serialized(target, () => this.proposals.propose(target, receiver, forward));
  }

  /**
   * Whether the venue already offered (or settled) its lock under `hashlock` to `to`: a lock there
   * under it, agreed or proposed, or its secret known. A second lock under one hashlock would let
   * the receiver claim twice with one secret, so a repeated request must find this true.
   */
  offeredTo(to: Address, hashlock: Bytes32): boolean {
    if (this.learnt.has(hashlock)) return true;
    return this.channels.ofInvestor(to).some(
      (live) =>
        this.channels.latestOf(live).state.locks.some((l) => l.hashlock === hashlock) ||
        (live.record.pending?.signed.state.locks.some((l) => l.hashlock === hashlock) ?? false),
    );
  }

  /**
   * Hashlocks of the investors' locks the venue could claim but holds no secret for (open channels,
   * not expired): the payer's side of routed payments still waiting for the receiver's secret.
   */
  unclaimedLocks(): Bytes32[] {
    const now = this.options.now();
    const hashlocks = new Set<Bytes32>();
    for (const live of this.channels.all()) {
      if (live.record.status !== "open") continue;
      for (const lock of this.channels.latestOf(live).state.locks) {
        if (lock.sender === INVESTOR && now <= lock.expiry && !this.learnt.has(lock.hashlock)) hashlocks.add(lock.hashlock);
      }
    }
    return [...hashlocks];
  }

  /**
   * The receiver's open channel in `token` for a routed payment from `payer`: compliance of the real
   * movement (NON_COMPLIANT with the ERC-1404 code), the channel (UNKNOWN_CHANNEL), the receiver online.
   */
  routeTarget(payer: Address, to: Address, token: Address, amount: bigint): Live {
    const facts = this.options.facts();
    if (isTrackedToken(facts, token)) {
      assertCompliant(facts, token, payer, to, amount, this.options.now(), (account) => this.channels.holdingsOf(facts, token, account));
    }
    const target = this.channels.ofInvestor(to).find((l) => l.record.status === "open" && l.record.params.assets.includes(token));
    if (target === undefined) throw new WireError("UNKNOWN_CHANNEL", `the venue has no open channel with ${to} in ${token}`);
    if (!this.sessions.has(to)) throw new ProtocolError("INVALID_UPDATE", `the receiver ${to} is offline; try again later`);
    return target;
  }

  /** Persists a secret the venue learnt (a receiver's resolution, or an on-chain reveal). */
  async learnSecret(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    if (this.learnt.get(hashlock) === secret) return;
    await this.options.store.secretLearned(hashlock, secret);
    this.learnt.set(hashlock, secret);
    this.onLearnt?.(hashlock, secret);
  }

  /**
   * A secret learnt outside the channel (revealed on chain, or passed on by the receiver's shard):
   * learn it and claim the payer's lock with it. Ignored unless it opens one of this shard's locks.
   */
  async secretRevealed(hashlock: Bytes32, secret: Bytes32): Promise<void> {
    if (hashlockOf(secret) !== hashlock) return;
    if (![...this.channels.all()].some((l) => this.channels.latestOf(l).state.locks.some((lock) => lock.hashlock === hashlock))) return; // not one of ours
    await this.learnSecret(hashlock, secret);
    await this.settleLocksWith(hashlock);
  }

  /** Resolves every investor lock under `hashlock` (the payer's side of a routed payment). */
  async settleLocksWith(hashlock: Bytes32): Promise<void> {
    for (const live of this.channels.all()) {
      if (this.channels.latestOf(live).state.locks.some((l) => l.hashlock === hashlock)) await this.settleLocks(live);
    }
  }

  /**
   * Proposes, one by one, what the venue does with the locks of a channel whose investor is online:
   * resolve an investor's lock whose secret it knows (before expiry), expire its own expired locks.
   * Stops at the first refusal or silence (the pending rules apply).
   */
  private async settleLocks(live: Live): Promise<void> {
    const session = this.sessions.get(investorOf(live));
    if (session === undefined) return;
    await this.channels.serialized(live, async () => {
      for (const lock of this.channels.latestOf(live).state.locks) {
        const update = this.settlementOf(lock);
        if (update === undefined) continue;
        if (live.record.status !== "open" || this.proposals.isPending(live)) return;
        await this.proposals.propose(live, session, update);
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
  sweep(investor?: Address): void {
    try {
      this.options.now();
    } catch (error) {
      // The chain's time is unknown (stale view): nothing is settled until it is known again.
      this.options.logger.info({ err: error }, "lock settlement deferred");
      return;
    }
    for (const live of this.channels.all()) {
      if (investor !== undefined && investorOf(live) !== investor) continue;
      if (!this.channels.latestOf(live).state.locks.some((l) => this.settlementOf(l) !== undefined)) continue;
      this.settleLocks(live).catch((error: unknown) => this.options.logger.warn({ channelId: live.channel.channelId, err: error }, "lock settlement failed"));
    }
  }
}
