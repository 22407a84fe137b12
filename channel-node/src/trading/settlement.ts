// Settlement of fills in the channels (docs/protocol.md, "Settlement of a fill"; docs/trading.md,
// "Settlement"). Per fill the venue draws a secret and stores it before anything else; then it
// proposes in the seller's channel one update adding a lock pair under the secret's hashlock —
// security seller → venue, cash venue → seller — and in the buyer's channel the mirror pair — cash
// buyer → venue, security venue → buyer —, all four locks with one expiry T; each proposal names the
// fill by its log sequence number (lockingFillOf), which the investor checks. Only once both pairs are
// agreed (and that decision is stored) does the venue use the secret: it resolves each pair off chain
// (the engine's lock work, which also reveals on chain before T when an investor does not answer). A
// pair resolves or expires as a whole, so each investor gets both of its legs or neither; if one side
// never agrees in time the venue gives up (stored first), never reveals, and the agreed pair expires
// back to its senders after T.
//
// Progress is derived from the channels' agreed states and the stored stage, so every step can be
// repeated: a tick re-drives every open settlement, after a restart too.
//
// A channel holds at most MAX_LOCKS locks (4 pairs), and a fill holds its first pair while it waits
// for its second. Were the pairs added in any order, fills of opposite directions between the same
// channels could fill both and wait for each other until the timeout (each channel full of pairs
// whose other leg waits for room in the other). So each channel takes pairs in log order: a fill
// proposes in a channel only once every earlier fill still locking there holds its pair in it. The
// earliest fill still locking is then first in both its channels and waits only for locks that do
// not wait for it (pairs of fills past locking, an investor's own locks).
//
// A failed fill's agreed pair would hold two of its channel's lock slots until T: a taker refusing
// its pairs could fill its counterparty's channel with them. So once a fill has failed (its secret
// never revealed, and never to be) the venue cancels its pair in each channel still holding it
// (`cancelLockPair`: both legs back to their senders), at once and at every tick after until none
// holds it — a pair countersigned late too, and after a restart.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { Counter, Gauge } from "prom-client";
import { hexlify } from "ethers";
import { ProtocolError } from "../../../client/protocol/errors.js";
import { hashlockOf } from "../../../client/protocol/encoding.js";
import type { FillEntry } from "../../../client/protocol/trading/log-entry.js";
import { notionalOf, type Side } from "../../../client/protocol/trading/order.js";
import type { Update } from "../../../client/protocol/updates.js";
import type { Address, Bytes32, Lock, SignedState } from "../../../client/protocol/types.js";
import type { ChannelRecord } from "../../../client/store/store.js";
import { WireError } from "../../../client/protocol/wire.js";
import type { NodeMetrics } from "../metrics.js";
import type { OrderBooks } from "./books.js";
import type { SettlementRecord, SettlementStage, SettlementStore } from "./settlement-store.js";

const VENUE = 0;
const INVESTOR = 1;

/** What settlement needs of the channel engine (engine.ts). */
export interface SettlementChannels {
  channelIds(): Bytes32[];
  record(channelId: Bytes32): ChannelRecord | undefined;
  latest(channelId: Bytes32): SignedState | undefined;
  /** [venue, investor] free balance per asset. */
  balances(channelId: Bytes32): [bigint, bigint][];
  isConnected(investor: Address): boolean;
  proposeAsVenue(channelId: Bytes32, update: Update): Promise<SignedState>;
  /** Learns the secret (persisted) and resolves every investor lock under its hashlock. */
  secretRevealed(hashlock: Bytes32, secret: Bytes32): Promise<void>;
  /** Lets the venue's lock-pair proposals name the fill they settle. */
  nameFills(fillOf: (hashlock: Bytes32) => bigint | undefined): void;
}

export interface SettlementBounds {
  /** The locks' expiry T = the chain's time + this, at the secret's drawing (seconds). */
  readonly lockSeconds: bigint;
  /** How long the venue waits for both pairs to be agreed before it gives up (ms). */
  readonly timeoutMs: number;
  /** How often open settlements are driven (ms). */
  readonly intervalMs: number;
}

