// The generated Keccak-256 of the state digest against @noble/hashes: every length across block
// boundaries, random contents, and the well-known empty-input hash.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { keccak256Of } from "../../client/protocol/keccak.js";

describe("keccak256Of", () => {
  it("hashes the empty input and a short string as Ethereum does", () => {
    expect(bytesToHex(keccak256Of(new Uint8Array(0)))).toBe("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect(bytesToHex(keccak256Of(utf8ToBytes("hello")))).toBe("1c8aff950685c2ed4bc3174f3472287b56d9517b9c948127319a09a7a36deac8");
  });

  it("equals @noble/hashes for every length from 0 to 3 blocks and beyond", () => {
    for (let length = 0; length <= 420; length++) {
      const data = Uint8Array.from({ length }, (_, i) => (i * 131 + length * 7 + 255) & 0xff);
      expect(bytesToHex(keccak256Of(data)), `length ${length}`).toBe(bytesToHex(keccak_256(data)));
    }
  });

  it("equals @noble/hashes on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1_000 }), (data) => {
        expect(bytesToHex(keccak256Of(data))).toBe(bytesToHex(keccak_256(data)));
      }),
      { numRuns: 500 },
    );
  });

  it("returns a fresh array each time (the sponge state is reused, the hash is not)", () => {
    const first = keccak256Of(utf8ToBytes("a"));
    const copy = Uint8Array.from(first);
    keccak256Of(utf8ToBytes("b"));
    expect(first).toEqual(copy);
  });
});
