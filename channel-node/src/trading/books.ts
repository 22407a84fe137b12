// The venue's books, one per market, driven by its log: an order or cancel entry is applied with the
// core's `applyEntry` (price–time matching) and the fills it returns follow it in the log. `prepare`
// computes the outcome without changing anything; `commit` takes it once the entries are on disk.
// A restart restores the books by replaying the stored log and checking every stored fill. With an
// external matching engine (`matching: "external"`) orders rest on arrival and the engine's fills
// come as their own entries (`prepareFill`), replayed as stored.
import { TradingError } from "../../../client/protocol/trading/errors.js";
import { emptyBook, type Book, type BookLimits } from "../../../client/protocol/trading/book.js";
import type { Outcome, RemovalReason } from "../../../client/protocol/trading/matching.js";
import { applyExternalFill, restOrder } from "../../../client/protocol/trading/external-matching.js";
import { applyEntry } from "../../../client/protocol/trading/replay.js";
import type { CancelEntry, FillEntry, LogEntry, OrderEntry, VenueCancelEntry } from "../../../client/protocol/trading/log-entry.js";
import { orderHashOf, type Market, type Order } from "../../../client/protocol/trading/order.js";
import type { MatchingMode } from "../../../client/protocol/trading/receipt.js";
import type { Address, Bytes32, Eip712Domain } from "../../../client/protocol/types.js";
import { MatchedFunds, commitmentOf } from "./reservations.js";

const marketKey = (security: Address, cash: Address): string => `${security}/${cash}`;

/** Who matches: the built-in price–time book on arrival, or an external engine's fills (external/); signed in every checkpoint. */
export type Matching = MatchingMode;

/** Why a logged order rests no longer. */
export type EndReason = RemovalReason | "filled";

export interface Prepared {
  readonly entries: readonly LogEntry[];
  readonly fills: readonly FillEntry[];
  readonly outcome: Outcome;
  /** Takes the outcome into the books; call once the entries are durable. */
  commit(): void;
}

export class OrderBooks {
  private readonly markets = new Map<string, Market>();
  private readonly books = new Map<string, Book>();
  /** Every logged order, by sequence number. */
  private readonly orders = new Map<bigint, OrderEntry>();
  private readonly sequenceByHash = new Map<Bytes32, bigint>();
  private readonly lastNonce = new Map<Address, bigint>();
  /** Open quantity of each resting order. */
  private readonly remaining = new Map<bigint, bigint>();
  private readonly restingByInvestor = new Map<Address, Set<bigint>>();
  /** Why each order that rested, or was dropped, no longer rests. */
  private readonly ended = new Map<bigint, EndReason>();
  /** What unsettled fills commit of each investor (reserved) and will bring it (counted for the maximum balance). */
  readonly matched = new MatchedFunds();
  readonly incoming = new MatchedFunds();
  /** Fills logged and not yet settled (or failed) in the channels, in log order. */
  readonly unsettled: FillEntry[] = [];
  /** Every logged fill, by sequence number. */
  private readonly fills = new Map<bigint, FillEntry>();
  nextSequence = 0n;
  /** The latest receive time in the log: times never go back along it. */
  lastTime = 0n;

  constructor(
    markets: readonly Market[],
    limits: BookLimits,
    private readonly domain: Eip712Domain,
    readonly matching: Matching = "builtIn",
  ) {
    for (const market of markets) {
      this.markets.set(marketKey(market.security, market.cash), market);
      this.books.set(marketKey(market.security, market.cash), emptyBook(market, limits));
    }
  }

  marketOf(security: Address, cash: Address): Market | undefined {
    return this.markets.get(marketKey(security, cash));
  }

  lastNonceOf(investor: Address): bigint | undefined {
    return this.lastNonce.get(investor);
  }

  orderBySequence(sequence: bigint): OrderEntry | undefined {
    return this.orders.get(sequence);
  }

  fillBySequence(sequence: bigint): FillEntry | undefined {
    return this.fills.get(sequence);
  }

  /** The buyer's and the seller's orders of a logged fill. */
  partiesOf(fill: FillEntry): { buyer: Order; seller: Order } {
    const maker = this.orders.get(fill.makerSequence)!.signed.order;
    const taker = this.orders.get(fill.takerSequence)!.signed.order;
    return taker.side === "buy" ? { buyer: taker, seller: maker } : { buyer: maker, seller: taker };
  }

  /** The fill is settled or failed (once): it leaves the unsettled fills, its legs are reserved no longer and the buyer expects its security no longer. */
  closeFill(fill: FillEntry): void {
    const index = this.unsettled.findIndex((f) => f.sequence === fill.sequence);
    if (index < 0) return;
    this.unsettled.splice(index, 1);
    const { buyer, seller } = this.partiesOf(fill);
    this.matched.add(seller.investor, seller.security, -fill.quantity);
    this.matched.add(buyer.investor, buyer.cash, -commitmentOf({ ...buyer, price: fill.price }, fill.quantity).amount);
    this.incoming.add(buyer.investor, buyer.security, -fill.quantity);
  }