export const DEFAULT_SETTLEMENT_BOUNDS: SettlementBounds = { lockSeconds: 3_600n, timeoutMs: 120_000, intervalMs: 1_000 };

export interface SettlementOptions {
  readonly store: SettlementStore;
  readonly books: OrderBooks;
  readonly channels: SettlementChannels;
  readonly bounds: SettlementBounds;
  /** The chain's time (unix seconds). */
  readonly now: () => bigint;
  /** Wall-clock milliseconds. */
  readonly clock: () => number;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

/** Codes a failed settlement records. */
export const SETTLEMENT_FAILURES = [
  /** An investor has no open channel holding both assets of the market (and its leg). */
  "NO_CHANNEL",
  /** The venue does not hold its legs in the investors' channels (cash to the seller, security to the buyer). */
  "VENUE_FUNDS",
  /** An investor refused the lock pair. */
  "REFUSED",
  /** A pair was not agreed within `timeoutMs` (or too close to the expiry to reveal safely). */
  "TIMEOUT",
  /** The channel core refused the lock pair (compliance, balances). */
  "INVALID_LOCKS",
] as const;
export type SettlementFailure = (typeof SETTLEMENT_FAILURES)[number];

/** Codes after which proposing again later may succeed. */
const TRANSIENT = new Set(["BUSY", "LOCK_LIMIT", "INVALID_UPDATE", "COMPLIANCE_UNKNOWN", "UNKNOWN_CHANNEL"]);

export class Settlements {
  private readonly records = new Map<bigint, SettlementRecord>();
  /** Fill sequence by the hashlock of its secret. */
  private readonly byHashlock = new Map<Bytes32, bigint>();
  private readonly driving = new Set<bigint>();
  /** Fills whose secret is being drawn and stored. */
  private readonly drawing = new Set<bigint>();
  /** Fills in stage `locking` by the channels they settle in: each channel takes their pairs in log order. */
  private readonly lockingIn = new Map<Bytes32, Set<bigint>>();
  /** The earliest unsettled fill without a record at the last tick: no later fill proposes before it has its channels. */
  private undrawnFrom: bigint | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Failed fills whose pair a channel may still hold (agreed, or proposed and countersignable late): cancelled. */
  private readonly cancelling = new Set<bigint>();
  /** `fill:channelId` of the cancels an investor refused: not proposed again (the pair expires at T). */
  private readonly cancelRefused = new Set<string>();
  private readonly outcomes: Counter<"outcome">;
  private readonly cancels: Counter<"outcome">;
  private readonly open: Gauge;

  private constructor(private readonly options: SettlementOptions) {
    const { registry } = options.metrics;
    this.outcomes =
      (registry.getSingleMetric("clearline_fill_settlements_total") as Counter<"outcome"> | undefined) ??
      new Counter({ name: "clearline_fill_settlements_total", help: "Fills whose settlement ended, by outcome (settled, failed)", labelNames: ["outcome"], registers: [registry] });
    this.cancels =
      (registry.getSingleMetric("clearline_fill_lock_pair_cancels_total") as Counter<"outcome"> | undefined) ??
      new Counter({
        name: "clearline_fill_lock_pair_cancels_total",
        help: "Cancels of a failed fill's lock pair proposed in a channel, by outcome (cancelled, refused)",
        labelNames: ["outcome"],
        registers: [registry],
      });
    this.open =
      (registry.getSingleMetric("clearline_fill_settlements_open") as Gauge | undefined) ??
      new Gauge({ name: "clearline_fill_settlements_open", help: "Fills being settled (secret drawn, not yet settled or failed)", registers: [registry] });
  }

