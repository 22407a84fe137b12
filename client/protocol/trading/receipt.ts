/**
 * What the venue signs about its log (docs/trading.md, "Receipts and checkpoints"), as EIP-712 typed
 * data under the same "Clearline Orders" domain as the orders:
 *
 * - a receipt: the entry with sequence number `sequence` (an order or a cancel whose digest is
 *   `orderHash`) was received at `receivedAt` and is in the log of `logSize` entries with root
 *   `logRoot` (the log after the append that added it, fills it caused included);
 * - a checkpoint: the log had `size` entries with `root` at `time`, and the venue matches with
 *   `matching` (its built-in book, or an external engine): which priority audit its log takes.
 *
 * With an inclusion proof a receipt shows where the entry sits; with a consistency proof to a later
 * checkpoint, that the log kept it there.
 */
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { UINT64_MAX, type Address, type Bytes32, type Eip712Domain, type SignatureHex } from "../types.js";
import type { Signer, Verifier } from "../signing.js";
import { TradingError } from "./errors.js";
import { typeHashOf, typedDigest } from "./eip712.js";
import { entryLeafHash, type CancelEntry, type OrderEntry } from "./log-entry.js";
import { verifyConsistency, verifyInclusion } from "./merkle.js";
import { cancelHashOf, orderHashOf } from "./order.js";

export interface Receipt {
  readonly sequence: bigint;
  readonly receivedAt: bigint;
  /** The order hash of an order entry, the cancel's digest of a cancel entry. */
  readonly orderHash: Bytes32;
  /** > sequence. */
  readonly logSize: bigint;
  readonly logRoot: Bytes32;
}

/** Who decides the fills: the built-in book on arrival, or an external engine (docs/trading.md). */
export type MatchingMode = "builtIn" | "external";
export const MATCHING_MODES: readonly MatchingMode[] = ["builtIn", "external"];
/** A checkpoint's `matching` as its uint8. */
export const MATCHING_CODE: Readonly<Record<MatchingMode, bigint>> = { builtIn: 0n, external: 1n };

export interface Checkpoint {
  readonly size: bigint;
  readonly root: Bytes32;
  /** Unix seconds, the venue's clock. */
  readonly time: bigint;
  /** How the venue matches now: the audit its log takes. */
  readonly matching: MatchingMode;
}

export interface SignedReceipt {
  readonly receipt: Receipt;
  readonly signature: SignatureHex;
}

export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly signature: SignatureHex;
}

export const RECEIPT_TYPE = "Receipt(uint64 sequence,uint64 receivedAt,bytes32 orderHash,uint64 logSize,bytes32 logRoot)";
export const CHECKPOINT_TYPE = "Checkpoint(uint64 size,bytes32 root,uint64 time,uint8 matching)";

/** The EIP-712 types of receipts and checkpoints, in the shape ethers' TypedDataEncoder takes. */
export const RECEIPT_EIP712_TYPES = {
  Receipt: [
    { name: "sequence", type: "uint64" },
    { name: "receivedAt", type: "uint64" },
    { name: "orderHash", type: "bytes32" },
    { name: "logSize", type: "uint64" },
    { name: "logRoot", type: "bytes32" },
  ],
};
export const CHECKPOINT_EIP712_TYPES = {
  Checkpoint: [
    { name: "size", type: "uint64" },
    { name: "root", type: "bytes32" },
    { name: "time", type: "uint64" },
    { name: "matching", type: "uint8" },
  ],
};

const RECEIPT_TYPEHASH = typeHashOf(RECEIPT_TYPE);
const CHECKPOINT_TYPEHASH = typeHashOf(CHECKPOINT_TYPE);

function checkUint64(value: bigint, field: string): void {
  if (value < 0n || value > UINT64_MAX) throw new TradingError("OUT_OF_RANGE", `${field} = ${value} is outside 0..${UINT64_MAX}`, { field, value });
}

function checkBytes32(value: string, field: string): void {
  if (!/^0x[0-9a-f]{64}$/.test(value)) throw new TradingError("MALFORMED", `${field} must be 32 bytes of lowercase hex`);
}

function checkReceipt(receipt: Receipt): void {
  checkUint64(receipt.sequence, "sequence");
  checkUint64(receipt.receivedAt, "receivedAt");
  checkUint64(receipt.logSize, "logSize");
  checkBytes32(receipt.orderHash, "orderHash");
  checkBytes32(receipt.logRoot, "logRoot");
  if (receipt.logSize <= receipt.sequence) {
    throw new TradingError("OUT_OF_RANGE", `a log of ${receipt.logSize} entries holds no entry ${receipt.sequence}`, {
      sequence: receipt.sequence,
      logSize: receipt.logSize,
    });
  }
}

