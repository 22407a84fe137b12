import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import {
  EMPTY_COMPACT_TREE,
  EMPTY_ROOT,
  MAX_PROOF_LENGTH,
  appendLeaf,
  compactRoot,
  compactTreeOf,
  consistencyProof,
  inclusionProof,
  isTradingError,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from "../../client/protocol/trading/index.js";

// The reference data of RFC 6962's Certificate Transparency implementation (merkle_tree_test):
// eight leaves, the root of every prefix, and the audit and consistency paths it publishes.
const LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(
  (h) => leafHash(hexToBytes(h)),
);
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
// [leaf index (0-based), tree size, audit path]
const INCLUSION: [number, number, string[]][] = [
  [0, 1, []],
  [0, 8, [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ]],
  [5, 8, [
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ]],
  [2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]],
  [1, 5, [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  ]],
];
// [first size, second size, consistency proof]
const CONSISTENCY: [number, number, string[]][] = [
  [1, 1, []],
  [1, 8, [
    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
  ]],
  [6, 8, [
    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  ]],
  [2, 5, [
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  ]],
];

const hex = (bytes: Uint8Array): string => bytesToHex(bytes);
const root = (size: number): Uint8Array => hexToBytes(ROOTS[size] as string);

/** The same bytes with one bit flipped. */
function flip(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  const at = Math.floor(bit / 8) % copy.length;
  copy[at] = (copy[at] as number) ^ (1 << bit % 8);
  return copy;
}

describe("RFC 6962 reference vectors", () => {
  it("every prefix of the eight leaves has the published root, from the full tree and the compact one", () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
    let compact = EMPTY_COMPACT_TREE;
    expect(hex(compactRoot(compact))).toBe(ROOTS[0]);
    for (let n = 1; n <= 8; n++) {
      compact = appendLeaf(compact, LEAVES[n - 1] as Uint8Array);
      expect(hex(rootOf(LEAVES.slice(0, n)))).toBe(ROOTS[n]);
      expect(hex(compactRoot(compact))).toBe(ROOTS[n]);
    }
  });

  it.each(INCLUSION)("audit path of leaf %i in a tree of %i", (index, size, expected) => {
    const proof = inclusionProof(LEAVES, index, size);
    expect(proof.map(hex)).toEqual(expected);
    expect(verifyInclusion(LEAVES[index] as Uint8Array, index, size, proof, root(size))).toBe(true);
    expect(verifyInclusion(LEAVES[index] as Uint8Array, index, size, proof, root(size - 1 || 2))).toBe(false);
  });

  it.each(CONSISTENCY)("consistency proof from %i to %i", (first, second, expected) => {
    const proof = consistencyProof(LEAVES, first, second);
    expect(proof.map(hex)).toEqual(expected);
    expect(verifyConsistency(first, second, proof, root(first), root(second))).toBe(true);
  });
});

describe("proof requests outside the tree", () => {
  it("are refused with BAD_PROOF_REQUEST", () => {
    const cases: [() => unknown, string][] = [
      [() => inclusionProof(LEAVES, 8, 8), "index = size"],
      [() => inclusionProof(LEAVES, 0, 9), "size beyond the log"],
      [() => inclusionProof(LEAVES, -1, 4), "negative index"],
      [() => inclusionProof([], 0, 0), "empty tree"],
      [() => consistencyProof(LEAVES, 0, 4), "from the empty tree"],
      [() => consistencyProof(LEAVES, 5, 4), "shrinking"],
      [() => consistencyProof(LEAVES, 4, 9), "beyond the log"],
      [() => consistencyProof(LEAVES, 1.5, 4), "not an integer"],
    ];
    for (const [call, why] of cases) {
      expect(() => call(), why).toThrow(expect.objectContaining({ code: "BAD_PROOF_REQUEST" }));
      try {
        call();
      } catch (error) {
        expect(isTradingError(error, "BAD_PROOF_REQUEST"), why).toBe(true);
      }
    }
  });

  it("a compact tree whose edge does not match its size, or a leaf hash of the wrong length, is MALFORMED", () => {
    const three = compactTreeOf(LEAVES.slice(0, 3));
    expect(three.edge).toHaveLength(2);
    for (const [tree, leaf] of [
      [{ size: 3, edge: three.edge.slice(0, 1) }, LEAVES[3]],
      [{ size: 4, edge: three.edge }, LEAVES[3]],
      [three, (LEAVES[3] as Uint8Array).subarray(1)],
    ] as const) {
      expect(() => appendLeaf(tree, leaf as Uint8Array)).toThrow(expect.objectContaining({ code: "MALFORMED" }));
    }
  });

  it("verifiers answer false, never throw, on nonsense", () => {
    const leaf = LEAVES[0] as Uint8Array;
    expect(verifyInclusion(leaf, 0, 0, [], root(1))).toBe(false);
    expect(verifyInclusion(leaf, 1, 1, [], root(1))).toBe(false);
    expect(verifyInclusion(leaf.subarray(1), 0, 1, [], root(1))).toBe(false);
    expect(verifyInclusion(leaf, 0, 1, [], root(1))).toBe(true);
    // A proof with an extra node, or longer than any real one, is refused.
    expect(verifyInclusion(leaf, 0, 1, [leaf], root(1))).toBe(false);
    expect(verifyInclusion(leaf, 0, 8, Array(MAX_PROOF_LENGTH + 1).fill(leaf), root(8))).toBe(false);
    expect(verifyConsistency(2, 1, [], root(2), root(1))).toBe(false);
    expect(verifyConsistency(0, 3, [], EMPTY_ROOT, root(3))).toBe(true);
    expect(verifyConsistency(0, 3, [leaf], EMPTY_ROOT, root(3))).toBe(false);
    expect(verifyConsistency(3, 3, [], root(3), root(3))).toBe(true);
    expect(verifyConsistency(3, 3, [], root(3), root(4))).toBe(false);
    expect(verifyConsistency(4, 8, [], root(4), root(8))).toBe(false);
  });
});