  /** Every logged fill, in log order. */
  allFills(): IterableIterator<FillEntry> {
    return this.fills.values();
  }

  sequenceOf(orderHash: Bytes32): bigint | undefined {
    return this.sequenceByHash.get(orderHash);
  }

  /** Orders resting on all books. */
  get restingCount(): number {
    return this.remaining.size;
  }

  isResting(sequence: bigint): boolean {
    return this.remaining.has(sequence);
  }

  /** The open quantity of a resting order (0 when it does not rest). */
  remainingOf(sequence: bigint): bigint {
    return this.remaining.get(sequence) ?? 0n;
  }

  /** Why a logged order no longer rests (undefined while it rests, or before it is logged). */
  endOf(sequence: bigint): EndReason | undefined {
    return this.ended.get(sequence);
  }

  /**
   * The investor's resting orders with their open quantity. Given `now`, without those expired by
   * then: the next entry's time is at least `now`, so they leave the book before anything trades.
   */
  restingOf(investor: Address, now?: bigint): { entry: OrderEntry; remaining: bigint }[] {
    const live = (entry: OrderEntry): boolean => now === undefined || entry.signed.order.expiresAt === 0n || entry.signed.order.expiresAt > now;
    return [...(this.restingByInvestor.get(investor) ?? [])]
      .map((sequence) => ({ entry: this.orders.get(sequence)!, remaining: this.remaining.get(sequence)! }))
      .filter(({ entry }) => live(entry));
  }

  /** What the investor's resting orders (not expired by `now`, when given) and unsettled fills commit of `token`. */
  reservedOf(investor: Address, token: Address, now?: bigint): bigint {
    let total = this.matched.of(investor, token);
    for (const { entry, remaining } of this.restingOf(investor, now)) {
      const commitment = commitmentOf(entry.signed.order, remaining);
      if (commitment.token === token) total += commitment.amount;
    }
    return total;
  }

  /** The book of `market`'s pair (for reads and tests). */
  bookOf(security: Address, cash: Address): Book | undefined {
    return this.books.get(marketKey(security, cash));
  }

  /** The outcome of appending `entry` (its sequence number must be `nextSequence`); changes nothing. */
  prepare(entry: OrderEntry | CancelEntry | VenueCancelEntry): Prepared {
    if (entry.sequence !== this.nextSequence) throw new TradingError("OUT_OF_ORDER", `entry ${entry.sequence} where ${this.nextSequence} is next`);
    const order = entry.kind === "order" ? entry.signed.order : this.orders.get(entry.target)?.signed.order;
    const key = order === undefined ? undefined : marketKey(order.security, order.cash);
    const book = key === undefined ? undefined : this.books.get(key);
    if (key === undefined || book === undefined) throw new TradingError(order === undefined ? "UNKNOWN_ORDER" : "WRONG_MARKET", `entry ${entry.sequence} is for no market of this venue`);
    // An IOC order reaches an external log only from the built-in book (intake refuses it under an
    // engine): replayed, it trades on arrival as it did, its stored fills checked like any built-in ones.
    const rests = entry.kind === "order" && this.matching === "external" && entry.signed.order.timeInForce !== "IOC";
    const { outcome, fills } = rests ? { outcome: restOrder(book, entry), fills: [] } : applyEntry(book, entry, (sequence) => this.orders.get(sequence), this.domain);
    return { entries: [entry, ...fills], fills, outcome, commit: () => this.commit(key, entry, outcome, fills) };
  }

  /**
   * The outcome of appending an external engine's fill (sequence `nextSequence`) of two resting
   * orders of one book; changes nothing. The caller checked the fill's terms (external/fill-check.ts).
   */
  prepareFill(fill: FillEntry): Prepared {
    if (fill.sequence !== this.nextSequence) throw new TradingError("OUT_OF_ORDER", `entry ${fill.sequence} where ${this.nextSequence} is next`);
    const order = this.orders.get(fill.makerSequence)?.signed.order;
    const key = order === undefined ? undefined : marketKey(order.security, order.cash);
    const book = key === undefined ? undefined : this.books.get(key);
    if (key === undefined || book === undefined) throw new TradingError("UNKNOWN_ORDER", `fill ${fill.sequence} names no order of a market at ${fill.makerSequence}`);
    const after = applyExternalFill(book, fill, (sequence) => this.orders.get(sequence));
    const outcome: Outcome = { book: after, fills: [fill], removed: [], rested: undefined };
    return { entries: [fill], fills: [fill], outcome, commit: () => this.commitFill(key, fill, after) };
  }

