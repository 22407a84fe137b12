/**
 * Whether a proposed state may follow the latest agreed one (docs/protocol.md): `checkTransition`
 * does not trust a claimed intent. It recognises which update kind the difference between the two
 * states is (payment, trade, deposit acknowledgement, withdrawal, add lock or lock pair, resolve
 * lock, expire lock, cancel lock pair, final), rejects anything else, re-applies the recognised update and requires
 * the exact same state, so every agreed state has one canonical form. It then checks lock validity,
 * balances against the confirmed deposits and the compliance of every restricted-token movement.
 * Every rejection is a ProtocolError with a stable code.
 *
 * Pure: what the caller knows from outside the channel (`ChannelFacts`: confirmed deposits, the
 * time, the compliance mirror, on-chain secret reveals) is an input. The effects of a verdict
 * (persist the state, countersign or send `rejectionOf(error)`) are the node's engine's and the
 * client SDK's. Signatures are signed-states.ts's.
 */
import { ZeroHash } from "ethers";
import type { Channel } from "./channel.js";
import { assertCompliant, isTrackedToken, onChainBalanceOf, type ComplianceFacts } from "./compliance/index.js";
import { ProtocolError } from "./errors.js";
import { checkStateBounds } from "./encoding.js";
import { MAX_LOCK_DURATION, type Address, type Allocation, type Bytes32, type Deposits, type Lock, type ParticipantIndex, type State } from "./types.js";
import { findLock, invalidUpdate, isLockPair, locksUnder } from "./update-checks.js";
import { applyUpdate, type Leg, type Update, type Withdrawal } from "./updates.js";

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

/**
 * The locks under one hashlock removed with nothing moved: after the expiry (and no reveal in time)
 * they expire; before it a lock pair may be cancelled — both legs back to their senders, which each
 * side may only give up (the receiver policies decide who may propose it: docs/protocol.md) — while
 * a single lock stays claimable (LOCK_ACTIVE, `checkLockRemoval`). A pair whose secret was revealed
 * on chain is never cancelled.
 */
function expiryOrCancel(current: State, update: Extract<Update, { kind: "expireLock" }>, facts: ChannelFacts): Update {
  const locks = locksUnder(current, update.hashlock);
  const lock = locks[0]!;
  const revealed = (facts.revealedAt?.get(lock.hashlock) ?? 0n) !== 0n;
  return facts.now <= lock.expiry && !revealed && isLockPair(locks) ? { kind: "cancelLockPair", hashlock: update.hashlock } : update;
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
    case "cancelLockPair":
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
 * LOCK_ACTIVE; a pair removed before its expiry is `cancelLockPair`), given the confirmed deposits no negative balance (INSUFFICIENT_BALANCE), and the
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

  const recognised = recogniseUpdate(current, proposed, context.secrets);
  const update = recognised.kind === "expireLock" ? expiryOrCancel(current, recognised, facts) : recognised;
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
