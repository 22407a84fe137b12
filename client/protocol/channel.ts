/**
 * Pure update construction and validation for one channel (docs/protocol.md).
 *
 * Functional core: nothing here does I/O, reads a clock or keeps state between calls. Every
 * function takes the channel's fixed configuration, the latest agreed state, what the caller knows
 * from outside the channel (`ChannelFacts`: confirmed deposits, the time, the compliance mirror,
 * on-chain secret reveals) and returns a new state or a verdict:
 *
 *   applyUpdate(channel, state, update)                  → next state        (the proposer builds)
 *   checkTransition(channel, current, proposed, context)  → recognised Update (semantics, no crypto)
 *   validateTransition(channel, current, proposed, context) → { update, digest } (+ signatures)
 *
 * The receiver of a proposal does not trust a claimed intent: `checkTransition` recognises which
 * update kind the difference between two states is (payment, trade, deposit acknowledgement,
 * withdrawal, add lock or lock pair, resolve lock, expire lock, final), rejects anything else, re-applies the
 * recognised update and requires the exact same state, so every agreed state has one canonical
 * form. It then checks balances against the confirmed deposits and the compliance of every
 * restricted-token movement. Every rejection is a ProtocolError with a stable code.
 *
 * The effects of a verdict (persist the state, send the countersignature or `rejectionOf(error)`,
 * submit a withdrawal or a close) are the imperative shell's: the node's engine and the client SDK.
 */
import { ZeroHash } from "ethers";
import { assertCompliant, isTrackedToken, onChainBalanceOf, type ComplianceFacts } from "./compliance.js";
import { ProtocolError } from "./errors.js";
import { channelIdOf, checkStateBounds, domainOf, hashlockOf, stateDigest, validateParams } from "./encoding.js";
import type { Signer, Verifier } from "./signing.js";
import {
  MAX_LOCK_DURATION,
  type Address,
  type Allocation,
  type Bytes32,
  type Deployment,
  type Deposits,
  type Eip712Domain,
  type Lock,
  type ParticipantIndex,
  type Params,
  type SignatureHex,
  type SignedState,
  type State,
} from "./types.js";

// ---------------------------------------------------------------------------------------------
// Channel configuration
// ---------------------------------------------------------------------------------------------

/** A channel's fixed configuration: its parameters bound to one chain and adjudicator. */
export interface Channel {
  readonly params: Params;
  readonly deployment: Deployment;
  readonly channelId: Bytes32;
  readonly domain: Eip712Domain;
}

/** Checks the parameters as the adjudicator's `open` does (INVALID_PARAMS) and derives id and domain. */
export function channelOf(params: Params, deployment: Deployment): Channel {
  validateParams(params);
  return {
    params,
    deployment,
    channelId: channelIdOf(params, deployment.chainId, deployment.adjudicator),
    domain: domainOf(deployment),
  };
}

/** WRONG_CHAIN unless a peer's claimed deployment is ours (a channel on another chain or adjudicator). */
export function assertSameDeployment(ours: Deployment, theirs: Deployment): void {
  if (ours.chainId !== theirs.chainId || ours.adjudicator.toLowerCase() !== theirs.adjudicator.toLowerCase()) {
    throw new ProtocolError("WRONG_CHAIN", `expected chain ${ours.chainId} and adjudicator ${ours.adjudicator}`, {
      chainId: theirs.chainId,
      adjudicator: theirs.adjudicator,
    });
  }
}

/**
 * The state every channel starts from: nonce 0, nothing moved, no locks. It needs no signatures:
 * on chain it is exactly "no state" (`forceCloseWithoutState`), so it is agreed by construction.
 */
export function genesisState(channel: Channel): SignedState {
  return {
    state: {
      channelId: channel.channelId,
      nonce: 0n,
      allocations: channel.params.assets.map((token) => ({ token, net: 0n, withdrawn0: 0n, withdrawn1: 0n })),
      locks: [],
      isFinal: false,
    },
    signatures: [null, null],
  };
}

// ---------------------------------------------------------------------------------------------
// Updates
// ---------------------------------------------------------------------------------------------

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
  | { readonly kind: "final" };