function checkCheckpoint(checkpoint: Checkpoint): void {
  checkUint64(checkpoint.size, "size");
  checkUint64(checkpoint.time, "time");
  checkBytes32(checkpoint.root, "root");
  if (!MATCHING_MODES.includes(checkpoint.matching)) throw new TradingError("MALFORMED", `matching must be builtIn or external, not ${String(checkpoint.matching)}`);
}

export function receiptDigest(receipt: Receipt, domain: Eip712Domain): Bytes32 {
  checkReceipt(receipt);
  return typedDigest(domain, RECEIPT_TYPEHASH, [receipt.sequence, receipt.receivedAt, receipt.orderHash, receipt.logSize, receipt.logRoot]);
}

export function checkpointDigest(checkpoint: Checkpoint, domain: Eip712Domain): Bytes32 {
  checkCheckpoint(checkpoint);
  return typedDigest(domain, CHECKPOINT_TYPEHASH, [checkpoint.size, checkpoint.root, checkpoint.time, MATCHING_CODE[checkpoint.matching]]);
}

/** The checkpoint as the EIP-712 message (matching as its uint8 code). */
export function typedCheckpointOf(checkpoint: Checkpoint): Record<string, string | bigint> {
  return { ...checkpoint, matching: MATCHING_CODE[checkpoint.matching] };
}

export function signReceipt(receipt: Receipt, domain: Eip712Domain, venue: Signer): SignedReceipt {
  return { receipt, signature: venue.sign(receiptDigest(receipt, domain)) };
}

export function signCheckpoint(checkpoint: Checkpoint, domain: Eip712Domain, venue: Signer): SignedCheckpoint {
  return { checkpoint, signature: venue.sign(checkpointDigest(checkpoint, domain)) };
}

/** Throws BAD_SIGNATURE unless `venue` signed the receipt (OUT_OF_RANGE / MALFORMED for a receipt that cannot be). */
export function verifyReceipt(signed: SignedReceipt, domain: Eip712Domain, verifier: Verifier, venue: Address): void {
  if (!verifier.verify(receiptDigest(signed.receipt, domain), signed.signature, venue)) {
    throw new TradingError("BAD_SIGNATURE", "the receipt is not signed by the venue");
  }
}

/** Throws BAD_SIGNATURE unless `venue` signed the checkpoint. */
export function verifyCheckpoint(signed: SignedCheckpoint, domain: Eip712Domain, verifier: Verifier, venue: Address): void {
  if (!verifier.verify(checkpointDigest(signed.checkpoint, domain), signed.signature, venue)) {
    throw new TradingError("BAD_SIGNATURE", "the checkpoint is not signed by the venue");
  }
}

/** Merkle indices are JavaScript numbers; a log beyond 2^53 entries cannot be proven here. */
function indexOf(value: bigint): number {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1;
}

const toBytes = (hash: Bytes32): Uint8Array => hexToBytes(hash.slice(2));

/**
 * Whether the receipt (already verified) is for exactly `entry` and `proof` places the entry at
 * its sequence number in the log the receipt names. The investor rebuilds the entry from its own
 * signed order or cancel and the receipt's sequence and time, so a receipt for anything else fails.
 */
export function receiptCoversEntry(receipt: Receipt, entry: OrderEntry | CancelEntry, proof: readonly Uint8Array[], domain: Eip712Domain): boolean {
  const hash = entry.kind === "order" ? orderHashOf(entry.signed.order, domain) : cancelHashOf(entry.signed.cancel, domain);
  if (hash !== receipt.orderHash || entry.sequence !== receipt.sequence || entry.receivedAt !== receipt.receivedAt) return false;
  return verifyInclusion(entryLeafHash(entry), indexOf(receipt.sequence), indexOf(receipt.logSize), proof, toBytes(receipt.logRoot));
}

/** Whether `proof` shows that the log of `later` extends the log of size `size` with root `root` (a receipt's or an older checkpoint's). */
export function extendsLog(size: bigint, root: Bytes32, later: Omit<Checkpoint, "matching">, proof: readonly Uint8Array[]): boolean {
  return verifyConsistency(indexOf(size), indexOf(later.size), proof, toBytes(root), toBytes(later.root));
}

/** A 32-byte hash as the lowercase hex receipts and checkpoints carry. */
export function hashHex(hash: Uint8Array): Bytes32 {
  return `0x${bytesToHex(hash)}`;
}
