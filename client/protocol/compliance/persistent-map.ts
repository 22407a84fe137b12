/**
 * Immutable maps and sets that share structure: `with` / `without` return a new map in O(log₃₂ n)
 * and leave the original as it was, so updating a mirror of 100,000 holders does not copy 100,000
 * entries (a `new Map(m)` per watcher chunk held the node's event loop for ~10–35 ms per map).
 *
 * A hash array mapped trie (HAMT): 32-way branches indexed by 5 bits of a 30-bit key hash, leaves
 * at the shallowest depth where their hash prefix is unique, keys of one full hash in a collision
 * node. Written here rather than taken from a library because the facts are read through
 * `ReadonlyMap` / `ReadonlySet` everywhere and need exactly their semantics; Immutable.js's `Map`
 * (the one well-kept candidate) stops `forEach` when the callback returns false and was ~6× slower
 * than a `Map` per `get` on address keys (this map: ~3×). Iteration order is the trie's (by hash),
 * not insertion order: readers only look keys up, and the JSON writer sorts. Keys are strings or
 * bigints, compared with `===`.
 */

type Key = string | bigint;

class Leaf<K, V> {
  constructor(
    readonly hash: number,
    readonly key: K,
    readonly value: V,
  ) {}
}

/** Two or more keys of the same hash. */
class Collision<K, V> {
  constructor(
    readonly hash: number,
    readonly leaves: readonly Leaf<K, V>[],
  ) {}
}

/** Children in the order of their 5-bit index; `bitmap` has a bit set for each index present. */
class Branch<K, V> {
  constructor(
    readonly bitmap: number,
    readonly children: readonly Child<K, V>[],
  ) {}
}

type Child<K, V> = Leaf<K, V> | Collision<K, V> | Branch<K, V>;

const BITS = 5;
const MASK = 31;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Murmur3's finalizer: every input bit reaches every output bit. */
function mixed(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return x ^ (x >>> 16);
}

/**
 * FNV-1a over a string's UTF-16 code units; a bigint in the safe integer range by its two 32-bit
 * halves (no allocation: type ids and country codes are looked up often), a larger one by its
 * decimal text. Kept to 30 bits so V8 stores it in the leaf as a small integer, not a boxed
 * number. Six 5-bit levels use those 30 bits; keys of one hash go to a collision node.
 */