export type UpdateKind = Update["kind"];

function invalidUpdate(why: string, details: Record<string, string | number | bigint> = {}): never {
  throw new ProtocolError("INVALID_UPDATE", why, details);
}

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

function findLock(state: State, hashlock: Bytes32): Lock {
  const lock = state.locks.find((l) => l.hashlock === hashlock);
  if (lock === undefined) throw new ProtocolError("UNKNOWN_LOCK", "the state has no lock with this hashlock", { hashlock });
  return lock;
}

/** Every lock under `hashlock`: one, or the two of a lock pair (UNKNOWN_LOCK when none). */
function locksUnder(state: State, hashlock: Bytes32): Lock[] {
  findLock(state, hashlock);
  return state.locks.filter((l) => l.hashlock === hashlock);
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
    case "final":
      return { ...next, isFinal: true };
  }
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/** The compliance mirror and how to count holdings outside this channel. */
export interface ComplianceContext {
  readonly facts: ComplianceFacts;
  /**
   * What `account` holds of `token` outside this channel: its wallet and its other channels.
   * Default: the on-chain balance from the mirror. This channel's balance is added to it.
   */
  readonly holdingsOutside?: (token: Address, account: Address) => bigint;
}

/** What the validating side knows from outside the channel. */
export interface ChannelFacts {
  /** Confirmed on-chain deposits per asset and participant. */
  readonly deposits: Deposits;
  /** Seconds; for lock expiries and attribute/lock-up validity. */
  readonly now: bigint;
  /**
   * Restricted assets are the tokens this mirror tracks; every movement of one is checked. Without
   * it no movement is checked (a client that trusts its venue to check may omit it; a node must not).
   */
  readonly compliance?: ComplianceContext;
  /** On-chain reveals: hashlock → block time of `revealSecret` (`Adjudicator.secretRevealedAt`). */
  readonly revealedAt?: ReadonlyMap<Bytes32, bigint>;
}

/** Inputs of a validation besides the two states. */
export interface TransitionContext {
  readonly facts: ChannelFacts;
  /** Secrets the proposer revealed with the proposal (or learnt from chain), by hashlock. */
  readonly secrets?: ReadonlyMap<Bytes32, Bytes32>;
  /**
   * The nonce of the venue's voided proposal above `current`, if any (docs/protocol.md, off-chain
   * protocol 7): the next state must skip it — built on `current` with nonce `voided + 1`.
   */
  readonly voided?: bigint | undefined;
}

/**
 * The state the next update builds on: `current`, or — over a venue proposal voided at a higher
 * nonce — `current` renumbered to that nonce, so that `applyUpdate` gives nonce `voided + 1` and
 * nothing is ever built at the voided nonce. A void at or below `current` is overtaken and ignored.
 */
export function baseAfterVoid(current: State, voided: bigint | undefined): State {
  return voided === undefined || voided <= current.nonce ? current : { ...current, nonce: voided };
}

/**
 * What participant `participant` holds of asset `assetIndex` in the channel, free to move:
 * `deposits − withdrawn ∓ net − locked` (docs/protocol.md, "Balances").
 */
export function channelBalance(state: State, deposits: Deposits, assetIndex: number, participant: ParticipantIndex): bigint {
  const allocation = state.allocations[assetIndex] as Allocation;
  const deposited = deposits[assetIndex]?.[participant] ?? 0n;
  let locked = 0n;
  for (const lock of state.locks) {
    if (lock.assetIndex === assetIndex && lock.sender === participant) locked += lock.amount;
  }
  return participant === 0
    ? deposited - allocation.withdrawn0 - allocation.net - locked
    : deposited - allocation.withdrawn1 + allocation.net - locked;
}

/** What the adjudicator holds for the channel of one asset: all deposits less all withdrawals. */
function heldByChannel(state: State, deposits: Deposits, assetIndex: number): bigint {
  const allocation = state.allocations[assetIndex] as Allocation;
  const [deposit0, deposit1] = deposits[assetIndex] ?? [0n, 0n];
  return deposit0 + deposit1 - allocation.withdrawn0 - allocation.withdrawn1;
}

