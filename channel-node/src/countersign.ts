// An investor's proposals: validated with the core (nonce, conservation, balances given the confirmed
// deposits, compliance from the mirror, signatures), checked against what an investor may ask of the
// venue (prices, locks, lock bounds), persisted, then countersigned — the agreed state is durable
// before the countersignature leaves the process.
//
// Simultaneous proposals: each side has at most one unanswered proposal per channel. While the
// venue's own proposal is unresolved, an investor's proposal is rejected with CONFLICT (the venue's
// reserves its nonce, proposals.ts) and the venue's is offered again; the investor's client, on
// receiving it while its own is unanswered, drops its own. Both then continue from the venue's state.
import type { Logger } from "pino";
import { PROTOCOL_VERSION, WireError, rejectedMessage, type ClientMessage, type RejectionReason } from "../../client/protocol/wire.js";
import {
  ProtocolError,
  channelBalance,
  checkStateBounds,
  rejectionOf,
  validateTransition,
  withSignature,
  type Address,
  type SignedState,
  type Signer,
  type State,
  type Update,
  type Verifier,
} from "../../client/protocol/index.js";
import { summarize } from "../../client/store/summary.js";
import { INVESTOR, VENUE, investorOf, type Channels, type Live } from "./channels.js";
import type { VenueProposals } from "./proposals.js";
import type { Router } from "./routing.js";
import { isLinkError, payerRejectionOf } from "./shards/link-errors.js";
import type { Session } from "./transport.js";
import type { InFlightFunds } from "./trading/reservations.js";
import { countRejection, type NodeMetrics } from "./metrics.js";

export interface Price {
  security: Address;
  cash: Address;
  /** Cash smallest units per one security smallest unit, as a fraction cashAmount / securityAmount. */
  price: string;
  toleranceBps: number;
}

export interface CountersignOptions {
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly prices: readonly Price[];
  readonly clock: () => number;
  /** What the investor's orders reserve of a token (trading/desk.ts); none: nothing is reserved. */
  readonly reservedOf?: (investor: Address, token: Address) => bigint;
  /** What investors' updates take while being persisted (trading/reservations.ts); held from the check to the agreement. */
  readonly inFlight?: InFlightFunds;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

type Propose = Extract<ClientMessage, { type: "propose" }>;

export class Countersigner {
  constructor(
    private readonly channels: Channels,
    private readonly proposals: VenueProposals,
    private readonly router: Router,
    private readonly options: CountersignOptions,
  ) {}

  async onPropose(session: Session, message: Propose): Promise<void> {
    const refuse = (error: unknown): void => {
      const rejection = rejectionOrWire(error);
      countRejection(this.options.metrics, rejection);
      session.send(rejectedMessage(message.id, message.channelId, rejection));
    };
    let live: Live;
    try {
      live = this.channels.owned(session, message.channelId);
    } catch (error) {
      refuse(error);
      return;
    }
    const started = process.hrtime.bigint();
    // Unanswered, the venue's proposal takes precedence; answered, this proposal waits behind it in the queue.
    if (live.outstanding !== undefined && !live.outstanding.answered) {
      refuse(conflict());
      return;
    }
    const followUp = await this.channels.serialized(live, async () => {
      try {
        const { signature, next } = await this.countersign(live, message);
        session.send({ v: PROTOCOL_VERSION, type: "accepted", id: message.id, channelId: message.channelId, nonce: message.state.nonce.toString(), signature });
        this.options.metrics.updateLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
        return next;
      } catch (error) {
        refuse(error);
        return undefined;
      }
    });
    // The investor did not take the venue's pending proposal: offer it again.
    if (this.proposals.isPending(live) && live.outstanding === undefined) this.proposals.reoffer(live);
    // Outside this channel's queue and unawaited: it waits for other investors, and this one's
    // next messages (answers to the venue's proposals among them) must not wait behind it.
    followUp?.().catch((error: unknown) => this.options.logger.warn({ channelId: message.channelId, err: error }, "routing follow-up failed"));
  }