  private commitFill(key: string, fill: FillEntry, book: Book): void {
    this.books.set(key, book);
    this.nextSequence = fill.sequence + 1n;
    const left = (this.remaining.get(fill.takerSequence) ?? 0n) - fill.quantity;
    if (left > 0n) this.remaining.set(fill.takerSequence, left);
    else this.unrest(fill.takerSequence, "filled");
    this.recordFill(fill);
  }

  private commit(key: string, entry: OrderEntry | CancelEntry | VenueCancelEntry, outcome: Outcome, fills: readonly FillEntry[]): void {
    this.books.set(key, outcome.book);
    this.nextSequence = entry.sequence + 1n + BigInt(fills.length);
    if (entry.receivedAt > this.lastTime) this.lastTime = entry.receivedAt;
    if (entry.kind === "order") {
      const { order } = entry.signed;
      this.orders.set(entry.sequence, entry);
      this.sequenceByHash.set(orderHashOf(order, this.domain), entry.sequence);
      this.lastNonce.set(order.investor, order.nonce);
    }
    for (const removal of outcome.removed) {
      this.unrest(removal.sequence, removal.reason);
      if (removal.reason === "unfilled") this.ended.set(removal.sequence, "unfilled");
    }
    for (const fill of fills) this.recordFill(fill);
    if (entry.kind === "order" && outcome.rested === undefined && !this.ended.has(entry.sequence)) this.ended.set(entry.sequence, "filled");
    if (outcome.rested !== undefined) {
      const investor = (entry as OrderEntry).signed.order.investor;
      this.remaining.set(outcome.rested.sequence, outcome.rested.remaining);
      let resting = this.restingByInvestor.get(investor);
      if (resting === undefined) this.restingByInvestor.set(investor, (resting = new Set()));
      resting.add(outcome.rested.sequence);
    }
  }

  /** A fill just logged: the maker's open quantity, the reservations and the buyer's incoming security. */
  private recordFill(fill: FillEntry): void {
    const maker = this.orders.get(fill.makerSequence)!.signed.order;
    const taker = this.orders.get(fill.takerSequence)!.signed.order;
    const left = (this.remaining.get(fill.makerSequence) ?? 0n) - fill.quantity;
    if (left > 0n) this.remaining.set(fill.makerSequence, left);
    else this.unrest(fill.makerSequence, "filled");
    const [buyer, seller] = taker.side === "buy" ? [taker, maker] : [maker, taker];
    this.matched.add(seller.investor, seller.security, fill.quantity);
    this.matched.add(buyer.investor, buyer.cash, commitmentOf({ ...buyer, price: fill.price }, fill.quantity).amount);
    this.incoming.add(buyer.investor, buyer.security, fill.quantity);
    this.unsettled.push(fill);
    this.fills.set(fill.sequence, fill);
  }

  private unrest(sequence: bigint, reason: EndReason): void {
    if (!this.remaining.delete(sequence)) return;
    this.ended.set(sequence, reason);
    const investor = this.orders.get(sequence)!.signed.order.investor;
    const resting = this.restingByInvestor.get(investor);
    resting?.delete(sequence);
    if (resting?.size === 0) this.restingByInvestor.delete(investor);
  }

  /**
   * Replays a stored log into empty books: REPLAY_MISMATCH unless every stored fill is exactly the
   * one the matcher makes there (with an external engine: of two resting orders), OUT_OF_ORDER for a gap. The books' limits do not apply to what the
   * node accepted before (a lowered limit must not lose a log).
   */
  restore(entries: readonly LogEntry[]): void {
    const saved = new Map(this.books);
    for (const [key, book] of this.books) this.books.set(key, { ...book, limits: { maxOrders: Number.POSITIVE_INFINITY } });
    let i = 0;
    while (i < entries.length) {
      const entry = entries[i]!;
      if (entry.kind === "fill" && this.matching === "external") {
        this.prepareFill(entry).commit();
        i += 1;
        continue;
      }
      if (entry.kind === "fill") throw new TradingError("REPLAY_MISMATCH", `fill ${entry.sequence} follows no order`);
      const prepared = this.prepare(entry);
      for (const [j, fill] of prepared.fills.entries()) {
        const stored = entries[i + 1 + j];
        if (stored?.kind !== "fill" || stored.sequence !== fill.sequence || stored.makerSequence !== fill.makerSequence || stored.quantity !== fill.quantity || stored.price !== fill.price) {
          throw new TradingError("REPLAY_MISMATCH", `the stored log differs from the matcher at ${fill.sequence}`);
        }
      }
      prepared.commit();
      i += 1 + prepared.fills.length;
    }
    for (const [key, book] of this.books) this.books.set(key, { ...book, limits: saved.get(key)!.limits });
  }
}
