/**
 * The perfect subtrees of a growing RFC 6962 log, stored: level 0 holds the leaf hashes, level k the
 * hash of every complete, aligned run of 2^k leaves. An append adds the leaf and the parents it
 * completes (amortised O(1), at most O(log n)); `root(from, to)` reads a perfect aligned subtree
 * directly and splits any other range as RFC 6962 does, so an inclusion or consistency proof
 * (merkle.ts, `inclusionProofFrom`, `consistencyProofFrom`) costs at most O(log² n) hashes instead
 * of a pass over the log. Memory: about two hashes per leaf. Pure computation, no I/O.
 */
import { EMPTY_ROOT, nodeHash, splitPoint, type SubtreeSource } from "./merkle.js";

export class SubtreeLevels implements SubtreeSource {
  private readonly levels: Uint8Array[][] = [[]];

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends a leaf hash and the perfect subtrees it completes. */
  append(leaf: Uint8Array): void {
    this.levels[0]!.push(leaf);
    for (let level = 0; this.levels[level]!.length % 2 === 0; level += 1) {
      const row = this.levels[level]!;
      const parent = nodeHash(row[row.length - 2]!, row[row.length - 1]!);
      (this.levels[level + 1] ??= []).push(parent);
    }
  }

  /** MTH(D[from:to]) for 0 ≤ from < to ≤ size. */
  root(from: number, to: number): Uint8Array {
    const n = to - from;
    const level = Math.log2(n);
    // A power of two starting at a multiple of itself is a stored subtree.
    if (Number.isInteger(level) && from % n === 0) return this.levels[level]![from / n]!;
    const k = splitPoint(n);
    return nodeHash(this.root(from, from + k), this.root(from + k, to));
  }

  /** The tree hash of the first `size` leaves (EMPTY_ROOT for none). */
  rootOf(size: number = this.size): Uint8Array {
    return size === 0 ? EMPTY_ROOT : this.root(0, size);
  }
}
