// The investor's side of trading (docs/trading.md, "At the node"): signs orders and cancels under the
// venue's "Clearline Orders" domain, sends them over the client's authenticated connection, and
// checks every answer before returning it — the receipt is signed by the venue and, with an
// inclusion proof asked of the node, places exactly this order at its sequence number in the log
// the receipt names. Checkpoints are checked for the venue's signature; consistency proofs let the
// investor see that a later log still holds its entries.
import { hexToBytes } from "@noble/hashes/utils.js";
import { randomBytes } from "node:crypto";
import { hexlify } from "ethers";
import { PROTOCOL_VERSION, type NodeMessageParsed } from "../protocol/wire.js";
import type { Signer, Verifier } from "../protocol/signing.js";
import type { Address, Bytes32, Eip712Domain } from "../protocol/types.js";
import {
  decodeEntry,
  extendsLog,
  leafHash,
  orderHashOf,
  receiptCoversEntry,
  signCancel,
  signOrder,
  signedCancelToJson,
  signedOrderToJson,
  verifyCheckpoint,
  verifyInclusion,
  verifyReceipt,
  type CancelEntry,
  type Checkpoint,
  type LogEntry,
  type Order,
  type OrderEntry,
  type Receipt,
  type SignedCheckpoint,
  type SignedOrder,
  type SignedReceipt,
} from "../protocol/trading/index.js";
import { ClientError } from "./errors.js";
import { ChargeBook, OwnOrders, type FillApprover, type VenueLog } from "./fill-settlement.js";

type Answer<T extends NodeMessageParsed["type"]> = Extract<NodeMessageParsed, { type: T }>;
export type FillView = Answer<"order_accepted">["fills"][number];

/** What the client's connection offers the trading module (client.ts `tradingLink`). */
export interface TradingLink {
  readonly signer: Signer;
  readonly verifier: Verifier;
  /** The venue's address, learnt at the handshake. */
  venue(): Address;
  request(message: { readonly id: string; readonly [field: string]: unknown }): Promise<NodeMessageParsed>;
  newId(): string;
  /** Lets the client countersign the venue's lock pairs that settle fills of our orders (fill-settlement.ts). */
  approveFills(approver: FillApprover): void;
  /** The fills charged in the log of the venue's OrderLogAnchor `log`, kept in the client's store; none: in memory only. */
  chargeBook?(log: Address): ChargeBook;
}

export interface PlacedOrder {
  readonly signed: SignedOrder;
  readonly orderHash: Bytes32;
  readonly receipt: SignedReceipt;
  readonly fills: readonly FillView[];
  /** Quantity of the order left resting on the book. */
  readonly resting: bigint;
}

export interface DepthLevel {
  /** Cash raw units per lot. */
  readonly price: bigint;
  /** Security raw units resting at this price. */
  readonly quantity: bigint;
  readonly orders: number;
}

export interface BookDepth {
  readonly lotSize: bigint;
  /** The venue's time of the snapshot (unix seconds). */
  readonly time: bigint;
  /** Best (highest) first. */
  readonly bids: readonly DepthLevel[];
  /** Best (lowest) first. */
  readonly asks: readonly DepthLevel[];
}

export type MyTrading = Pick<Answer<"my_trading">, "orders" | "fills">;

/** The order to place; investor, nonce and clientOrderId are filled in unless given. */
export type OrderRequest = Omit<Order, "investor" | "nonce" | "clientOrderId" | "expiresAt"> & Partial<Pick<Order, "nonce" | "clientOrderId" | "expiresAt">>;

/** How often a read refused READ_RATE_LIMITED is asked again, the first wait doubled each time. */
export interface ReadRetry {
  readonly attempts: number;
  readonly firstDelayMs: number;
}

/** About four seconds in all: a burst of fill checks outlasts the venue's read burst without failing a fill. */
export const DEFAULT_READ_RETRY: ReadRetry = { attempts: 4, firstDelayMs: 250 };

export class TradingClient implements VenueLog {
  private lastNonce = 0n;

  constructor(
    private readonly link: TradingLink,
    /** The venue's domain: its OrderLogAnchor on its chain (ordersDomainOf). */
    readonly domain: Eip712Domain,
    private readonly readRetry: ReadRetry = DEFAULT_READ_RETRY,
  ) {
    // Lock pairs may settle fills of any order signed with our key, placed before a restart too.
    const charges = link.chargeBook?.(domain.verifyingContract) ?? new ChargeBook(domain.verifyingContract, undefined);
    link.approveFills(new OwnOrders(this, link.signer.address, link.verifier, charges));
  }