function checkBalances(channel: Channel, state: State, deposits: Deposits): void {
  for (let assetIndex = 0; assetIndex < state.allocations.length; assetIndex++) {
    for (const participant of [0, 1] as const) {
      // A participant may withdraw what it received off chain too (Adjudicator._recordWithdrawal
      // only requires both sides to stay covered): the balance rule is the whole rule.
      const balance = channelBalance(state, deposits, assetIndex, participant);
      if (balance < 0n) {
        throw new ProtocolError("INSUFFICIENT_BALANCE", `participant ${participant} would hold ${balance} of ${channel.params.assets[assetIndex]}`, {
          assetIndex,
          participant,
          shortfall: -balance,
        });
      }
    }
  }
}

function lockKey(lock: Lock): string {
  return `${lock.assetIndex}:${lock.sender}:${lock.amount}:${lock.hashlock}:${lock.expiry}`;
}

/** Recognises which update turns `current` into `proposed` (shape only; `checkTransition` checks the rest). */
function recogniseUpdate(current: State, proposed: State, secrets: ReadonlyMap<Bytes32, Bytes32> | undefined): Update {
  if (proposed.isFinal) {
    if (current.locks.length > 0 || proposed.locks.length > 0) {
      throw new ProtocolError("LOCKS_OUTSTANDING", "resolve or expire every lock before the final state", {
        locks: current.locks.length,
      });
    }
    return { kind: "final" };
  }

  const withdrawals: Withdrawal[] = [];
  const legs: Leg[] = [];
  current.allocations.forEach((before, assetIndex) => {
    const after = proposed.allocations[assetIndex] as Allocation;
    if (after.withdrawn0 !== before.withdrawn0) withdrawals.push({ assetIndex, participant: 0, amount: after.withdrawn0 - before.withdrawn0 });
    if (after.withdrawn1 !== before.withdrawn1) withdrawals.push({ assetIndex, participant: 1, amount: after.withdrawn1 - before.withdrawn1 });
    const change = after.net - before.net;
    if (change !== 0n) legs.push({ assetIndex, from: change > 0n ? 0 : 1, amount: change > 0n ? change : -change });
  });

  const currentKeys = new Set(current.locks.map(lockKey));
  const proposedKeys = new Set(proposed.locks.map(lockKey));
  const added = proposed.locks.filter((l) => !currentKeys.has(lockKey(l)));
  const removed = current.locks.filter((l) => !proposedKeys.has(lockKey(l)));
  const locksChanged = added.length > 0 || removed.length > 0;

  if (withdrawals.length > 0) {
    if (legs.length > 0 || locksChanged) invalidUpdate("a withdrawal changes nothing but cumulative withdrawals");
    return { kind: "withdrawal", withdrawals };
  }
  if (locksChanged) {
    if (added.length > 0) {
      if (removed.length > 0 || added.length > 2) invalidUpdate("an update adds one lock or one lock pair, or removes the locks under one hashlock");
      if (legs.length > 0) invalidUpdate("adding a lock moves nothing else");
      const [lock, pair] = added as [Lock, Lock | undefined];
      return pair === undefined ? { kind: "addLock", lock } : { kind: "addLockPair", locks: [lock, pair] };
    }
    // The locks removed are every lock under one hashlock (one, or a pair) — checked again by re-applying.
    const lock = removed[0]!;
    if (removed.some((l) => l.hashlock !== lock.hashlock)) invalidUpdate("an update adds one lock or one lock pair, or removes the locks under one hashlock");
    // A removed lock's amount is no longer reserved: it must go to its receiver or back to its sender, exactly.
    if (legs.length === 0) return { kind: "expireLock", hashlock: lock.hashlock };
    const moved = (l: Lock): boolean => legs.some((leg) => leg.assetIndex === l.assetIndex && leg.from === l.sender && leg.amount === l.amount);
    if (legs.length !== removed.length || !removed.every(moved)) {
      throw new ProtocolError("CONSERVATION", "a resolved lock's amount must move exactly to its receiver", {
        hashlock: lock.hashlock,
        amount: lock.amount,
      });
    }
    const secret = secrets?.get(lock.hashlock);
    if (secret === undefined) throw new ProtocolError("BAD_SECRET", "resolving a lock needs its secret", { hashlock: lock.hashlock });
    return { kind: "resolveLock", hashlock: lock.hashlock, secret };
  }
  const [first, second, ...more] = legs;
  if (first === undefined) return { kind: "depositAck" };
  if (second === undefined) return { kind: "payment", leg: first };
  if (more.length > 0 || first.from === second.from) invalidUpdate("a trade moves exactly two assets in opposite directions");
  return { kind: "trade", legs: [first, second] };
}

