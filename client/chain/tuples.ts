/**
 * Conversions between the protocol core's types and the Adjudicator's ABI tuples: parameters, states
 * (locks replaced by their root), locks, and the two signatures of an agreed state.
 */
import { ZeroHash } from "ethers";
import { typedStateOf } from "../protocol/encoding.js";
import type { Address, Bytes32, Lock, Params, SignatureHex, SignedState, State } from "../protocol/types.js";
import { ChainError } from "./errors.js";

export type ParamsTuple = [Address[], Address[], bigint, Bytes32];
export type StateTuple = [Bytes32, bigint, [Address, bigint, bigint, bigint][], Bytes32, boolean];
export type LockTuple = [number, number, bigint, Bytes32, bigint];

export function paramsTuple(params: Params): ParamsTuple {
  return [[...params.participants], [...params.assets], params.challengePeriod, params.salt];
}

/** The contract's `State` struct: the locks are replaced by their root. */
export function stateTuple(state: State): StateTuple {
  const typed = typedStateOf(state);
  return [
    typed.channelId,
    typed.nonce,
    typed.allocations.map((a) => [a.token, a.net, a.withdrawn0, a.withdrawn1]),
    typed.locksRoot,
    typed.isFinal,
  ];
}

/** What `withdraw` takes as the checkpoint before the first withdrawal: a state without allocations. */
export const NO_CHECKPOINT: StateTuple = [ZeroHash, 0n, [], ZeroHash, false];

/** A checkpoint as the contract takes it, from the core's `State` or a tuple read from chain. */
export function checkpointTuple(checkpoint: State | StateTuple): StateTuple {
  return Array.isArray(checkpoint) ? (checkpoint as StateTuple) : stateTuple(checkpoint as State);
}

export function lockTuples(locks: readonly Lock[]): LockTuple[] {
  return locks.map((l) => [l.assetIndex, l.sender, l.amount, l.hashlock, l.expiry]);
}

/** A `Lock` as ethers decodes it from an event. */
export type LockResult = readonly [bigint, bigint, bigint, string, bigint];

export function lockOf(l: LockResult): Lock {
  return { assetIndex: Number(l[0]), sender: Number(l[1]) as Lock["sender"], amount: l[2], hashlock: l[3].toLowerCase(), expiry: l[4] };
}

/** Both signatures of an agreed state, participant 0's first; NOT_AGREED when one is missing. */
export function signaturesOf(signed: SignedState, action?: string): [SignatureHex, SignatureHex] {
  const [sig0, sig1] = signed.signatures;
  if (sig0 === null || sig1 === null) {
    throw new ChainError("NOT_AGREED", `state ${signed.state.nonce} lacks participant ${sig0 === null ? 0 : 1}'s signature`, {
      action,
    });
  }
  return [sig0, sig1];
}