function hashOf(key: Key): number {
  if (typeof key === "bigint") {
    if (key > SAFE || key < -SAFE) return hashOf(key.toString());
    const n = Number(key);
    return mixed((n | 0) ^ Math.imul(Math.floor(n / 0x100000000) | 0, 0x9e3779b1)) & 0x3fffffff;
  }
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return hash & 0x3fffffff;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

const bitOf = (hash: number, shift: number): number => 1 << ((hash >>> shift) & MASK);
const indexOf = (bitmap: number, bit: number): number => popcount(bitmap & (bit - 1));

function replaced<T>(items: readonly T[], index: number, item: T): T[] {
  const copy = items.slice();
  copy[index] = item;
  return copy;
}

function inserted<T>(items: readonly T[], index: number, item: T): T[] {
  return [...items.slice(0, index), item, ...items.slice(index)];
}

function removed<T>(items: readonly T[], index: number): T[] {
  return [...items.slice(0, index), ...items.slice(index + 1)];
}

/** A node holding `a` (a leaf or collision) and the leaf `b` of another key, at depth `shift`. */
function merge<K, V>(a: Leaf<K, V> | Collision<K, V>, b: Leaf<K, V>, shift: number): Child<K, V> {
  if (a.hash === b.hash) return a instanceof Leaf ? new Collision(a.hash, [a, b]) : new Collision(a.hash, [...a.leaves, b]);
  // The hashes differ, so some 5-bit slice at or before shift 25 tells them apart.
  const slotA = (a.hash >>> shift) & MASK;
  const slotB = (b.hash >>> shift) & MASK;
  if (slotA === slotB) return new Branch(1 << slotA, [merge(a, b, shift + BITS)]);
  return new Branch((1 << slotA) | (1 << slotB), slotA < slotB ? [a, b] : [b, a]);
}

/** `node` with `leaf` set; `node` itself when nothing changed. `grew.added` tells whether the key is new. */
function insert<K, V>(node: Branch<K, V>, shift: number, leaf: Leaf<K, V>, grew: { added: boolean }): Branch<K, V> {
  const bit = bitOf(leaf.hash, shift);
  const index = indexOf(node.bitmap, bit);
  if ((node.bitmap & bit) === 0) {
    grew.added = true;
    return new Branch(node.bitmap | bit, inserted(node.children, index, leaf));
  }
  const child = node.children[index]!;
  let next: Child<K, V>;
  if (child instanceof Branch) {
    next = insert(child, shift + BITS, leaf, grew);
  } else if (child instanceof Leaf && child.key === leaf.key) {
    if (child.value === leaf.value) return node;
    next = leaf;
  } else if (child instanceof Collision && child.hash === leaf.hash) {
    const at = child.leaves.findIndex((l) => l.key === leaf.key);
    if (at >= 0 && child.leaves[at]!.value === leaf.value) return node;
    if (at < 0) grew.added = true;
    next = new Collision(child.hash, at < 0 ? [...child.leaves, leaf] : replaced(child.leaves, at, leaf));
  } else {
    grew.added = true;
    next = merge(child, leaf, shift + BITS);
  }
  return next === child ? node : new Branch(node.bitmap, replaced(node.children, index, next));
}

/**
 * `node` without `key`: `node` itself when the key is absent, undefined when nothing is left, a
 * lone leaf or collision when that is all that is left (the parent holds it directly, so the trie
 * has one shape per set of keys).
 */
function remove<K, V>(node: Branch<K, V>, shift: number, hash: number, key: K): Child<K, V> | undefined {
  const bit = bitOf(hash, shift);
  if ((node.bitmap & bit) === 0) return node;
  const index = indexOf(node.bitmap, bit);
  const child = node.children[index]!;
  let next: Child<K, V> | undefined;
  if (child instanceof Branch) {
    next = remove(child, shift + BITS, hash, key);
  } else if (child instanceof Leaf) {
    if (child.key !== key) return node;
    next = undefined;
  } else {
    const at = child.hash === hash ? child.leaves.findIndex((l) => l.key === key) : -1;
    if (at < 0) return node;
    const rest = removed(child.leaves, at);
    next = rest.length === 1 ? rest[0]! : new Collision(child.hash, rest);
  }
  if (next === child) return node;
  if (next === undefined) {
    if (node.children.length === 1) return undefined;
    const children = removed(node.children, index);
    if (children.length === 1 && !(children[0] instanceof Branch)) return children[0];
    return new Branch(node.bitmap ^ bit, children);
  }
  if (node.children.length === 1 && !(next instanceof Branch)) return next;
  return new Branch(node.bitmap, replaced(node.children, index, next));
}

function find<K, V>(root: Branch<K, V>, key: K & Key): Leaf<K, V> | undefined {
  const hash = hashOf(key);
  let node: Child<K, V> = root;
  for (let shift = 0; node instanceof Branch; shift += BITS) {
    const bit = bitOf(hash, shift);
    if ((node.bitmap & bit) === 0) return undefined;
    node = node.children[indexOf(node.bitmap, bit)]!;
  }
  if (node instanceof Leaf) return node.key === key ? node : undefined;
  return node.hash === hash ? node.leaves.find((l) => l.key === key) : undefined;
}

/**
 * Walks the leaves depth first with an explicit stack, lazily as a `Map`'s iterator does (a large
 * map's keys are not copied out at once: the JSON writer pauses while it lists them), and without a
 * generator per level. Inherits the built-in iterators' prototype, so it is iterable and has their
 * helpers where the runtime has them.
 */
class LeafIterator<K, V, T> {
  private readonly stack: Child<K, V>[];

  constructor(
    root: Branch<K, V>,
    private readonly pick: (leaf: Leaf<K, V>) => T,
  ) {
    this.stack = [root];
  }

  next(): IteratorResult<T, undefined> {
    for (;;) {
      const node = this.stack.pop();
      if (node === undefined) return { done: true, value: undefined };
      if (node instanceof Leaf) return { done: false, value: this.pick(node) };
      const children = node instanceof Collision ? node.leaves : node.children;
      for (let i = children.length - 1; i >= 0; i--) this.stack.push(children[i]!);
    }
  }

  [Symbol.iterator](): this {
    return this;
  }
}
Object.setPrototypeOf(LeafIterator.prototype, Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())) as object);

const keyOf = <K, V>(leaf: Leaf<K, V>): K => leaf.key;
const valueOf = <K, V>(leaf: Leaf<K, V>): V => leaf.value;
const entryOf = <K, V>(leaf: Leaf<K, V>): [K, V] => [leaf.key, leaf.value];

/**
 * The node for `leaves` (at least one) whose hashes agree below `shift`, built bottom-up: one pass
 * per level, no path copying, the same shape as inserting them one by one. Of leaves of one key the
 * last wins, in the place of the first (as `Map.set` does); `count.size` counts the distinct keys.
 */
function build<K, V>(leaves: Leaf<K, V>[], shift: number, count: { size: number }): Child<K, V> {
  const first = leaves[0]!;
  if (leaves.length === 1) {
    count.size += 1;
    return first;
  }
  if (!leaves.every((l) => l.hash === first.hash)) return branchOf(leaves, shift, count);
  const distinct: Leaf<K, V>[] = [];
  for (const leaf of leaves) {
    const at = distinct.findIndex((l) => l.key === leaf.key);
    if (at < 0) distinct.push(leaf);
    else distinct[at] = leaf;
  }
  count.size += distinct.length;
  return distinct.length === 1 ? distinct[0]! : new Collision(first.hash, distinct);
}

