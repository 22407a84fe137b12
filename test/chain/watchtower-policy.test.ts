// The dispute policy alone: a pure function, no chain.
import { describe, expect, it } from "vitest";
import { ZeroHash, getAddress, keccak256 } from "ethers";
import { claimActions, disputeActions, type DisputeInput, type WatchtowerAction } from "../../client/chain/watchtower.js";
import { locksRootOf } from "../../client/protocol/encoding.js";
import type { Lock, Params, SignedState, State } from "../../client/protocol/types.js";

const VENUE = getAddress("0x" + "aa".repeat(20));
const INVESTOR = getAddress("0x" + "bb".repeat(20));
const TOKEN = getAddress("0x" + "cc".repeat(20));
const CASH = getAddress("0x" + "dd".repeat(20));
const CHANNEL = "0x" + "01".repeat(32);
const SIG = "0x" + "11".repeat(65);
const params: Params = { participants: [VENUE, INVESTOR], assets: [TOKEN, CASH], challengePeriod: 3600n, salt: ZeroHash };

const secret = (n: number) => "0x" + n.toString(16).padStart(64, "0");
const hashlock = (n: number) => keccak256(secret(n));

function state(nonce: bigint, nets: [bigint, bigint], locks: Lock[] = [], isFinal = false): State {
  return {
    channelId: CHANNEL,
    nonce,
    allocations: [
      { token: TOKEN, net: nets[0], withdrawn0: 0n, withdrawn1: 0n },
      { token: CASH, net: nets[1], withdrawn0: 0n, withdrawn1: 0n },
    ],
    locks,
    isFinal,
  };
}
const agreed = (s: State): SignedState => ({ state: s, signatures: [SIG, SIG] });

/** The investor (participant 1) guarding its channel; disputed with nonce 3 registered, deadline 10,000. */
function input(overrides: Partial<DisputeInput> = {}): DisputeInput {
  return {
    params,
    channelId: CHANNEL,
    me: 1,
    latest: agreed(state(7n, [100n, -20n])),
    chain: { phase: "Disputed", nonce: 3n, deadline: 10_000n, registered: { nonce: 3n, nets: [5n, 5n], locksRoot: ZeroHash } },
    now: 5_000n,
    safetyMargin: 600n,
    ...overrides,
  };
}

const kinds = (actions: WatchtowerAction[]) => actions.map((a) => a.kind);