function sameState(a: State, b: State): boolean {
  return (
    a.channelId === b.channelId &&
    a.nonce === b.nonce &&
    a.isFinal === b.isFinal &&
    a.allocations.length === b.allocations.length &&
    a.allocations.every((x, i) => {
      const y = b.allocations[i] as Allocation;
      return x.token === y.token && x.net === y.net && x.withdrawn0 === y.withdrawn0 && x.withdrawn1 === y.withdrawn1;
    }) &&
    a.locks.length === b.locks.length &&
    a.locks.every((l, i) => lockKey(l) === lockKey(b.locks[i] as Lock))
  );
}

function checkNewLock(channel: Channel, current: State, lock: Lock, now: bigint): void {
  const bad = (why: string): never => {
    throw new ProtocolError("BAD_LOCK", why, { hashlock: lock.hashlock });
  };
  // Bounds and MAX_LOCKS are checkStateBounds' job, done before.
  if (lock.assetIndex >= channel.params.assets.length) bad("the lock's asset is not one of the channel's");
  if (lock.amount <= 0n) bad("the lock's amount must be positive");
  if (lock.hashlock === ZeroHash) bad("the zero hashlock is not a commitment");
  if (lock.expiry <= now) bad("the lock has already expired");
  if (lock.expiry > now + MAX_LOCK_DURATION) bad(`a lock may expire at most ${MAX_LOCK_DURATION} seconds ahead`);
  if (current.locks.some((l) => l.hashlock === lock.hashlock)) bad("a lock with this hashlock exists already");
}

/** Whether the secret was revealed on chain in time for the receiver (Adjudicator._resolveLocks). */
function revealedInTime(facts: ChannelFacts, lock: Lock): boolean {
  const at = facts.revealedAt?.get(lock.hashlock);
  return at !== undefined && at !== 0n && at <= lock.expiry;
}

/** Whether `update` may remove the locks under its hashlock now (one expiry: a pair's locks share it). */
function checkLockRemoval(update: Update, lock: Lock, facts: ChannelFacts): void {
  if (update.kind === "resolveLock") {
    if (facts.now > lock.expiry && !revealedInTime(facts, lock)) {
      throw new ProtocolError("LOCK_EXPIRED", "the lock expired before its secret was revealed; it returns to its sender", {
        hashlock: lock.hashlock,
        expiry: lock.expiry,
      });
    }
  } else if (facts.now <= lock.expiry || revealedInTime(facts, lock)) {
    throw new ProtocolError("LOCK_ACTIVE", "the lock can still be claimed by its receiver", {
      hashlock: lock.hashlock,
      expiry: lock.expiry,
    });
  }
}

