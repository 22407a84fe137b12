// The protocol core's lock pair (docs/protocol.md, "Settlement of a fill"): both legs of an exchange
// under one hashlock and expiry, added in one update and resolved or expired in one update.
import { beforeAll, describe, expect, it } from "vitest";
import { ZeroHash, getAddress, keccak256 } from "ethers";
import {
  NativeSigner,
  applyEvents,
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
import { ADJUDICATOR, NOW, TOKEN, attributeEvents, baseFacts, mintEvent } from "../protocol/fixtures.js";

const CASH = getAddress("0x6000000000000000000000000000000000000006");
const SECRET = `0x${"5e".repeat(32)}`;
const HASHLOCK = keccak256(SECRET);
const T = NOW + 600n;

let channel: Channel;
let investor: string;

beforeAll(async () => {
  const venue = await NativeSigner.create(`0x${"0a".repeat(32)}`);
  investor = (await NativeSigner.create(`0x${"0b".repeat(32)}`)).address;
  channel = channelOf(
    { participants: [venue.address, investor], assets: [TOKEN, CASH], challengePeriod: 3_600n, salt: ZeroHash },
    { chainId: 31_337n, adjudicator: ADJUDICATOR },
  );
});

function facts(overrides: Partial<ChannelFacts> = {}, eligible = true): ChannelFacts {
  const venue = channel.params.participants[0];
  const events = [...attributeEvents(venue), ...(eligible ? attributeEvents(investor) : []), mintEvent(venue, 10_000n)];
  return { deposits: [[1_000n, 1_000n], [50_000n, 50_000n]], now: NOW, compliance: { facts: applyEvents(baseFacts(), events) }, ...overrides };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return "NONE";
  } catch (error) {
    if (isProtocolError(error)) return error.code;
    throw error;
  }
}

/** The seller's pair: 10 security units investor → venue, 500 cash venue → investor. */
const sellerPair = (overrides: Partial<Lock> = {}): readonly [Lock, Lock] => [
  { assetIndex: 0, sender: 1, amount: 10n, hashlock: HASHLOCK, expiry: T },
  { assetIndex: 1, sender: 0, amount: 500n, hashlock: HASHLOCK, expiry: T, ...overrides },
];

function step(state: State, update: Update, f: ChannelFacts = facts(), secrets?: ReadonlyMap<string, string>): State {
  const next = applyUpdate(channel, state, update);
  expect(checkTransition(channel, state, next, { facts: f, ...(secrets ? { secrets } : {}) })).toEqual(update);
  return next;
}

