// The protocol core's cancel of a lock pair (client/protocol/transitions.ts, docs/protocol.md "Settlement
// of a fill"): a lock pair removed before its expiry with nothing else changed is `cancelLockPair` —
// both legs back to their senders; a single lock stays claimable until its expiry (LOCK_ACTIVE), and
// so does a pair whose secret was revealed on chain. Anything else changed with it is no cancel.
import { beforeAll, describe, expect, it } from "vitest";
import { ZeroHash, getAddress, keccak256 } from "ethers";
import {
  NativeSigner,
  applyUpdate,
  channelBalance,
  channelOf,
  checkTransition,
  genesisState,
  isProtocolError,
  type Channel,
  type ChannelFacts,
  type Lock,
  type State,
  type Update,
} from "../../client/protocol/index.js";
import { summarize } from "../../client/store/summary.js";
import { ADJUDICATOR, NOW, TOKEN } from "./fixtures.js";

const CASH = getAddress("0x6000000000000000000000000000000000000006");
const HASHLOCK = keccak256(`0x${"5e".repeat(32)}`);
const OTHER = keccak256(`0x${"77".repeat(32)}`);
const T = NOW + 600n;
const DEPOSITS = [
  [1_000n, 1_000n],
  [50_000n, 50_000n],
] as const;

let channel: Channel;

beforeAll(async () => {
  const venue = await NativeSigner.create(`0x${"0a".repeat(32)}`);
  const investor = await NativeSigner.create(`0x${"0b".repeat(32)}`);
  channel = channelOf({ participants: [venue.address, investor.address], assets: [TOKEN, CASH], challengePeriod: 3_600n, salt: ZeroHash }, { chainId: 31_337n, adjudicator: ADJUDICATOR });
});

const facts = (overrides: Partial<ChannelFacts> = {}): ChannelFacts => ({ deposits: DEPOSITS, now: NOW, ...overrides });

/** The seller's pair: 10 security units investor → venue, 500 cash venue → investor. */
const pair = (hashlock = HASHLOCK): readonly [Lock, Lock] => [
  { assetIndex: 0, sender: 1, amount: 10n, hashlock, expiry: T },
  { assetIndex: 1, sender: 0, amount: 500n, hashlock, expiry: T },
];

/** The update the core recognises in `proposed` after `current`, or the code it refuses it with. */
function verdict(current: State, proposed: State, f: ChannelFacts = facts()): Update | string {
  try {
    return checkTransition(channel, current, proposed, { facts: f });
  } catch (error) {
    if (isProtocolError(error)) return error.code;
    throw error;
  }
}

/** A payment of 7 cash from the venue first (nets not zero), then the pair. */
function lockedState(): { before: State; locked: State } {
  const before = applyUpdate(channel, genesisState(channel).state, { kind: "payment", leg: { assetIndex: 1, from: 0, amount: 7n } });
  return { before, locked: applyUpdate(channel, before, { kind: "addLockPair", locks: pair() }) };
}

const balancesOf = (state: State): bigint[] => [0, 1].flatMap((asset) => [0, 1].map((p) => channelBalance(state, DEPOSITS, asset, p as 0 | 1)));

