// The venue's trading desk (docs/trading.md, "At the node"): takes investors' signed orders and
// cancels over their authenticated sessions, checks them (intake.ts), appends each with the fills it
// causes to the persisted Merkle log — synced before anything is answered — and answers with the
// venue's signed receipt. It serves inclusion and consistency proofs and signed checkpoints of the
// log. Everything that reads or changes the books runs in one queue, in log order.
import type { Logger } from "pino";
import { PROTOCOL_VERSION, type ClientMessage, type NodeMessage } from "../../../client/protocol/wire.js";
import type { ComplianceFacts } from "../../../client/protocol/compliance/index.js";
import type { Signer, Verifier } from "../../../client/protocol/signing.js";
import type { Address, Eip712Domain } from "../../../client/protocol/types.js";
import { TradingError } from "../../../client/protocol/trading/errors.js";
import { DEFAULT_BOOK_LIMITS, type PriceLevel } from "../../../client/protocol/trading/book.js";
import { EMPTY_COMPACT_TREE, appendLeaf, compactRoot, type CompactTree } from "../../../client/protocol/trading/compact-tree.js";
import { entryLeafHash, type CancelEntry, type FillEntry, type OrderEntry, type VenueCancelEntry } from "../../../client/protocol/trading/log-entry.js";
import { consistencyProof, inclusionProof, rootOf } from "../../../client/protocol/trading/merkle.js";
import { orderHashOf, verifySignedCancel, type Market, type Order, type SignedCancel, type SignedOrder } from "../../../client/protocol/trading/order.js";
import { hashHex, signCheckpoint, signReceipt, type SignedCheckpoint } from "../../../client/protocol/trading/receipt.js";
import { TokenBucket } from "../rate-limit.js";
import { countRejection, type NodeMetrics } from "../metrics.js";
import type { Session } from "../transport.js";
import { OrderBooks, type Matching, type Prepared } from "./books.js";
import { DeskRefusal, refusalOf } from "./errors.js";
import { checkOrder } from "./intake.js";
import type { OrderLogStore } from "./log-store.js";
import { nonCompliantMaker } from "./match-compliance.js";
import { commitmentOf } from "./reservations.js";
import { Settlements, type SettlementOptions } from "./settlement.js";
import { LevelSettlementStore } from "./settlement-store.js";
import { checkFill, type FillSubmission } from "./external/fill-check.js";

export interface DeskBounds {
  /** GTC orders one investor may have resting (TOO_MANY_ORDERS). */
  readonly maxRestingOrdersPerInvestor: number;
  /** Orders and cancels per investor (and reads where the handler has no read budget): sustained per second and burst (ORDER_RATE_LIMITED). */
  readonly orderRate: { readonly perSecond: number; readonly burst: number };
  /** Resting orders per book (the core's BOOK_FULL). */
  readonly maxOrdersPerBook: number;
}

export const DEFAULT_DESK_BOUNDS: DeskBounds = {
  maxRestingOrdersPerInvestor: 100,
  orderRate: { perSecond: 20, burst: 100 },
  maxOrdersPerBook: DEFAULT_BOOK_LIMITS.maxOrders,
};

export interface DeskOptions {
  readonly store: OrderLogStore;
  readonly markets: readonly Market[];
  /** The venue's "Clearline Orders" domain (its OrderLogAnchor). */
  readonly domain: Eip712Domain;
  readonly signer: Signer;
  readonly verifier: Verifier;
  readonly facts: () => ComplianceFacts;
  /** Unix seconds (the chain's time): receive times and expiry. */
  readonly now: () => bigint;
  /** Wall-clock milliseconds, for the rate buckets. */
  readonly clock: () => number;
  readonly bounds: DeskBounds;
  /** Whether an investor's resting orders leave the book when its session closes (a venue cancel each). */
  readonly cancelOnDisconnect: boolean;
  readonly fundsOf: (investor: Address, token: Address) => bigint;
  readonly holdingsOf: (investor: Address, token: Address) => bigint;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** Settlement of fills in the channels (settlement.ts), its store at `path`; none: fills stay matched and reserved. */
  readonly settlement?: Pick<SettlementOptions, "channels" | "bounds"> & { readonly path: string } | undefined;
  /** Who matches (default the built-in book): with "external", orders rest on arrival and an engine submits the fills (external/). */
  readonly matching?: Matching | undefined;
}

