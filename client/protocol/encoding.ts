/**
 * The canonical encoding of docs/protocol.md, shared byte for byte with contracts/Adjudicator.sol:
 * channel id, locks root, EIP-712 domain and state digest; plus range checks matching the Solidity
 * types and the JSON form of states (bigints as decimal strings) used on the wire and in stores.
 *
 * `stateDigest` is hand-rolled over precomputed type hashes (and keccak.ts) because it is on the hot path of every
 * update; tests check it against ethers' `TypedDataEncoder.hash` and the contract's `stateDigest`.
 */
import { AbiCoder, ZeroAddress, ZeroHash, keccak256 } from "ethers";
import { keccak256Of } from "./keccak.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { z } from "zod";
import { ProtocolError } from "./errors.js";
import { checksumAddress } from "./address.js";
import {
  INT128_MAX,
  INT128_MIN,
  MAX_ASSETS,
  MAX_CHALLENGE_PERIOD,
  MAX_LOCKS,
  MIN_CHALLENGE_PERIOD,
  UINT128_MAX,
  UINT64_MAX,
  type Address,
  type Allocation,
  type Bytes32,
  type Deployment,
  type Eip712Domain,
  type Lock,
  type Params,
  type SignedState,
  type State,
} from "./types.js";

// ---------------------------------------------------------------------------------------------
// Channel id, locks root, hashlock
// ---------------------------------------------------------------------------------------------

const abi = AbiCoder.defaultAbiCoder();
const PARAMS_TUPLE = "tuple(address[2],address[],uint64,bytes32)";

/** `keccak256(abi.encode(block.chainid, address(adjudicator), params))`, as `Adjudicator.channelIdOf`. */
export function channelIdOf(params: Params, chainId: bigint, adjudicator: Address): Bytes32 {
  return keccak256(
    abi.encode(
      ["uint256", "address", PARAMS_TUPLE],
      [chainId, adjudicator, [params.participants, params.assets, params.challengePeriod, params.salt]],
    ),
  );
}

/**
 * Zero for no locks, else `keccak256(abi.encode(Lock[]))`, as `Adjudicator.locksRootOf`. Zero is the
 * one canonical root of the empty list (the adjudicator also accepts `keccak256(abi.encode([]))` for
 * an empty list, so a state signed with it still settles); at most MAX_LOCKS locks.
 */
export function locksRootOf(locks: readonly Lock[]): Bytes32 {
  if (locks.length === 0) return ZeroHash;
  if (locks.length > MAX_LOCKS) {
    throw new ProtocolError("LOCK_LIMIT", `${locks.length} locks exceed the limit of ${MAX_LOCKS}`, { count: locks.length });
  }
  // abi.encode of a dynamic array of static tuples, written directly (ethers' AbiCoder took a fifth of
  // a node's time settling fills): offset 0x20, length, then five words per lock.
  const words = new Uint8Array(64 + 160 * locks.length);
  words[31] = 0x20;
  words[63] = locks.length;
  locks.forEach((lock, i) => {
    checkLockBounds(lock, `locks[${i}]`);
    if (lock.sender !== 0 && lock.sender !== 1) throw new ProtocolError("OUT_OF_RANGE", `locks[${i}].sender must be 0 or 1`);
    if (!/^0x[0-9a-fA-F]{64}$/.test(lock.hashlock)) throw new ProtocolError("MALFORMED", `locks[${i}].hashlock must be 32 bytes of hex`);
    const at = 64 + 160 * i;
    words[at + 31] = lock.assetIndex;
    words[at + 63] = lock.sender;
    putWord(words, at + 64, lock.amount);
    putHex(words, at + 96, lock.hashlock);
    putWord(words, at + 128, lock.expiry);
  });
  return `0x${bytesToHex(keccak256Of(words))}`;
}

/** The hashlock of a 32-byte secret: `keccak256(abi.encode(secret))`, as `Adjudicator.revealSecret`. */
export function hashlockOf(secret: Bytes32): Bytes32 {
  return keccak256(secret);
}

/** Throws INVALID_PARAMS for parameters the adjudicator's `open` would refuse. */
export function validateParams(params: Params): void {
  const [p0, p1] = params.participants;
  const invalid = (why: string): never => {
    throw new ProtocolError("INVALID_PARAMS", why);
  };
  if (p0 === ZeroAddress || p1 === ZeroAddress || p0 === p1) invalid("participants must be two distinct non-zero addresses");
  if (params.assets.length === 0 || params.assets.length > MAX_ASSETS) invalid(`a channel holds 1..${MAX_ASSETS} assets`);
  if (params.assets.includes(ZeroAddress)) invalid("an asset is the zero address");
  if (new Set(params.assets).size !== params.assets.length) invalid("duplicate asset");
  if (params.challengePeriod < MIN_CHALLENGE_PERIOD || params.challengePeriod > MAX_CHALLENGE_PERIOD) {
    invalid(`challenge period must be ${MIN_CHALLENGE_PERIOD}..${MAX_CHALLENGE_PERIOD} seconds`);
  }
}

