/**
 * The updates one state can make to the previous one (docs/protocol.md) and how the proposer builds
 * the next state from one: `applyUpdate(channel, state, update)`. It checks only the update's own
 * fields; whether the result may follow the agreed state is transitions.ts's question. Pure: no I/O,
 * no clock, the same state and update always give the same next state.
 */
import type { Channel } from "./channel.js";
import { ProtocolError } from "./errors.js";
import { hashlockOf } from "./encoding.js";
import type { Allocation, Bytes32, Lock, ParticipantIndex, State } from "./types.js";
import { invalidUpdate, isLockPair, locksUnder } from "./update-checks.js";

/** `amount` of asset `assetIndex` moving from participant `from` to the other one. */
export interface Leg {
  readonly assetIndex: number;
  readonly from: ParticipantIndex;
  readonly amount: bigint;
}

/** Participant `participant` withdraws `amount` more of asset `assetIndex` without closing. */
export interface Withdrawal {
  readonly assetIndex: number;
  readonly participant: ParticipantIndex;
  readonly amount: bigint;
}

/**
 * What one state changes relative to the previous one. Canonical forms (what `checkTransition`
 * recognises): trade legs ordered by asset, withdrawals ordered by asset then participant.
 */
export type Update =
  | { readonly kind: "payment"; readonly leg: Leg }
  /** Delivery versus payment: two assets moving opposite ways in one state, so neither leg can happen alone. */
  | { readonly kind: "trade"; readonly legs: readonly [Leg, Leg] }
  /** Nonce + 1 and nothing else: both sides acknowledge the deposits confirmed so far. */
  | { readonly kind: "depositAck" }
  | { readonly kind: "withdrawal"; readonly withdrawals: readonly Withdrawal[] }
  | { readonly kind: "addLock"; readonly lock: Lock }
  /**
   * Both legs of an exchange under one hashlock and one expiry: a lock from each participant, in
   * different assets, ordered by asset index. They resolve or expire together (a fill's settlement).
   */
  | { readonly kind: "addLockPair"; readonly locks: readonly [Lock, Lock] }
  /** The secret is revealed: the amount of every lock under the hashlock goes to its receiver. */
  | { readonly kind: "resolveLock"; readonly hashlock: Bytes32; readonly secret: Bytes32 }
  /** The lock (or lock pair) expired unrevealed: its amount goes back to its sender. */
  | { readonly kind: "expireLock"; readonly hashlock: Bytes32 }
  /**
   * Before its expiry, a lock pair both sides give up: each leg goes back to its sender (a failed
   * fill's pair, docs/protocol.md "Settlement of a fill"). Never a single lock.
   */
  | { readonly kind: "cancelLockPair"; readonly hashlock: Bytes32 }
  | { readonly kind: "final" };

export type UpdateKind = Update["kind"];

function checkAssetIndex(channel: Channel, assetIndex: number): void {
  if (!Number.isInteger(assetIndex) || assetIndex < 0 || assetIndex >= channel.params.assets.length) {
    invalidUpdate(`asset index ${assetIndex} is not one of the channel's ${channel.params.assets.length} assets`);
  }
}

function checkLeg(channel: Channel, leg: Leg): void {
  checkAssetIndex(channel, leg.assetIndex);
  if (leg.amount <= 0n) invalidUpdate("amounts must be positive", { amount: leg.amount });
}

/** +amount when participant 0 pays, −amount when participant 1 pays: the change of `net`. */
function signedAmount(from: ParticipantIndex, amount: bigint): bigint {
  return from === 0 ? amount : -amount;
}

function withNetChanges(allocations: readonly Allocation[], changes: ReadonlyMap<number, bigint>): Allocation[] {
  return allocations.map((a, i) => {
    const change = changes.get(i);
    return change === undefined ? a : { ...a, net: a.net + change };
  });
}

