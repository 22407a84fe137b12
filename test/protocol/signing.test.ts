import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { SigningKey, Wallet, computeAddress, verifyTypedData } from "ethers";
import {
  NativeSigner,
  NobleSigner,
  STATE_EIP712_TYPES,
  createSigner,
  isNativeAvailable,
  isProtocolError,
  loadVerifier,
  nobleVerifier,
  stateDigest,
  typedStateOf,
  type SignatureHex,
  type Signer,
} from "../../client/protocol/index.js";
import * as arb from "./arbitraries.js";

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

function sOf(signature: SignatureHex): bigint {
  return BigInt(`0x${signature.slice(66, 130)}`);
}

/** The same signature with s' = n − s and v flipped: valid for plain ECDSA, refused by EIP-2. */
function highS(signature: SignatureHex): SignatureHex {
  const s = (CURVE_ORDER - sOf(signature)).toString(16).padStart(64, "0");
  const v = signature.endsWith("1b") ? "1c" : "1b";
  return `${signature.slice(0, 66)}${s}${v}`;
}

const digest = `0x${"5a".repeat(32)}`;
const key = `0x${"01".repeat(32)}`;

describe("signers", () => {
  beforeAll(async () => {
    // The prebuilt libsecp256k1 binding ships for linux-x64; this machine and CI are linux-x64.
    expect(await isNativeAvailable()).toBe(true);
  });

  it("NobleSigner and NativeSigner sign byte-identically (RFC 6979), as ethers does, low-s, v ∈ {27, 28}", async () => {
    await fc.assert(
      fc.asyncProperty(arb.secretKey, arb.bytes32, async (secretKey, digest) => {
        const noble = new NobleSigner(secretKey);
        const native = await NativeSigner.create(secretKey);
        const signature = noble.sign(digest);
        expect(native.sign(digest)).toBe(signature);
        expect(new SigningKey(secretKey).sign(digest).serialized).toBe(signature);
        expect(sOf(signature) <= CURVE_ORDER / 2n).toBe(true);
        expect(["1b", "1c"]).toContain(signature.slice(130));
        expect(noble.address).toBe(computeAddress(secretKey));
        expect(native.address).toBe(noble.address);
      }),
      { numRuns: 200 },
    );
  });

  it("both recover the signer and verify each other's signatures", async () => {
    await fc.assert(
      fc.asyncProperty(arb.secretKey, arb.bytes32, async (secretKey, digest) => {
        const signers: Signer[] = [new NobleSigner(secretKey), await NativeSigner.create(secretKey)];
        for (const signer of signers) {
          const signature = signer.sign(digest);
          for (const verifier of signers) {
            expect(verifier.recover(digest, signature)).toBe(signer.address);
            expect(verifier.verify(digest, signature, signer.address)).toBe(true);
            expect(verifier.verify(digest, signature, signer.address.toLowerCase())).toBe(true);
          }
        }
      }),
      { numRuns: 50 },
    );
  });

  it("produce state signatures that ethers.verifyTypedData accepts", async () => {
    await fc.assert(
      fc.asyncProperty(arb.secretKey, arb.state, arb.domain, async (secretKey, state, domain) => {
        const digest = stateDigest(state, domain);
        for (const signer of [new NobleSigner(secretKey), await NativeSigner.create(secretKey)]) {
          expect(verifyTypedData(domain, STATE_EIP712_TYPES, typedStateOf(state), signer.sign(digest))).toBe(signer.address);
        }
      }),
      { numRuns: 50 },
    );
  });

  it("accept digests and signatures as bytes as well as hex", async () => {
    const native = await NativeSigner.create(key);
    const bytes = Uint8Array.from(Buffer.from(digest.slice(2), "hex"));
    const signature = native.sign(bytes);
    expect(signature).toBe(native.sign(digest));
    expect(nobleVerifier.recover(bytes, Uint8Array.from(Buffer.from(signature.slice(2), "hex")))).toBe(native.address);
  });

  describe("refuse what the adjudicator refuses", () => {
    const signer = new NobleSigner(key);
    const signature = signer.sign(digest);
    const bothVerifiers = async () => [nobleVerifier, await loadVerifier()];
    const bad: [string, SignatureHex][] = [
      ["a high-s signature", highS(signature)],
      ["v = 29", `${signature.slice(0, 130)}1d`],
      ["v = 0", `${signature.slice(0, 130)}00`],
      ["r = 0", `0x${"00".repeat(32)}${signature.slice(66)}`],
      ["s = 0", `${signature.slice(0, 66)}${"00".repeat(32)}${signature.slice(130)}`],
      ["r ≥ n", `0x${"ff".repeat(32)}${signature.slice(66)}`],
      ["64 bytes", signature.slice(0, 130)],
      ["not hex", `0x${"zz".repeat(65)}`],
    ];
    it.each(bad)("%s: recover throws BAD_SIGNATURE, verify is false", async (_, signature) => {
      for (const verifier of await bothVerifiers()) {
        expect(() => verifier.recover(digest, signature)).toThrow(expect.objectContaining({ code: "BAD_SIGNATURE" }));
        expect(verifier.verify(digest, signature, signer.address)).toBe(false);
      }
    });

    it("verify is false for another signer or another digest", async () => {
      for (const verifier of await bothVerifiers()) {
        expect(verifier.verify(digest, signature, Wallet.createRandom().address)).toBe(false);
        expect(verifier.verify(`0x${"5b".repeat(32)}`, signature, signer.address)).toBe(false);
        expect(verifier.verify("0x1234", signature, signer.address)).toBe(false);
      }
    });
  });

  it("a remembered public key never lets a flipped v or another key's signature through", async () => {
    const signer = new NobleSigner(key);
    const other = new NobleSigner(`0x${"02".repeat(32)}`);
    for (const verifier of [nobleVerifier, await loadVerifier()]) {
      const signature = signer.sign(digest);
      expect(verifier.verify(digest, signature, signer.address)).toBe(true); // now remembered
      const flipped = `${signature.slice(0, 130)}${signature.endsWith("1b") ? "1c" : "1b"}`;
      expect(verifier.verify(digest, flipped, signer.address)).toBe(false);
      expect(verifier.verify(digest, other.sign(digest), signer.address)).toBe(false);
      expect(verifier.verify(`0x${"5c".repeat(32)}`, signature, signer.address)).toBe(false);
      expect(verifier.verify(digest, signature, signer.address)).toBe(true);
    }
  });

  it("refuse invalid secret keys with MALFORMED", async () => {
    for (const bad of [`0x${"00".repeat(32)}`, `0x${CURVE_ORDER.toString(16)}`, "0x1234"]) {
      expect(() => new NobleSigner(bad)).toThrow(expect.objectContaining({ code: "MALFORMED" }));
      await expect(NativeSigner.create(bad)).rejects.toSatisfy((e) => isProtocolError(e, "MALFORMED"));
    }
  });

  it("createSigner prefers native and honours an explicit noble", async () => {
    expect((await createSigner(key)).implementation).toBe("native");
    expect((await createSigner(key, "noble")).implementation).toBe("noble");
    expect((await loadVerifier()).implementation).toBe("native");
  });
});
