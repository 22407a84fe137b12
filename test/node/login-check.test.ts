// The node's login check (channel-node/src/login-check.ts) against the ethers recovery it replaced:
// for canonical signatures (65 bytes, v 27/28, low s) it accepts exactly what ethers accepted, with the
// noble and the native verifier alike; the non-canonical forms ethers normalised (v 0/1, EIP-155 v ≥ 35)
// and high s are refused with BAD_SIGNATURE. Plus the per-address login buckets (rate-limit.ts).
import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { SigningKey, computeAddress, getAddress, hexlify, recoverAddress } from "ethers";
import { checkLogin, isLoginError, type LoginErrorCode } from "../../channel-node/src/login-check.js";
import { KeyedTokenBuckets } from "../../channel-node/src/rate-limit.js";
import { loginDigest, type SessionChallenge } from "../../client/protocol/session.js";
import { loadVerifier, nobleVerifier, type Verifier } from "../../client/protocol/signing.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (value: bigint): string => value.toString(16).padStart(64, "0");

const secretKey = fc.bigInt({ min: 1n, max: N - 1n }).map((k) => `0x${word(k)}`);
const bytes = (length: number) => fc.uint8Array({ minLength: length, maxLength: length }).map((b) => hexlify(b));
const challenge = fc.record({ venue: bytes(20).map(getAddress), chainId: fc.bigInt({ min: 1n, max: 2n ** 64n - 1n }), adjudicator: bytes(20).map(getAddress), nonce: bytes(32) }).map(
  ({ venue, chainId, adjudicator, nonce }): SessionChallenge => ({ venue, deployment: { chainId, adjudicator }, nonce }),
);

/** The check the node used before: ethers' pure-JS recovery. */
function ethersAccepts(c: SessionChallenge, claimed: string, signature: string): boolean {
  try {
    return recoverAddress(loginDigest(c), signature) === claimed;
  } catch {
    return false;
  }
}

/** The new check's verdict: "ok" or the LoginError code. */
function verdict(verifier: Verifier, c: SessionChallenge, claimed: string, signature: string): "ok" | LoginErrorCode {
  try {
    checkLogin(verifier, c, claimed, signature);
    return "ok";
  } catch (error) {
    if (!isLoginError(error)) throw error;
    return error.code;
  }
}

/** r, s and v of a 65-byte hex signature, and back. */
const split = (signature: string) => ({ r: BigInt(signature.slice(0, 66)), s: BigInt(`0x${signature.slice(66, 130)}`), v: Number.parseInt(signature.slice(130), 16) });
const join = (r: bigint, s: bigint, v: number): string => `0x${word(r)}${word(s)}${v.toString(16).padStart(2, "0")}`;

describe("login check", () => {
  const verifiers: Verifier[] = [nobleVerifier];
  beforeAll(async () => {
    const native = await loadVerifier();
    // The node's verifier: the test must cover the native one where the binding loads (it does here).
    expect(native.implementation).toBe("native");
    verifiers.push(native);
  });

  it("accepts exactly what ethers accepted for canonical signatures: the own key, another claimed address, tampered r or s", () => {
    fc.assert(
      fc.property(secretKey, secretKey, challenge, fc.bigInt({ min: 1n, max: N - 1n }), fc.bigInt({ min: 1n, max: N >> 1n }), (key, otherKey, c, r2, s2) => {
        const signature = new SigningKey(key).sign(loginDigest(c)).serialized;
        const own = computeAddress(key);
        const other = computeAddress(otherKey);
        const { r, s, v } = split(signature);
        const cases: [string, string][] = [
          [own, signature],
          [own.toLowerCase(), signature],
          [other, signature],
          [own, join(r2, s, v)],
          [own, join(r, s2, v)],
          [own, join(r, s, 55 - v)],
        ];
        for (const verifier of verifiers) {
          for (const [claimed, sig] of cases) {
            const old = ethersAccepts(c, getAddress(claimed), sig);
            const now = verdict(verifier, c, claimed, sig);
            expect(now === "ok", `${verifier.implementation} ${claimed} ${sig}`).toBe(old);
          }
          expect(verdict(verifier, c, own, signature)).toBe("ok");
          if (other !== own) expect(verdict(verifier, c, other, signature)).toBe("WRONG_SIGNER");
        }
      }),
      { numRuns: 60 },
    );
  });

  it("refuses v 0/1, EIP-155 v ≥ 35 and high s with BAD_SIGNATURE, though ethers took v 0/1 and v ≥ 35", () => {
    fc.assert(
      // v is one byte: EIP-155 v = 2·chainId + 35 + recovery fits for chain ids up to 109.
      fc.property(secretKey, challenge, fc.integer({ min: 0, max: 109 }), (key, c, chainId) => {
        const signature = new SigningKey(key).sign(loginDigest(c)).serialized;
        const own = computeAddress(key);
        const { r, s, v } = split(signature);
        const recovery = v - 27;
        const v01 = join(r, s, recovery);
        const eip155 = join(r, s, chainId * 2 + 35 + recovery);
        const highS = join(r, N - s, 55 - v);
        expect(ethersAccepts(c, own, v01)).toBe(true);
        for (const verifier of verifiers) {
          for (const sig of [v01, eip155, highS, `${signature.slice(0, 130)}`, `${signature}00`, join(0n, s, v), join(N, s, v), join(r, 0n, v)]) {
            expect(verdict(verifier, c, own, sig), `${verifier.implementation} ${sig}`).toBe("BAD_SIGNATURE");
          }
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe("login buckets per remote address", () => {
  it("refuses past the burst, refills at the rate, and keeps one address's bucket from another's", () => {
    const buckets = new KeyedTokenBuckets({ perSecond: 2, burst: 3, maxKeys: 10 });
    expect([1, 2, 3, 4].map(() => buckets.take("a", 0))).toEqual([true, true, true, false]);
    expect(buckets.take("b", 0)).toBe(true);
    expect(buckets.take("a", 499)).toBe(false);
    expect(buckets.take("a", 999)).toBe(true); // 2/s: ~2 tokens after 999 ms
    expect(buckets.take("a", 999)).toBe(false);
  });

  it("remembers at most maxKeys addresses, forgetting the least recently used", () => {
    const buckets = new KeyedTokenBuckets({ perSecond: 1, burst: 1, maxKeys: 2 });
    expect(buckets.take("a", 0)).toBe(true);
    expect(buckets.take("b", 0)).toBe(true);
    expect(buckets.take("a", 0)).toBe(false); // a is now the most recently used
    expect(buckets.take("c", 0)).toBe(true); // forgets b
    expect(buckets.size).toBe(2);
    expect(buckets.take("a", 0)).toBe(false); // a still remembered, still empty
    expect(buckets.take("b", 0)).toBe(true); // b forgotten: a full bucket again
  });
});