  /**
   * Loads the stored settlements over the replayed books: a settled or failed fill releases its
   * reservations; a fill without a record (the node stopped between the log and the secret) gets
   * one at the first tick.
   */
  static async open(options: SettlementOptions): Promise<Settlements> {
    const settlements = new Settlements(options);
    for (const record of await options.store.records()) {
      settlements.setRecord(record);
      const fill = options.books.fillBySequence(record.fill);
      if (fill === undefined) throw new Error(`settlement of fill ${record.fill}, which the order log does not hold`);
      if (record.stage === "settled" || record.stage === "failed") settlements.release(fill);
    }
    options.channels.nameFills((hashlock) => settlements.lockingFillOf(hashlock));
    return settlements;
  }

  /** Starts driving open settlements at `intervalMs`. */
  start(): void {
    this.timer ??= setInterval(() => this.tick(), this.options.bounds.intervalMs);
    this.timer.unref();
    this.tick();
  }

  /** Stops driving, gives the drives under way a moment, and closes the store. */
  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.closed = true;
    // A drive waiting for an investor's answer would hold the shutdown up to the response timeout: wait briefly.
    for (let waited = 0; this.driving.size > 0 && waited < 2_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    await this.options.store.close();
  }

  /**
   * The fill whose lock pairs are being agreed under `hashlock`: what the venue's proposal of a pair
   * names. None once the fill is settled or failed: a pair offered again then names no fill, and the
   * investor refuses it.
   */
  lockingFillOf(hashlock: Bytes32): bigint | undefined {
    const fill = this.byHashlock.get(hashlock);
    return fill !== undefined && this.records.get(fill)?.stage === "locking" ? fill : undefined;
  }

  /** A fill's stage, or undefined before its secret is drawn. */
  stageOf(fill: bigint): SettlementStage | undefined {
    return this.records.get(fill)?.stage;
  }

  /** Fills just logged: draw and store each one's secret, then drive them (unawaited). */
  async fillsLogged(fills: readonly FillEntry[]): Promise<void> {
    for (const fill of fills) await this.begin(fill);
    this.tick();
  }

  /** Drives every open settlement once (unawaited, one drive per fill at a time). */
  tick(): void {
    if (this.closed) return;
    this.undrawnFrom = undefined;
    for (const fill of this.options.books.unsettled) {
      if (this.records.has(fill.sequence)) continue;
      this.undrawnFrom ??= fill.sequence;
      if (this.drawing.has(fill.sequence)) continue;
      this.begin(fill).catch((error: unknown) => this.options.logger.warn({ fill: fill.sequence.toString(), err: error }, "drawing a fill's secret failed; retried"));
    }
    let open = 0;
    for (const record of this.records.values()) {
      if (record.stage === "settled" || record.stage === "failed") continue;
      open++;
      if (this.driving.has(record.fill)) continue;
      this.driving.add(record.fill);
      this.drive(record.fill)
        .catch((error: unknown) => this.options.logger.warn({ fill: record.fill.toString(), err: error }, "driving a fill's settlement failed; retried"))
        .finally(() => this.driving.delete(record.fill));
    }
    this.open.set(open);
    for (const fill of this.cancelling) {
      if (this.driving.has(fill)) continue;
      this.driving.add(fill);
      this.cancelPairs(this.records.get(fill)!)
        .catch((error: unknown) => this.options.logger.warn({ fill: fill.toString(), err: error }, "cancelling a failed fill's lock pairs failed; retried"))
        .finally(() => this.driving.delete(fill));
    }
  }

  /** Draws the fill's secret, picks both channels and stores it all before anything is proposed. */
  private async begin(fill: FillEntry): Promise<void> {
    // One secret per fill: the tick and the desk may both start it.
    if (this.records.has(fill.sequence) || this.drawing.has(fill.sequence)) return;
    this.drawing.add(fill.sequence);
    try {
      await this.draw(fill);
    } finally {
      this.drawing.delete(fill.sequence);
    }
  }

