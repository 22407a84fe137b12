import { beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { ZeroHash, getAddress, keccak256 } from "ethers";
import {
  INT128_MAX,
  MAX_LOCKS,
  MAX_LOCK_DURATION,
  NativeSigner,
  applyEvents,
  applyUpdate,
  assertSameDeployment,
  baseAfterVoid,
  channelBalance,
  channelOf,
  checkTransition,
  genesisState,
  isProtocolError,
  participantIndexOf,
  stateDigest,
  trackToken,
  validateTransition,
  verifyAgreed,
  withSignature,
  type Channel,
  type ChannelFacts,
  type ComplianceEvent,
  type Lock,
  type ParticipantIndex,
  type ProtocolErrorCode,
  type SignedState,
  type Signer,
  type State,
  type TransitionContext,
  type Update,
  type Verifier,
} from "../../client/protocol/index.js";
import { ADJUDICATOR, NOW, RULES, TOKEN, attributeEvents, baseFacts, mintEvent } from "./fixtures.js";

const CASH = getAddress("0x6000000000000000000000000000000000000006");
const SECRET = `0x${"5e".repeat(32)}`;
const HASHLOCK = keccak256(SECRET);
const OTHER_SECRET = `0x${"77".repeat(32)}`;

let venue: Signer;
let investor: Signer;
let channel: Channel;
let verifier: Verifier;

beforeAll(async () => {
  venue = await NativeSigner.create(`0x${"0a".repeat(32)}`);
  investor = await NativeSigner.create(`0x${"0b".repeat(32)}`);
  verifier = venue;
  channel = channelOf(
    { participants: [venue.address, investor.address], assets: [TOKEN, CASH], challengePeriod: 3_600n, salt: ZeroHash },
    { chainId: 31_337n, adjudicator: ADJUDICATOR },
  );
});

/** Security token (asset 0) is restricted; cash (asset 1) is not. */
function complianceFacts(...events: ComplianceEvent[]) {
  return applyEvents(baseFacts(), [...attributeEvents(venue.address), ...attributeEvents(investor.address), mintEvent(venue.address, 10_000n), ...events]);
}

function facts(overrides: Partial<ChannelFacts> = {}): ChannelFacts {
  return {
    deposits: [
      [1_000n, 1_000n],
      [50_000n, 50_000n],
    ],
    now: NOW,
    compliance: { facts: complianceFacts() },
    ...overrides,
  };
}

function context(overrides: Partial<ChannelFacts> = {}, secrets?: ReadonlyMap<string, string>): TransitionContext {
  return { facts: facts(overrides), secrets };
}

function signBoth(state: State): SignedState {
  const digest = stateDigest(state, channel.domain);
  return { state, signatures: [venue.sign(digest), investor.sign(digest)] };
}

/** Applies the updates one by one, each checked and co-signed, from the genesis state. */
function agreed(...updates: Update[]): SignedState {
  let current = genesisState(channel);
  for (const update of updates) {
    const next = applyUpdate(channel, current.state, update);
    checkTransition(channel, current.state, next, context({}, secretsOf(update)));
    current = signBoth(next);
  }
  return current;
}

function secretsOf(update: Update): ReadonlyMap<string, string> | undefined {
  return update.kind === "resolveLock" ? new Map([[update.hashlock, update.secret]]) : undefined;
}

function codeOf(fn: () => unknown): ProtocolErrorCode | "NONE" {
  try {
    fn();
    return "NONE";
  } catch (error) {
    if (isProtocolError(error)) return error.code;
    throw error;
  }
}

const lock = (overrides: Partial<Lock> = {}): Lock => ({ assetIndex: 0, sender: 0, amount: 100n, hashlock: HASHLOCK, expiry: NOW + 600n, ...overrides });
const pay = (assetIndex: number, from: ParticipantIndex, amount: bigint): Update => ({ kind: "payment", leg: { assetIndex, from, amount } });

describe("channel configuration", () => {
  it("refuses parameters the adjudicator refuses, and a signer that is not a participant", () => {
    expect(codeOf(() => channelOf({ ...channel.params, participants: [venue.address, venue.address] }, channel.deployment))).toBe("INVALID_PARAMS");
    expect(participantIndexOf(channel, investor)).toBe(1);
    expect(codeOf(() => participantIndexOf(channel, { address: CASH }))).toBe("INVALID_PARAMS");
  });

  it("refuses a peer on another chain or adjudicator (WRONG_CHAIN)", () => {
    expect(codeOf(() => assertSameDeployment(channel.deployment, { ...channel.deployment }))).toBe("NONE");
    expect(codeOf(() => assertSameDeployment(channel.deployment, { ...channel.deployment, chainId: 1n }))).toBe("WRONG_CHAIN");
    expect(codeOf(() => assertSameDeployment(channel.deployment, { ...channel.deployment, adjudicator: CASH }))).toBe("WRONG_CHAIN");
  });

  it("starts from nonce 0 with nothing moved", () => {
    const genesis = genesisState(channel).state;
    expect(genesis.nonce).toBe(0n);
    expect(genesis.allocations.map((a) => a.token)).toEqual([TOKEN, CASH]);
    expect(channelBalance(genesis, facts().deposits, 1, 1)).toBe(50_000n);
  });
});

describe("every update kind", () => {
  const withLock: Update = { kind: "addLock", lock: lock() };
  const cases: [string, Update[], Update, Partial<ChannelFacts>, Update?][] = [
    ["payment, venue → investor, security token", [], pay(0, 0, 10n), {}],
    ["payment, investor → venue, cash", [], pay(1, 1, 500n), {}],
    ["payment of everything the payer holds", [], pay(1, 1, 50_000n), {}],
    ["DvP trade: security one way, cash the other", [], { kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 5n }, { assetIndex: 1, from: 1, amount: 500n }] }, {}],
    [
      "DvP trade given cash leg first (recognised in canonical order)",
      [],
      { kind: "trade", legs: [{ assetIndex: 1, from: 1, amount: 500n }, { assetIndex: 0, from: 0, amount: 5n }] },
      {},
      { kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 5n }, { assetIndex: 1, from: 1, amount: 500n }] },
    ],
    ["deposit acknowledgement", [], { kind: "depositAck" }, {}],
    ["withdrawal by the investor", [], { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 1, amount: 20_000n }] }, {}],
    [
      "withdrawal by both, of both assets",
      [pay(1, 1, 100n)],
      { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 0, amount: 1n }, { assetIndex: 1, participant: 0, amount: 50_000n }, { assetIndex: 1, participant: 1, amount: 2n }] },
      {},
    ],
    ["add a lock", [], withLock, {}],
    ["resolve a lock with its secret", [withLock], { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }, {}],
    ["resolve a lock after expiry when revealed on chain in time", [withLock], { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }, { now: NOW + 10_000n, revealedAt: new Map([[HASHLOCK, NOW + 600n]]) }],
    ["expire a lock after its expiry", [withLock], { kind: "expireLock", hashlock: HASHLOCK }, { now: NOW + 601n }],
    ["expire a lock revealed on chain too late", [withLock], { kind: "expireLock", hashlock: HASHLOCK }, { now: NOW + 700n, revealedAt: new Map([[HASHLOCK, NOW + 601n]]) }],
    ["final state", [pay(0, 0, 10n)], { kind: "final" }, {}],
  ];

  it.each(cases)("%s", (_, history, update, factOverrides, canonical) => {
    const current = agreed(...history);
    const proposed = applyUpdate(channel, current.state, update);
    expect(proposed.nonce).toBe(current.state.nonce + 1n);
    const ctx = context(factOverrides, secretsOf(update));
    expect(checkTransition(channel, current.state, proposed, ctx)).toEqual(canonical ?? update);

    const digest = stateDigest(proposed, channel.domain);
    const proposal: SignedState = { state: proposed, signatures: [null, investor.sign(digest)] };
    const transition = validateTransition(channel, current, proposal, ctx, verifier);
    expect(transition).toEqual({ update: canonical ?? update, digest });
    expect(verifyAgreed(channel, withSignature(proposal, 0, venue.sign(digest)), verifier)).toBe(digest);
  });

  it("moves exactly the amounts: payment, lock, resolution, refund", () => {
    const d = facts().deposits;
    const locked = agreed(pay(0, 0, 10n), { kind: "addLock", lock: lock() });
    expect([channelBalance(locked.state, d, 0, 0), channelBalance(locked.state, d, 0, 1)]).toEqual([890n, 1_010n]);
    const resolved = applyUpdate(channel, locked.state, { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET });
    expect([channelBalance(resolved, d, 0, 0), channelBalance(resolved, d, 0, 1)]).toEqual([890n, 1_110n]);
    const refunded = applyUpdate(channel, locked.state, { kind: "expireLock", hashlock: HASHLOCK });
    expect([channelBalance(refunded, d, 0, 0), channelBalance(refunded, d, 0, 1)]).toEqual([990n, 1_010n]);
  });
});

