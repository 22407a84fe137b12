/**
 * fast-check arbitraries for the protocol core's data, spanning the full Solidity ranges
 * (int128 nets, uint128 amounts, uint64 nonces and expiries) so that encodings are tested at
 * their edges, not only on small numbers.
 */
import fc from "fast-check";
import { getAddress, hexlify } from "ethers";
import {
  INT128_MAX,
  INT128_MIN,
  MAX_ASSETS,
  MAX_LOCKS,
  UINT128_MAX,
  UINT64_MAX,
  type Address,
  type Allocation,
  type Bytes32,
  type Eip712Domain,
  type Lock,
  type Params,
  type SignedState,
  type State,
} from "../../client/protocol/index.js";

export const address: fc.Arbitrary<Address> = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((bytes) => getAddress(hexlify(bytes)));

export const bytes32: fc.Arbitrary<Bytes32> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => hexlify(bytes));

/** Valid secp256k1 secret keys (1..n-1), as 0x-hex. */
export const secretKey: fc.Arbitrary<Bytes32> = fc
  .bigInt({ min: 1n, max: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140n })
  .map((k) => `0x${k.toString(16).padStart(64, "0")}`);

// Edge values appear far more often than uniform sampling would produce them.
const int128 = fc.oneof(fc.constantFrom(INT128_MIN, -1n, 0n, 1n, INT128_MAX), fc.bigInt({ min: INT128_MIN, max: INT128_MAX }));
const uint128 = fc.oneof(fc.constantFrom(0n, 1n, UINT128_MAX), fc.bigInt({ min: 0n, max: UINT128_MAX }));
const uint64 = fc.oneof(fc.constantFrom(0n, 1n, UINT64_MAX), fc.bigInt({ min: 0n, max: UINT64_MAX }));

export const allocation: fc.Arbitrary<Allocation> = fc.record({
  token: address,
  net: int128,
  withdrawn0: uint128,
  withdrawn1: uint128,
});

export const lock: fc.Arbitrary<Lock> = fc.record({
  assetIndex: fc.integer({ min: 0, max: 255 }),
  sender: fc.constantFrom(0 as const, 1 as const),
  amount: uint128,
  hashlock: bytes32,
  expiry: uint64,
});

export const state: fc.Arbitrary<State> = fc.record({
  channelId: bytes32,
  nonce: uint64,
  allocations: fc.array(allocation, { minLength: 1, maxLength: MAX_ASSETS }),
  locks: fc.array(lock, { maxLength: MAX_LOCKS }),
  isFinal: fc.boolean(),
});

const signature = fc.option(fc.uint8Array({ minLength: 65, maxLength: 65 }).map((bytes) => hexlify(bytes)), { nil: null });

export const signedState: fc.Arbitrary<SignedState> = fc.record({
  state,
  signatures: fc.tuple(signature, signature),
});

export const params: fc.Arbitrary<Params> = fc.record({
  participants: fc.tuple(address, address),
  assets: fc.uniqueArray(address, { minLength: 1, maxLength: MAX_ASSETS }),
  challengePeriod: uint64,
  salt: bytes32,
});

export const domain: fc.Arbitrary<Eip712Domain> = fc.record({
  name: fc.constant("Clearline Adjudicator"),
  version: fc.constant("1"),
  chainId: fc.bigInt({ min: 1n, max: (1n << 256n) - 1n }),
  verifyingContract: address,
});