  /**
   * Validates, persists and countersigns an investor's proposal; throws the reason to reject it.
   * `next`: what the venue does next, once the countersignature is sent (forward a routed lock,
   * resolve the payer's lock whose secret the receiver just revealed).
   */
  private async countersign(live: Live, message: Propose): Promise<{ signature: string; next?: () => Promise<void> }> {
    if (live.record.status !== "open") {
      throw new ProtocolError("INVALID_UPDATE", `the channel is ${live.record.status}; updates need an open channel`);
    }
    // Never a second signed state of the nonce the venue's own proposal reserves, however valid.
    if (live.outstanding !== undefined || this.proposals.isPending(live)) throw conflict();
    const state = message.state;
    checkStateBounds(state);
    const proposed: SignedState = { state, signatures: [null, message.signature] };
    const secrets = new Map((message.secrets ?? []).map((s) => [s.hashlock, s.secret] as const));
    const latest = this.channels.latestOf(live);
    // Over the venue's void proposal, the nonce above it (never a second state of the voided nonce).
    const voided = this.proposals.voidedNonce(live);
    const { update, digest } = validateTransition(live.channel, latest, proposed, { facts: this.channels.factsFor(live), secrets, voided }, this.options.verifier);
    checkInvestorMayPropose(update);
    const lowered = this.checkReservations(live, latest.state, state);
    if (update.kind === "trade") this.checkPrice(live, update);
    if (update.kind === "addLock") {
      this.router.checkLockRoom(investorOf(live), live.channel.params.assets[update.lock.assetIndex]!, update.lock.amount);
    }
    // A lock pair under the hashlock holds the investor's lock too.
    const expiring = update.kind === "expireLock" ? latest.state.locks.find((l) => l.hashlock === update.hashlock && l.sender === INVESTOR) : undefined;
    if (expiring !== undefined && this.router.secrets.has(expiring.hashlock)) {
      throw new ProtocolError("LOCK_ACTIVE", "the venue holds this lock's secret and reveals it on chain before expiry; a force-close lets the chain decide");
    }
    // Until agreed, what the update lowers counts against the investor's funds (an order checked meanwhile sees it).
    const release = lowered.size === 0 ? undefined : this.options.inFlight?.hold(investorOf(live), lowered);
    try {
      return await this.agree(live, message, proposed, update, digest);
    } finally {
      release?.();
    }
  }

  private async agree(live: Live, message: Propose, proposed: SignedState, update: Update, digest: string): Promise<{ signature: string; next?: () => Promise<void> }> {
    let next: (() => Promise<void>) | undefined;
    if (message.route !== undefined) next = await this.router.routeLock(live, update, message.route.to);
    if (update.kind === "resolveLock") {
      // Durable before the countersignature leaves: after a crash the venue still claims the payer's lock.
      await this.router.learnSecret(update.hashlock, update.secret);
      next = () => this.router.settleLocksWith(update.hashlock);
    }
    const signature = this.options.signer.sign(digest);
    const agreed = withSignature(proposed, VENUE, signature);
    await this.proposals.persistAgreed(live, agreed, summarize(update, this.options.clock()), "investor");
    return next === undefined ? { signature } : { signature, next };
  }

  /**
   * An update may not take the investor's funds below what its orders reserve (FUNDS_RESERVED): for
   * each asset whose balance it lowers, what the investor's open channels hold afterwards must cover
   * the reservation, nor below it with what the investor's other updates in flight take. Returns
   * what the update lowers, per token.
   */
  private checkReservations(live: Live, before: State, after: State): Map<Address, bigint> {
    const reservedOf = this.options.reservedOf;
    const investor = investorOf(live);
    const lowers = new Map<Address, bigint>();
    live.channel.params.assets.forEach((token, assetIndex) => {
      const lowered = channelBalance(before, live.record.deposits, assetIndex, INVESTOR) - channelBalance(after, live.record.deposits, assetIndex, INVESTOR);
      if (lowered <= 0n) return;
      lowers.set(token, lowered);
      const reserved = reservedOf?.(investor, token) ?? 0n;
      if (reserved === 0n) return;
      let held = -(this.options.inFlight?.of(investor, token) ?? 0n);
      for (const other of this.channels.ofInvestor(investor)) {
        const index = other.channel.params.assets.indexOf(token);
        if (other.record.status === "open" && index >= 0) held += channelBalance(this.channels.latestOf(other).state, other.record.deposits, index, INVESTOR);
      }
      if (held - lowered < reserved) {
        this.options.metrics.boundRefusals.inc({ reason: "FUNDS_RESERVED" });
        throw new WireError("FUNDS_RESERVED", `the update leaves ${held - lowered} of ${token} in ${investor}'s channels; its orders reserve ${reserved}`);
      }
    });
    return lowers;
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
}

function conflict(): ProtocolError {
  return new ProtocolError("CONFLICT", "the venue's own proposal for this channel is unresolved and takes precedence; it is offered again");
}

/**
 * What an investor may ask the venue to countersign: nothing that moves the venue's funds except a
 * priced trade (checked separately) or a lock the venue itself had set up and whose secret is shown;
 * never a lock pair, nor its cancel (LOCK_ACTIVE).
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
    case "addLockPair":
      return refuse("a lock pair settles a fill; only the venue proposes it");
    case "cancelLockPair":
      // The venue alone knows whether the pair's fill failed (its secret never revealed) or completes.
      throw new ProtocolError("LOCK_ACTIVE", "only the venue cancels a lock pair before its expiry (a failed fill's); until then the venue can still complete it", {
        hashlock: update.hashlock,
      });
    case "trade":
    case "depositAck":
    case "resolveLock":
    case "expireLock":
    case "final":
      return;
  }
}

function parseFraction(text: string): [bigint, bigint] {
  const [num, den] = text.split("/");
  return [BigInt(num!), BigInt(den ?? "1")];
}

/** The rejection to send for `error`: a core verdict or a node-level refusal; anything else is a bug. */
export function rejectionOrWire(error: unknown): RejectionReason {
  if (error instanceof WireError) return { code: error.code, message: error.message };
  if (isLinkError(error)) return payerRejectionOf(error);
  if (error instanceof ProtocolError) return rejectionOf(error);
  throw error;
}
