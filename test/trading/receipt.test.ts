import { describe, expect, it } from "vitest";
import { TypedDataEncoder } from "ethers";
import { nobleVerifier } from "../../client/protocol/index.js";
import {
  CHECKPOINT_EIP712_TYPES,
  MATCHING_MODES,
  RECEIPT_EIP712_TYPES,
  EMPTY_COMPACT_TREE,
  appendLeaf,
  cancelHashOf,
  checkpointDigest,
  compactRoot,
  consistencyProof,
  entryLeafHash,
  extendsLog,
  hashHex,
  inclusionProof,
  isTradingError,
  orderHashOf,
  receiptCoversEntry,
  receiptDigest,
  signCancel,
  signCheckpoint,
  signOrder,
  signReceipt,
  typedCheckpointOf,
  verifyCheckpoint,
  verifyReceipt,
  type Checkpoint,
  type CompactTree,
  type LogEntry,
  type MatchingMode,
  type OrderEntry,
  type Receipt,
} from "../../client/protocol/trading/index.js";
import { DOMAIN, NOW, alice, bob, order, venue } from "./fixtures.js";

function codeOf(call: () => unknown): string {
  try {
    call();
    return "none";
  } catch (error) {
    if (isTradingError(error)) return error.code;
    throw error;
  }
}

/** A small log: alice's and bob's orders, a fill, alice's cancel; leaves and the compact tree after each. */
function buildLog(): { entries: LogEntry[]; leaves: Uint8Array[]; trees: CompactTree[] } {
  const aliceOrder = signOrder(order(), DOMAIN, alice);
  const bobOrder = signOrder(order({ investor: bob.address, side: "sell", quantity: 2_000n }), DOMAIN, bob);
  const cancel = signCancel({ investor: alice.address, orderHash: orderHashOf(aliceOrder.order, DOMAIN) }, DOMAIN, alice);
  const entries: LogEntry[] = [
    { kind: "order", sequence: 0n, receivedAt: NOW, signed: aliceOrder },
    { kind: "order", sequence: 1n, receivedAt: NOW + 1n, signed: bobOrder },
    { kind: "fill", sequence: 2n, makerSequence: 0n, takerSequence: 1n, quantity: 2_000n, price: aliceOrder.order.price },
    { kind: "cancel", sequence: 3n, receivedAt: NOW + 2n, target: 0n, signed: cancel },
  ];
  const leaves = entries.map(entryLeafHash);
  const trees = [EMPTY_COMPACT_TREE];
  for (const leaf of leaves) trees.push(appendLeaf(trees[trees.length - 1] as CompactTree, leaf));
  return { entries, leaves, trees };
}

