/**
 * The venue's order log: its entries and their canonical byte encoding, the leaf of the RFC 6962
 * tree (docs/trading.md, "Log entries"). Every entry starts with a tag byte and its sequence number
 * (its leaf index); integers are big-endian and fixed-width, addresses 20 bytes, signatures 65.
 *
 *   order  0x01 ‖ sequence u64 ‖ receivedAt u64 ‖ investor ‖ security ‖ cash ‖ side u8 ‖ quantity u128
 *               ‖ price u128 ‖ lotSize u128 ‖ timeInForce u8 ‖ expiresAt u64 ‖ clientOrderId 32 ‖ nonce u64 ‖ signature 65
 *   cancel 0x02 ‖ sequence u64 ‖ receivedAt u64 ‖ target u64 ‖ investor ‖ orderHash 32 ‖ signature 65
 *   fill   0x03 ‖ sequence u64 ‖ makerSequence u64 ‖ takerSequence u64 ‖ quantity u128 ‖ price u128
 *   venue cancel 0x04 ‖ sequence u64 ‖ receivedAt u64 ‖ target u64 ‖ reason u8
 *
 * An order or cancel entry carries the investor's signed message whole, so anyone holding the entry
 * can check the signature and recompute the order hash; a fill carries what the matcher decided.
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { checksumAddress } from "../address.js";
import { UINT128_MAX, UINT64_MAX, type Address, type Bytes32 } from "../types.js";
import { TradingError } from "./errors.js";
import { leafHash } from "./merkle.js";
import { checkOrderBounds, type Side, type SignedCancel, type SignedOrder, type TimeInForce } from "./order.js";

/** An order the venue accepted, at `receivedAt` (unix seconds, the venue's clock). */
export interface OrderEntry {
  readonly kind: "order";
  readonly sequence: bigint;
  readonly receivedAt: bigint;
  readonly signed: SignedOrder;
}

/** A cancel the venue accepted; `target` is the sequence number of the order it names. */
export interface CancelEntry {
  readonly kind: "cancel";
  readonly sequence: bigint;
  readonly receivedAt: bigint;
  readonly target: bigint;
  readonly signed: SignedCancel;
}

/** An execution: the taker (the later order) traded with the resting maker at the maker's price. */
export interface FillEntry {
  readonly kind: "fill";
  readonly sequence: bigint;
  readonly makerSequence: bigint;
  readonly takerSequence: bigint;
  /** Security raw units, a whole number of lots. */
  readonly quantity: bigint;
  /** Cash raw units per lot: the maker's limit price. */
  readonly price: bigint;
}

/**
 * Why the venue took an order off the book without the investor's signed cancel: its investor's
 * session closed (0), or a fill with it would no longer be compliant (1: checked at match time).
 */
export type VenueCancelReason = "disconnected" | "notCompliant";

/** The venue took resting order `target` off the book itself (e.g. its investor's session closed). */
export interface VenueCancelEntry {
  readonly kind: "venueCancel";
  readonly sequence: bigint;
  readonly receivedAt: bigint;
  readonly target: bigint;
  readonly reason: VenueCancelReason;
}

export type LogEntry = OrderEntry | CancelEntry | FillEntry | VenueCancelEntry;

export const ENTRY_TAG = { order: 0x01, cancel: 0x02, fill: 0x03, venueCancel: 0x04 } as const;
const ORDER_LENGTH = 240;
const CANCEL_LENGTH = 142;
const FILL_LENGTH = 57;
const VENUE_CANCEL_LENGTH = 26;
const VENUE_CANCEL_REASONS: readonly VenueCancelReason[] = ["disconnected", "notCompliant"];
const SIDES: readonly Side[] = ["buy", "sell"];
const TIMES_IN_FORCE: readonly TimeInForce[] = ["GTC", "IOC"];

class Writer {
  readonly bytes: Uint8Array;
  private offset = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
  }
  uint(value: bigint, width: number, field: string): this {
    const max = width === 8 ? UINT64_MAX : width === 16 ? UINT128_MAX : 255n;
    if (value < 0n || value > max) throw new TradingError("OUT_OF_RANGE", `${field} = ${value} is outside 0..${max}`, { field, value });
    for (let i = width - 1; i >= 0; i--) this.bytes[this.offset + width - 1 - i] = Number((value >> BigInt(8 * i)) & 0xffn);
    this.offset += width;
    return this;
  }
  hex(value: string, width: number, field: string): this {
    if (value.length !== 2 + 2 * width || !/^0x[0-9a-fA-F]*$/.test(value)) throw new TradingError("MALFORMED", `${field} must be ${width} bytes`);
    this.bytes.set(hexToBytes(value.slice(2)), this.offset);
    this.offset += width;
    return this;
  }
}

class Reader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}
  uint(width: number): bigint {
    let value = 0n;
    for (let i = 0; i < width; i++) value = (value << 8n) | BigInt(this.bytes[this.offset + i] as number);
    this.offset += width;
    return value;
  }
  hex(width: number): string {
    const value = `0x${bytesToHex(this.bytes.subarray(this.offset, this.offset + width))}`;
    this.offset += width;
    return value;
  }
  address(): Address {
    return checksumAddress(this.hex(20)) as Address;
  }
  pick<T>(choices: readonly T[], field: string): T {
    const code = Number(this.uint(1));
    const choice = choices[code];
    if (choice === undefined) throw new TradingError("MALFORMED", `unknown ${field} code ${code}`);
    return choice;
  }
}