type TradingMessage = Extract<ClientMessage, { type: "order" | "cancel" | "log_inclusion" | "log_consistency" | "log_checkpoint" | "book_depth" | "my_trading" | "log_entries" }>;
/** Refusals at a bound of the desk (ORDER_RATE_LIMITED is counted where it is taken). */
const BOUND_CODES: ReadonlySet<string> = new Set(["TOO_MANY_ORDERS", "BOOK_FULL"]);
const TRADING_TYPES: ReadonlySet<string> = new Set(["order", "cancel", "log_inclusion", "log_consistency", "log_checkpoint", "book_depth", "my_trading", "log_entries"]);


/** A proof index from the wire: beyond a safe integer it cannot be in the log (the core refuses -1). */
const indexOf = (value: string): number => (BigInt(value) <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1);

export class TradingDesk {
  private queue: Promise<unknown> = Promise.resolve();
  private tree: CompactTree = EMPTY_COMPACT_TREE;
  private readonly leaves: Uint8Array[] = [];
  private readonly buckets = new Map<Address, TokenBucket>();
  private readonly sessions = new Map<Address, Session>();
  /** The commitment of the order being written to the log: reserved already, so no payment spends it meanwhile. */
  private writing: { readonly investor: Address; readonly token: Address; readonly amount: bigint } | undefined;
  /** Told after every append (the external engine's feed, external/engine-server.ts). */
  private readonly appendListeners = new Set<() => void>();

  private constructor(
    private readonly options: DeskOptions,
    readonly books: OrderBooks,
    readonly settlements: Settlements | undefined,
  ) {}

  /** Opens the desk on its stored log: the books are the replay of it (REPLAY_MISMATCH for a log the matcher does not reproduce). */
  static async open(options: DeskOptions): Promise<TradingDesk> {
    const books = new OrderBooks(options.markets, { maxOrders: options.bounds.maxOrdersPerBook }, options.domain, options.matching ?? "builtIn");
    const entries = await options.store.entries();
    books.restore(entries);
    const { settlement } = options;
    const settlements =
      settlement === undefined
        ? undefined
        : await Settlements.open({
            store: await LevelSettlementStore.open(settlement.path),
            channels: settlement.channels,
            bounds: settlement.bounds,
            books,
            now: options.now,
            clock: options.clock,
            logger: options.logger.child({ part: "settlement" }),
            metrics: options.metrics,
          });
    settlements?.start();
    const desk = new TradingDesk(options, books, settlements);
    for (const entry of entries) desk.addLeaf(entryLeafHash(entry));
    desk.updateGauges();
    options.logger.info({ entries: entries.length, unsettledFills: books.unsettled.length }, "order log replayed");
    return desk;
  }

  /** Stops settling fills and closes the settlement store (the log's store is its opener's). */
  async close(): Promise<void> {
    await this.settlements?.close();
  }

  static handles(message: ClientMessage): message is TradingMessage {
    return TRADING_TYPES.has(message.type);
  }

  get size(): number {
    return this.tree.size;
  }

  get root(): string {
    return hashHex(compactRoot(this.tree));
  }

  /** Calls `listener` after each append to the log; returns the unsubscribe. */
  onAppend(listener: () => void): () => void {
    this.appendListeners.add(listener);
    return () => this.appendListeners.delete(listener);
  }

  /** At most `count` entries' canonical bytes from sequence number `from` on. */
  segment(from: bigint, count: number): Promise<Uint8Array[]> {
    return this.options.store.segment(from, count);
  }

  /**
   * An external engine's fill: checked against the orders (external/fill-check.ts, EngineRefusal),
   * then logged, announced to both investors and settled like a built-in fill, in the desk's queue.
   */
  submitFill(submission: FillSubmission): Promise<FillEntry> {
    return this.serialized(async () => {
      const { options, books } = this;
      const fill = checkFill({ books, facts: options.facts(), now: options.now(), holdingsOf: options.holdingsOf }, submission);
      await this.append(books.prepareFill(fill));
      for (const sequence of [fill.makerSequence, fill.takerSequence]) {
        const investor = books.orderBySequence(sequence)!.signed.order.investor;
        this.sessions.get(investor)?.send({ v: PROTOCOL_VERSION, type: "order_filled", orderSequence: sequence.toString(), fill: this.fillJson(fill) });
      }
      this.settleFills([fill]);
      return fill;
    });
  }

  onAuthenticated(session: Session): void {
    this.sessions.set(session.address, session);
  }

