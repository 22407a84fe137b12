/**
 * The right edge of a growing RFC 6962 tree: the roots of its perfect subtrees, one per set bit of
 * the size, largest (leftmost) first. Appending a leaf merges as many subtrees as the size has
 * trailing one bits, and the root folds the edge right to left: both O(log n), so a log can keep
 * its root current without holding the leaves in memory. Values are immutable; `append` returns a new one.
 */
import { EMPTY_ROOT, HASH_LENGTH, nodeHash } from "./merkle.js";
import { TradingError } from "./errors.js";

export interface CompactTree {
  /** Number of leaves. */
  readonly size: number;
  /** Roots of the perfect subtrees covering the leaves, leftmost (largest) first. */
  readonly edge: readonly Uint8Array[];
}

export const EMPTY_COMPACT_TREE: CompactTree = { size: 0, edge: [] };

/** The tree with one more leaf hash. */
export function appendLeaf(tree: CompactTree, leafHash: Uint8Array): CompactTree {
  if (!(leafHash instanceof Uint8Array) || leafHash.length !== HASH_LENGTH) {
    throw new TradingError("MALFORMED", "a leaf hash is 32 bytes");
  }
  if (tree.size >= Number.MAX_SAFE_INTEGER) throw new TradingError("OUT_OF_RANGE", "the log is full");
  // A tree restored from storage must have one subtree per set bit of its size.
  if (!Number.isSafeInteger(tree.size) || tree.size < 0 || tree.edge.length !== setBits(tree.size)) {
    throw new TradingError("MALFORMED", `a compact tree of ${tree.size} leaves has ${setBits(tree.size)} edge roots, not ${tree.edge.length}`);
  }
  const edge = tree.edge.slice();
  let node = leafHash;
  // Each trailing one bit of the old size is a subtree of the new node's height: merge it in.
  for (let size = tree.size; size % 2 === 1; size = Math.floor(size / 2)) {
    node = nodeHash(edge.pop() as Uint8Array, node);
  }
  edge.push(node);
  return { size: tree.size + 1, edge };
}

function setBits(n: number): number {
  let count = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

/** The root of the tree: equal to `rootOf` over all its leaves. */
export function compactRoot(tree: CompactTree): Uint8Array {
  let root: Uint8Array | undefined;
  for (let i = tree.edge.length - 1; i >= 0; i--) {
    const subtree = tree.edge[i] as Uint8Array;
    root = root === undefined ? subtree : nodeHash(subtree, root);
  }
  return root ?? EMPTY_ROOT;
}

/** The compact tree of `leafHashes`, e.g. to restore it from a stored log. */
export function compactTreeOf(leafHashes: readonly Uint8Array[]): CompactTree {
  return leafHashes.reduce(appendLeaf, EMPTY_COMPACT_TREE);
}
