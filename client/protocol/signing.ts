/**
 * secp256k1 ECDSA over EIP-712 digests, behind one interface with two interchangeable backends:
 *
 * - `NobleSigner`: @noble/secp256k1, the reference and the client's default (pure JS, audited lineage).
 * - `NativeSigner`: libsecp256k1 through the npm `secp256k1` binding, ~8× faster to sign and ~50×
 *   faster to verify; the node's choice when the prebuilt binary loads.
 *
 * Both sign deterministically (RFC 6979, no extra entropy) and normalise to low-s, so they produce
 * byte-identical signatures (a test checks it). Signatures are 65 bytes `r‖s‖v` with v ∈ {27, 28},
 * the form `ecrecover`, OpenZeppelin's ECDSA and ethers expect. Recovery rejects anything else
 * (wrong length, v, zero or out-of-range r/s, high s) with BAD_SIGNATURE, as the adjudicator does.
 */
import { getAddress } from "ethers";
import * as noble from "@noble/secp256k1";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { ProtocolError } from "./errors.js";
import type { Address, Bytes32, SignatureHex } from "./types.js";

// noble v3 ships without hash functions; its synchronous API needs these (RFC 6979 uses HMAC-SHA256).
noble.hashes.sha256 = sha256;
noble.hashes.hmacSha256 = (key, message) => hmac(sha256, key, message);

/** A 32-byte digest: 0x-hex or bytes. */
export type DigestLike = Bytes32 | Uint8Array;
/** A 65-byte `r‖s‖v` signature: 0x-hex or bytes. */
export type SignatureLike = SignatureHex | Uint8Array;

export type SignerImplementation = "noble" | "native";

/** Recovers and checks signers of digests; needs no key. */
export interface Verifier {
  readonly implementation: SignerImplementation;
  /** The address that produced `signature` over `digest`; BAD_SIGNATURE if it is not a valid low-s signature. */
  recover(digest: DigestLike, signature: SignatureLike): Address;
  /** Whether `signature` is a valid low-s signature of `digest` by `expected`; never throws on bad input. */
  verify(digest: DigestLike, signature: SignatureLike, expected: Address): boolean;
}

/** A key that signs state digests, plus the verifier of the same implementation. */
export interface Signer extends Verifier {
  readonly address: Address;
  sign(digest: DigestLike): SignatureHex;
}

/** The curve operations a backend provides; keys and digests are raw bytes here. */
interface Secp256k1Backend {
  readonly implementation: SignerImplementation;
  /** 65-byte uncompressed public key. */
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** Deterministic (RFC 6979) low-s signature: 64-byte `r‖s` and the recovery id. */
  sign(digest: Uint8Array, secretKey: Uint8Array): { compact: Uint8Array; recovery: number };
  /** 65-byte uncompressed public key, or null when no key matches. */
  recover(digest: Uint8Array, compact: Uint8Array, recovery: number): Uint8Array | null;
}

const CURVE_ORDER = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const CURVE_ORDER_BYTES = hexToBytes(CURVE_ORDER.toString(16));
const HALF_CURVE_ORDER_BYTES = hexToBytes((CURVE_ORDER >> 1n).toString(16).padStart(64, "0"));

const nobleBackend: Secp256k1Backend = {
  implementation: "noble",
  publicKey: (secretKey) => noble.getPublicKey(secretKey, false),
  sign(digest, secretKey) {
    // format "recovered" is `recovery‖r‖s`.
    const recovered = noble.sign(digest, secretKey, { prehash: false, lowS: true, format: "recovered" });
    return { compact: recovered.subarray(1), recovery: recovered[0] ?? -1 };
  },
  recover(digest, compact, recovery) {
    const recovered = new Uint8Array(65);
    recovered[0] = recovery;
    recovered.set(compact, 1);
    try {
      return noble.recoverPublicKey(recovered, digest, { prehash: false, isCompressed: false });
    } catch {
      return null;
    }
  },
};

async function loadNativeBackend(): Promise<Secp256k1Backend> {
  const { default: native } = await import("secp256k1/bindings.js");
  return {
    implementation: "native",
    publicKey: (secretKey) => native.publicKeyCreate(secretKey, false),
    sign(digest, secretKey) {
      const { signature, recid } = native.ecdsaSign(digest, secretKey);
      return { compact: signature, recovery: recid };
    },
    recover(digest, compact, recovery) {
      try {
        return native.ecdsaRecover(compact, recovery, digest, false);
      } catch {
        return null;
      }
    },
  };
}

let nativeBackend: Promise<Secp256k1Backend> | undefined;

/** The libsecp256k1 backend, loaded once; rejects when the prebuilt binding cannot load here. */
function nativeBackendOnce(): Promise<Secp256k1Backend> {
  nativeBackend ??= loadNativeBackend();
  return nativeBackend;
}

function toBytes(value: string | Uint8Array, length: number, what: string): Uint8Array {
  if (value instanceof Uint8Array) {
    if (value.length === length) return value;
  } else if (value.length === 2 + 2 * length && /^0x[0-9a-fA-F]*$/.test(value)) {
    return hexToBytes(value.slice(2));
  }
  throw new ProtocolError(what === "signature" ? "BAD_SIGNATURE" : "MALFORMED", `${what} must be ${length} bytes`);
}

function addressBytesOf(publicKey: Uint8Array): Uint8Array {
  return keccak_256(publicKey.subarray(1)).subarray(12);
}

