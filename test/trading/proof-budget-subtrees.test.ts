// Proofs from stored subtrees (client/protocol/trading/subtree-levels.ts): the same audit paths and
// consistency proofs as the array-based RFC 6962 functions (merkle.ts) for every index and size of
// small logs, and on a log of 2^16 + 3 entries proofs that verify against the root while reading at
// most (log2 n)^2 subtree hashes each — no pass over the log.
import { describe, expect, it } from "vitest";
import { sha256 } from "@noble/hashes/sha2.js";
import { EMPTY_COMPACT_TREE, appendLeaf, compactRoot } from "../../client/protocol/trading/compact-tree.js";
import { consistencyProof, consistencyProofFrom, inclusionProof, inclusionProofFrom, leafHash, rootOf, verifyConsistency, verifyInclusion } from "../../client/protocol/trading/merkle.js";
import { SubtreeLevels } from "../../client/protocol/trading/subtree-levels.js";

const leaf = (i: number): Uint8Array => leafHash(sha256(new TextEncoder().encode(`entry ${i}`)));

/** Counts the subtree hashes a proof reads (root() recurses through itself). */
class CountingLevels extends SubtreeLevels {
  reads = 0;
  override root(from: number, to: number): Uint8Array {
    this.reads += 1;
    return super.root(from, to);
  }
}

describe("proofs from stored subtrees", () => {
  it("equal the array-based proofs for every index and size up to 70 leaves, and refuse the same requests", () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leaf(i));
    const levels = new SubtreeLevels();
    for (const l of leaves) levels.append(l);
    for (let size = 1; size <= leaves.length; size += 1) {
      expect(levels.rootOf(size)).toEqual(rootOf(leaves.slice(0, size)));
      for (let index = 0; index < size; index += 1) expect(inclusionProofFrom(levels, index, size)).toEqual(inclusionProof(leaves, index, size));
      for (let first = 1; first <= size; first += 1) expect(consistencyProofFrom(levels, first, size)).toEqual(consistencyProof(leaves, first, size));
    }
    expect(levels.rootOf(0)).toEqual(rootOf([]));
    for (const [index, size] of [[0, 71], [70, 70], [-1, 5], [0, 0]] as const) {
      expect(() => inclusionProofFrom(levels, index, size)).toThrow(expect.objectContaining({ code: "BAD_PROOF_REQUEST" }));
    }
    expect(() => consistencyProofFrom(levels, 0, 5)).toThrow(expect.objectContaining({ code: "BAD_PROOF_REQUEST" }));
    expect(() => consistencyProofFrom(levels, 6, 5)).toThrow(expect.objectContaining({ code: "BAD_PROOF_REQUEST" }));
  });

  it("on a log of 2^16 + 3 entries: proofs verify against the root and read at most (log2 n)^2 subtree hashes each", () => {
    const n = 2 ** 16 + 3;
    const levels = new CountingLevels();
    let compact = EMPTY_COMPACT_TREE;
    for (let i = 0; i < n; i += 1) {
      const l = leaf(i);
      levels.append(l);
      compact = appendLeaf(compact, l);
    }
    const root = compactRoot(compact);
    expect(levels.rootOf(n)).toEqual(root);
    const bound = Math.ceil(Math.log2(n)) ** 2;
    let seed = 7;
    const next = (below: number): number => (seed = (seed * 48_271) % 2_147_483_647) % below;
    for (let round = 0; round < 200; round += 1) {
      const index = round === 0 ? n - 1 : next(n);
      levels.reads = 0;
      const path = inclusionProofFrom(levels, index, n);
      expect(levels.reads).toBeLessThanOrEqual(bound);
      expect(verifyInclusion(leaf(index), index, n, path, root)).toBe(true);
      const first = 1 + next(n);
      levels.reads = 0;
      const proof = consistencyProofFrom(levels, first, n);
      expect(levels.reads).toBeLessThanOrEqual(bound);
      expect(verifyConsistency(first, n, proof, levels.rootOf(first), root)).toBe(true);
    }
  });
});