// ---------------------------------------------------------------------------------------------
// EIP-712
// ---------------------------------------------------------------------------------------------

export const EIP712_NAME = "Clearline Adjudicator";
export const EIP712_VERSION = "1";

/** The EIP-712 types of a state, in the shape ethers' TypedDataEncoder and signTypedData take. */
export const STATE_EIP712_TYPES = {
  State: [
    { name: "channelId", type: "bytes32" },
    { name: "nonce", type: "uint64" },
    { name: "allocations", type: "Allocation[]" },
    { name: "locksRoot", type: "bytes32" },
    { name: "isFinal", type: "bool" },
  ],
  Allocation: [
    { name: "token", type: "address" },
    { name: "net", type: "int256" },
    { name: "withdrawn0", type: "uint256" },
    { name: "withdrawn1", type: "uint256" },
  ],
};

/** The state as the EIP-712 message (and the contract's `State` struct): locks replaced by their root. */
export interface TypedState {
  readonly channelId: Bytes32;
  readonly nonce: bigint;
  readonly allocations: State["allocations"];
  readonly locksRoot: Bytes32;
  readonly isFinal: boolean;
}

export function typedStateOf(state: State): TypedState {
  return {
    channelId: state.channelId,
    nonce: state.nonce,
    allocations: state.allocations,
    locksRoot: locksRootOf(state.locks),
    isFinal: state.isFinal,
  };
}

export function domainOf(deployment: Deployment): Eip712Domain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId: deployment.chainId, verifyingContract: deployment.adjudicator };
}