describe("disputeActions", () => {
  it("challenges a lower registered nonce with our latest at once, long before the deadline", () => {
    const latest = agreed(state(7n, [100n, -20n]));
    const actions = disputeActions(input({ latest, now: 6_400n + 1n - 3600n })); // just after the registration
    expect(actions).toEqual([
      { kind: "challenge", key: `challenge:${CHANNEL}:7`, channelId: CHANNEL, params, signed: latest, urgent: false },
    ]);
    // Inside the safety margin it is still a challenge, flagged urgent.
    expect(disputeActions(input({ now: 9_500n }))[0]).toMatchObject({ kind: "challenge", urgent: true });
  });

  it("does nothing while the registered state is our latest and the deadline has not passed", () => {
    const latest = agreed(state(3n, [5n, 5n]));
    expect(disputeActions(input({ latest }))).toEqual([]);
    expect(disputeActions(input({ latest, now: 9_999n }))).toEqual([]);
  });

  it("settles after the deadline with the registered outcome", () => {
    const latest = agreed(state(3n, [5n, 5n]));
    expect(disputeActions(input({ latest, now: 10_000n }))).toEqual([
      { kind: "settle", key: `settle:${CHANNEL}:3`, channelId: CHANNEL, params, nets: [5n, 5n], locks: [] },
    ]);
    // Without the event, our own state of the registered nonce gives the nets.
    const withoutEvent = disputeActions(input({ latest, now: 10_000n, chain: { phase: "Disputed", nonce: 3n, deadline: 10_000n } }));
    expect(withoutEvent).toMatchObject([{ kind: "settle", nets: [5n, 5n], locks: [] }]);
  });

  it("settles a close without a state (nonce 0) with zero nets", () => {
    const actions = disputeActions(input({ latest: null, now: 10_000n, chain: { phase: "Disputed", nonce: 0n, deadline: 10_000n } }));
    expect(actions).toMatchObject([{ kind: "settle", nets: [0n, 0n], locks: [] }]);
  });

  it("treats an unsigned or genesis latest as no state", () => {
    const half: SignedState = { state: state(7n, [1n, 1n]), signatures: [SIG, null] };
    expect(kinds(disputeActions(input({ latest: half })))).toEqual([]);
    const genesis: SignedState = { state: state(0n, [0n, 0n]), signatures: [null, null] };
    expect(kinds(disputeActions(input({ latest: genesis, chain: { phase: "Disputed", nonce: 0n, deadline: 10_000n } })))).toEqual([]);
  });

  it("closes cooperatively with a final latest state, even after the deadline", () => {
    const final = agreed(state(8n, [50n, 0n], [], true));
    expect(disputeActions(input({ latest: final }))).toMatchObject([{ kind: "closeCooperatively", key: `close:${CHANNEL}:8`, signed: final }]);
    expect(kinds(disputeActions(input({ latest: final, now: 20_000n })))).toEqual(["closeCooperatively"]);
  });

  it("alerts when the challenge window was missed, and still settles what is registered", () => {
    const actions = disputeActions(input({ now: 10_000n }));
    expect(kinds(actions)).toEqual(["alert", "settle"]);
    expect(actions[0]).toMatchObject({ code: "CHALLENGE_MISSED" });
    expect(actions[1]).toMatchObject({ nets: [5n, 5n] });
  });

  it("alerts when the registered state is newer than ours, or conflicts with ours", () => {
    const behind = disputeActions(input({ latest: agreed(state(2n, [0n, 0n])), now: 10_000n }));
    expect(kinds(behind)).toEqual(["alert", "settle"]);
    expect(behind[0]).toMatchObject({ code: "REGISTERED_NEWER_THAN_LATEST" });
    const conflicting = disputeActions(input({ latest: agreed(state(3n, [6n, 5n])) }));
    expect(conflicting).toMatchObject([{ kind: "alert", code: "CONFLICTING_STATE" }]);
  });

  describe("locks", () => {
    const toMe: Lock = { assetIndex: 0, sender: 0, amount: 40n, hashlock: hashlock(1), expiry: 12_000n };
    const fromMe: Lock = { assetIndex: 1, sender: 1, amount: 30n, hashlock: hashlock(2), expiry: 12_000n };
    const secrets = new Map([
      [hashlock(1), secret(1)],
      [hashlock(2), secret(2)],
    ]);

    it("challenges and reveals the secrets of locks paid to us, never of locks we sent", () => {
      const latest = agreed(state(7n, [100n, -20n], [toMe, fromMe]));
      const actions = disputeActions(input({ latest, secrets }));
      expect(kinds(actions)).toEqual(["challenge", "revealSecret"]);
      expect(actions[1]).toMatchObject({ hashlock: hashlock(1), secret: secret(1), key: `reveal:${hashlock(1)}`, urgent: false });
    });

    it("waits to settle until every lock is revealed or expired", () => {
      const latest = agreed(state(3n, [5n, 5n], [toMe, fromMe]));
      const registered = { nonce: 3n, nets: [5n, 5n], locksRoot: locksRootOf([toMe, fromMe]) };
      const chain = { phase: "Disputed" as const, nonce: 3n, deadline: 10_000n, registered };
      // After the deadline: reveal ours; the other lock is neither revealed nor expired, so no settle yet.
      expect(kinds(disputeActions(input({ latest, chain, secrets, now: 10_500n })))).toEqual(["revealSecret"]);
      // Once ours is revealed and the other expired: settle with the locks.
      const revealedAt = new Map([[hashlock(1), 10_501n]]);
      expect(disputeActions(input({ latest, chain, secrets, revealedAt, now: 10_600n }))).toEqual([]);
      const settled = disputeActions(input({ latest, chain, secrets, revealedAt, now: 12_001n }));
      expect(settled).toMatchObject([{ kind: "settle", nets: [5n, 5n], locks: [toMe, fromMe] }]);
    });

    it("settles from the lock list the registration event carries, though no state we kept has it", () => {
      const registered = { nonce: 3n, nets: [5n, 5n], locksRoot: locksRootOf([fromMe]), locks: [fromMe] };
      const chain = { phase: "Disputed" as const, nonce: 3n, deadline: 10_000n, registered };
      expect(disputeActions(input({ chain, now: 12_001n }))).toMatchObject([
        { kind: "alert", code: "CHALLENGE_MISSED" },
        { kind: "settle", nets: [5n, 5n], locks: [fromMe] },
      ]);
    });

    it("settles a registered older state from the states we kept, and alerts when its locks are unknown", () => {
      const older = state(3n, [5n, 5n], [fromMe]);
      const registered = { nonce: 3n, nets: [5n, 5n], locksRoot: locksRootOf([fromMe]) };
      const chain = { phase: "Disputed" as const, nonce: 3n, deadline: 10_000n, registered };
      const now = 12_001n;
      expect(disputeActions(input({ chain, now, knownStates: [older] }))).toMatchObject([
        { kind: "alert", code: "CHALLENGE_MISSED" },
        { kind: "settle", locks: [fromMe] },
      ]);
      expect(disputeActions(input({ chain, now }))).toMatchObject([
        { kind: "alert", code: "CHALLENGE_MISSED" },
        { kind: "alert", code: "UNKNOWN_REGISTERED_STATE" },
      ]);
    });

    it("in an open channel reveals only when the expiry comes within the safety margin, and not once it passed", () => {
      const latest = agreed(state(7n, [0n, 0n], [toMe]));
      const open = { phase: "Open" as const, nonce: 0n, deadline: 0n };
      expect(disputeActions(input({ latest, chain: open, secrets, now: 11_000n }))).toEqual([]);
      expect(disputeActions(input({ latest, chain: open, secrets, now: 11_400n }))).toMatchObject([{ kind: "revealSecret", urgent: true }]);
      expect(disputeActions(input({ latest, chain: open, secrets, now: 12_000n }))).toEqual([]);
      expect(disputeActions(input({ latest, chain: open, secrets, now: 11_400n, revealedAt: new Map([[hashlock(1), 11_000n]]) }))).toEqual([]);
    });
  });

  it("does nothing for an open channel without locks or a concluded one", () => {
    expect(disputeActions(input({ chain: { phase: "Open", nonce: 2n, deadline: 0n } }))).toEqual([]);
    expect(disputeActions(input({ chain: { phase: "Concluded", nonce: 9n, deadline: 0n } }))).toEqual([]);
  });
});

describe("claimActions", () => {
  it("claims every positive balance", () => {
    expect(claimActions([{ token: TOKEN, amount: 5n }, { token: CASH, amount: 0n }])).toEqual([
      { kind: "claim", key: `claim:${TOKEN.toLowerCase()}`, token: TOKEN, amount: 5n },
    ]);
  });
});
