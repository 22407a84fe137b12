// Building, signing and submitting channel states in contract tests. Uses ethers' own EIP-712
// implementation (independent of client/protocol), so contract tests check the contract alone.
import { AbiCoder, Signature, TypedDataEncoder, keccak256, type BaseWallet, type TypedDataDomain } from "ethers";

export interface ChannelParams {
  participants: [string, string];
  assets: string[];
  challengePeriod: bigint;
  salt: string;
}

export interface AllocationData {
  token: string;
  net: bigint;
  withdrawn0: bigint;
  withdrawn1: bigint;
}

export interface StateData {
  channelId: string;
  nonce: bigint;
  allocations: AllocationData[];
  locksRoot: string;
  isFinal: boolean;
}

export interface LockData {
  assetIndex: number;
  sender: number;
  amount: bigint;
  hashlock: string;
  expiry: bigint;
}

export const ZERO_HASH = "0x" + "00".repeat(32);

export const STATE_TYPES = {
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

export function adjudicatorDomain(chainId: bigint, adjudicator: string): TypedDataDomain {
  return { name: "Clearline Adjudicator", version: "1", chainId, verifyingContract: adjudicator };
}

export function channelIdOf(params: ChannelParams, chainId: bigint, adjudicator: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["uint256", "address", "tuple(address[2],address[],uint64,bytes32)"],
      [chainId, adjudicator, [params.participants, params.assets, params.challengePeriod, params.salt]],
    ),
  );
}

export function locksRootOf(locks: LockData[]): string {
  if (locks.length === 0) return ZERO_HASH;
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["tuple(uint8,uint8,uint128,bytes32,uint64)[]"],
      [locks.map((l) => [l.assetIndex, l.sender, l.amount, l.hashlock, l.expiry])],
    ),
  );
}

export function hashlockOf(secret: string): string {
  return keccak256(secret);
}

/** A state of `params` with the given nets (one per asset), no withdrawals and no locks. */
export function stateOf(
  channelId: string,
  params: ChannelParams,
  nonce: bigint,
  nets: bigint[],
  options: { withdrawn?: [bigint, bigint][]; locksRoot?: string; isFinal?: boolean } = {},
): StateData {
  return {
    channelId,
    nonce,
    allocations: params.assets.map((token, i) => ({
      token,
      net: nets[i] ?? 0n,
      withdrawn0: options.withdrawn?.[i]?.[0] ?? 0n,
      withdrawn1: options.withdrawn?.[i]?.[1] ?? 0n,
    })),
    locksRoot: options.locksRoot ?? ZERO_HASH,
    isFinal: options.isFinal ?? false,
  };
}

export function signState(wallet: BaseWallet, domain: TypedDataDomain, state: StateData): string {
  const digest = TypedDataEncoder.hash(domain, STATE_TYPES, state);
  return wallet.signingKey.sign(digest).serialized;
}

/** Both participants' signatures, participant 0 first. */
export function signBoth(wallets: [BaseWallet, BaseWallet], domain: TypedDataDomain, state: StateData): [string, string] {
  return [signState(wallets[0], domain, state), signState(wallets[1], domain, state)];
}

/** The malleable twin (s' = n - s, v flipped) of a valid signature: same signer, high s. */
export function highSTwin(signature: string): string {
  const sig = Signature.from(signature);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const highS = n - BigInt(sig.s);
  const v = sig.v === 27 ? 28 : 27;
  return "0x" + sig.r.slice(2) + highS.toString(16).padStart(64, "0") + v.toString(16);
}

/** Params as the contract's ABI expects them. */
export function paramsTuple(params: ChannelParams): [string[], string[], bigint, string] {
  return [params.participants, params.assets, params.challengePeriod, params.salt];
}

export function stateTuple(state: StateData) {
  return [
    state.channelId,
    state.nonce,
    state.allocations.map((a) => [a.token, a.net, a.withdrawn0, a.withdrawn1]),
    state.locksRoot,
    state.isFinal,
  ] as const;
}

/** `withdraw`'s checkpoint argument before the first withdrawal: a state without allocations. */
export const NO_CHECKPOINT = stateTuple({ channelId: `0x${"00".repeat(32)}`, nonce: 0n, allocations: [], locksRoot: `0x${"00".repeat(32)}`, isFinal: false });

export function lockTuples(locks: LockData[]) {
  return locks.map((l) => [l.assetIndex, l.sender, l.amount, l.hashlock, l.expiry] as const);
}