const DOMAIN_TYPEHASH = keccak256Of(
  utf8ToBytes("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
);
const ALLOCATION_TYPEHASH = keccak256Of(
  utf8ToBytes("Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)"),
);
const STATE_TYPEHASH = keccak256Of(
  utf8ToBytes(
    "State(bytes32 channelId,uint64 nonce,Allocation[] allocations,bytes32 locksRoot,bool isFinal)" +
      "Allocation(address token,int256 net,uint256 withdrawn0,uint256 withdrawn1)",
  ),
);
const TWO_POW_256 = 1n << 256n;

/** Writes `value` (0 ≤ value < 2^256) as a big-endian 32-byte word at `offset`. */
function putWord(buffer: Uint8Array, offset: number, value: bigint): void {
  // Four 64-bit stores: an order of magnitude faster than formatting and parsing hex.
  const view = new DataView(buffer.buffer, buffer.byteOffset + offset, 32);
  view.setBigUint64(24, BigInt.asUintN(64, value));
  view.setBigUint64(16, BigInt.asUintN(64, value >> 64n));
  view.setBigUint64(8, BigInt.asUintN(64, value >> 128n));
  view.setBigUint64(0, BigInt.asUintN(64, value >> 192n));
}

/** Writes a 0x-hex value right-aligned into the 32-byte word at `offset` (addresses, bytes32). */
function putHex(buffer: Uint8Array, offset: number, hex: string): void {
  const bytes = hexToBytes(hex.slice(2));
  buffer.set(bytes, offset + 32 - bytes.length);
}

// Few domains exist per process (one per chain and adjudicator), so memoising them is bounded.
const domainSeparators = new Map<string, Uint8Array>();

/** The EIP-712 domain separator, as `Adjudicator.domainSeparator()`. */
export function domainSeparatorOf(domain: Eip712Domain): Bytes32 {
  return `0x${bytesToHex(domainSeparatorBytes(domain))}`;
}

function domainSeparatorBytes(domain: Eip712Domain): Uint8Array {
  const key = `${domain.name}\u0000${domain.version}\u0000${domain.chainId}\u0000${domain.verifyingContract.toLowerCase()}`;
  let separator = domainSeparators.get(key);
  if (separator === undefined) {
    const words = new Uint8Array(160);
    words.set(DOMAIN_TYPEHASH, 0);
    words.set(keccak256Of(utf8ToBytes(domain.name)), 32);
    words.set(keccak256Of(utf8ToBytes(domain.version)), 64);
    putWord(words, 96, domain.chainId);
    putHex(words, 128, domain.verifyingContract);
    separator = keccak256Of(words);
    domainSeparators.set(key, separator);
  }
  return separator;
}

/**
 * Hashes of recent allocations by content. A payment changes one asset's allocation and repeats the
 * others', so most allocation hashes of the next state were computed for the previous one: a hit
 * saves two keccak-f permutations of the eight a two-asset digest takes. Bounded; the oldest entry
 * goes first.
 */
const ALLOCATION_HASH_CACHE_LIMIT = 4_096;
const allocationHashes = new Map<string, Uint8Array>();

// Scratch buffers of stateDigest: it is synchronous and copies every hash out before returning.
const allocationWords = new Uint8Array(160);
allocationWords.set(ALLOCATION_TYPEHASH, 0);
const stateWords = new Uint8Array(192);
stateWords.set(STATE_TYPEHASH, 0);
const envelope = new Uint8Array(66);
envelope[0] = 0x19;
envelope[1] = 0x01;

function allocationHash(allocation: Allocation): Uint8Array {
  const key = `${allocation.token.toLowerCase()}:${allocation.net}:${allocation.withdrawn0}:${allocation.withdrawn1}`;
  let hash = allocationHashes.get(key);
  if (hash === undefined) {
    putHex(allocationWords, 32, allocation.token);
    putWord(allocationWords, 64, allocation.net < 0n ? TWO_POW_256 + allocation.net : allocation.net);
    putWord(allocationWords, 96, allocation.withdrawn0);
    putWord(allocationWords, 128, allocation.withdrawn1);
    hash = keccak256Of(allocationWords);
    if (allocationHashes.size >= ALLOCATION_HASH_CACHE_LIMIT) allocationHashes.delete(allocationHashes.keys().next().value as string);
    allocationHashes.set(key, hash);
  }
  return hash;
}

/** The EIP-712 digest both participants sign, as `Adjudicator.stateDigest` and `TypedDataEncoder.hash`. */
export function stateDigest(state: State, domain: Eip712Domain): Bytes32 {
  const hashes = new Uint8Array(32 * state.allocations.length);
  for (let i = 0; i < state.allocations.length; i++) hashes.set(allocationHash(state.allocations[i] as Allocation), 32 * i);

  putHex(stateWords, 32, state.channelId);
  putWord(stateWords, 64, state.nonce);
  stateWords.set(keccak256Of(hashes), 96);
  if (state.locks.length === 0) stateWords.fill(0, 128, 160);
  else putHex(stateWords, 128, locksRootOf(state.locks));
  stateWords[191] = state.isFinal ? 1 : 0;

  envelope.set(domainSeparatorBytes(domain), 2);
  envelope.set(keccak256Of(stateWords), 34);
  return `0x${bytesToHex(keccak256Of(envelope))}`;
}

// ---------------------------------------------------------------------------------------------
// Range checks (the Solidity types)
// ---------------------------------------------------------------------------------------------

function checkRange(value: bigint, min: bigint, max: bigint, field: string): void {
  if (value < min || value > max) {
    throw new ProtocolError("OUT_OF_RANGE", `${field} = ${value} is outside ${min}..${max}`, { field, value });
  }
}

/** Throws OUT_OF_RANGE for a lock field outside its Solidity type. */
export function checkLockBounds(lock: Lock, field = "lock"): void {
  checkRange(BigInt(lock.assetIndex), 0n, 255n, `${field}.assetIndex`);
  checkRange(lock.amount, 0n, UINT128_MAX, `${field}.amount`);
  checkRange(lock.expiry, 0n, UINT64_MAX, `${field}.expiry`);
}

/** Throws OUT_OF_RANGE for any field outside its Solidity type, LOCK_LIMIT for too many locks. */
export function checkStateBounds(state: State): void {
  checkRange(state.nonce, 0n, UINT64_MAX, "nonce");
  state.allocations.forEach((a, i) => {
    checkRange(a.net, INT128_MIN, INT128_MAX, `allocations[${i}].net`);
    checkRange(a.withdrawn0, 0n, UINT128_MAX, `allocations[${i}].withdrawn0`);
    checkRange(a.withdrawn1, 0n, UINT128_MAX, `allocations[${i}].withdrawn1`);
  });
  if (state.locks.length > MAX_LOCKS) {
    throw new ProtocolError("LOCK_LIMIT", `${state.locks.length} locks exceed the limit of ${MAX_LOCKS}`, {
      count: state.locks.length,
    });
  }
  state.locks.forEach((lock, i) => checkLockBounds(lock, `locks[${i}]`));
}

// ---------------------------------------------------------------------------------------------
// JSON: bigints as decimal strings, addresses checksummed, hex lowercase
// ---------------------------------------------------------------------------------------------

// 80 digits hold any int256; the bound keeps a hostile peer from making us parse huge numbers.
const unsignedJson = z.string().regex(/^(0|[1-9][0-9]{0,79})$/, "an unsigned decimal string").transform(BigInt);
const signedJson = z.string().regex(/^(0|-?[1-9][0-9]{0,79})$/, "a signed decimal string").transform(BigInt);
const addressJson = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an address")
  .refine((s) => checksumAddress(s) !== null, "an address with a valid checksum")
  .transform((s) => checksumAddress(s) as Address);
const bytes32Json = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "32 bytes of hex")
  .transform((s) => s.toLowerCase());