  /** Forgets the session; with cancelOnDisconnect, takes the investor's resting orders off the book (unless a newer session replaced this one). */
  onClosed(session: Session): void {
    if (this.sessions.get(session.address) !== session) return;
    this.sessions.delete(session.address);
    if (!this.options.cancelOnDisconnect) return;
    this.serialized(() => this.cancelResting(session.address)).catch((error: unknown) =>
      this.options.logger.error({ err: error, investor: session.address }, "cancelling a disconnected investor's orders failed"),
    );
  }

  private async cancelResting(investor: Address): Promise<void> {
    for (const { entry: order } of this.books.restingOf(investor)) {
      const entry: VenueCancelEntry = { kind: "venueCancel", sequence: this.books.nextSequence, receivedAt: this.receiveTime(), target: order.sequence, reason: "disconnected" };
      await this.append(this.books.prepare(entry));
    }
  }

  /** What `investor`'s resting orders and unsettled fills reserve of `token` (its channel updates may not spend it). */
  reservedOf(investor: Address, token: Address): bigint {
    const writing = this.writing?.investor === investor && this.writing.token === token ? this.writing.amount : 0n;
    return this.books.reservedOf(investor, token, this.options.now()) + writing;
  }

  /** The log's size and root now and how the venue matches (the audit its log takes), signed by the venue. */
  checkpoint(): SignedCheckpoint {
    return signCheckpoint({ size: BigInt(this.tree.size), root: this.root, time: this.options.now(), matching: this.books.matching }, this.options.domain, this.options.signer);
  }

  /** The `log_checkpoint` answer to request `id`. */
  checkpointMessage(id: string): NodeMessage {
    const { checkpoint, signature } = this.checkpoint();
    return { v: PROTOCOL_VERSION, type: "log_checkpoint", id, checkpoint: { size: checkpoint.size.toString(), root: checkpoint.root, time: checkpoint.time.toString(), matching: checkpoint.matching }, signature };
  }

  async onMessage(session: Session, message: TradingMessage): Promise<void> {
    const refuse = (error: unknown): void => {
      const refusal = refusalOf(error);
      countRejection(this.options.metrics, refusal);
      if (BOUND_CODES.has(refusal.code)) this.options.metrics.boundRefusals.inc({ reason: refusal.code });
      session.send({ v: PROTOCOL_VERSION, type: "order_refused", id: message.id, ...refusal });
    };
    try {
      this.takeToken(session.address);
      const answer = await this.serialized(() => this.handle(session.address, message));
      session.send(answer);
    } catch (error) {
      refuse(error);
    }
  }