function checkCompliance(channel: Channel, current: State, update: Update, facts: ChannelFacts): void {
  const compliance = facts.compliance;
  if (compliance === undefined) return;
  const { params } = channel;
  const tokenOf = (assetIndex: number): Address => params.assets[assetIndex] as Address;
  const restricted = (assetIndex: number): boolean => isTrackedToken(compliance.facts, tokenOf(assetIndex));

  // Channel balances count as the investor's holdings (docs/protocol.md, "Compliance at layer two").
  const layerTwoHoldings = (assetIndex: number) => (account: Address) => {
    const token = tokenOf(assetIndex);
    const index = params.participants.indexOf(account);
    const inChannel = index === 0 || index === 1 ? channelBalance(current, facts.deposits, assetIndex, index) : 0n;
    const outside = compliance.holdingsOutside?.(token, account) ?? onChainBalanceOf(compliance.facts, token, account);
    return outside + inChannel;
  };
  const checkMove = (assetIndex: number, from: ParticipantIndex, amount: bigint): void => {
    if (!restricted(assetIndex)) return;
    const sender = params.participants[from];
    const receiver = params.participants[from === 0 ? 1 : 0];
    assertCompliant(compliance.facts, tokenOf(assetIndex), sender, receiver, amount, facts.now, layerTwoHoldings(assetIndex));
  };

  switch (update.kind) {
    case "payment":
      return checkMove(update.leg.assetIndex, update.leg.from, update.leg.amount);
    case "trade":
      for (const leg of update.legs) checkMove(leg.assetIndex, leg.from, leg.amount);
      return;
    case "addLock":
      // The lock commits the movement now; it is checked again when it resolves.
      return checkMove(update.lock.assetIndex, update.lock.sender, update.lock.amount);
    case "addLockPair":
      for (const lock of update.locks) checkMove(lock.assetIndex, lock.sender, lock.amount);
      return;
    case "resolveLock":
      for (const lock of locksUnder(current, update.hashlock)) checkMove(lock.assetIndex, lock.sender, lock.amount);
      return;
    case "withdrawal":
      // A payout is an on-chain transfer from the adjudicator (a custodian) to the participant, checked
      // as the chain will check it: the receiver's wallet balance, and an adjudicator that holds at least
      // this channel's funds (its balance elsewhere is irrelevant to this payout).
      for (const w of update.withdrawals) {
        if (!restricted(w.assetIndex)) continue;
        const token = tokenOf(w.assetIndex);
        const { adjudicator } = channel.deployment;
        const payoutHoldings = (account: Address): bigint =>
          account === adjudicator ? heldByChannel(current, facts.deposits, w.assetIndex) : onChainBalanceOf(compliance.facts, token, account);
        assertCompliant(compliance.facts, token, adjudicator, params.participants[w.participant], w.amount, facts.now, payoutHoldings);
      }
      return;
    case "depositAck":
    case "expireLock":
    case "final":
      return;
  }
}

/**
 * Checks that `proposed` may follow the `agreed` state and returns the update it makes. In order:
 * channel (WRONG_CHANNEL), current not final (FINAL_STATE), nonce = n + 1 (BAD_NONCE; over a voided
 * venue proposal exactly the voided nonce + 1, `baseAfterVoid`), Solidity bounds
 * (OUT_OF_RANGE, LOCK_LIMIT), assets unchanged and in order (ASSET_MISMATCH), withdrawals never
 * decrease (WITHDRAWAL_DECREASED), one recognisable update in canonical form (INVALID_UPDATE,
 * CONSERVATION, LOCKS_OUTSTANDING, BAD_SECRET), lock validity (BAD_LOCK, LOCK_LIMIT, LOCK_EXPIRED,
 * LOCK_ACTIVE), given the confirmed deposits no negative balance (INSUFFICIENT_BALANCE), and the
 * compliance of every restricted-token movement (NON_COMPLIANT, COMPLIANCE_UNKNOWN). No signatures.
 */