describe("receipts and checkpoints", () => {
  const { entries, leaves, trees } = buildLog();
  const bobEntry = entries[1] as OrderEntry;
  // Bob's order and the fill it caused were appended together: the receipt names the log of 3.
  const receipt: Receipt = {
    sequence: 1n,
    receivedAt: NOW + 1n,
    orderHash: orderHashOf(bobEntry.signed.order, DOMAIN),
    logSize: 3n,
    logRoot: hashHex(compactRoot(trees[3] as CompactTree)),
  };

  it("digests equal ethers' EIP-712 hashes", () => {
    expect(receiptDigest(receipt, DOMAIN)).toBe(TypedDataEncoder.hash(DOMAIN, RECEIPT_EIP712_TYPES, receipt));
    for (const matching of MATCHING_MODES) {
      const checkpoint: Checkpoint = { size: 4n, root: hashHex(compactRoot(trees[4] as CompactTree)), time: NOW + 5n, matching };
      expect(checkpointDigest(checkpoint, DOMAIN)).toBe(TypedDataEncoder.hash(DOMAIN, CHECKPOINT_EIP712_TYPES, typedCheckpointOf(checkpoint)));
    }
  });

  it("verify as the venue's and refuse anyone else's or any altered field", () => {
    const signed = signReceipt(receipt, DOMAIN, venue);
    expect(codeOf(() => verifyReceipt(signed, DOMAIN, nobleVerifier, venue.address))).toBe("none");
    expect(codeOf(() => verifyReceipt(signed, DOMAIN, nobleVerifier, alice.address))).toBe("BAD_SIGNATURE");
    expect(codeOf(() => verifyReceipt(signReceipt(receipt, DOMAIN, bob), DOMAIN, nobleVerifier, venue.address))).toBe("BAD_SIGNATURE");
    for (const change of [{ sequence: 0n }, { receivedAt: NOW }, { logSize: 4n }, { orderHash: `0x${"00".repeat(32)}` }]) {
      expect(codeOf(() => verifyReceipt({ ...signed, receipt: { ...receipt, ...change } }, DOMAIN, nobleVerifier, venue.address))).toBe("BAD_SIGNATURE");
    }
    const checkpoint: Checkpoint = { size: 4n, root: hashHex(compactRoot(trees[4] as CompactTree)), time: NOW + 5n, matching: "builtIn" };
    const signedCheckpoint = signCheckpoint(checkpoint, DOMAIN, venue);
    expect(codeOf(() => verifyCheckpoint(signedCheckpoint, DOMAIN, nobleVerifier, venue.address))).toBe("none");
    for (const change of [{ size: 3n }, { matching: "external" as const }]) {
      expect(codeOf(() => verifyCheckpoint({ ...signedCheckpoint, checkpoint: { ...checkpoint, ...change } }, DOMAIN, nobleVerifier, venue.address))).toBe("BAD_SIGNATURE");
    }
  });

  it("refuse receipts that cannot be: an entry outside its own log, fields outside uint64, bad hex", () => {
    expect(codeOf(() => receiptDigest({ ...receipt, logSize: 1n }, DOMAIN))).toBe("OUT_OF_RANGE");
    expect(codeOf(() => receiptDigest({ ...receipt, receivedAt: 1n << 64n }, DOMAIN))).toBe("OUT_OF_RANGE");
    expect(codeOf(() => receiptDigest({ ...receipt, logRoot: "0x12" }, DOMAIN))).toBe("MALFORMED");
    expect(codeOf(() => checkpointDigest({ size: -1n, root: receipt.logRoot, time: 0n, matching: "builtIn" }, DOMAIN))).toBe("OUT_OF_RANGE");
    expect(codeOf(() => checkpointDigest({ size: 1n, root: receipt.logRoot, time: 0n, matching: "both" as MatchingMode }, DOMAIN))).toBe("MALFORMED");
  });

  it("a receipt with its inclusion proof covers exactly the investor's entry at its sequence number", () => {
    const proof = inclusionProof(leaves, 1, 3);
    expect(receiptCoversEntry(receipt, bobEntry, proof, DOMAIN)).toBe(true);
    // The venue cannot claim another time, another position, or another order with the same receipt.
    expect(receiptCoversEntry(receipt, { ...bobEntry, receivedAt: NOW + 2n }, proof, DOMAIN)).toBe(false);
    expect(receiptCoversEntry({ ...receipt, sequence: 0n }, { ...bobEntry, sequence: 0n }, proof, DOMAIN)).toBe(false);
    expect(receiptCoversEntry(receipt, entries[0] as OrderEntry, proof, DOMAIN)).toBe(false);
    expect(receiptCoversEntry(receipt, bobEntry, inclusionProof(leaves, 0, 3), DOMAIN)).toBe(false);
  });

  it("covers cancels by the cancel's digest", () => {
    const cancelEntry = entries[3];
    if (cancelEntry?.kind !== "cancel") throw new Error("fixture");
    const cancelReceipt: Receipt = {
      sequence: 3n,
      receivedAt: NOW + 2n,
      orderHash: cancelHashOf(cancelEntry.signed.cancel, DOMAIN),
      logSize: 4n,
      logRoot: hashHex(compactRoot(trees[4] as CompactTree)),
    };
    expect(receiptCoversEntry(cancelReceipt, cancelEntry, inclusionProof(leaves, 3, 4), DOMAIN)).toBe(true);
  });

  it("a later checkpoint extends the receipt's log, and a rewritten log does not", () => {
    const checkpoint = { size: 4n, root: hashHex(compactRoot(trees[4] as CompactTree)), time: NOW + 5n };
    expect(extendsLog(receipt.logSize, receipt.logRoot, checkpoint, consistencyProof(leaves, 3, 4))).toBe(true);
    // The venue drops bob's order and the fill, and logs something else in their place.
    const rewritten = [leaves[0] as Uint8Array, leaves[3] as Uint8Array, leaves[3] as Uint8Array, leaves[3] as Uint8Array];
    let tree = EMPTY_COMPACT_TREE;
    for (const leaf of rewritten) tree = appendLeaf(tree, leaf);
    const forged = { size: 4n, root: hashHex(compactRoot(tree)), time: NOW + 5n };
    expect(extendsLog(receipt.logSize, receipt.logRoot, forged, consistencyProof(rewritten, 3, 4))).toBe(false);
  });
});