  private takeToken(investor: Address): void {
    const { perSecond, burst } = this.options.bounds.orderRate;
    let bucket = this.buckets.get(investor);
    if (bucket === undefined) this.buckets.set(investor, (bucket = new TokenBucket(perSecond, burst, this.options.clock())));
    if (!bucket.take(this.options.clock())) {
      this.options.metrics.boundRefusals.inc({ reason: "ORDER_RATE_LIMITED" });
      throw new DeskRefusal("ORDER_RATE_LIMITED", `more than ${perSecond} orders per second (burst ${burst}) from ${investor}`);
    }
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async handle(investor: Address, message: TradingMessage): Promise<NodeMessage> {
    switch (message.type) {
      case "order":
        return this.acceptOrder(investor, message.id, message.signed);
      case "cancel":
        return this.acceptCancel(investor, message.id, message.signed);
      case "log_inclusion": {
        const size = message.size === undefined ? this.leaves.length : indexOf(message.size);
        const proof = inclusionProof(this.leaves, indexOf(message.sequence), size);
        return this.proofMessage(message.id, proof, size);
      }
      case "log_consistency": {
        const second = message.second === undefined ? this.leaves.length : indexOf(message.second);
        const proof = consistencyProof(this.leaves, indexOf(message.first), second);
        return this.proofMessage(message.id, proof, second);
      }
      case "log_entries": {
        const from = BigInt(message.from);
        const size = BigInt(this.leaves.length);
        const count = from >= size ? 0 : Number(size - from < 1_000n ? size - from : 1_000n);
        const entries = count === 0 ? [] : await this.options.store.segment(from, Math.min(count, message.count ?? 1_000));
        return { v: PROTOCOL_VERSION, type: "log_entries", id: message.id, from: message.from, entries: entries.map((bytes) => `0x${Buffer.from(bytes).toString("hex")}`) };
      }
      case "my_trading":
        return this.myTrading(message.id, investor, message.limit ?? 100);
      case "book_depth":
        return this.depth(message.id, message.security, message.cash, message.levels ?? 20);
      case "log_checkpoint":
        return this.checkpointMessage(message.id);
    }
  }

  /** The `my_trading` answer: the investor's resting orders not expired by now, and its latest `limit` fills. */
  myTrading(id: string, investor: Address, limit: number): NodeMessage {
    const orders = this.books
      .restingOf(investor, this.options.now())
      .sort((a, b) => (a.entry.sequence < b.entry.sequence ? -1 : 1))
      .map(({ entry, remaining }) => {
        const order = entry.signed.order;
        return {
          sequence: entry.sequence.toString(),
          orderHash: orderHashOf(order, this.options.domain),
          side: order.side,
          price: order.price.toString(),
          quantity: order.quantity.toString(),
          remaining: remaining.toString(),
          expiresAt: order.expiresAt.toString(),
        };
      });
    const fills = [];
    for (const fill of this.books.allFills()) {
      const maker = this.books.orderBySequence(fill.makerSequence)!.signed.order;
      const taker = this.books.orderBySequence(fill.takerSequence)!.signed.order;
      if (maker.investor === investor) fills.push({ ...this.fillJson(fill), side: maker.side, role: "maker" as const });
      if (taker.investor === investor) fills.push({ ...this.fillJson(fill), side: taker.side, role: "taker" as const });
    }
    return { v: PROTOCOL_VERSION, type: "my_trading", id, orders, fills: fills.slice(-limit) };
  }

  /** The `book_depth` answer: the resting quantity per price level, best first, of orders not expired by now (WRONG_MARKET for a pair without a book). */
  depth(id: string, security: Address, cash: Address, levels: number): NodeMessage {
    const book = this.books.bookOf(security, cash);
    if (book === undefined) throw new TradingError("WRONG_MARKET", `this venue has no book of ${security} against ${cash}`);
    const now = this.options.now();
    const depth = (side: readonly PriceLevel[]) =>
      side
        .map((level) => {
          const live = level.orders.filter((o) => o.expiresAt === 0n || o.expiresAt > now);
          return { price: level.price.toString(), quantity: live.reduce((sum, o) => sum + o.remaining, 0n).toString(), orders: live.length };
        })
        .filter((level) => level.orders > 0)
        .slice(0, levels);
    return { v: PROTOCOL_VERSION, type: "book_depth", id, lotSize: book.market.lotSize.toString(), time: now.toString(), bids: depth(book.bids), asks: depth(book.asks) };
  }

  private proofMessage(id: string, proof: readonly Uint8Array[], size: number): NodeMessage {
    return { v: PROTOCOL_VERSION, type: "log_proof", id, proof: proof.map(hashHex), size: size.toString(), root: hashHex(rootOf(this.leaves.slice(0, size))) };
  }

  /** The receive time of the next entry: the chain's time, never before the log's latest. */
  private receiveTime(): bigint {
    const now = this.options.now();
    return now > this.books.lastTime ? now : this.books.lastTime;
  }

  private async acceptOrder(investor: Address, id: string, signed: SignedOrder): Promise<NodeMessage> {
    const { options, books } = this;
    const orderHash = checkOrder(
      {
        books,
        domain: options.domain,
        verifier: options.verifier,
        facts: options.facts(),
        now: options.now(),
        maxRestingOrdersPerInvestor: options.bounds.maxRestingOrdersPerInvestor,
        fundsOf: options.fundsOf,
        holdingsOf: options.holdingsOf,
      },
      investor,
      signed,
    );
    const receivedAt = this.receiveTime();
    let entry: OrderEntry = { kind: "order", sequence: books.nextSequence, receivedAt, signed };
    let prepared = books.prepare(entry);
    this.writing = { investor, ...commitmentOf(signed.order, signed.order.quantity) };
    try {
      // A resting order that can no longer trade compliantly leaves the book first (match-compliance.ts).
      for (let maker = this.nonCompliantMaker(signed.order, prepared.fills); maker !== undefined; maker = this.nonCompliantMaker(signed.order, prepared.fills)) {
        await this.append(books.prepare({ kind: "venueCancel", sequence: books.nextSequence, receivedAt, target: maker, reason: "notCompliant" }));
        entry = { ...entry, sequence: books.nextSequence };
        prepared = books.prepare(entry);
      }
      await this.append(prepared);
    } finally {
      this.writing = undefined;
    }
    this.notifyMakers(prepared.fills);
    this.settleFills(prepared.fills);
    const resting = books.isResting(entry.sequence) ? prepared.outcome.rested?.remaining ?? 0n : 0n;
    return this.accepted(id, entry, orderHash, prepared.fills, resting);
  }

  /** A fill on the wire: "settled" or "failed" once its settlement ended, "matched" before. */
  private fillJson(fill: FillEntry) {
    const stage = this.settlements?.stageOf(fill.sequence);
    return {
      sequence: fill.sequence.toString(),
      makerSequence: fill.makerSequence.toString(),
      takerSequence: fill.takerSequence.toString(),
      quantity: fill.quantity.toString(),
      price: fill.price.toString(),
      state: stage === "settled" || stage === "failed" ? stage : ("matched" as const),
    };
  }

  private nonCompliantMaker(taker: Order, fills: readonly FillEntry[]): bigint | undefined {
    return fills.length === 0 ? undefined : nonCompliantMaker(this.books, taker, fills, this.options.facts(), this.options.now(), this.options.holdingsOf);
  }

  /** Hands fills just logged to settlement (which stores each one's secret first); unawaited. */
  private settleFills(fills: readonly FillEntry[]): void {
    if (fills.length === 0 || this.settlements === undefined) return;
    this.settlements.fillsLogged(fills).catch((error: unknown) => this.options.logger.error({ err: error }, "starting the settlement of fills failed; retried at restart"));
  }

  private async acceptCancel(investor: Address, id: string, signed: SignedCancel): Promise<NodeMessage> {
    const { options, books } = this;
    if (signed.cancel.investor !== investor) throw new DeskRefusal("NOT_YOUR_ORDER", `the cancel is signed for ${signed.cancel.investor}, this session is ${investor}`);
    const cancelHash = verifySignedCancel(signed, options.domain, options.verifier);
    const target = books.sequenceOf(signed.cancel.orderHash);
    if (target === undefined || books.orderBySequence(target)!.signed.order.investor !== investor) {
      throw new TradingError("UNKNOWN_ORDER", `the venue holds no order ${signed.cancel.orderHash} of ${investor}`);
    }
    if (!books.isResting(target)) throw new DeskRefusal("NOT_RESTING", `order ${target} no longer rests (filled, cancelled or expired)`);
    const entry: CancelEntry = { kind: "cancel", sequence: books.nextSequence, receivedAt: this.receiveTime(), target, signed };
    const prepared = books.prepare(entry);
    await this.append(prepared);
    return this.accepted(id, entry, cancelHash, [], 0n);
  }

  /** Durable first, then the books and the tree: a crash in between replays the same log. */
  private async append(prepared: Prepared): Promise<void> {
    await this.options.store.append(prepared.entries);
    prepared.commit();
    for (const entry of prepared.entries) this.addLeaf(entryLeafHash(entry));
    this.updateGauges();
    for (const listener of this.appendListeners) listener();
  }

  private updateGauges(): void {
    this.options.metrics.orderLogEntries.set(this.tree.size);
    this.options.metrics.restingOrders.set(this.books.restingCount);
  }

  private addLeaf(leaf: Uint8Array): void {
    this.leaves.push(leaf);
    this.tree = appendLeaf(this.tree, leaf);
  }

  private accepted(id: string, entry: OrderEntry | CancelEntry, orderHash: string, fills: readonly FillEntry[], resting: bigint): NodeMessage {
    const receipt = { sequence: entry.sequence, receivedAt: entry.receivedAt, orderHash, logSize: BigInt(this.tree.size), logRoot: this.root };
    const { signature } = signReceipt(receipt, this.options.domain, this.options.signer);
    return {
      v: PROTOCOL_VERSION,
      type: "order_accepted",
      id,
      receipt: { sequence: receipt.sequence.toString(), receivedAt: receipt.receivedAt.toString(), orderHash, logSize: receipt.logSize.toString(), logRoot: receipt.logRoot },
      signature,
      fills: fills.map((fill) => this.fillJson(fill)),
      resting: resting.toString(),
    };
  }

  private notifyMakers(fills: readonly FillEntry[]): void {
    for (const fill of fills) {
      const maker = this.books.orderBySequence(fill.makerSequence)!.signed.order.investor;
      this.sessions.get(maker)?.send({ v: PROTOCOL_VERSION, type: "order_filled", orderSequence: fill.makerSequence.toString(), fill: this.fillJson(fill) });
    }
  }
}
