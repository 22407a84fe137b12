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
  type Update,
} from "../../client/protocol/index.js";
import type { ChannelStore } from "../../client/store/store.js";
import { INVESTOR, VENUE, investorOf, type Channels, type Live } from "./channels.js";
import { checkLockRoom, inFlightOf, type EngineBounds } from "./limits.js";
import type { VenueProposals } from "./proposals.js";
import type { Sessions } from "./sessions.js";
import type { NodeMetrics } from "./metrics.js";

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
   * hashlock (it moves nothing yet). Checked before the venue countersigns it: compliance of the
   * real movement payer → receiver, the receiver's open channel in the token, the receiver online,
   * no unresolved venue proposal there, the receiver's lock bounds, the venue's balance for the
   * receiver's lock, and an expiry that leaves the venue a gap (the payer's challenge period)
   * between the receiver's lock expiring and the payer's. Returns the second half: propose the
   * receiver's lock, expiring a gap earlier. Should that fail, the payer's lock stays until its
   * expiry and then returns to the payer.
   */
  routeLock(payerLive: Live, update: Update, to: Address): () => Promise<void> {
    if (update.kind !== "addLock" || update.lock.sender !== INVESTOR) {
      throw new ProtocolError("INVALID_UPDATE", "only a lock of the investor's funds can be routed (pay an invoice)");
    }
    const token = payerLive.channel.params.assets[update.lock.assetIndex]!;
    const target = this.routeTarget(investorOf(payerLive), to, token, update.lock.amount);
    const receiver = this.sessions.get(to)!;
    const gap = payerLive.channel.params.challengePeriod;
    const expiry = update.lock.expiry - gap;
    if (expiry < this.options.now() + gap) {
      throw new ProtocolError("BAD_LOCK", `a routed lock must expire at least two challenge periods (${2n * gap} s) ahead`, { hashlock: update.lock.hashlock });
    }
    if (this.proposals.isPending(target) || target.outstanding !== undefined) {
      throw new ProtocolError("BUSY", "the venue's previous proposal in the receiving channel is unresolved; try again later");
    }
    this.checkLockRoom(to, token, update.lock.amount);
    const lock: Lock = { assetIndex: target.record.params.assets.indexOf(token), sender: VENUE, amount: update.lock.amount, hashlock: update.lock.hashlock, expiry };
    const forward: Update = { kind: "addLock", lock };
    const latest = this.channels.latestOf(target).state;
    checkTransition(target.channel, latest, applyUpdate(target.channel, latest, forward), { facts: this.channels.factsFor(target) });
    return () => this.channels.serialized(target, () => this.proposals.propose(target, receiver, forward)).then(() => undefined);
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
  }

  /** A secret was revealed on chain (`SecretRevealed`): learn it and claim the payer's lock with it. */
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
