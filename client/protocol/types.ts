/**
 * The data of a Clearline channel, mirroring the structs of `contracts/Adjudicator.sol`
 * (docs/protocol.md). Every amount is a bigint; every bound below is the Solidity type's.
 *
 * Conventions: addresses are checksummed (ethers `getAddress`) and 32-byte values are lowercase
 * `0x`-hex, so plain `===` compares them; the JSON codecs in encoding.ts normalise inputs that way.
 */

/** A checksummed 20-byte address. */
export type Address = string;
/** A lowercase 0x-prefixed 32-byte value. */
export type Bytes32 = string;
/** A lowercase 0x-prefixed 65-byte signature `r‖s‖v`, v ∈ {27, 28}, low-s. */
export type SignatureHex = string;

/** Participant 0 is the venue, participant 1 the investor (by convention). */
export type ParticipantIndex = 0 | 1;

export interface Params {
  readonly participants: readonly [Address, Address];
  /** ERC-20 tokens, no duplicates, 1..MAX_ASSETS. */
  readonly assets: readonly Address[];
  /** Seconds, MIN_CHALLENGE_PERIOD..MAX_CHALLENGE_PERIOD (uint64). */
  readonly challengePeriod: bigint;
  readonly salt: Bytes32;
}

/** How one asset is split. */
export interface Allocation {
  readonly token: Address;
  /** Cumulative amount moved from participant 0 to participant 1; negative: 1 → 0 (int128). */
  readonly net: bigint;
  /** Cumulative amount participant 0 may have withdrawn without closing (uint128). */
  readonly withdrawn0: bigint;
  /** Cumulative amount participant 1 may have withdrawn without closing (uint128). */
  readonly withdrawn1: bigint;
}

/** A hashlocked conditional transfer; its amount is reserved from the sender until resolved. */
export interface Lock {
  /** Index into `Params.assets` (uint8). */
  readonly assetIndex: number;
  readonly sender: ParticipantIndex;
  /** uint128, > 0. */
  readonly amount: bigint;
  /** keccak256 of the 32-byte secret. */
  readonly hashlock: Bytes32;
  /** Last second (uint64) at which revealing the secret on chain still pays the receiver. */
  readonly expiry: bigint;
}

/**
 * An off-chain state. On chain only `locksRoot = locksRootOf(locks)` is signed; off chain the
 * locks themselves travel with the state so that either side can settle them.
 */
export interface State {
  readonly channelId: Bytes32;
  /** uint64; 0 is "no state" on chain, so the first signed state has nonce ≥ 1. */
  readonly nonce: bigint;
  /** One per asset, `allocations[i].token === params.assets[i]`. */
  readonly allocations: readonly Allocation[];
  /** At most MAX_LOCKS, hashlocks distinct. */
  readonly locks: readonly Lock[];
  /** A final state closes the channel; nothing may follow it and it carries no locks. */
  readonly isFinal: boolean;
}

/** A state with the signatures collected so far, participant 0's first; agreed when both are present. */
export interface SignedState {
  readonly state: State;
  readonly signatures: readonly [SignatureHex | null, SignatureHex | null];
}

/** Where a channel lives: binding both into the channel id and the EIP-712 domain prevents replay. */
export interface Deployment {
  readonly chainId: bigint;
  readonly adjudicator: Address;
}

export interface Eip712Domain {
  readonly name: string;
  readonly version: string;
  readonly chainId: bigint;
  readonly verifyingContract: Address;
}

/**
 * Confirmed on-chain deposits: `deposits[assetIndex][participant]` is everything that participant
 * ever deposited of that asset (withdrawals are accounted in the state, not here).
 */
export type Deposits = readonly (readonly [bigint, bigint])[];

export const MAX_ASSETS = 4;
export const MAX_LOCKS = 8;
export const MIN_CHALLENGE_PERIOD = 60n;
export const MAX_CHALLENGE_PERIOD = 30n * 24n * 60n * 60n;
/**
 * Furthest a new lock's expiry may lie ahead, in seconds. Settlement of a state with locks waits for
 * every lock to be revealed or expired, so this bounds how long a dispute can hold funds.
 */
export const MAX_LOCK_DURATION = 30n * 24n * 60n * 60n;

export const UINT64_MAX = (1n << 64n) - 1n;
export const UINT128_MAX = (1n << 128n) - 1n;
export const INT128_MAX = (1n << 127n) - 1n;
export const INT128_MIN = -(1n << 127n);