describe("cancelLockPair", () => {
  it("cancels a pair before its expiry (up to T itself): both legs back to their senders, balances as before the pair", () => {
    const { before, locked } = lockedState();
    const cancelled = applyUpdate(channel, locked, { kind: "cancelLockPair", hashlock: HASHLOCK });
    expect(verdict(locked, cancelled)).toEqual({ kind: "cancelLockPair", hashlock: HASHLOCK });
    expect(verdict(locked, cancelled, facts({ now: T }))).toEqual({ kind: "cancelLockPair", hashlock: HASHLOCK });
    expect(cancelled.locks).toEqual([]);
    expect(cancelled.allocations).toEqual(before.allocations);
    expect(balancesOf(cancelled)).toEqual(balancesOf(before));
    // After T the same change is the pair's expiry.
    expect(verdict(locked, cancelled, facts({ now: T + 1n }))).toEqual({ kind: "expireLock", hashlock: HASHLOCK });
    expect(summarize({ kind: "cancelLockPair", hashlock: HASHLOCK }, 1)).toEqual({ kind: "cancelLockPair", movements: [], at: 1 });
  });

  it("keeps the other locks: only the pair under the hashlock goes", () => {
    const { locked } = lockedState();
    const two = applyUpdate(channel, locked, { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock: OTHER, expiry: T } });
    const cancelled = applyUpdate(channel, two, { kind: "cancelLockPair", hashlock: HASHLOCK });
    expect(cancelled.locks.map((l) => l.hashlock)).toEqual([OTHER]);
    expect(verdict(two, cancelled)).toEqual({ kind: "cancelLockPair", hashlock: HASHLOCK });
  });

  it("never cancels a single lock: it stays claimable until its expiry (LOCK_ACTIVE), and cannot be built as a cancel", () => {
    const start = genesisState(channel).state;
    for (const sender of [0, 1] as const) {
      const single = applyUpdate(channel, start, { kind: "addLock", lock: { assetIndex: 1, sender, amount: 5n, hashlock: HASHLOCK, expiry: T } });
      const removed: State = { ...single, nonce: single.nonce + 1n, locks: [] };
      expect(verdict(single, removed)).toBe("LOCK_ACTIVE");
      expect(verdict(single, removed, facts({ now: T + 1n }))).toEqual({ kind: "expireLock", hashlock: HASHLOCK });
      expect(() => applyUpdate(channel, single, { kind: "cancelLockPair", hashlock: HASHLOCK })).toThrow(expect.objectContaining({ code: "INVALID_UPDATE" }));
    }
    expect(() => applyUpdate(channel, start, { kind: "cancelLockPair", hashlock: HASHLOCK })).toThrow(expect.objectContaining({ code: "UNKNOWN_LOCK" }));
  });

  it("never cancels a pair whose secret was revealed on chain (before or after the expiry): its receivers can claim", () => {
    const { locked } = lockedState();
    const cancelled = applyUpdate(channel, locked, { kind: "cancelLockPair", hashlock: HASHLOCK });
    expect(verdict(locked, cancelled, facts({ revealedAt: new Map([[HASHLOCK, NOW - 1n]]) }))).toBe("LOCK_ACTIVE");
    expect(verdict(locked, cancelled, facts({ now: T + 5n, revealedAt: new Map([[HASHLOCK, T]]) }))).toBe("LOCK_ACTIVE");
    // Another hashlock's reveal changes nothing.
    expect(verdict(locked, cancelled, facts({ revealedAt: new Map([[OTHER, NOW - 1n]]) }))).toEqual({ kind: "cancelLockPair", hashlock: HASHLOCK });
  });

  it("is no cancel when anything else changes with it: a movement, a withdrawal, another lock added or removed, one leg only", () => {
    const { locked } = lockedState();
    const cancelled = applyUpdate(channel, locked, { kind: "cancelLockPair", hashlock: HASHLOCK });
    const moved: State = { ...cancelled, allocations: cancelled.allocations.map((a, i) => (i === 1 ? { ...a, net: a.net + 1n } : a)) };
    expect(verdict(locked, moved)).toBe("CONSERVATION");
    const legMoved: State = { ...cancelled, allocations: cancelled.allocations.map((a, i) => (i === 1 ? { ...a, net: a.net + 500n } : a)) };
    expect(verdict(locked, legMoved)).toBe("CONSERVATION");
    const withdrawn: State = { ...cancelled, allocations: cancelled.allocations.map((a, i) => (i === 0 ? { ...a, withdrawn0: 1n } : a)) };
    expect(verdict(locked, withdrawn)).toBe("INVALID_UPDATE");
    const added: State = { ...cancelled, locks: [{ assetIndex: 1, sender: 0, amount: 1n, hashlock: OTHER, expiry: T }] };
    expect(verdict(locked, added)).toBe("INVALID_UPDATE");
    const two = applyUpdate(channel, locked, { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock: OTHER, expiry: T } });
    const bothGone: State = { ...two, nonce: two.nonce + 1n, locks: [] };
    expect(verdict(two, bothGone)).toBe("INVALID_UPDATE");
    const oneLeg: State = { ...locked, nonce: locked.nonce + 1n, locks: [locked.locks[1]!] };
    expect(verdict(locked, oneLeg)).toBe("INVALID_UPDATE");
    const final: State = { ...cancelled, isFinal: true };
    expect(verdict(locked, final)).toBe("LOCKS_OUTSTANDING");
  });
});
