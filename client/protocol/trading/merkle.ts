/**
 * The Merkle tree of RFC 6962 §2.1 (RFC 9162 §2.1): leaf hash SHA-256(0x00 ‖ leaf), node hash
 * SHA-256(0x01 ‖ left ‖ right), and the tree of n > 1 leaves split at the largest power of two < n.
 * Pure functions over leaf hashes (32-byte arrays): the root, inclusion proofs (audit paths),
 * consistency proofs, and their verifiers (RFC 9162 §2.1.3.2 and §2.1.4.2).
 *
 * Proof generation reads the subtree hashes it needs from a `SubtreeSource`: over an array of leaf
 * hashes they are recomputed, O(n) per proof; subtree-levels.ts stores them. The incremental
 * structure in compact-tree.ts keeps the root of a growing log in O(log n) per append.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { TradingError } from "./errors.js";

export const HASH_LENGTH = 32;
/** No proof for a tree of at most 2^53 leaves has more entries than this; longer ones are refused unread. */
export const MAX_PROOF_LENGTH = 64;

/** SHA-256 of the empty string: the root of the empty tree. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

/** SHA-256(0x00 ‖ leaf). */
export function leafHash(leaf: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + leaf.length);
  input.set(leaf, 1);
  return sha256(input);
}

/** SHA-256(0x01 ‖ left ‖ right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const input = new Uint8Array(1 + 2 * HASH_LENGTH);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + HASH_LENGTH);
  return sha256(input);
}

/** The largest power of two strictly less than n (n ≥ 2). */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[from:to]) for 0 ≤ from < to. */
function subtreeRoot(leaves: readonly Uint8Array[], from: number, to: number): Uint8Array {
  const n = to - from;
  if (n === 1) return leaves[from] as Uint8Array;
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(leaves, from, from + k), subtreeRoot(leaves, from + k, to));
}

/** The Merkle tree hash of `leafHashes` (EMPTY_ROOT for none). */
export function rootOf(leafHashes: readonly Uint8Array[]): Uint8Array {
  return leafHashes.length === 0 ? EMPTY_ROOT : subtreeRoot(leafHashes, 0, leafHashes.length);
}

/**
 * Where proofs read subtree hashes from: `root(from, to)` is MTH(D[from:to]) for 0 ≤ from < to ≤
 * `size`. Over an array of leaf hashes it recomputes the subtree (O(n) per proof); `SubtreeLevels`
 * (subtree-levels.ts) reads stored perfect subtrees (O(log² n) per proof at most).
 */
export interface SubtreeSource {
  readonly size: number;
  root(from: number, to: number): Uint8Array;
}

const arraySource = (leafHashes: readonly Uint8Array[]): SubtreeSource => ({ size: leafHashes.length, root: (from, to) => subtreeRoot(leafHashes, from, to) });

/** The audit path of leaf `index` in the tree of the first `size` leaf hashes (RFC 6962 PATH). */
export function inclusionProof(leafHashes: readonly Uint8Array[], index: number, size: number = leafHashes.length): Uint8Array[] {
  return inclusionProofFrom(arraySource(leafHashes), index, size);
}

/** The audit path of leaf `index` in the tree of the first `size` leaves of `tree`. */
export function inclusionProofFrom(tree: SubtreeSource, index: number, size: number = tree.size): Uint8Array[] {
  if (!Number.isSafeInteger(size) || size < 1 || size > tree.size || !Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new TradingError("BAD_PROOF_REQUEST", `no leaf ${index} in a tree of ${size} (log holds ${tree.size})`, { index, size });
  }
  const path: Uint8Array[] = [];
  let from = 0;
  let to = size;
  let m = index;
  // Walk down from the root; the siblings come out top-down, the proof lists them bottom-up.
  while (to - from > 1) {
    const k = splitPoint(to - from);
    if (m < k) {
      path.push(tree.root(from + k, to));
      to = from + k;
    } else {
      path.push(tree.root(from, from + k));
      from += k;
      m -= k;
    }
  }
  return path.reverse();
}

/** The consistency proof from the tree of the first `first` leaves to that of the first `second` (RFC 6962 PROOF). */
export function consistencyProof(leafHashes: readonly Uint8Array[], first: number, second: number = leafHashes.length): Uint8Array[] {
  return consistencyProofFrom(arraySource(leafHashes), first, second);
}

/** The consistency proof from the first `first` leaves of `tree` to its first `second`. */
export function consistencyProofFrom(tree: SubtreeSource, first: number, second: number = tree.size): Uint8Array[] {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 1 || first > second || second > tree.size) {
    throw new TradingError("BAD_PROOF_REQUEST", `no consistency proof from ${first} to ${second} (log holds ${tree.size})`, {
      first,
      second,
    });
  }
  const proof: Uint8Array[] = [];
  let from = 0;
  let to = second;
  let m = first;
  // SUBPROOF(m, D[from:to], complete): `complete` while the old tree is still the left edge of this subtree.
  let complete = true;
  while (m !== to - from) {
    const k = splitPoint(to - from);
    if (m <= k) {
      proof.push(tree.root(from + k, to));
      to = from + k;
    } else {
      proof.push(tree.root(from, from + k));
      from += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(tree.root(from, to));
  return proof.reverse();
}

const isHash = (value: Uint8Array): boolean => value instanceof Uint8Array && value.length === HASH_LENGTH;

function equalHashes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}

const isOdd = (n: number): boolean => n % 2 === 1;
const half = (n: number): number => Math.floor(n / 2);

/** Whether `proof` shows leaf `index` with hash `leaf` in the tree of `size` leaves with `root` (RFC 9162 §2.1.3.2). Never throws. */
export function verifyInclusion(leaf: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || proof.length > MAX_PROOF_LENGTH || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalHashes(r, root);
}

/**
 * Whether `proof` shows that the tree of `second` leaves with `secondRoot` extends the tree of
 * `first` leaves with `firstRoot` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof and equal
 * roots; every tree extends the empty one. Never throws.
 */
export function verifyConsistency(
  first: number,
  second: number,
  proof: readonly Uint8Array[],
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first < 0 || first > second) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || proof.length > MAX_PROOF_LENGTH || !proof.every(isHash)) return false;
  if (first === 0) return proof.length === 0 && equalHashes(firstRoot, EMPTY_ROOT);
  if (first === second) return proof.length === 0 && equalHashes(firstRoot, secondRoot);
  // When the old tree is a complete subtree its root is the first node of the path; RFC 9162 leaves it out.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : proof;
  const [seed, ...rest] = path;
  if (seed === undefined) return false;
  let fn = first - 1;
  let sn = second - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = seed;
  let sr = seed;
  for (const c of rest) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!isOdd(fn) && fn !== 0) {
        fn = half(fn);
        sn = half(sn);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && equalHashes(fr, firstRoot) && equalHashes(sr, secondRoot);
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}