describe("lock pair", () => {
  it("adds both legs in one update; their amounts leave both balances", () => {
    const locked = step(genesisState(channel).state, { kind: "addLockPair", locks: sellerPair() });
    expect(locked.locks).toHaveLength(2);
    expect(channelBalance(locked, facts().deposits, 0, 1)).toBe(990n);
    expect(channelBalance(locked, facts().deposits, 1, 0)).toBe(49_500n);
    expect(locked.allocations.map((a) => a.net)).toEqual([0n, 0n]);
  });

  it("resolves both legs with the secret in one update: each moves to its receiver", () => {
    const locked = step(genesisState(channel).state, { kind: "addLockPair", locks: sellerPair() });
    const resolved = step(locked, { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }, facts(), new Map([[HASHLOCK, SECRET]]));
    expect(resolved.locks).toEqual([]);
    expect(resolved.allocations.map((a) => a.net)).toEqual([-10n, 500n]);
  });

  it("expires both legs after the expiry: nothing moves", () => {
    const locked = step(genesisState(channel).state, { kind: "addLockPair", locks: sellerPair() });
    const expired = step(locked, { kind: "expireLock", hashlock: HASHLOCK }, facts({ now: T + 1n }));
    expect(expired.locks).toEqual([]);
    expect(expired.allocations.map((a) => a.net)).toEqual([0n, 0n]);
    // Before the expiry the same change is the pair's cancel (test/protocol/cancel-lock-pair.test.ts).
    expect(checkTransition(channel, locked, applyUpdate(channel, locked, { kind: "expireLock", hashlock: HASHLOCK }), { facts: facts() }).kind).toBe("cancelLockPair");
  });

  it("never resolves or expires one leg of a pair alone", () => {
    const locked = step(genesisState(channel).state, { kind: "addLockPair", locks: sellerPair() });
    const [first, second] = locked.locks as [Lock, Lock];
    // Only the investor's leg moved, the venue's lock dropped: not the canonical resolution.
    const oneLeg: State = { ...locked, nonce: locked.nonce + 1n, locks: [], allocations: [{ ...locked.allocations[0]!, net: -10n }, locked.allocations[1]!] };
    expect(codeOf(() => checkTransition(channel, locked, oneLeg, { facts: facts(), secrets: new Map([[HASHLOCK, SECRET]]) }))).toBe("CONSERVATION");
    // One lock removed, the other kept.
    const halfExpired: State = { ...locked, nonce: locked.nonce + 1n, locks: [second] };
    expect(codeOf(() => checkTransition(channel, locked, halfExpired, { facts: facts({ now: T + 1n }) }))).toBe("INVALID_UPDATE");
    const halfResolved: State = { ...locked, nonce: locked.nonce + 1n, locks: [first], allocations: [locked.allocations[0]!, { ...locked.allocations[1]!, net: 500n }] };
    expect(codeOf(() => checkTransition(channel, locked, halfResolved, { facts: facts(), secrets: new Map([[HASHLOCK, SECRET]]) }))).toBe("INVALID_UPDATE");
  });

  it("refuses a pair that is not one: other hashlock or expiry, one direction, one asset, out of order", () => {
    const genesis = genesisState(channel).state;
    const other = keccak256(`0x${"77".repeat(32)}`);
    for (const locks of [
      sellerPair({ hashlock: other }),
      sellerPair({ expiry: T + 1n }),
      sellerPair({ sender: 1 }),
      [sellerPair()[0], { ...sellerPair()[1], assetIndex: 0 }] as const,
      [sellerPair()[1], sellerPair()[0]] as const,
    ]) {
      expect(codeOf(() => applyUpdate(channel, genesis, { kind: "addLockPair", locks }))).toBe("INVALID_UPDATE");
      const forged: State = { ...genesis, nonce: 1n, locks: [...locks] };
      expect(codeOf(() => checkTransition(channel, genesis, forged, { facts: facts() }))).not.toBe("NONE");
    }
  });

  it("refuses a pair beyond a balance, an existing hashlock, and a security leg to an ineligible investor", () => {
    const genesis = genesisState(channel).state;
    expect(codeOf(() => step(genesis, { kind: "addLockPair", locks: sellerPair({ amount: 50_001n }) }))).toBe("INSUFFICIENT_BALANCE");
    const single = step(genesis, { kind: "addLock", lock: { assetIndex: 0, sender: 0, amount: 1n, hashlock: HASHLOCK, expiry: T } });
    expect(codeOf(() => step(single, { kind: "addLockPair", locks: sellerPair() }))).toBe("BAD_LOCK");
    // The buyer's pair: security venue → investor, cash investor → venue.
    const buyerPair: readonly [Lock, Lock] = [
      { assetIndex: 0, sender: 0, amount: 10n, hashlock: HASHLOCK, expiry: T },
      { assetIndex: 1, sender: 1, amount: 500n, hashlock: HASHLOCK, expiry: T },
    ];
    expect(codeOf(() => step(genesis, { kind: "addLockPair", locks: buyerPair }))).toBe("NONE");
    expect(codeOf(() => step(genesis, { kind: "addLockPair", locks: buyerPair }, facts({}, false)))).toBe("NON_COMPLIANT");
  });
});