  private async draw(fill: FillEntry): Promise<void> {
    const { books, bounds, now, clock } = this.options;
    const secret = hexlify(randomBytes(32));
    const { buyer, seller } = books.partiesOf(fill);
    const notional = notionalOf(fill.quantity, fill.price, seller.lotSize);
    const sellerChannel = this.channelFor(seller.investor, seller.security, seller.cash, fill.quantity, notional);
    const buyerChannel = this.channelFor(buyer.investor, buyer.cash, buyer.security, notional, fill.quantity);
    let record: SettlementRecord = {
      fill: fill.sequence,
      secret,
      hashlock: hashlockOf(secret),
      expiry: now() + bounds.lockSeconds,
      sellerChannel: sellerChannel.channelId,
      buyerChannel: buyerChannel.channelId,
      stage: "locking",
      createdAt: clock(),
    };
    const failure = sellerChannel.failure ?? buyerChannel.failure;
    // A self-trade (no self-trade prevention) moves nothing: settled as it is, no lock.
    if (buyer.investor === seller.investor) record = { ...record, stage: "settled" };
    else if (failure !== undefined) record = { ...record, stage: "failed", reason: failure };
    await this.options.store.put(record);
    this.setRecord(record);
    if (record.stage !== "locking") this.ended(fill, record);
  }

  /**
   * The investor's open channel holding both assets in which it can give `give` of `gives` and the
   * venue `get` of `gets`: the first such channel, else NO_CHANNEL (none with its leg) or
   * VENUE_FUNDS (none where the venue holds its leg).
   */
  private channelFor(investor: Address, gives: Address, gets: Address, give: bigint, get: bigint): { channelId: Bytes32 | null; failure?: SettlementFailure } {
    const { channels } = this.options;
    let withLeg: Bytes32 | null = null;
    for (const channelId of channels.channelIds()) {
      const record = channels.record(channelId)!;
      const [giveIndex, getIndex] = [record.params.assets.indexOf(gives), record.params.assets.indexOf(gets)];
      if (record.params.participants[INVESTOR] !== investor || record.status !== "open" || giveIndex < 0 || getIndex < 0) continue;
      const balances = channels.balances(channelId);
      if (balances[giveIndex]![INVESTOR] < give) continue;
      withLeg ??= channelId;
      if (balances[getIndex]![VENUE] >= get) return { channelId };
    }
    return withLeg === null ? { channelId: null, failure: "NO_CHANNEL" } : { channelId: withLeg, failure: "VENUE_FUNDS" };
  }

  /** The lock pair of one side: ordered by asset index, both under the fill's hashlock and expiry. */
  private pairOf(record: SettlementRecord, fill: FillEntry, side: Side, channelId: Bytes32): readonly [Lock, Lock] {
    const { assets } = this.options.channels.record(channelId)!.params;
    const { buyer } = this.options.books.partiesOf(fill);
    const securityFrom = side === "sell" ? INVESTOR : VENUE;
    const { hashlock, expiry } = record;
    const locks: Lock[] = [
      { assetIndex: assets.indexOf(buyer.security), sender: securityFrom, amount: fill.quantity, hashlock, expiry },
      { assetIndex: assets.indexOf(buyer.cash), sender: securityFrom === INVESTOR ? VENUE : INVESTOR, amount: notionalOf(fill.quantity, fill.price, buyer.lotSize), hashlock, expiry },
    ];
    locks.sort((a, b) => a.assetIndex - b.assetIndex);
    return locks as unknown as readonly [Lock, Lock];
  }

  /** Holds `record` as the fill's current one, indexed by hashlock and, while locking, by channel; a failed one is to be cancelled. */
  private setRecord(record: SettlementRecord): void {
    this.records.set(record.fill, record);
    this.byHashlock.set(record.hashlock, record.fill);
    if (record.stage === "failed") this.cancelling.add(record.fill);
    for (const channelId of [record.sellerChannel, record.buyerChannel]) {
      if (channelId === null) continue;
      let fills = this.lockingIn.get(channelId);
      if (record.stage === "locking") {
        if (fills === undefined) this.lockingIn.set(channelId, (fills = new Set()));
        fills.add(record.fill);
      } else if (fills?.delete(record.fill) === true && fills.size === 0) {
        this.lockingIn.delete(channelId);
      }
    }
  }