describe("a voided venue proposal (docs/protocol.md, off-chain protocol 7)", () => {
  it("skips exactly its nonce: the next state builds on the agreed one with the nonce above the voided one", () => {
    const current = agreed(pay(1, 1, 5n)).state; // nonce 1; the venue's voided proposal had nonce 2
    const base = baseAfterVoid(current, 2n);
    expect(base).toEqual({ ...current, nonce: 2n });
    const skipping = applyUpdate(channel, base, pay(1, 1, 3n));
    expect(skipping.nonce).toBe(3n);
    expect(checkTransition(channel, current, skipping, { ...context(), voided: 2n })).toEqual(pay(1, 1, 3n));
    // Over a void at a nonce further up (the venue's proposal over an earlier void was voided too): the nonce above it.
    expect(checkTransition(channel, current, applyUpdate(channel, baseAfterVoid(current, 4n), pay(1, 1, 3n)), { ...context(), voided: 4n })).toEqual(pay(1, 1, 3n));
  });

  it("refuses, over a void, another state of the voided nonce and any other gap (BAD_NONCE); without one, any gap", () => {
    const current = agreed(pay(1, 1, 5n)).state;
    const at = (nonce: bigint): State => ({ ...applyUpdate(channel, current, pay(1, 1, 3n)), nonce });
    expect(codeOf(() => checkTransition(channel, current, at(2n), { ...context(), voided: 2n }))).toBe("BAD_NONCE");
    expect(codeOf(() => checkTransition(channel, current, at(4n), { ...context(), voided: 2n }))).toBe("BAD_NONCE");
    expect(codeOf(() => checkTransition(channel, current, at(3n), context()))).toBe("BAD_NONCE");
    expect(codeOf(() => checkTransition(channel, current, at(3n), { ...context(), voided: 3n }))).toBe("BAD_NONCE");
  });

  it("ignores a void the agreed state has overtaken", () => {
    const current = agreed(pay(1, 1, 5n), pay(1, 1, 1n)).state; // nonce 2
    expect(baseAfterVoid(current, 2n)).toBe(current);
    expect(baseAfterVoid(current, 1n)).toBe(current);
    expect(checkTransition(channel, current, applyUpdate(channel, current, pay(1, 1, 3n)), { ...context(), voided: 2n })).toEqual(pay(1, 1, 3n));
  });

  it("still checks everything else against the agreed state: the skip moves nothing", () => {
    const current = agreed(pay(1, 1, 5n)).state;
    const base = baseAfterVoid(current, 2n);
    expect(codeOf(() => checkTransition(channel, current, applyUpdate(channel, base, pay(1, 1, 49_996n)), { ...context(), voided: 2n }))).toBe("INSUFFICIENT_BALANCE");
    expect(codeOf(() => checkTransition(channel, current, { ...applyUpdate(channel, base, pay(1, 1, 1n)), channelId: ZeroHash }, { ...context(), voided: 2n }))).toBe("WRONG_CHANNEL");
  });
});

