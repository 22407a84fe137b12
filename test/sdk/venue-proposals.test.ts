// What the investor's SDK countersigns from the venue unasked (client/sdk/venue-proposals.ts): the
// pure rule on the update the core recognised and the states around it — payments and locks to the
// investor, lock resolutions, the venue's withdrawal of its own funds only, and a final state of
// exactly the latest balances with no lock and nothing of the investor's in flight.
import { describe, expect, it } from "vitest";
import { ZeroHash, getAddress } from "ethers";
import { ProtocolError, applyUpdate, channelOf, checkTransition, genesisState, hashlockOf, type Channel, type State, type Update } from "../../client/protocol/index.js";
import { checkVenueMayPropose } from "../../client/sdk/venue-proposals.js";

const venue = getAddress("0x" + "11".repeat(20));
const investor = getAddress("0x" + "22".repeat(20));
const sec = getAddress("0x" + "aa".repeat(20));
const cash = getAddress("0x" + "bb".repeat(20));
const channel: Channel = channelOf({ participants: [venue, investor], assets: [sec, cash], challengePeriod: 3_600n, salt: ZeroHash }, { chainId: 31337n, adjudicator: getAddress("0x" + "cc".repeat(20)) });
const deposits = [
  [100n, 50n],
  [1_000n, 500n],
] as const;
const NOW = 1_000_000n;
const secret = "0x" + "42".repeat(32);

/** The state `update` makes of `state`, checked by the core as the SDK checks it first. */
function next(state: State, update: Update): State {
  const proposed = applyUpdate(channel, state, update);
  checkTransition(channel, state, proposed, { facts: { deposits, now: NOW }, secrets: update.kind === "resolveLock" ? new Map([[update.hashlock, update.secret]]) : new Map() });
  return proposed;
}

/** The code the SDK refuses the venue's `update` of `latest` with, or "countersigned". */
function verdict(latest: State, update: Update, ownProposalInFlight = false, proposed: State = next(latest, update)): string {
  try {
    checkVenueMayPropose(update, { latest, proposed, ownProposalInFlight });
    return "countersigned";
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    return error.code;
  }
}

const start = next(genesisState(channel).state, { kind: "payment", leg: { assetIndex: 1, from: 1, amount: 100n } });
const lock = { assetIndex: 1, sender: 0 as const, amount: 10n, hashlock: hashlockOf(secret), expiry: NOW + 600n };
const locked = next(start, { kind: "addLock", lock });

describe("what the investor's SDK countersigns from the venue unasked", () => {
  it("payments and locks to the investor, lock resolutions and expiries; never a payment, a lock or a trade of the investor's funds", () => {
    expect(verdict(start, { kind: "payment", leg: { assetIndex: 1, from: 0, amount: 5n } })).toBe("countersigned");
    expect(verdict(start, { kind: "addLock", lock })).toBe("countersigned");
    expect(verdict(locked, { kind: "resolveLock", hashlock: lock.hashlock, secret })).toBe("countersigned");
    expect(verdict(start, { kind: "payment", leg: { assetIndex: 1, from: 1, amount: 5n } })).toBe("INVALID_UPDATE");
    expect(verdict(start, { kind: "addLock", lock: { ...lock, sender: 1 } })).toBe("INVALID_UPDATE");
    const trade: Update = { kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 1n }, { assetIndex: 1, from: 1, amount: 10n }] };
    expect(verdict(start, trade)).toBe("INVALID_UPDATE");
    expect(verdict(start, { kind: "depositAck" })).toBe("INVALID_UPDATE");
  });

  it("the venue's withdrawal of its own funds only; never the investor's, nor one mixed with the investor's", () => {
    expect(verdict(start, { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 0, amount: 1_100n }] })).toBe("countersigned");
    expect(verdict(locked, { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 0, amount: 100n }] })).toBe("countersigned");
    expect(verdict(start, { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 1, amount: 1n }] })).toBe("INVALID_UPDATE");
    const both: Update = { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 0, amount: 1n }, { assetIndex: 1, participant: 1, amount: 1n }] };
    expect(verdict(start, both)).toBe("INVALID_UPDATE");
  });

  it("a venue withdrawal whose state also moves the investor's funds is refused even when the update claims otherwise", () => {
    const update: Update = { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 0, amount: 1n }] };
    const moved = next(start, update);
    const tampered: State = { ...moved, allocations: moved.allocations.map((a, i) => (i === 1 ? { ...a, net: a.net - 5n } : a)) };
    expect(verdict(start, update, false, tampered)).toBe("INVALID_UPDATE");
    expect(verdict(start, update, false, { ...moved, locks: [lock] })).toBe("INVALID_UPDATE");
  });

  it("a final state of exactly the latest balances with no locks", () => {
    expect(verdict(start, { kind: "final" })).toBe("countersigned");
    const final = next(start, { kind: "final" });
    const moved: State = { ...final, allocations: final.allocations.map((a, i) => (i === 1 ? { ...a, net: a.net - 1n } : a)) };
    expect(verdict(start, { kind: "final" }, false, moved)).toBe("INVALID_UPDATE");
    const withdrawn: State = { ...final, allocations: final.allocations.map((a, i) => (i === 0 ? { ...a, withdrawn0: 1n } : a)) };
    expect(verdict(start, { kind: "final" }, false, withdrawn)).toBe("INVALID_UPDATE");
  });

  it("the cancel of a lock pair before its expiry (a failed fill's): both legs back, nothing else changed", () => {
    const pair = next(start, {
      kind: "addLockPair",
      locks: [
        { assetIndex: 0, sender: 1, amount: 5n, hashlock: lock.hashlock, expiry: lock.expiry },
        { assetIndex: 1, sender: 0, amount: 50n, hashlock: lock.hashlock, expiry: lock.expiry },
      ],
    });
    const cancel: Update = { kind: "cancelLockPair", hashlock: lock.hashlock };
    expect(checkTransition(channel, pair, next(pair, cancel), { facts: { deposits, now: NOW } })).toEqual(cancel);
    expect(verdict(pair, cancel)).toBe("countersigned");
  });

  it("no final state while a lock is outstanding (a payment in flight)", () => {
    expect(verdict(locked, { kind: "final" }, false, { ...locked, nonce: locked.nonce + 1n, isFinal: true })).toBe("LOCKS_OUTSTANDING");
    expect(verdict(start, { kind: "final" }, false, { ...next(start, { kind: "final" }), locks: [lock] })).toBe("LOCKS_OUTSTANDING");
  });

  it("no final state and no venue withdrawal while a proposal of the investor's is in flight (BUSY)", () => {
    expect(verdict(start, { kind: "final" }, true)).toBe("BUSY");
    expect(verdict(start, { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 0, amount: 1n }] }, true)).toBe("BUSY");
    // A payment to the investor is no risk to it whatever it has in flight.
    expect(verdict(start, { kind: "payment", leg: { assetIndex: 1, from: 0, amount: 5n } }, true)).toBe("countersigned");
  });
});