// Trees of up to 70 distinct leaves: every shape of the recursion (powers of two, one past, ragged
// edges). Distinct, because a proof for one leaf is also a proof for an equal leaf at another index.
const leavesArb = fc
  .uniqueArray(fc.uint8Array({ maxLength: 12 }), { minLength: 1, maxLength: 70, selector: (data) => bytesToHex(data) })
  .map((data) => data.map(leafHash));

describe("properties", () => {
  it("the compact tree's root equals the full tree's after every append", () => {
    fc.assert(
      fc.property(leavesArb, (leaves) => {
        let compact = EMPTY_COMPACT_TREE;
        leaves.forEach((leaf, i) => {
          compact = appendLeaf(compact, leaf);
          expect(compact.size).toBe(i + 1);
          expect(hex(compactRoot(compact))).toBe(hex(rootOf(leaves.slice(0, i + 1))));
        });
        expect(hex(compactRoot(compactTreeOf(leaves)))).toBe(hex(compactRoot(compact)));
      }),
    );
  });

  it("every inclusion proof verifies; a flipped bit in the leaf, the proof or the root, or another index, fails", () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, bit) => {
        const size = 1 + (a % leaves.length);
        const index = b % size;
        const treeRoot = rootOf(leaves.slice(0, size));
        const leaf = leaves[index] as Uint8Array;
        const proof = inclusionProof(leaves, index, size);
        expect(verifyInclusion(leaf, index, size, proof, treeRoot)).toBe(true);
        expect(verifyInclusion(flip(leaf, bit), index, size, proof, treeRoot)).toBe(false);
        expect(verifyInclusion(leaf, index, size, proof, flip(treeRoot, bit))).toBe(false);
        if (proof.length > 0) {
          const at = bit % proof.length;
          const tampered = proof.map((p, i) => (i === at ? flip(p, bit >> 3) : p));
          expect(verifyInclusion(leaf, index, size, tampered, treeRoot)).toBe(false);
          expect(verifyInclusion(leaf, index, size, proof.slice(0, -1), treeRoot)).toBe(false);
        }
        if (size > 1) expect(verifyInclusion(leaf, (index + 1) % size, size, proof, treeRoot)).toBe(false);
      }),
    );
  });

  it("every consistency proof verifies; a flipped bit in either root or the proof fails", () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), fc.nat(), (leaves, a, b, bit) => {
        const second = 1 + (a % leaves.length);
        const first = 1 + (b % second);
        const firstRoot = rootOf(leaves.slice(0, first));
        const secondRoot = rootOf(leaves.slice(0, second));
        const proof = consistencyProof(leaves, first, second);
        expect(verifyConsistency(first, second, proof, firstRoot, secondRoot)).toBe(true);
        expect(verifyConsistency(first, second, proof, flip(firstRoot, bit), secondRoot)).toBe(false);
        expect(verifyConsistency(first, second, proof, firstRoot, flip(secondRoot, bit))).toBe(false);
        if (proof.length > 0) {
          const at = bit % proof.length;
          const tampered = proof.map((p, i) => (i === at ? flip(p, bit >> 3) : p));
          expect(verifyConsistency(first, second, tampered, firstRoot, secondRoot)).toBe(false);
        }
      }),
    );
  });

  it("a tree that rewrote an old leaf is not consistent with its earlier root", () => {
    fc.assert(
      fc.property(leavesArb, fc.nat(), fc.nat(), (leaves, a, b) => {
        fc.pre(leaves.length >= 2);
        const first = 1 + (a % (leaves.length - 1));
        const rewritten = leaves.slice();
        rewritten[b % first] = leafHash(new Uint8Array([0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7, 0xf6, 0xf5, 0xf4, 0xf3]));
        const proof = consistencyProof(rewritten, first, leaves.length);
        expect(verifyConsistency(first, leaves.length, proof, rootOf(leaves.slice(0, first)), rootOf(rewritten))).toBe(false);
      }),
    );
  });
});