export function checkTransition(channel: Channel, agreed: State, proposed: State, context: TransitionContext): Update {
  const { facts } = context;
  const current = baseAfterVoid(agreed, context.voided);
  if (proposed.channelId !== channel.channelId) {
    throw new ProtocolError("WRONG_CHANNEL", "the state belongs to another channel", {
      expected: channel.channelId,
      actual: proposed.channelId,
    });
  }
  if (current.isFinal) throw new ProtocolError("FINAL_STATE", "the channel's latest state is final", { nonce: current.nonce });
  if (proposed.nonce !== current.nonce + 1n) {
    throw new ProtocolError("BAD_NONCE", `expected nonce ${current.nonce + 1n}`, { expected: current.nonce + 1n, actual: proposed.nonce });
  }
  checkStateBounds(proposed);
  const assets = channel.params.assets;
  if (proposed.allocations.length !== assets.length || proposed.allocations.some((a, i) => a.token !== assets[i])) {
    throw new ProtocolError("ASSET_MISMATCH", "allocations must name the channel's assets in order");
  }
  proposed.allocations.forEach((after, assetIndex) => {
    const before = current.allocations[assetIndex] as Allocation;
    for (const participant of [0, 1] as const) {
      const [was, is] = participant === 0 ? [before.withdrawn0, after.withdrawn0] : [before.withdrawn1, after.withdrawn1];
      if (is < was) {
        throw new ProtocolError("WITHDRAWAL_DECREASED", "a cumulative withdrawal decreased", { assetIndex, participant, was, is });
      }
    }
  });

  const update = recogniseUpdate(current, proposed, context.secrets);
  if (update.kind === "addLock") checkNewLock(channel, current, update.lock, facts.now);
  if (update.kind === "addLockPair") for (const lock of update.locks) checkNewLock(channel, current, lock, facts.now);
  if (update.kind === "resolveLock" || update.kind === "expireLock") checkLockRemoval(update, findLock(current, update.hashlock), facts);
  // Re-applying the recognised update must give the very same state: one canonical form per update
  // (lock order, untouched fields) and the secret checked against its hashlock.
  if (!sameState(applyUpdate(channel, current, update), proposed)) {
    invalidUpdate("the state is not the canonical result of one update");
  }
  checkBalances(channel, proposed, facts.deposits);
  checkCompliance(channel, current, update, facts);
  return update;
}

/** The result of a successful validation: what the state does and the digest to countersign. */
export interface Transition {
  readonly update: Update;
  readonly digest: Bytes32;
}

/**
 * `checkTransition` plus signatures: every signature present must be its participant's (BAD_SIGNATURE),
 * and at least one must be, the proposer's. `current` is the caller's own latest agreed state and is
 * not re-verified.
 */
export function validateTransition(
  channel: Channel,
  current: SignedState,
  proposed: SignedState,
  context: TransitionContext,
  verifier: Verifier,
): Transition {
  const update = checkTransition(channel, current.state, proposed.state, context);
  const digest = stateDigest(proposed.state, channel.domain);
  const [sig0, sig1] = proposed.signatures;
  if (sig0 === null && sig1 === null) throw new ProtocolError("BAD_SIGNATURE", "the proposal is not signed");
  checkSignature(channel, digest, sig0, 0, verifier);
  checkSignature(channel, digest, sig1, 1, verifier);
  return { update, digest };
}

function checkSignature(channel: Channel, digest: Bytes32, signature: SignatureHex | null, participant: ParticipantIndex, verifier: Verifier): void {
  if (signature !== null && !verifier.verify(digest, signature, channel.params.participants[participant])) {
    throw new ProtocolError("BAD_SIGNATURE", `not participant ${participant}'s signature`, { participant });
  }
}

/** BAD_SIGNATURE unless both participants signed the state (an agreed state, e.g. from a peer's resync). */
export function verifyAgreed(channel: Channel, signed: SignedState, verifier: Verifier): Bytes32 {
  const digest = stateDigest(signed.state, channel.domain);
  signed.signatures.forEach((signature, participant) => {
    if (signature === null) throw new ProtocolError("BAD_SIGNATURE", `participant ${participant}'s signature is missing`, { participant });
    checkSignature(channel, digest, signature, participant as ParticipantIndex, verifier);
  });
  return digest;
}

/** `signed` with `signature` in participant `participant`'s slot. */
export function withSignature(signed: SignedState, participant: ParticipantIndex, signature: SignatureHex): SignedState {
  const signatures: [SignatureHex | null, SignatureHex | null] = [signed.signatures[0], signed.signatures[1]];
  signatures[participant] = signature;
  return { state: signed.state, signatures };
}

/** The participant index of `signer` in the channel; INVALID_PARAMS when it is neither. */
export function participantIndexOf(channel: Channel, signer: Pick<Signer, "address">): ParticipantIndex {
  const index = channel.params.participants.indexOf(signer.address);
  if (index !== 0 && index !== 1) throw new ProtocolError("INVALID_PARAMS", "the signer is not a participant of the channel");
  return index;
}