  /**
   * Whether the fill must wait before proposing its pair in the channel: an earlier fill still
   * locking there does not hold its pair in it yet, or an earlier fill has no secret (nor channels) yet.
   */
  private waitsInLine(channelId: Bytes32, sequence: bigint): boolean {
    if (this.undrawnFrom !== undefined && this.undrawnFrom < sequence) return true;
    for (const earlier of this.lockingIn.get(channelId) ?? []) {
      if (earlier < sequence && !this.locked(channelId, this.records.get(earlier)!.hashlock)) return true;
    }
    return false;
  }

  /** Whether the channel's latest agreed state holds a lock under the hashlock. */
  private locked(channelId: Bytes32, hashlock: Bytes32): boolean {
    return this.options.channels.latest(channelId)?.state.locks.some((l) => l.hashlock === hashlock) ?? false;
  }

  private async drive(sequence: bigint): Promise<void> {
    const record = this.records.get(sequence)!;
    const fill = this.options.books.fillBySequence(sequence)!;
    if (record.stage === "locking") return this.driveLocking(record, fill);
    if (record.stage === "revealed") return this.driveRevealed(record, fill);
  }

  private async driveLocking(record: SettlementRecord, fill: FillEntry): Promise<void> {
    const { channels, bounds, now, clock } = this.options;
    const sides = [
      { side: "sell" as const, channelId: record.sellerChannel! },
      { side: "buy" as const, channelId: record.buyerChannel! },
    ];
    const lockedSides = sides.filter(({ channelId }) => this.locked(channelId, record.hashlock));
    if (lockedSides.length === 2) {
      // The reveal must leave time to resolve off chain or reveal on chain before T.
      if (now() >= record.expiry - bounds.lockSeconds / 2n) return this.fail(record, fill, "TIMEOUT");
      // Stored before the secret leaves the venue: from here on the venue completes, never refunds.
      await this.transition(record, { stage: "revealed" });
      return this.driveRevealed(this.records.get(record.fill)!, fill);
    }
    if (clock() - record.createdAt >= bounds.timeoutMs || now() >= record.expiry - bounds.lockSeconds / 2n) return this.fail(record, fill, "TIMEOUT");
    let agreed = false;
    for (const { side, channelId } of sides) {
      if (lockedSides.some((s) => s.side === side)) continue;
      const channel = channels.record(channelId)!;
      if (channel.status !== "open") return this.fail(record, fill, "NO_CHANNEL");
      const pending = channel.pending;
      if (pending?.proposer === VENUE && pending.signed.state.locks.some((l) => l.hashlock === record.hashlock)) {
        if (pending.voided === true) return this.fail(record, fill, "REFUSED");
        continue; // offered, or offered again at the investor's resync
      }
      if (this.waitsInLine(channelId, record.fill) || !channels.isConnected(channel.params.participants[INVESTOR])) continue;
      try {
        await channels.proposeAsVenue(channelId, { kind: "addLockPair", locks: this.pairOf(record, fill, side, channelId) });
        agreed = true;
      } catch (error) {
        const code = error instanceof ProtocolError || error instanceof WireError ? error.code : undefined;
        if (code === undefined) throw error;
        if (TRANSIENT.has(code)) continue;
        const refused = channels.record(channelId)?.pending?.voided === true;
        return this.fail(record, fill, refused ? "REFUSED" : code === "INSUFFICIENT_BALANCE" ? "VENUE_FUNDS" : "INVALID_LOCKS");
      }
    }
    // A pair agreed: the next fill in line in that channel may propose now, not at the next tick.
    if (agreed) this.tick();
    // Both agreed just now: reveal without waiting for the next tick.
    if (sides.every(({ channelId }) => this.locked(channelId, record.hashlock))) await this.driveLocking(this.records.get(record.fill)!, fill);
  }

  private async driveRevealed(record: SettlementRecord, fill: FillEntry): Promise<void> {
    const { channels } = this.options;
    const open = [record.sellerChannel!, record.buyerChannel!].filter((channelId) => channels.record(channelId)?.status !== "concluded" && this.locked(channelId, record.hashlock));
    if (open.length === 0) {
      await this.transition(record, { stage: "settled" });
      this.ended(fill, this.records.get(record.fill)!);
      return;
    }
    // Idempotent: learns the secret once, proposes the resolutions the engine can make now.
    await channels.secretRevealed(record.hashlock, record.secret);
  }