/** INVALID_UPDATE unless the two locks form a pair: one hashlock and expiry, one lock per participant, assets different and ascending. */
function checkLockPair(channel: Channel, [a, b]: readonly [Lock, Lock]): void {
  checkAssetIndex(channel, a.assetIndex);
  checkAssetIndex(channel, b.assetIndex);
  if (a.hashlock !== b.hashlock || a.expiry !== b.expiry) invalidUpdate("the locks of a pair share their hashlock and expiry");
  if (a.sender === b.sender) invalidUpdate("the locks of a pair go opposite ways");
  if (a.assetIndex >= b.assetIndex) invalidUpdate("the locks of a pair are in different assets, ordered by asset index");
}

/**
 * Builds the state that follows `state` by `update` (nonce + 1). Checks the update's own fields
 * (INVALID_UPDATE, UNKNOWN_LOCK, BAD_SECRET); balances, lock validity and compliance are the job of
 * `checkTransition`, which the proposer should run on the result before signing.
 */
export function applyUpdate(channel: Channel, state: State, update: Update): State {
  const next = { ...state, nonce: state.nonce + 1n };
  switch (update.kind) {
    case "payment":
      checkLeg(channel, update.leg);
      return { ...next, allocations: withNetChanges(state.allocations, new Map([[update.leg.assetIndex, signedAmount(update.leg.from, update.leg.amount)]])) };
    case "trade": {
      const [a, b] = update.legs;
      checkLeg(channel, a);
      checkLeg(channel, b);
      if (a.assetIndex === b.assetIndex) invalidUpdate("a trade's legs must be in different assets");
      if (a.from === b.from) invalidUpdate("a trade's legs must move in opposite directions");
      return {
        ...next,
        allocations: withNetChanges(
          state.allocations,
          new Map([
            [a.assetIndex, signedAmount(a.from, a.amount)],
            [b.assetIndex, signedAmount(b.from, b.amount)],
          ]),
        ),
      };
    }
    case "depositAck":
      return next;
    case "withdrawal": {
      if (update.withdrawals.length === 0) invalidUpdate("a withdrawal withdraws something");
      const seen = new Set<string>();
      const allocations = state.allocations.map((a) => ({ ...a }));
      for (const w of update.withdrawals) {
        checkAssetIndex(channel, w.assetIndex);
        if (w.amount <= 0n) invalidUpdate("amounts must be positive", { amount: w.amount });
        const key = `${w.assetIndex}:${w.participant}`;
        if (seen.has(key)) invalidUpdate("one withdrawal per asset and participant");
        seen.add(key);
        const allocation = allocations[w.assetIndex] as Allocation;
        allocations[w.assetIndex] =
          w.participant === 0
            ? { ...allocation, withdrawn0: allocation.withdrawn0 + w.amount }
            : { ...allocation, withdrawn1: allocation.withdrawn1 + w.amount };
      }
      return { ...next, allocations };
    }
    case "addLock":
      return { ...next, locks: [...state.locks, update.lock] };
    case "addLockPair":
      checkLockPair(channel, update.locks);
      return { ...next, locks: [...state.locks, ...update.locks] };
    case "resolveLock": {
      const locks = locksUnder(state, update.hashlock);
      if (hashlockOf(update.secret) !== update.hashlock) {
        throw new ProtocolError("BAD_SECRET", "the secret does not hash to the lock's hashlock", { hashlock: update.hashlock });
      }
      // A pair's locks are in different assets: one net change each.
      return {
        ...next,
        allocations: withNetChanges(state.allocations, new Map(locks.map((lock) => [lock.assetIndex, signedAmount(lock.sender, lock.amount)] as const))),
        locks: state.locks.filter((l) => l.hashlock !== update.hashlock),
      };
    }
    case "expireLock":
      locksUnder(state, update.hashlock);
      return { ...next, locks: state.locks.filter((l) => l.hashlock !== update.hashlock) };
    case "cancelLockPair":
      if (!isLockPair(locksUnder(state, update.hashlock))) invalidUpdate("only a lock pair is cancelled; a single lock expires", { hashlock: update.hashlock });
      return { ...next, locks: state.locks.filter((l) => l.hashlock !== update.hashlock) };
    case "final":
      return { ...next, isFinal: true };
  }
}
