// The persistent map and set of the compliance facts (client/protocol/compliance/persistent-map.ts):
// under random sequences of writes they answer exactly as a `Map` / `Set` given the same writes
// (get, has, size, every way of iterating), and a write never changes the map it was made from.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { PersistentMap, PersistentSet } from "../../client/protocol/compliance/persistent-map.js";

type Key = string | bigint;

// Keys of one 30-bit hash (found by search), so the pool exercises collision nodes: three strings,
// and two bigints with a string.
const SAME_HASH: readonly (readonly Key[])[] = [
  [`0x${"25dae".padStart(40, "0")}`, `0x${"58b00".padStart(40, "0")}`, "k8t8o1b"],
  [33_942n, 49_030n, "k64yj9w"],
];
// Few keys, so writes hit the same keys again.
const POOL: readonly Key[] = [
  ...Array.from({ length: 40 }, (_, i) => `0x${i.toString(16).padStart(40, "0")}`),
  ...Array.from({ length: 12 }, (_, i) => BigInt(i)),
  2n ** 200n,
  ...SAME_HASH.flat(),
  "",
];
const key = fc.constantFrom(...POOL);
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("set" as const), key, value: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), key }) },
);
// size "max": lengths up to maxLength (fast-check keeps arrays to ~10 items otherwise).
const ops = fc.array(op, { maxLength: 200, size: "max" });