  private async fail(record: SettlementRecord, fill: FillEntry, reason: SettlementFailure): Promise<void> {
    await this.transition(record, { stage: "failed", reason });
    this.options.logger.warn({ fill: fill.sequence.toString(), reason }, "fill settlement failed: no secret revealed, agreed lock pairs are cancelled");
    this.ended(fill, this.records.get(record.fill)!);
    await this.cancelPairs(this.records.get(record.fill)!);
  }

  /**
   * Proposes the cancel of a failed fill's pair in each of its channels whose latest agreed state
   * holds it, the investor online and no venue proposal pending there; forgets the fill once no
   * channel holds the pair nor a venue proposal of it that could still be countersigned. Only a
   * failed fill's: its secret was never revealed (stage `revealed` is stored before it leaves).
   */
  private async cancelPairs(record: SettlementRecord): Promise<void> {
    const { channels, now, logger } = this.options;
    if (record.stage !== "failed") throw new Error(`cancel of the lock pairs of fill ${record.fill}, which has not failed`);
    // From T on the pair expires instead (the engine's lock sweep proposes expireLock).
    const expired = now() > record.expiry;
    let held = false;
    for (const channelId of [record.sellerChannel, record.buyerChannel]) {
      const channel = channelId === null ? undefined : channels.record(channelId);
      if (channelId === null || channel?.status !== "open" || expired) continue;
      if (!this.locked(channelId, record.hashlock)) {
        // The pair's proposal, unanswered or refused, may still be countersigned late.
        const pending = channel.pending;
        held ||= pending?.proposer === VENUE && pending.update.kind === "addLockPair" && pending.signed.state.locks.some((l) => l.hashlock === record.hashlock);
        continue;
      }
      const key = `${record.fill}:${channelId}`;
      if (this.cancelRefused.has(key)) continue;
      held = true;
      // A venue proposal still pending there makes this BUSY: tried again at the next tick.
      if (!channels.isConnected(channel.params.participants[INVESTOR])) continue;
      try {
        await channels.proposeAsVenue(channelId, { kind: "cancelLockPair", hashlock: record.hashlock });
        this.cancels.inc({ outcome: "cancelled" });
        logger.info({ fill: record.fill.toString(), channelId }, "failed fill's lock pair cancelled: both legs back, its lock slots free");
        this.tick();
      } catch (error) {
        const code = error instanceof ProtocolError || error instanceof WireError ? error.code : undefined;
        if (code === undefined) throw error;
        const refused = channels.record(channelId)?.pending;
        if (refused?.voided !== true || refused.update.kind !== "cancelLockPair") continue; // unanswered, offline, BUSY: next tick
        this.cancelRefused.add(key);
        this.cancels.inc({ outcome: "refused" });
        logger.warn({ fill: record.fill.toString(), channelId, code }, "the investor refused to cancel a failed fill's lock pair: it expires back after T");
      }
    }
    if (held) return;
    this.cancelling.delete(record.fill);
    for (const channelId of [record.sellerChannel, record.buyerChannel]) this.cancelRefused.delete(`${record.fill}:${channelId}`);
  }

  private async transition(record: SettlementRecord, change: Pick<SettlementRecord, "stage"> & { reason?: SettlementFailure }): Promise<void> {
    const next = { ...record, ...change };
    await this.options.store.put(next);
    this.setRecord(next);
  }

  private ended(fill: FillEntry, record: SettlementRecord): void {
    this.release(fill);
    this.outcomes.inc({ outcome: record.stage });
    if (record.stage === "settled") this.options.logger.info({ fill: fill.sequence.toString() }, "fill settled in both channels");
  }

  /** The fill is over: its legs are reserved no longer. */
  private release(fill: FillEntry): void {
    this.options.books.closeFill(fill);
  }
}