describe("every rejection", () => {
  type Case = { current?: SignedState; proposed: (current: State) => State; facts?: Partial<ChannelFacts>; secrets?: Map<string, string> };
  const next = (current: State, changes: Partial<State> = {}): State => ({ ...current, nonce: current.nonce + 1n, ...changes });
  /** `current` with one allocation changed and the nonce bumped. */
  const withAllocation = (current: State, index: number, changes: Partial<State["allocations"][number]>): State =>
    next(changed(current, index, changes));
  const changed = (current: State, index: number, changes: Partial<State["allocations"][number]>): State => ({
    ...current,
    allocations: current.allocations.map((a, i) => (i === index ? { ...a, ...changes } : a)),
  });
  const applied = (update: Update) => (current: State) => applyUpdate(channel, current, update);
  const locked = () => agreed({ kind: "addLock", lock: lock() });

  const cases: [string, () => Case, ProtocolErrorCode][] = [
    ["another channel's state", () => ({ proposed: (c) => next(c, { channelId: ZeroHash }) }), "WRONG_CHANNEL"],
    ["anything after a final state", () => ({ current: agreed({ kind: "final" }), proposed: applied({ kind: "depositAck" }) }), "FINAL_STATE"],
    ["a skipped nonce", () => ({ proposed: (c) => ({ ...c, nonce: c.nonce + 2n }) }), "BAD_NONCE"],
    ["a repeated nonce", () => ({ current: agreed(pay(0, 0, 1n)), proposed: (c) => ({ ...c, allocations: c.allocations }) }), "BAD_NONCE"],
    ["a net beyond int128", () => ({ proposed: (c) => withAllocation(c, 1, { net: INT128_MAX + 1n }) }), "OUT_OF_RANGE"],
    ["allocations in another order", () => ({ proposed: (c) => next(c, { allocations: [...c.allocations].reverse() }) }), "ASSET_MISMATCH"],
    ["an allocation missing", () => ({ proposed: (c) => next(c, { allocations: c.allocations.slice(0, 1) }) }), "ASSET_MISMATCH"],
    ["another token", () => ({ proposed: (c) => withAllocation(c, 1, { token: ADJUDICATOR }) }), "ASSET_MISMATCH"],
    ["a decreased withdrawal", () => ({ current: agreed({ kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 1, amount: 5n }] }), proposed: (c) => withAllocation(c, 1, { withdrawn1: 4n }) }), "WITHDRAWAL_DECREASED"],
    ["paying more than the payer holds", () => ({ proposed: applied(pay(1, 1, 50_001n)) }), "INSUFFICIENT_BALANCE"],
    ["paying what is only locked", () => ({ current: agreed({ kind: "addLock", lock: lock({ amount: 1_000n }) }), proposed: applied(pay(0, 0, 1n)) }), "INSUFFICIENT_BALANCE"],
    ["withdrawing more than deposited", () => ({ proposed: applied({ kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 1, amount: 1_001n }] }) }), "INSUFFICIENT_BALANCE"],
    ["withdrawing more than deposited plus received", () => ({ current: agreed(pay(0, 0, 10n)), proposed: applied({ kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 1, amount: 1_011n }] }) }), "INSUFFICIENT_BALANCE"],
    ["withdrawing deposits already paid away", () => ({ current: agreed(pay(1, 1, 10n)), proposed: applied({ kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 1, amount: 49_991n }] }) }), "INSUFFICIENT_BALANCE"],
    ["an unconfirmed deposit", () => ({ proposed: applied(pay(1, 1, 10n)), facts: { deposits: [[1_000n, 1_000n], [50_000n, 0n]] } }), "INSUFFICIENT_BALANCE"],
    ["locking more than held", () => ({ proposed: applied({ kind: "addLock", lock: lock({ amount: 1_001n }) }) }), "INSUFFICIENT_BALANCE"],
    ["a removed lock whose amount goes half to its receiver", () => ({ current: locked(), proposed: (c) => next(changed(c, 0, { net: 50n }), { locks: [] }) }), "CONSERVATION"],
    ["a removed lock whose amount goes to its sender's side", () => ({ current: locked(), proposed: (c) => next(changed(c, 0, { net: -100n }), { locks: [] }) }), "CONSERVATION"],
    ["a ninth lock", () => ({ current: agreed(...Array.from({ length: MAX_LOCKS }, (_, i): Update => ({ kind: "addLock", lock: lock({ amount: 1n, hashlock: keccak256(`0x${i.toString(16).padStart(64, "0")}`) }) }))), proposed: applied({ kind: "addLock", lock: lock({ amount: 1n }) }) }), "LOCK_LIMIT"],
    ["a lock of zero", () => ({ proposed: applied({ kind: "addLock", lock: lock({ amount: 0n }) }) }), "BAD_LOCK"],
    ["a lock that expired already", () => ({ proposed: applied({ kind: "addLock", lock: lock({ expiry: NOW }) }) }), "BAD_LOCK"],
    ["a lock that expires too far ahead", () => ({ proposed: applied({ kind: "addLock", lock: lock({ expiry: NOW + MAX_LOCK_DURATION + 1n }) }) }), "BAD_LOCK"],
    ["a lock in an asset the channel lacks", () => ({ proposed: applied({ kind: "addLock", lock: lock({ assetIndex: 2 }) }) }), "BAD_LOCK"],
    ["a lock with the zero hashlock", () => ({ proposed: applied({ kind: "addLock", lock: lock({ hashlock: ZeroHash }) }) }), "BAD_LOCK"],
    ["a second lock with the same hashlock", () => ({ current: locked(), proposed: applied({ kind: "addLock", lock: lock({ amount: 1n }) }) }), "BAD_LOCK"],
    ["resolving without the secret", () => ({ current: locked(), proposed: applied({ kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }) }), "BAD_SECRET"],
    ["resolving with a wrong secret", () => ({ current: locked(), proposed: applied({ kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }), secrets: new Map([[HASHLOCK, OTHER_SECRET]]) }), "BAD_SECRET"],
    ["resolving after expiry, unrevealed on chain", () => ({ current: locked(), proposed: applied({ kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }), secrets: new Map([[HASHLOCK, SECRET]]), facts: { now: NOW + 601n } }), "LOCK_EXPIRED"],
    ["expiring a lock before its expiry", () => ({ current: locked(), proposed: applied({ kind: "expireLock", hashlock: HASHLOCK }), facts: { now: NOW + 600n } }), "LOCK_ACTIVE"],
    ["expiring a lock revealed on chain in time", () => ({ current: locked(), proposed: applied({ kind: "expireLock", hashlock: HASHLOCK }), facts: { now: NOW + 700n, revealedAt: new Map([[HASHLOCK, NOW + 600n]]) } }), "LOCK_ACTIVE"],
    ["a final state with a lock outstanding", () => ({ current: locked(), proposed: (c) => next(c, { isFinal: true }) }), "LOCKS_OUTSTANDING"],
    ["a final state that also pays", () => ({ proposed: (c) => next(changed(c, 0, { net: 1n }), { isFinal: true }) }), "INVALID_UPDATE"],
    ["a payment and a withdrawal at once", () => ({ proposed: (c) => withAllocation(changed(c, 0, { net: 1n }), 1, { withdrawn0: 1n }) }), "INVALID_UPDATE"],
    ["two assets moving the same way", () => ({ proposed: (c) => next(c, { allocations: c.allocations.map((a) => ({ ...a, net: 1n })) }) }), "INVALID_UPDATE"],
    ["a lock and a payment at once", () => ({ proposed: (c) => next(changed(c, 1, { net: 1n }), { locks: [lock()] }) }), "INVALID_UPDATE"],
    ["two locks at once", () => ({ proposed: (c) => next(c, { locks: [lock(), lock({ hashlock: keccak256(OTHER_SECRET) })] }) }), "INVALID_UPDATE"],
    [
      "locks reordered while resolving one",
      () => {
        const two = agreed({ kind: "addLock", lock: lock() }, { kind: "addLock", lock: lock({ hashlock: keccak256(OTHER_SECRET), amount: 1n }) }, { kind: "addLock", lock: lock({ hashlock: keccak256(SECRET.replace("5e", "5f")), amount: 1n }) });
        return { current: two, proposed: (c) => { const resolved = applyUpdate(channel, c, { kind: "expireLock", hashlock: HASHLOCK }); return { ...resolved, locks: [...resolved.locks].reverse() }; }, facts: { now: NOW + 601n } };
      },
      "INVALID_UPDATE",
    ],
    ["a payment to a frozen investor", () => ({ proposed: applied(pay(0, 0, 1n)), facts: { compliance: { facts: complianceFacts({ name: "AddressFrozen", emitter: TOKEN, account: investor.address }) } } }), "NON_COMPLIANT"],
    ["a lock from a locked-up sender", () => ({ proposed: applied({ kind: "addLock", lock: lock() }), facts: { compliance: { facts: complianceFacts({ name: "LockupChanged", emitter: RULES, holder: venue.address, until: NOW + 1n }) } } }), "NON_COMPLIANT"],
    ["a DvP trade whose security leg breaks the maximum balance counting channel holdings", () => ({ proposed: applied({ kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 1n }, { assetIndex: 1, from: 1, amount: 1n }] }), facts: { compliance: { facts: complianceFacts({ name: "MaxBalanceChanged", emitter: RULES, maxBalance: 1_000n }) } } }), "NON_COMPLIANT"],
    ["a withdrawal to a frozen investor", () => ({ proposed: applied({ kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 1, amount: 1n }] }), facts: { compliance: { facts: complianceFacts({ name: "AddressFrozen", emitter: TOKEN, account: investor.address }) } } }), "NON_COMPLIANT"],
    ["resolving a lock to a receiver frozen since", () => ({ current: locked(), proposed: applied({ kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }), secrets: new Map([[HASHLOCK, SECRET]]), facts: { compliance: { facts: complianceFacts({ name: "AddressFrozen", emitter: TOKEN, account: investor.address }) } } }), "NON_COMPLIANT"],
    ["a restricted token whose rules are not mirrored", () => ({ proposed: applied(pay(0, 0, 1n)), facts: { compliance: { facts: trackToken(complianceFacts({ name: "RulesReplaced", emitter: TOKEN, newRules: CASH }), TOKEN) } } }), "COMPLIANCE_UNKNOWN"],
  ];

  it.each(cases)("%s", (_, build, expected) => {
    const { current = genesisState(channel), proposed, facts: factOverrides, secrets } = build();
    const state = proposed(current.state);
    expect(codeOf(() => checkTransition(channel, current.state, state, context(factOverrides, secrets)))).toBe(expected);
  });

  it("unrestricted assets and a missing mirror are not checked", () => {
    const frozen = { compliance: { facts: complianceFacts({ name: "AddressFrozen", emitter: TOKEN, account: investor.address }) } };
    const current = genesisState(channel).state;
    expect(codeOf(() => checkTransition(channel, current, applyUpdate(channel, current, pay(1, 0, 1n)), context(frozen)))).toBe("NONE");
    expect(codeOf(() => checkTransition(channel, current, applyUpdate(channel, current, pay(0, 0, 1n)), context({ compliance: undefined })))).toBe("NONE");
  });

  it("a compliance rejection carries the ERC-1404 code", () => {
    const current = genesisState(channel).state;
    const frozen = { compliance: { facts: complianceFacts({ name: "AddressFrozen", emitter: TOKEN, account: investor.address }) } };
    expect(() => checkTransition(channel, current, applyUpdate(channel, current, pay(0, 0, 1n)), context(frozen))).toThrow(
      expect.objectContaining({ code: "NON_COMPLIANT", restrictionCode: 0xa1, rule: "RECEIVER_FROZEN" }),
    );
  });

  describe("applyUpdate refuses inconsistent updates", () => {
    const cases: [string, Update, ProtocolErrorCode][] = [
      ["a zero payment", pay(0, 0, 0n), "INVALID_UPDATE"],
      ["a negative payment", pay(0, 0, -1n), "INVALID_UPDATE"],
      ["an asset index out of range", pay(2, 0, 1n), "INVALID_UPDATE"],
      ["a fractional asset index", pay(0.5, 0, 1n), "INVALID_UPDATE"],
      ["a trade within one asset", { kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 1n }, { assetIndex: 0, from: 1, amount: 1n }] }, "INVALID_UPDATE"],
      ["a trade with both legs one way", { kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 1n }, { assetIndex: 1, from: 0, amount: 1n }] }, "INVALID_UPDATE"],
      ["an empty withdrawal", { kind: "withdrawal", withdrawals: [] }, "INVALID_UPDATE"],
      ["a zero withdrawal", { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 0, amount: 0n }] }, "INVALID_UPDATE"],
      ["two withdrawals of one asset by one participant", { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 0, amount: 1n }, { assetIndex: 0, participant: 0, amount: 1n }] }, "INVALID_UPDATE"],
      ["resolving an unknown lock", { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }, "UNKNOWN_LOCK"],
      ["expiring an unknown lock", { kind: "expireLock", hashlock: HASHLOCK }, "UNKNOWN_LOCK"],
    ];
    it.each(cases)("%s", (_, update, expected) => {
      expect(codeOf(() => applyUpdate(channel, genesisState(channel).state, update))).toBe(expected);
    });
    it("a wrong secret (BAD_SECRET)", () => {
      expect(codeOf(() => applyUpdate(channel, locked().state, { kind: "resolveLock", hashlock: HASHLOCK, secret: OTHER_SECRET }))).toBe("BAD_SECRET");
    });
  });

  describe("signatures", () => {
    const proposal = (signatures: SignedState["signatures"]) => {
      const current = genesisState(channel);
      return () => validateTransition(channel, current, { state: applyUpdate(channel, current.state, pay(1, 1, 1n)), signatures }, context(), verifier);
    };
    it("refuses an unsigned proposal, a signature by someone else, or in the wrong slot", () => {
      const state = applyUpdate(channel, genesisState(channel).state, pay(1, 1, 1n));
      const digest = stateDigest(state, channel.domain);
      expect(codeOf(proposal([null, null]))).toBe("BAD_SIGNATURE");
      expect(codeOf(proposal([null, venue.sign(digest)]))).toBe("BAD_SIGNATURE");
      expect(codeOf(proposal([investor.sign(digest), null]))).toBe("BAD_SIGNATURE");
      expect(codeOf(proposal([null, investor.sign(stateDigest(genesisState(channel).state, channel.domain))]))).toBe("BAD_SIGNATURE");
      expect(codeOf(proposal([null, investor.sign(digest)]))).toBe("NONE");
    });
    it("verifyAgreed needs both signatures", () => {
      const signed = signBoth(applyUpdate(channel, genesisState(channel).state, pay(1, 1, 1n)));
      expect(codeOf(() => verifyAgreed(channel, signed, verifier))).toBe("NONE");
      expect(codeOf(() => verifyAgreed(channel, { ...signed, signatures: [signed.signatures[0], null] }, verifier))).toBe("BAD_SIGNATURE");
      expect(codeOf(() => verifyAgreed(channel, { ...signed, signatures: [signed.signatures[1], signed.signatures[0]] }, verifier))).toBe("BAD_SIGNATURE");
    });
  });
});