  /** Signs and places an order; resolves once the receipt and its inclusion proof check out. REJECTED with the venue's code otherwise. */
  async placeOrder(request: OrderRequest): Promise<PlacedOrder> {
    const order: Order = {
      ...request,
      investor: this.link.signer.address,
      expiresAt: request.expiresAt ?? 0n,
      clientOrderId: request.clientOrderId ?? hexlify(randomBytes(32)),
      nonce: request.nonce ?? this.nextNonce(),
    };
    const signed = signOrder(order, this.domain, this.link.signer);
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "order", id: this.link.newId(), signed: signedOrderToJson(signed) }, "order_accepted");
    const receipt = await this.checkReceipt(answer, (sequence, receivedAt): OrderEntry => ({ kind: "order", sequence, receivedAt, signed }));
    return { signed, orderHash: orderHashOf(order, this.domain), receipt, fills: answer.fills, resting: BigInt(answer.resting) };
  }

  /** Cancels a resting order of ours by its hash; resolves with the checked receipt of the cancel. */
  async cancel(orderHash: Bytes32, target?: bigint): Promise<SignedReceipt> {
    const signed = signCancel({ investor: this.link.signer.address, orderHash }, this.domain, this.link.signer);
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "cancel", id: this.link.newId(), signed: signedCancelToJson(signed) }, "order_accepted");
    // The entry names its target by sequence number; the receipt's inclusion proof pins the whole entry.
    return this.checkReceipt(answer, (sequence, receivedAt): CancelEntry => ({ kind: "cancel", sequence, receivedAt, target: target ?? -1n, signed }), target === undefined);
  }

  /** The venue's signed checkpoint of its log now (BAD_SIGNATURE-checked). */
  async checkpoint(): Promise<SignedCheckpoint> {
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "log_checkpoint", id: this.link.newId() }, "log_checkpoint");
    const signed: SignedCheckpoint = {
      checkpoint: { size: BigInt(answer.checkpoint.size), root: answer.checkpoint.root, time: BigInt(answer.checkpoint.time), matching: answer.checkpoint.matching },
      signature: answer.signature,
    };
    this.verified(() => verifyCheckpoint(signed, this.domain, this.link.verifier, this.link.venue()));
    return signed;
  }

  /** Whether the node proves that the log of `later` extends the log of `size` entries with `root` (e.g. a receipt's). */
  async isExtendedBy(size: bigint, root: Bytes32, later: Checkpoint): Promise<boolean> {
    if (size === later.size) return root === later.root;
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "log_consistency", id: this.link.newId(), first: size.toString(), second: later.size.toString() }, "log_proof");
    return extendsLog(size, root, later, answer.proof.map((h) => hexToBytes(h.slice(2))));
  }

  /** The entry at `sequence`, proven included in the log of `checkpoint` (one the venue signed); NODE_MISBEHAVED otherwise. */
  async provenEntry(sequence: bigint, checkpoint: Checkpoint): Promise<LogEntry> {
    if (sequence >= checkpoint.size) throw new ClientError("NODE_MISBEHAVED", `log entry ${sequence} is beyond the venue's checkpoint of ${checkpoint.size} entries`);
    const [bytes] = await this.logEntries(sequence, 1);
    if (bytes === undefined) throw new ClientError("NODE_MISBEHAVED", `the node shows no log entry ${sequence}`);
    let entry: LogEntry;
    try {
      entry = decodeEntry(bytes);
    } catch (error) {
      throw new ClientError("NODE_MISBEHAVED", `the node's log entry ${sequence} does not decode: ${(error as Error).message}`);
    }
    const proof = await this.inclusionProof(sequence, checkpoint.size);
    const included = verifyInclusion(leafHash(bytes), Number(sequence), Number(checkpoint.size), proof, hexToBytes(checkpoint.root.slice(2)));
    if (entry.sequence !== sequence || !included) throw new ClientError("NODE_MISBEHAVED", `log entry ${sequence} is not in the venue's log of root ${checkpoint.root}`);
    return entry;
  }

  /** The audit path of entry `sequence` in the log of `size` entries. */
  async inclusionProof(sequence: bigint, size: bigint): Promise<Uint8Array[]> {
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "log_inclusion", id: this.link.newId(), sequence: sequence.toString(), size: size.toString() }, "log_proof");
    return answer.proof.map((h) => hexToBytes(h.slice(2)));
  }

  /** The book of `security` against `cash` now: per price level, best first, the resting quantity and number of orders (at most `levels` a side). */
  async bookDepth(security: Address, cash: Address, levels?: number): Promise<BookDepth> {
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "book_depth", id: this.link.newId(), security, cash, ...(levels === undefined ? {} : { levels }) }, "book_depth");
    const side = (list: typeof answer.bids) => list.map((l) => ({ price: BigInt(l.price), quantity: BigInt(l.quantity), orders: l.orders }));
    return { lotSize: BigInt(answer.lotSize), time: BigInt(answer.time), bids: side(answer.bids), asks: side(answer.asks) };
  }

  /** Our resting orders at the venue now and our latest `limit` fills there (matched, not yet settled). */
  async myTrading(limit?: number): Promise<MyTrading> {
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "my_trading", id: this.link.newId(), ...(limit === undefined ? {} : { limit }) }, "my_trading");
    return { orders: answer.orders, fills: answer.fills };
  }

  /** The canonical bytes of at most `count` log entries from sequence number `from` (the node gives at most 1,000). */
  async logEntries(from: bigint, count?: number): Promise<Uint8Array[]> {
    const answer = await this.call({ v: PROTOCOL_VERSION, type: "log_entries", id: this.link.newId(), from: from.toString(), ...(count === undefined ? {} : { count }) }, "log_entries");
    if (answer.from !== from.toString()) throw new ClientError("NODE_MISBEHAVED", `asked for log entries from ${from}, the node answered from ${answer.from}`);
    return answer.entries.map((h) => hexToBytes(h.slice(2)));
  }

  private nextNonce(): bigint {
    // Above every nonce this client used, and above earlier runs' (milliseconds × 1000).
    const fromClock = BigInt(Date.now()) * 1000n;
    this.lastNonce = fromClock > this.lastNonce ? fromClock : this.lastNonce + 1n;
    return this.lastNonce;
  }

  private async call<T extends NodeMessageParsed["type"]>(message: { readonly id: string; readonly [field: string]: unknown }, expected: T): Promise<Answer<T>> {
    let answer = await this.link.request(message);
    // The venue's read budget (proofs, entries, checkpoints) refills: a refused read is asked again, a few times.
    for (let attempt = 0; answer.type === "order_refused" && answer.code === "READ_RATE_LIMITED" && attempt < this.readRetry.attempts; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, this.readRetry.firstDelayMs * 2 ** attempt));
      answer = await this.link.request({ ...message, id: this.link.newId() });
    }
    if (answer.type === "order_refused") {
      const rejection = answer.restriction ? { code: answer.code, message: answer.message, restriction: answer.restriction } : { code: answer.code, message: answer.message };
      throw new ClientError("REJECTED", `${answer.code}: ${answer.message}`, rejection);
    }
    if (answer.type !== expected) throw new ClientError("NODE_MISBEHAVED", `the node answered ${answer.type} to ${String(message.type)}`);
    return answer as Answer<T>;
  }

  private verified(check: () => void): void {
    try {
      check();
    } catch (error) {
      throw new ClientError("NODE_MISBEHAVED", `the venue's answer does not check out: ${(error as Error).message}`);
    }
  }

  private async checkReceipt(answer: Answer<"order_accepted">, entryAt: (sequence: bigint, receivedAt: bigint) => OrderEntry | CancelEntry, signatureOnly = false): Promise<SignedReceipt> {
    const receipt: Receipt = {
      sequence: BigInt(answer.receipt.sequence),
      receivedAt: BigInt(answer.receipt.receivedAt),
      orderHash: answer.receipt.orderHash,
      logSize: BigInt(answer.receipt.logSize),
      logRoot: answer.receipt.logRoot,
    };
    const signed: SignedReceipt = { receipt, signature: answer.signature };
    this.verified(() => verifyReceipt(signed, this.domain, this.link.verifier, this.link.venue()));
    if (!signatureOnly) {
      const proof = await this.inclusionProof(receipt.sequence, receipt.logSize);
      if (!receiptCoversEntry(receipt, entryAt(receipt.sequence, receipt.receivedAt), proof, this.domain)) {
        throw new ClientError("NODE_MISBEHAVED", `the venue's receipt ${receipt.sequence} does not cover our signed message in its log`);
      }
    }
    return signed;
  }
}