function branchOf<K, V>(leaves: Leaf<K, V>[], shift: number, count: { size: number }): Branch<K, V> {
  const groups: Leaf<K, V>[][] = [];
  let bitmap = 0;
  for (const leaf of leaves) {
    const slot = (leaf.hash >>> shift) & MASK;
    bitmap |= 1 << slot;
    (groups[slot] ??= []).push(leaf);
  }
  // Sized up front: a pushed-to array keeps spare capacity, which 100,000 small maps would hold on to.
  const children = new Array<Child<K, V>>(popcount(bitmap));
  let index = 0;
  for (const group of groups) if (group !== undefined) children[index++] = build(group, shift + BITS, count);
  return new Branch(bitmap, children);
}

const EMPTY = new Branch<never, never>(0, []);

/** An immutable map sharing structure with the maps it was made from. */
export class PersistentMap<K extends Key, V> implements ReadonlyMap<K, V> {
  private constructor(
    private readonly root: Branch<K, V>,
    readonly size: number,
  ) {}

  static empty<K extends Key, V>(): PersistentMap<K, V> {
    return new PersistentMap<K, V>(EMPTY, 0);
  }

  /** `source` itself when it is a PersistentMap; otherwise its entries (a later one wins over an earlier one of the same key), in O(n). */
  static from<K extends Key, V>(source: Iterable<readonly [K, V]>): PersistentMap<K, V> {
    if (source instanceof PersistentMap) return source as PersistentMap<K, V>;
    const leaves: Leaf<K, V>[] = [];
    for (const [key, value] of source) leaves.push(new Leaf(hashOf(key), key, value));
    if (leaves.length === 0) return PersistentMap.empty();
    const count = { size: 0 };
    const root = branchOf(leaves, 0, count);
    return new PersistentMap(root, count.size);
  }

  get(key: K): V | undefined {
    return find(this.root, key)?.value;
  }

  has(key: K): boolean {
    return find(this.root, key) !== undefined;
  }

  /** This map with `key` set to `value`; this map itself when it holds that already. */
  with(key: K, value: V): PersistentMap<K, V> {
    const grew = { added: false };
    const root = insert(this.root, 0, new Leaf(hashOf(key), key, value), grew);
    return root === this.root ? this : new PersistentMap(root, grew.added ? this.size + 1 : this.size);
  }

  /** This map without `key`; this map itself when it does not hold it. */
  without(key: K): PersistentMap<K, V> {
    const hash = hashOf(key);
    const root = remove(this.root, 0, hash, key);
    if (root === this.root) return this;
    if (root === undefined) return PersistentMap.empty();
    // The root stays a branch, even over a single leaf.
    return new PersistentMap(root instanceof Branch ? root : new Branch(bitOf(root.hash, 0), [root]), this.size - 1);
  }

  forEach(callback: (value: V, key: K, map: ReadonlyMap<K, V>) => void, thisArg?: unknown): void {
    for (const leaf of new LeafIterator(this.root, (l: Leaf<K, V>) => l)) callback.call(thisArg, leaf.value, leaf.key, this);
  }

  entries(): MapIterator<[K, V]> {
    return new LeafIterator(this.root, entryOf<K, V>);
  }

  keys(): MapIterator<K> {
    return new LeafIterator(this.root, keyOf<K, V>);
  }

  values(): MapIterator<V> {
    return new LeafIterator(this.root, valueOf<K, V>);
  }

  [Symbol.iterator](): MapIterator<[K, V]> {
    return this.entries();
  }
}

/** An immutable set sharing structure with the sets it was made from. */
export class PersistentSet<T extends Key> implements ReadonlySet<T> {
  private constructor(private readonly members: PersistentMap<T, T>) {}

  static empty<T extends Key>(): PersistentSet<T> {
    return new PersistentSet(PersistentMap.empty<T, T>());
  }

  /** `source` itself when it is a PersistentSet; otherwise its members, in O(n). */
  static from<T extends Key>(source: Iterable<T>): PersistentSet<T> {
    if (source instanceof PersistentSet) return source as PersistentSet<T>;
    const members: [T, T][] = [];
    for (const member of source) members.push([member, member]);
    return new PersistentSet(PersistentMap.from(members));
  }

  get size(): number {
    return this.members.size;
  }

  has(member: T): boolean {
    return this.members.has(member);
  }

  /** This set with `member`; this set itself when it holds it already. */
  with(member: T): PersistentSet<T> {
    const members = this.members.with(member, member);
    return members === this.members ? this : new PersistentSet(members);
  }

  /** This set without `member`; this set itself when it does not hold it. */
  without(member: T): PersistentSet<T> {
    const members = this.members.without(member);
    return members === this.members ? this : new PersistentSet(members);
  }

  forEach(callback: (value: T, value2: T, set: ReadonlySet<T>) => void, thisArg?: unknown): void {
    for (const member of this.members.keys()) callback.call(thisArg, member, member, this);
  }

  entries(): SetIterator<[T, T]> {
    return this.members.entries();
  }

  keys(): SetIterator<T> {
    return this.members.keys();
  }

  values(): SetIterator<T> {
    return this.members.keys();
  }

  [Symbol.iterator](): SetIterator<T> {
    return this.members.keys();
  }
}