const signatureJson = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, "a 65-byte signature")
  .transform((s) => s.toLowerCase());

export const allocationJsonSchema = z.strictObject({
  token: addressJson,
  net: signedJson,
  withdrawn0: unsignedJson,
  withdrawn1: unsignedJson,
});

export const lockJsonSchema = z.strictObject({
  assetIndex: z.number().int().min(0).max(255),
  sender: z.union([z.literal(0), z.literal(1)]),
  amount: unsignedJson,
  hashlock: bytes32Json,
  expiry: unsignedJson,
});

export const stateJsonSchema = z.strictObject({
  channelId: bytes32Json,
  nonce: unsignedJson,
  allocations: z.array(allocationJsonSchema).min(1).max(MAX_ASSETS),
  // Generous shape bound; the protocol limit (MAX_LOCKS) is reported as LOCK_LIMIT by checkStateBounds.
  locks: z.array(lockJsonSchema).max(255),
  isFinal: z.boolean(),
});

export const signedStateJsonSchema = z.strictObject({
  state: stateJsonSchema,
  signatures: z.tuple([signatureJson.nullable(), signatureJson.nullable()]),
});

export const paramsJsonSchema = z.strictObject({
  participants: z.tuple([addressJson, addressJson]),
  assets: z.array(addressJson).min(1).max(MAX_ASSETS),
  challengePeriod: unsignedJson,
  salt: bytes32Json,
});

export type AllocationJson = z.input<typeof allocationJsonSchema>;
export type LockJson = z.input<typeof lockJsonSchema>;
export type StateJson = z.input<typeof stateJsonSchema>;
export type SignedStateJson = z.input<typeof signedStateJsonSchema>;
export type ParamsJson = z.input<typeof paramsJsonSchema>;

/** Parses `value` against `schema`, turning a schema failure into MALFORMED. */
export function parseJson<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ProtocolError("MALFORMED", `malformed ${what}: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export function lockToJson(lock: Lock): LockJson {
  return {
    assetIndex: lock.assetIndex,
    sender: lock.sender,
    amount: lock.amount.toString(),
    hashlock: lock.hashlock,
    expiry: lock.expiry.toString(),
  };
}

export function stateToJson(state: State): StateJson {
  return {
    channelId: state.channelId,
    nonce: state.nonce.toString(),
    allocations: state.allocations.map((a) => ({
      token: a.token,
      net: a.net.toString(),
      withdrawn0: a.withdrawn0.toString(),
      withdrawn1: a.withdrawn1.toString(),
    })),
    locks: state.locks.map(lockToJson),
    isFinal: state.isFinal,
  };
}

/** Parses a JSON state: MALFORMED for a bad shape, OUT_OF_RANGE / LOCK_LIMIT for bad values. */
export function stateFromJson(value: unknown): State {
  const state = parseJson(stateJsonSchema, value, "state");
  checkStateBounds(state);
  return state;
}

export function signedStateToJson(signed: SignedState): SignedStateJson {
  return { state: stateToJson(signed.state), signatures: [signed.signatures[0], signed.signatures[1]] };
}

export function signedStateFromJson(value: unknown): SignedState {
  const signed = parseJson(signedStateJsonSchema, value, "signed state");
  checkStateBounds(signed.state);
  return signed;
}

export function paramsToJson(params: Params): ParamsJson {
  return {
    participants: [params.participants[0], params.participants[1]],
    assets: [...params.assets],
    challengePeriod: params.challengePeriod.toString(),
    salt: params.salt,
  };
}

/** Parses JSON parameters and checks them as the adjudicator's `open` would (INVALID_PARAMS). */
export function paramsFromJson(value: unknown): Params {
  const params = parseJson(paramsJsonSchema, value, "channel parameters");
  validateParams(params);
  return params;
}