describe("properties", () => {
  const participant = fc.constantFrom(0 as const, 1 as const);
  // Mostly amounts the channel can afford, sometimes more than it holds.
  const amount = fc.oneof({ arbitrary: fc.bigInt({ min: 1n, max: 600n }), weight: 4 }, { arbitrary: fc.bigInt({ min: 1n, max: 60_000n }), weight: 1 });
  const secrets = [1, 2, 3].map((i) => `0x${i.toString(16).padStart(64, "0")}`);
  const secretFor = new Map(secrets.map((secret) => [keccak256(secret), secret]));
  /** The live lock a resolution or expiry aims at (or, with none live, an unknown hashlock). */
  const target = (state: State, pick: number): string => state.locks[pick % Math.max(1, state.locks.length)]?.hashlock ?? keccak256(secrets[0]!);
  /** An update, built when it is attempted: lock expiries are relative to that time and resolutions aim at live locks. */
  const step: fc.Arbitrary<{ advance: bigint; update: (now: bigint, current: State) => Update }> = fc.record({
    // Mostly small steps, sometimes one past a lock's 600-second life.
    advance: fc.oneof({ arbitrary: fc.bigInt({ min: 0n, max: 60n }), weight: 4 }, { arbitrary: fc.bigInt({ min: 500n, max: 800n }), weight: 1 }),
    update: fc.oneof(
      fc.record({ assetIndex: fc.integer({ min: 0, max: 1 }), from: participant, amount }).map((leg) => (): Update => ({ kind: "payment", leg })),
      fc.tuple(participant, amount, amount).map(([from, a, b]) => (): Update => ({ kind: "trade", legs: [{ assetIndex: 0, from, amount: a }, { assetIndex: 1, from: from === 0 ? 1 : 0, amount: b }] })),
      fc.constant((): Update => ({ kind: "depositAck" })),
      fc.record({ assetIndex: fc.integer({ min: 0, max: 1 }), participant, amount }).map((w) => (): Update => ({ kind: "withdrawal", withdrawals: [w] })),
      fc.record({ assetIndex: fc.integer({ min: 0, max: 1 }), sender: participant, amount, secret: fc.constantFrom(...secrets) }).map(
        ({ secret, ...l }) => (now: bigint): Update => ({ kind: "addLock", lock: { ...l, hashlock: keccak256(secret), expiry: now + 600n } }),
      ),
      fc.nat().map((pick) => (_: bigint, current: State): Update => {
        const hashlock = target(current, pick);
        return { kind: "resolveLock", hashlock, secret: secretFor.get(hashlock)! };
      }),
      fc.nat().map((pick) => (_: bigint, current: State): Update => ({ kind: "expireLock", hashlock: target(current, pick) })),
    ),
  });

  it("whatever sequence is attempted, accepted states conserve every asset and never go negative", () => {
    const deposits = facts().deposits;
    const accepted = new Map<string, number>();
    fc.assert(
      fc.property(fc.array(step, { minLength: 5, maxLength: 30 }), (steps) => {
        let current = genesisState(channel).state;
        let now = NOW;
        for (const { advance, update } of steps) {
          now += advance;
          const u = update(now, current);
          let proposed: State;
          try {
            proposed = applyUpdate(channel, current, u);
            const recognised = checkTransition(channel, current, proposed, context({ now }, secretsOf(u)));
            // Re-applying what was recognised gives the same state.
            expect(applyUpdate(channel, current, recognised)).toEqual(proposed);
          } catch (error) {
            if (!isProtocolError(error)) throw error;
            continue;
          }
          accepted.set(u.kind, (accepted.get(u.kind) ?? 0) + 1);
          current = proposed;
          current.allocations.forEach((a, i) => {
            const locked = current.locks.filter((l) => l.assetIndex === i).reduce((sum, l) => sum + l.amount, 0n);
            const [d0, d1] = deposits[i]!;
            const [b0, b1] = [channelBalance(current, deposits, i, 0), channelBalance(current, deposits, i, 1)];
            expect(b0 >= 0n && b1 >= 0n).toBe(true);
            expect(b0 + b1 + locked).toBe(d0 + d1 - a.withdrawn0 - a.withdrawn1);
          });
        }
      }),
      { numRuns: 300 },
    );
    // The generator reaches every kind it attempts, each many times.
    for (const kind of ["payment", "trade", "depositAck", "withdrawal", "addLock", "resolveLock", "expireLock"]) {
      expect(accepted.get(kind) ?? 0, kind).toBeGreaterThan(20);
    }
  });
});