/** Lexicographic comparison of equal-length byte strings (big-endian numbers). */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] as number) - (b[i] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

const isZero = (bytes: Uint8Array): boolean => bytes.every((byte) => byte === 0);

/** Splits and checks a 65-byte signature as the adjudicator's ECDSA.tryRecover does. */
function parseSignature(signature: SignatureLike): { compact: Uint8Array; recovery: number } | null {
  let bytes: Uint8Array;
  try {
    bytes = toBytes(signature, 65, "signature");
  } catch {
    return null;
  }
  const v = bytes[64];
  if (v !== 27 && v !== 28) return null;
  const r = bytes.subarray(0, 32);
  const s = bytes.subarray(32, 64);
  if (isZero(r) || compareBytes(r, CURVE_ORDER_BYTES) >= 0 || isZero(s) || compareBytes(s, HALF_CURVE_ORDER_BYTES) > 0) return null;
  return { compact: bytes.subarray(0, 64), recovery: v - 27 };
}

/** The uncompressed public key that produced a valid low-s signature, else null. */
function recoverPublicKey(backend: Secp256k1Backend, digest: DigestLike, signature: SignatureLike): Uint8Array | null {
  const parsed = parseSignature(signature);
  return parsed === null ? null : backend.recover(toBytes(digest, 32, "digest"), parsed.compact, parsed.recovery);
}

/** Bound on the public keys a verifier remembers; a node sees one key per investor. */
const KNOWN_KEYS_LIMIT = 65_536;

class BackendVerifier implements Verifier {
  /**
   * Public keys of addresses that signed before (lowercase address → key). Verifying against a
   * remembered key compares 65 bytes instead of hashing the recovered key: the hot path of a node
   * that hears from the same investors over and over. Recovery itself stays, because it is what
   * checks v (a known key alone would accept a flipped v that `ecrecover` refuses).
   */
  private readonly knownKeys = new Map<string, Uint8Array>();

  constructor(protected readonly backend: Secp256k1Backend) {}

  get implementation(): SignerImplementation {
    return this.backend.implementation;
  }

  recover(digest: DigestLike, signature: SignatureLike): Address {
    const publicKey = recoverPublicKey(this.backend, digest, signature);
    if (publicKey === null) throw new ProtocolError("BAD_SIGNATURE", "not a valid low-s secp256k1 signature");
    return getAddress(`0x${bytesToHex(addressBytesOf(publicKey))}`);
  }

  verify(digest: DigestLike, signature: SignatureLike, expected: Address): boolean {
    let publicKey: Uint8Array | null;
    try {
      publicKey = recoverPublicKey(this.backend, digest, signature);
    } catch {
      return false;
    }
    if (publicKey === null) return false;
    const key = expected.toLowerCase();
    const known = this.knownKeys.get(key);
    if (known !== undefined) return compareBytes(known, publicKey) === 0;
    const matches = `0x${bytesToHex(addressBytesOf(publicKey))}` === key;
    if (matches) {
      if (this.knownKeys.size >= KNOWN_KEYS_LIMIT) this.knownKeys.clear();
      this.knownKeys.set(key, Uint8Array.from(publicKey));
    }
    return matches;
  }
}

class BackendSigner extends BackendVerifier implements Signer {
  readonly address: Address;
  readonly #secretKey: Uint8Array;

  constructor(backend: Secp256k1Backend, secretKey: Bytes32 | Uint8Array) {
    super(backend);
    const key = toBytes(secretKey, 32, "secret key");
    if (!noble.utils.isValidSecretKey(key)) throw new ProtocolError("MALFORMED", "secret key is not in 1..n-1");
    this.#secretKey = Uint8Array.from(key);
    this.address = getAddress(`0x${bytesToHex(addressBytesOf(backend.publicKey(this.#secretKey)))}`);
  }

  sign(digest: DigestLike): SignatureHex {
    const { compact, recovery } = this.backend.sign(toBytes(digest, 32, "digest"), this.#secretKey);
    // Recovery ids 2 and 3 (r ≥ n) occur with probability ~2^-127 and cannot be expressed as v = 27/28.
    if (recovery !== 0 && recovery !== 1) throw new ProtocolError("BAD_SIGNATURE", "signature has no 27/28 recovery id");
    return `0x${bytesToHex(compact)}${recovery === 0 ? "1b" : "1c"}`;
  }
}

/** The reference signer: @noble/secp256k1. */
export class NobleSigner extends BackendSigner {
  constructor(secretKey: Bytes32 | Uint8Array) {
    super(nobleBackend, secretKey);
  }
}

/** libsecp256k1 through the npm `secp256k1` binding; create it with `NativeSigner.create`. */
export class NativeSigner extends BackendSigner {
  private constructor(backend: Secp256k1Backend, secretKey: Bytes32 | Uint8Array) {
    super(backend, secretKey);
  }

  /** Rejects when the native binding cannot be loaded on this platform. */
  static async create(secretKey: Bytes32 | Uint8Array): Promise<NativeSigner> {
    return new NativeSigner(await nativeBackendOnce(), secretKey);
  }
}

/** Recovers with @noble/secp256k1. */
export const nobleVerifier: Verifier = new BackendVerifier(nobleBackend);

/** Whether the native libsecp256k1 binding loads here. */
export async function isNativeAvailable(): Promise<boolean> {
  try {
    await nativeBackendOnce();
    return true;
  } catch {
    return false;
  }
}

/** The fastest verifier available: native when its binding loads, else noble. */
export async function loadVerifier(): Promise<Verifier> {
  return (await isNativeAvailable()) ? new BackendVerifier(await nativeBackendOnce()) : nobleVerifier;
}

/**
 * A signer of the preferred implementation. "native" (the default) falls back to noble when the
 * binding cannot load, so callers never depend on a native build being present.
 */
export async function createSigner(
  secretKey: Bytes32 | Uint8Array,
  preferred: SignerImplementation = "native",
): Promise<Signer> {
  if (preferred === "native" && (await isNativeAvailable())) return NativeSigner.create(secretKey);
  return new NobleSigner(secretKey);
}