const sortedPairs = <V>(pairs: Iterable<readonly [Key, V]>): [string, V][] =>
  [...pairs].map(([k, v]): [string, V] => [`${typeof k}:${k}`, v]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

/** Every read of `map` agrees with `model`. */
function expectSameMap(map: PersistentMap<Key, number>, model: ReadonlyMap<Key, number>): void {
  expect(map.size).toBe(model.size);
  for (const k of POOL) {
    expect(map.get(k)).toBe(model.get(k));
    expect(map.has(k)).toBe(model.has(k));
  }
  const expected = sortedPairs(model);
  expect(sortedPairs(map)).toEqual(expected);
  expect(sortedPairs(map.entries())).toEqual(expected);
  expect(sortedPairs([...map.keys()].map((k, i) => [k, [...map.values()][i]!] as const))).toEqual(expected);
  const visited: [Key, number][] = [];
  map.forEach(function (this: unknown, value, k, self) {
    expect(self).toBe(map);
    expect(this).toBe(POOL);
    visited.push([k, value]);
  }, POOL);
  expect(sortedPairs(visited)).toEqual(expected);
}

function expectSameSet(set: PersistentSet<Key>, model: ReadonlySet<Key>): void {
  expect(set.size).toBe(model.size);
  for (const k of POOL) expect(set.has(k)).toBe(model.has(k));
  const expected = sortedPairs([...model].map((m) => [m, m] as const));
  expect(sortedPairs([...set].map((m) => [m, m] as const))).toEqual(expected);
  expect(sortedPairs([...set.keys()].map((m) => [m, m] as const))).toEqual(expected);
  expect(sortedPairs([...set.values()].map((m) => [m, m] as const))).toEqual(expected);
  expect(sortedPairs(set.entries())).toEqual(expected);
  const visited: [Key, Key][] = [];
  set.forEach((a, b, self) => {
    expect(self).toBe(set);
    visited.push([a, b]);
  });
  expect(sortedPairs(visited)).toEqual(expected);
}

/** The trie itself, as text (its fields are plain properties). */
const shapeOf = (map: PersistentMap<Key, number>): string => JSON.stringify(map, (_, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));

describe("PersistentMap", () => {
  it("answers as a Map given the same writes, and no write changes an earlier version", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        let map = PersistentMap.empty<Key, number>();
        const model = new Map<Key, number>();
        const versions: [PersistentMap<Key, number>, Map<Key, number>][] = [[map, new Map(model)]];
        for (const o of sequence) {
          const before = map;
          if (o.kind === "set") {
            const unchanged = model.get(o.key) === o.value;
            map = map.with(o.key, o.value);
            model.set(o.key, o.value);
            if (unchanged) expect(map).toBe(before);
          } else {
            const absent = !model.has(o.key);
            map = map.without(o.key);
            model.delete(o.key);
            if (absent) expect(map).toBe(before);
          }
          expect(map.get(o.key)).toBe(model.get(o.key));
          expect(map.size).toBe(model.size);
          versions.push([map, new Map(model)]);
        }
        expectSameMap(map, model);
        for (const [version, snapshot] of versions) expectSameMap(version, snapshot);
      }),
      { numRuns: 50 },
    );
  });

  it("from(entries) holds what new Map(entries) holds (a later entry of a key wins), and from(persistent) is that map", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(key, fc.integer({ min: 0, max: 3 })), { maxLength: 120, size: "max" }), (entries) => {
        const map = PersistentMap.from(entries);
        expectSameMap(map, new Map(entries));
        expect(PersistentMap.from(map)).toBe(map);
        // A built map takes writes as one grown by writes does.
        for (const k of [...new Set(entries.map(([e]) => e))].slice(0, 4)) {
          const model = new Map(entries);
          model.delete(k);
          expectSameMap(map.without(k), model);
          model.set(k, 9);
          expectSameMap(map.with(k, 9), model);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("has one shape per set of keys (no two hashes alike), however it was written, so toEqual compares contents", () => {
    const hexOps = fc.array(
      fc.record({ add: fc.boolean(), key: fc.constantFrom(...POOL.filter((k) => !SAME_HASH.flat().includes(k))) }),
      { maxLength: 200, size: "max" },
    );
    fc.assert(
      fc.property(hexOps, (sequence) => {
        let map = PersistentMap.empty<Key, number>();
        const model = new Map<Key, number>();
        for (const o of sequence) {
          map = o.add ? map.with(o.key, 1) : map.without(o.key);
          if (o.add) model.set(o.key, 1);
          else model.delete(o.key);
        }
        expect(shapeOf(map)).toBe(shapeOf(PersistentMap.from(model)));
        expect(shapeOf(map)).toBe(shapeOf(PersistentMap.from([...model].reverse())));
        expect(map).toEqual(PersistentMap.from(model));
      }),
      { numRuns: 200 },
    );
  });

  it("is read through ReadonlyMap exactly as a Map is, at 20,000 keys", () => {
    const model = new Map<string, bigint>();
    let map = PersistentMap.empty<string, bigint>();
    for (let i = 0; i < 20_000; i++) {
      const k = `0x${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(40, "0")}`;
      model.set(k, BigInt(i));
      map = map.with(k, BigInt(i));
    }
    const original = map;
    for (let i = 0; i < 20_000; i += 3) {
      const k = `0x${(Math.imul(i + 1, 0x9e3779b1) >>> 0).toString(16).padStart(40, "0")}`;
      map = map.without(k);
    }
    const readers: ReadonlyMap<string, bigint>[] = [original, PersistentMap.from(model)];
    for (const reader of readers) {
      expect(reader.size).toBe(20_000);
      expect(new Map(reader)).toEqual(model);
    }
    expect(map.size).toBe(20_000 - Math.ceil(20_000 / 3));
  });
});

describe("PersistentSet", () => {
  it("answers as a Set given the same writes, and no write changes an earlier version", () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        let set = PersistentSet.empty<Key>();
        const model = new Set<Key>();
        const versions: [PersistentSet<Key>, Set<Key>][] = [];
        for (const o of sequence) {
          const before = set;
          const known = model.has(o.key);
          if (o.kind === "set") {
            set = set.with(o.key);
            model.add(o.key);
            if (known) expect(set).toBe(before);
          } else {
            set = set.without(o.key);
            model.delete(o.key);
            if (!known) expect(set).toBe(before);
          }
          versions.push([set, new Set(model)]);
        }
        for (const [version, snapshot] of versions) expectSameSet(version, snapshot);
        expectSameSet(PersistentSet.from(model), model);
        expect(PersistentSet.from(set)).toBe(set);
      }),
      { numRuns: 50 },
    );
  });
});