/** The canonical bytes of an entry (the Merkle leaf). OUT_OF_RANGE / MALFORMED for fields that do not fit. */
export function encodeEntry(entry: LogEntry): Uint8Array {
  switch (entry.kind) {
    case "order": {
      const { order, signature } = entry.signed;
      checkOrderBounds(order);
      return new Writer(ORDER_LENGTH)
        .uint(BigInt(ENTRY_TAG.order), 1, "tag")
        .uint(entry.sequence, 8, "sequence")
        .uint(entry.receivedAt, 8, "receivedAt")
        .hex(order.investor, 20, "investor")
        .hex(order.security, 20, "security")
        .hex(order.cash, 20, "cash")
        .uint(BigInt(SIDES.indexOf(order.side)), 1, "side")
        .uint(order.quantity, 16, "quantity")
        .uint(order.price, 16, "price")
        .uint(order.lotSize, 16, "lotSize")
        .uint(BigInt(TIMES_IN_FORCE.indexOf(order.timeInForce)), 1, "timeInForce")
        .uint(order.expiresAt, 8, "expiresAt")
        .hex(order.clientOrderId, 32, "clientOrderId")
        .uint(order.nonce, 8, "nonce")
        .hex(signature, 65, "signature").bytes;
    }
    case "cancel":
      return new Writer(CANCEL_LENGTH)
        .uint(BigInt(ENTRY_TAG.cancel), 1, "tag")
        .uint(entry.sequence, 8, "sequence")
        .uint(entry.receivedAt, 8, "receivedAt")
        .uint(entry.target, 8, "target")
        .hex(entry.signed.cancel.investor, 20, "investor")
        .hex(entry.signed.cancel.orderHash, 32, "orderHash")
        .hex(entry.signed.signature, 65, "signature").bytes;
    case "fill":
      return new Writer(FILL_LENGTH)
        .uint(BigInt(ENTRY_TAG.fill), 1, "tag")
        .uint(entry.sequence, 8, "sequence")
        .uint(entry.makerSequence, 8, "makerSequence")
        .uint(entry.takerSequence, 8, "takerSequence")
        .uint(entry.quantity, 16, "quantity")
        .uint(entry.price, 16, "price").bytes;
    case "venueCancel":
      return new Writer(VENUE_CANCEL_LENGTH)
        .uint(BigInt(ENTRY_TAG.venueCancel), 1, "tag")
        .uint(entry.sequence, 8, "sequence")
        .uint(entry.receivedAt, 8, "receivedAt")
        .uint(entry.target, 8, "target")
        .uint(BigInt(VENUE_CANCEL_REASONS.indexOf(entry.reason)), 1, "reason").bytes;
  }
}

/** Parses canonical bytes back into an entry; MALFORMED for an unknown tag, a wrong length or an unknown code. */
export function decodeEntry(bytes: Uint8Array): LogEntry {
  const tag = bytes[0];
  const lengths: Record<number, number> = { [ENTRY_TAG.order]: ORDER_LENGTH, [ENTRY_TAG.cancel]: CANCEL_LENGTH, [ENTRY_TAG.fill]: FILL_LENGTH, [ENTRY_TAG.venueCancel]: VENUE_CANCEL_LENGTH };
  const expected = tag === undefined ? -1 : (lengths[tag] ?? -1);
  if (expected === -1) throw new TradingError("MALFORMED", `unknown log entry tag ${tag ?? "(empty)"}`);
  if (bytes.length !== expected) throw new TradingError("MALFORMED", `a log entry with tag ${tag} is ${expected} bytes, not ${bytes.length}`);
  const r = new Reader(bytes);
  r.uint(1);
  const sequence = r.uint(8);
  if (tag === ENTRY_TAG.fill) {
    return { kind: "fill", sequence, makerSequence: r.uint(8), takerSequence: r.uint(8), quantity: r.uint(16), price: r.uint(16) };
  }
  const receivedAt = r.uint(8);
  if (tag === ENTRY_TAG.venueCancel) {
    return { kind: "venueCancel", sequence, receivedAt, target: r.uint(8), reason: r.pick(VENUE_CANCEL_REASONS, "reason") };
  }
  if (tag === ENTRY_TAG.cancel) {
    const target = r.uint(8);
    const investor = r.address();
    const orderHash: Bytes32 = r.hex(32);
    return { kind: "cancel", sequence, receivedAt, target, signed: { cancel: { investor, orderHash }, signature: r.hex(65) } };
  }
  const order = {
    investor: r.address(),
    security: r.address(),
    cash: r.address(),
    side: r.pick(SIDES, "side"),
    quantity: r.uint(16),
    price: r.uint(16),
    lotSize: r.uint(16),
    timeInForce: r.pick(TIMES_IN_FORCE, "timeInForce"),
    expiresAt: r.uint(8),
    clientOrderId: r.hex(32),
    nonce: r.uint(8),
  };
  return { kind: "order", sequence, receivedAt, signed: { order, signature: r.hex(65) } };
}

/** The entry's leaf hash in the log's Merkle tree. */
export function entryLeafHash(entry: LogEntry): Uint8Array {
  return leafHash(encodeEntry(entry));
}
