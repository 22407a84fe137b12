import { beforeEach, describe, expect, it } from "vitest";
import { hexlify, keccak256, randomBytes, type Contract } from "ethers";
import { deployAdjudicatorFixture, testWallet } from "../helpers/adjudicator.js";
import {
  adjudicatorDomain,
  channelIdOf,
  hashlockOf,
  highSTwin,
  lockTuples,
  locksRootOf,
  NO_CHECKPOINT,
  paramsTuple,
  signBoth,
  signState,
  stateOf,
  stateTuple,
  ZERO_HASH,
  type LockData,
  type StateData,
} from "../helpers/channel.js";

type Fixture = Awaited<ReturnType<typeof deployAdjudicatorFixture>>;

const PHASE = { None: 0n, Open: 1n, Disputed: 2n, Concluded: 3n };

async function expectRevert(promise: Promise<unknown>, contract: Contract, errorName: string): Promise<void> {
  let caught: unknown;
  try {
    const tx = await promise;
    if (tx && typeof tx === "object" && "wait" in tx) await (tx as { wait: () => Promise<unknown> }).wait();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected revert ${errorName}`).toBeDefined();
  const data = (caught as { data?: string }).data ?? (caught as { info?: { error?: { data?: string } } }).info?.error?.data;
  const parsed = data ? contract.interface.parseError(data) : null;
  expect(parsed?.name, `expected ${errorName}, got ${String((caught as Error).message)}`).toBe(errorName);
}

async function send(promise: Promise<{ wait: () => Promise<unknown> }>) {
  return (await promise).wait() as Promise<{ gasUsed: bigint; logs: unknown[] } | null>;
}

describe("Adjudicator", () => {
  let f: Fixture;
  let p: ReturnType<typeof paramsTuple>;
  let a0: Contract;
  let a1: Contract;

  beforeEach(async () => {
    f = await deployAdjudicatorFixture();
    p = paramsTuple(f.params);
    a0 = f.as(f.wallets[0]);
    a1 = f.as(f.wallets[1]);
  });

  async function openFunded(dep0 = [100n, 1000n], dep1 = [50n, 500n]) {
    await send(a0.getFunction("open")(p, 0, dep0[0]!));
    await send(a0.getFunction("deposit")(p, 1, dep0[1]!));
    await send(a1.getFunction("deposit")(p, 0, dep1[0]!));
    await send(a1.getFunction("deposit")(p, 1, dep1[1]!));
  }

  async function balances(): Promise<bigint[]> {
    const out: bigint[] = [];
    for (const wallet of f.wallets) {
      out.push(await f.security.getFunction("balanceOf")(wallet.address));
      out.push(await f.cash.getFunction("balanceOf")(wallet.address));
    }
    return out;
  }

  function signed(state: StateData) {
    return signBoth(f.wallets, f.domain, state);
  }

  describe("open and deposit", () => {
    it("opens with a first deposit and records the channel", async () => {
      const receipt = await send(a0.getFunction("open")(p, 1, 250n));
      expect(receipt).not.toBeNull();
      const [phase, nonce, deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect([phase, nonce, deadline]).toEqual([PHASE.Open, 0n, 0n]);
      const [avail0, avail1] = await f.adjudicator.getFunction("holdings")(f.channelId, 1);
      expect([avail0, avail1]).toEqual([250n, 0n]);
      expect(await f.adjudicator.getFunction("channelIdOf")(p)).toBe(f.channelId);
    });

    it("opens without a deposit and emits the parameters", async () => {
      const tx = await a1.getFunction("open")(p, 0, 0n);
      await expect(tx.wait()).resolves.toBeTruthy();
      const events = await f.adjudicator.queryFilter(f.adjudicator.filters.ChannelOpened!(f.channelId));
      expect(events).toHaveLength(1);
    });

    it("rejects invalid parameters and outsiders", async () => {
      const outsider = f.as(testWallet(3).connect(f.ethers.provider));
      await expectRevert(outsider.getFunction("open")(p, 0, 0n), f.adjudicator, "NotParticipant");
      const same = paramsTuple({ ...f.params, participants: [f.wallets[0].address, f.wallets[0].address] });
      await expectRevert(a0.getFunction("open")(same, 0, 0n), f.adjudicator, "SameParticipants");
      const dup = paramsTuple({ ...f.params, assets: [f.params.assets[0]!, f.params.assets[0]!] });
      await expectRevert(a0.getFunction("open")(dup, 0, 0n), f.adjudicator, "DuplicateAsset");
      const none = paramsTuple({ ...f.params, assets: [] });
      await expectRevert(a0.getFunction("open")(none, 0, 0n), f.adjudicator, "InvalidAssetCount");
      const tooShort = paramsTuple({ ...f.params, challengePeriod: 59n });
      await expectRevert(a0.getFunction("open")(tooShort, 0, 0n), f.adjudicator, "InvalidChallengePeriod");
      await send(a0.getFunction("open")(p, 0, 0n));
      await expectRevert(a0.getFunction("open")(p, 0, 0n), f.adjudicator, "WrongPhase");
    });

    it("credits deposits to their depositor at any time and rejects bad ones", async () => {
      await expectRevert(a0.getFunction("deposit")(p, 0, 5n), f.adjudicator, "WrongPhase");
      await openFunded();
      await send(a1.getFunction("deposit")(p, 0, 7n));
      const [avail0, avail1] = await f.adjudicator.getFunction("holdings")(f.channelId, 0);
      expect([avail0, avail1]).toEqual([100n, 57n]);
      await expectRevert(a0.getFunction("deposit")(p, 0, 0n), f.adjudicator, "ZeroAmount");
      await expectRevert(a0.getFunction("deposit")(p, 2, 1n), f.adjudicator, "InvalidAssetIndex");
    });
  });

  describe("cooperative close", () => {
    it("pays both participants at once from a final state", async () => {
      await openFunded();
      const before = await balances();
      const final = stateOf(f.channelId, f.params, 9n, [30n, -200n], { isFinal: true });
      const [s0, s1] = signed(final);
      await send(a1.getFunction("closeCooperatively")(p, stateTuple(final), s0, s1));
      const after = await balances();
      // participant 0: 100 - 30 security, 1000 + 200 cash; participant 1: 50 + 30, 500 - 200
      expect(after.map((v, i) => v - before[i]!)).toEqual([70n, 1200n, 80n, 300n]);
      const [phase] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect(phase).toBe(PHASE.Concluded);
      await expectRevert(a0.getFunction("deposit")(p, 0, 1n), f.adjudicator, "WrongPhase");
      await expectRevert(a1.getFunction("closeCooperatively")(p, stateTuple(final), s0, s1), f.adjudicator, "WrongPhase");
    });

    it("requires a final state", async () => {
      await openFunded();
      const state = stateOf(f.channelId, f.params, 3n, [1n, 0n]);
      const [s0, s1] = signed(state);
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(state), s0, s1), f.adjudicator, "NotFinal");
    });
  });

  describe("signatures and replay protection", () => {
    it("rejects a malleable high-s signature, swapped order and a non-participant signer", async () => {
      await openFunded();
      const final = stateOf(f.channelId, f.params, 1n, [0n, 0n], { isFinal: true });
      const [s0, s1] = signed(final);
      const tuple = stateTuple(final);
      await expectRevert(a0.getFunction("closeCooperatively")(p, tuple, highSTwin(s0), s1), f.adjudicator, "InvalidSignature");
      await expectRevert(a0.getFunction("closeCooperatively")(p, tuple, s0, highSTwin(s1)), f.adjudicator, "InvalidSignature");
      await expectRevert(a0.getFunction("closeCooperatively")(p, tuple, s1, s0), f.adjudicator, "InvalidSignature");
      const stranger = signState(testWallet(7), f.domain, final);
      await expectRevert(a0.getFunction("closeCooperatively")(p, tuple, s0, stranger), f.adjudicator, "InvalidSignature");
      await expectRevert(a0.getFunction("closeCooperatively")(p, tuple, s0, "0x1234"), f.adjudicator, "InvalidSignature");
      await send(a0.getFunction("closeCooperatively")(p, tuple, s0, s1));
    });

    it("rejects a state signed for another chain id", async () => {
      await openFunded();
      const final = stateOf(f.channelId, f.params, 1n, [0n, 0n], { isFinal: true });
      const otherChain = adjudicatorDomain(f.chainId + 1n, f.adjudicatorAddress);
      const sigs = signBoth(f.wallets, otherChain, final);
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(final), ...sigs), f.adjudicator, "InvalidSignature");
    });

    it("rejects a state of the same parameters on another adjudicator", async () => {
      await openFunded();
      const other = (await f.ethers.deployContract("Adjudicator")) as unknown as Contract;
      const otherAddress = await other.getAddress();
      const otherId = channelIdOf(f.params, f.chainId, otherAddress);
      expect(otherId).not.toBe(f.channelId);
      const state = stateOf(otherId, f.params, 1n, [0n, 0n], { isFinal: true });
      const sigs = signBoth(f.wallets, adjudicatorDomain(f.chainId, otherAddress), state);
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(state), ...sigs), f.adjudicator, "WrongChannel");
      const relabelled = { ...state, channelId: f.channelId };
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(relabelled), ...sigs), f.adjudicator, "InvalidSignature");
    });

    it("rejects allocations that do not match the channel's assets", async () => {
      await openFunded();
      const state = stateOf(f.channelId, f.params, 1n, [0n, 0n], { isFinal: true });
      const swapped = { ...state, allocations: [state.allocations[1]!, state.allocations[0]!] };
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(swapped), ...signed(swapped)), f.adjudicator, "AllocationTokenMismatch");
      const short = { ...state, allocations: [state.allocations[0]!] };
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(short), ...signed(short)), f.adjudicator, "AllocationCountMismatch");
      const huge = stateOf(f.channelId, f.params, 1n, [2n ** 127n, 0n], { isFinal: true });
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(huge), ...signed(huge)), f.adjudicator, "AllocationOutOfRange");
      for (const withdrawn of [[2n ** 128n, 0n], [0n, 2n ** 128n]] as [bigint, bigint][]) {
        const overdrawn = stateOf(f.channelId, f.params, 1n, [0n, 0n], { isFinal: true, withdrawn: [withdrawn] });
        await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(overdrawn), ...signed(overdrawn)), f.adjudicator, "AllocationOutOfRange");
      }
    });
  });

  describe("disputes", () => {
    it("a stale registered state is replaced by a newer one and settlement pays the newer", async () => {
      await openFunded();
      const stale = stateOf(f.channelId, f.params, 4n, [0n, 0n]);
      const latest = stateOf(f.channelId, f.params, 7n, [40n, -100n]);
      await send(a1.getFunction("forceClose")(p, stateTuple(stale), ...signed(stale), []));
      let [phase, nonce, deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect([phase, nonce]).toEqual([PHASE.Disputed, 4n]);
      await send(a0.getFunction("challenge")(p, stateTuple(latest), ...signed(latest), []));
      [phase, nonce, deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect([phase, nonce]).toEqual([PHASE.Disputed, 7n]);
      // the stale one cannot come back
      await expectRevert(a1.getFunction("challenge")(p, stateTuple(stale), ...signed(stale), []), f.adjudicator, "StaleNonce");
      await expectRevert(a0.getFunction("settle")(p, [40n, -100n], []), f.adjudicator, "ChallengePeriodNotOver");
      await f.mineAt(deadline as bigint);
      const before = await balances();
      await expectRevert(a0.getFunction("settle")(p, [0n, 0n], []), f.adjudicator, "OutcomeMismatch");
      await send(a0.getFunction("settle")(p, [40n, -100n], []));
      const after = await balances();
      expect(after.map((v, i) => v - before[i]!)).toEqual([60n, 1100n, 90n, 400n]);
      await expectRevert(a0.getFunction("settle")(p, [40n, -100n], []), f.adjudicator, "WrongPhase");
    });

    it("accepts a last-second challenge and gives the other side a full period to answer", async () => {
      await openFunded();
      const s4 = stateOf(f.channelId, f.params, 4n, [1n, 0n]);
      const s5 = stateOf(f.channelId, f.params, 5n, [2n, 0n]);
      const s7 = stateOf(f.channelId, f.params, 7n, [3n, 0n]);
      await send(a1.getFunction("forceClose")(p, stateTuple(s4), ...signed(s4), []));
      const [, , deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      await f.setNextTimestamp((deadline as bigint) - 1n);
      await send(a1.getFunction("challenge")(p, stateTuple(s5), ...signed(s5), []));
      const [, nonce, extended] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect(nonce).toBe(5n);
      expect(extended).toBe((deadline as bigint) - 1n + f.params.challengePeriod);
      await f.setNextTimestamp((extended as bigint) - 1n);
      await send(a0.getFunction("challenge")(p, stateTuple(s7), ...signed(s7), []));
      const [, latestNonce, finalDeadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect(latestNonce).toBe(7n);
      await f.setNextTimestamp(finalDeadline as bigint);
      const s8 = stateOf(f.channelId, f.params, 8n, [4n, 0n]);
      await expectRevert(a0.getFunction("challenge")(p, stateTuple(s8), ...signed(s8), []), f.adjudicator, "ChallengePeriodOver");
      await send(a0.getFunction("settle")(p, [3n, 0n], []));
    });

    it("a final state ends a dispute at once", async () => {
      await openFunded();
      const stale = stateOf(f.channelId, f.params, 2n, [0n, 0n]);
      await send(a1.getFunction("forceClose")(p, stateTuple(stale), ...signed(stale), []));
      const final = stateOf(f.channelId, f.params, 3n, [10n, 0n], { isFinal: true });
      await send(a0.getFunction("challenge")(p, stateTuple(final), ...signed(final), []));
      const [phase, nonce] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect([phase, nonce]).toEqual([PHASE.Concluded, 3n]);
      expect(await f.security.getFunction("balanceOf")(await f.adjudicator.getAddress())).toBe(0n);
    });

    it("closes without any state: everyone gets back what it deposited", async () => {
      await openFunded();
      const outsider = testWallet(5).connect(f.ethers.provider);
      await expectRevert(f.as(outsider).getFunction("forceCloseWithoutState")(p), f.adjudicator, "NotParticipant");
      const before = await balances();
      await send(a1.getFunction("forceCloseWithoutState")(p));
      const [, , deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      await f.mineAt(deadline as bigint);
      await send(a1.getFunction("settle")(p, [0n, 0n], []));
      const after = await balances();
      expect(after.map((v, i) => v - before[i]!)).toEqual([100n, 1000n, 50n, 500n]);
    });

    it("the counterparty can answer a no-state close with a signed state", async () => {
      await openFunded();
      await send(a1.getFunction("forceCloseWithoutState")(p));
      const latest = stateOf(f.channelId, f.params, 1n, [0n, -300n]);
      await send(a0.getFunction("challenge")(p, stateTuple(latest), ...signed(latest), []));
      const [, , deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      await f.mineAt(deadline as bigint);
      await send(a0.getFunction("settle")(p, [0n, -300n], []));
      expect(await f.cash.getFunction("balanceOf")(f.wallets[0].address)).toBe(1_000_000n + 300n);
    });
  });

  describe("withdraw without closing", () => {
    it("pays the withdrawal, keeps the channel open and checkpoints the state", async () => {
      await openFunded();
      const withdrawal = stateOf(f.channelId, f.params, 5n, [10n, 0n], { withdrawn: [[0n, 20n], [300n, 0n]] });
      const before = await balances();
      await send(a1.getFunction("withdraw")(p, stateTuple(withdrawal), ...signed(withdrawal), [], NO_CHECKPOINT));
      const after = await balances();
      expect(after.map((v, i) => v - before[i]!)).toEqual([0n, 300n, 20n, 0n]);
      const [phase, nonce] = await f.adjudicator.getFunction("channel")(f.channelId);
      expect([phase, nonce]).toEqual([PHASE.Open, 5n]);
      expect(await f.adjudicator.getFunction("holdings")(f.channelId, 0)).toEqual([100n, 30n]);

      // no older state, and no "no state", can be registered any more
      const older = stateOf(f.channelId, f.params, 4n, [0n, 0n]);
      await expectRevert(a0.getFunction("forceClose")(p, stateTuple(older), ...signed(older), []), f.adjudicator, "StaleNonce");
      await expectRevert(a0.getFunction("forceCloseWithoutState")(p), f.adjudicator, "CheckpointExists");
      await expectRevert(a0.getFunction("withdraw")(p, stateTuple(withdrawal), ...signed(withdrawal), [], stateTuple(withdrawal)), f.adjudicator, "StaleNonce");

      // the checkpoint itself may be registered, and settles against what is left
      await send(a0.getFunction("forceClose")(p, stateTuple(withdrawal), ...signed(withdrawal), []));
      const [, , deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      await f.mineAt(deadline as bigint);
      const beforeSettle = await balances();
      await send(a0.getFunction("settle")(p, [10n, 0n], []));
      const afterSettle = await balances();
      expect(afterSettle.map((v, i) => v - beforeSettle[i]!)).toEqual([90n, 700n, 40n, 500n]);
    });

    it("rejects decreasing, excessive and final withdrawals", async () => {
      await openFunded();
      const first = stateOf(f.channelId, f.params, 1n, [0n, 0n], { withdrawn: [[10n, 0n], [0n, 0n]] });
      await send(a0.getFunction("withdraw")(p, stateTuple(first), ...signed(first), [], NO_CHECKPOINT));
      const lower = stateOf(f.channelId, f.params, 2n, [0n, 0n], { withdrawn: [[5n, 0n], [0n, 0n]] });
      await expectRevert(a0.getFunction("withdraw")(p, stateTuple(lower), ...signed(lower), [], stateTuple(first)), f.adjudicator, "WithdrawalDecreased");
      const tooMuch = stateOf(f.channelId, f.params, 2n, [0n, 0n], { withdrawn: [[10n, 51n], [0n, 0n]] });
      await expectRevert(a0.getFunction("withdraw")(p, stateTuple(tooMuch), ...signed(tooMuch), [], stateTuple(first)), f.adjudicator, "WithdrawalExceedsBalance");
      // 0 withdraws 80 of its remaining 90 but has also paid 20 to 1: that exceeds what it holds
      const overNet = stateOf(f.channelId, f.params, 2n, [20n, 0n], { withdrawn: [[90n, 0n], [0n, 0n]] });
      await expectRevert(a0.getFunction("withdraw")(p, stateTuple(overNet), ...signed(overNet), [], stateTuple(first)), f.adjudicator, "WithdrawalExceedsBalance");
      const final = stateOf(f.channelId, f.params, 2n, [0n, 0n], { isFinal: true });
      await expectRevert(a0.getFunction("withdraw")(p, stateTuple(final), ...signed(final), [], stateTuple(first)), f.adjudicator, "UnexpectedFinal");
    });
  });

  describe("hashlocks", () => {
    const secretA = hexlify(randomBytes(32));
    const secretB = hexlify(randomBytes(32));

    async function disputeWithLocks(locks: LockData[], nets: bigint[]) {
      await openFunded();
      const state = stateOf(f.channelId, f.params, 3n, nets, { locksRoot: locksRootOf(locks) });
      await send(a0.getFunction("forceClose")(p, stateTuple(state), ...signed(state), lockTuples(locks)));
      const [, , deadline] = await f.adjudicator.getFunction("channel")(f.channelId);
      return deadline as bigint;
    }

    it("pays a lock revealed in time to its receiver and returns an expired one to its sender", async () => {
      const start = await f.now();
      const locks: LockData[] = [
        { assetIndex: 1, sender: 1, amount: 100n, hashlock: hashlockOf(secretA), expiry: start + 600n },
        { assetIndex: 0, sender: 0, amount: 5n, hashlock: hashlockOf(secretB), expiry: start + 600n },
      ];
      expect(await f.adjudicator.getFunction("locksRootOf")(lockTuples(locks))).toBe(locksRootOf(locks));
      const deadline = await disputeWithLocks(locks, [0n, 0n]);
      await send(a0.getFunction("revealSecret")(secretA)); // in time
      expect(await f.adjudicator.getFunction("secretRevealedAt")(keccak256(secretA))).toBeGreaterThan(0n);
      await f.setNextTimestamp(start + 601n);
      await send(a0.getFunction("revealSecret")(secretB)); // too late
      await f.mineAt(deadline);
      const before = await balances();
      await send(a0.getFunction("settle")(p, [0n, 0n], lockTuples(locks)));
      const after = await balances();
      // lock A: 100 cash 1 → 0 paid; lock B expired: 5 security stays with 0
      expect(after.map((v, i) => v - before[i]!)).toEqual([100n, 1100n, 50n, 400n]);
    });

    it("waits for unresolved locks and rejects the wrong lock set", async () => {
      const start = await f.now();
      const lock: LockData = { assetIndex: 0, sender: 0, amount: 5n, hashlock: hashlockOf(secretA), expiry: start + 100_000n };
      const deadline = await disputeWithLocks([lock], [0n, 0n]);
      await f.mineAt(deadline);
      await expectRevert(a0.getFunction("settle")(p, [0n, 0n], lockTuples([lock])), f.adjudicator, "LockUnresolved");
      await expectRevert(a0.getFunction("settle")(p, [0n, 0n], []), f.adjudicator, "OutcomeMismatch");
      await expectRevert(a0.getFunction("settle")(p, [0n, 0n], lockTuples([lock, lock])), f.adjudicator, "OutcomeMismatch");
      await expect(f.adjudicator.getFunction("locksRootOf")(lockTuples(Array.from({ length: 9 }, () => lock)))).rejects.toThrow();
      await f.mineAt(start + 100_001n);
      await send(a0.getFunction("settle")(p, [0n, 0n], lockTuples([lock])));
    });

    it("settles every co-signed state: malformed locks move nothing, and no lock holds funds past MAX_LOCK_WAIT", async () => {
      const start = await f.now();
      const malformed: LockData = { assetIndex: 7, sender: 0, amount: 5n, hashlock: hashlockOf(secretB), expiry: start + 10n };
      const farAway: LockData = { assetIndex: 1, sender: 1, amount: 40n, hashlock: hashlockOf(secretA), expiry: start + 10n ** 9n };
      // MAX_LOCKS (8) in all: a longer list is refused at registration (adjudicator-settleable.test.ts).
      const many = Array.from({ length: 6 }, (_, i) => ({ ...farAway, hashlock: hashlockOf("0x" + (i + 1).toString(16).padStart(64, "0")), amount: 1n }));
      const locks = [malformed, farAway, ...many];
      const deadline = await disputeWithLocks(locks, [0n, 0n]);
      await f.mineAt(deadline);
      await expectRevert(a0.getFunction("settle")(p, [0n, 0n], lockTuples(locks)), f.adjudicator, "LockUnresolved");
      const wait = (await f.adjudicator.getFunction("MAX_LOCK_WAIT")()) as bigint;
      await f.mineAt(deadline + wait + 1n);
      const before = await balances();
      await send(a0.getFunction("settle")(p, [0n, 0n], lockTuples(locks)));
      const after = await balances();
      // nothing moved: every participant gets back what it deposited
      expect(after.map((v, i) => v - before[i]!)).toEqual([100n, 1000n, 50n, 500n]);
    });

    it("rejects a final state that carries locks", async () => {
      await openFunded();
      const lock: LockData = { assetIndex: 0, sender: 0, amount: 5n, hashlock: hashlockOf(secretA), expiry: 1n };
      const final = stateOf(f.channelId, f.params, 1n, [0n, 0n], { isFinal: true, locksRoot: locksRootOf([lock]) });
      await expectRevert(a0.getFunction("closeCooperatively")(p, stateTuple(final), ...signed(final)), f.adjudicator, "FinalStateWithLocks");
    });
  });

  describe("re-entrancy: a token that calls back into the adjudicator mid-transfer", () => {
    // Each case arms a HostileToken to re-enter, during the transfer an operation makes, with a call
    // that is valid at that moment (so it would go through without the guard), then asserts that the
    // call failed with the guard's own error and that every balance moved exactly once.
    let hostile: Contract;
    let hostileAddress: string;
    const SALT_A = "0x" + "a1".repeat(32);
    const SALT_B = "0x" + "b2".repeat(32);

    beforeEach(async () => {
      hostile = (await f.ethers.deployContract("HostileToken")) as unknown as Contract;
      hostileAddress = await hostile.getAddress();
      for (const wallet of f.wallets) {
        await send(hostile.getFunction("mint")(wallet.address, 1000n));
        await send((hostile.connect(wallet) as Contract).getFunction("approve")(f.adjudicatorAddress, 2n ** 255n));
      }
    });

    /** A channel of both wallets in cash and the hostile token: each deposits 100 of it, 1 deposits 10 cash. */
    async function funded(salt: string) {
      const params = { ...f.params, assets: [f.params.assets[1]!, hostileAddress], salt };
      const tuple = paramsTuple(params);
      const channelId = channelIdOf(params, f.chainId, f.adjudicatorAddress);
      await send(a0.getFunction("open")(tuple, 1, 100n));
      await send(a1.getFunction("deposit")(tuple, 1, 100n));
      await send(a1.getFunction("deposit")(tuple, 0, 10n));
      return { params, tuple, channelId };
    }

    async function arm(call: string) {
      await send(hostile.getFunction("arm")(1, f.adjudicatorAddress, call));
    }

    function encode(name: string, args: unknown[]): string {
      return f.adjudicator.interface.encodeFunctionData(name, args);
    }

    async function expectGuardRefusedReentry() {
      expect(await hostile.getFunction("reentryAttempts")(), "the token re-entered").toBeGreaterThan(0n);
      expect(await hostile.getFunction("reentrySucceeded")(), "the re-entrant call went through").toBe(false);
      const reason = (await hostile.getFunction("lastReentryError")()) as string;
      expect(f.adjudicator.interface.parseError(reason)?.name, `re-entry refused with ${reason}`).toBe("ReentrancyGuardReentrantCall");
    }

    async function phaseOf(channelId: string): Promise<bigint> {
      const [phase] = await f.adjudicator.getFunction("channel")(channelId);
      return phase as bigint;
    }

    async function hostileOf(address: string): Promise<bigint> {
      return (await hostile.getFunction("balanceOf")(address)) as bigint;
    }

    async function disputedPastDeadline(channel: Awaited<ReturnType<typeof funded>>, nets: bigint[]) {
      const state = stateOf(channel.channelId, channel.params, 1n, nets);
      await send(a0.getFunction("forceClose")(channel.tuple, stateTuple(state), ...signed(state), []));
      const [, , deadline] = await f.adjudicator.getFunction("channel")(channel.channelId);
      return deadline as bigint;
    }

    it("settle: a payout that re-enters settle of another settleable channel is refused; each channel pays once", async () => {
      const a = await funded(SALT_A);
      const b = await funded(SALT_B);
      await disputedPastDeadline(a, [0n, 30n]);
      const deadline = await disputedPastDeadline(b, [0n, -20n]);
      await f.mineAt(deadline);
      await arm(encode("settle", [b.tuple, [0n, -20n], []]));
      await send(a1.getFunction("settle")(a.tuple, [0n, 30n], []));
      await expectGuardRefusedReentry();
      expect(await phaseOf(b.channelId)).toBe(PHASE.Disputed);
      expect(await hostileOf(f.wallets[0].address)).toBe(800n + 70n);
      expect(await hostileOf(f.wallets[1].address)).toBe(800n + 130n);
      await arm("0x");
      await send(a1.getFunction("settle")(b.tuple, [0n, -20n], []));
      expect(await hostileOf(f.wallets[0].address)).toBe(800n + 70n + 120n);
      expect(await hostileOf(f.wallets[1].address)).toBe(800n + 130n + 80n);
      expect(await hostileOf(f.adjudicatorAddress)).toBe(0n);
    });

    it("withdraw: a payout that re-enters withdraw with the next co-signed withdrawal is refused; one withdrawal is paid", async () => {
      const a = await funded(SALT_A);
      const first = stateOf(a.channelId, a.params, 1n, [0n, 0n], { withdrawn: [[0n, 0n], [20n, 0n]] });
      const second = stateOf(a.channelId, a.params, 2n, [0n, 0n], { withdrawn: [[0n, 0n], [40n, 0n]] });
      await arm(encode("withdraw", [a.tuple, stateTuple(second), ...signed(second), [], stateTuple(first)]));
      await send(a1.getFunction("withdraw")(a.tuple, stateTuple(first), ...signed(first), [], NO_CHECKPOINT));
      await expectGuardRefusedReentry();
      expect(await hostileOf(f.wallets[0].address)).toBe(900n + 20n);
      const [, nonce] = await f.adjudicator.getFunction("channel")(a.channelId);
      expect(nonce).toBe(1n);
      expect(await f.adjudicator.getFunction("holdings")(a.channelId, 1)).toEqual([80n, 100n]);
    });

    it("claim: a claim whose transfer re-enters withdraw is refused; the claim pays exactly once", async () => {
      const a = await funded(SALT_A);
      const b = await funded(SALT_B);
      await send(hostile.getFunction("arm")(2, f.adjudicatorAddress, "0x")); // refuse the payouts of A's close
      const final = stateOf(a.channelId, a.params, 1n, [0n, 30n], { isFinal: true });
      await send(a0.getFunction("closeCooperatively")(a.tuple, stateTuple(final), ...signed(final)));
      expect(await f.adjudicator.getFunction("claimableOf")(hostileAddress, f.wallets[1].address)).toBe(130n);
      const withdrawal = stateOf(b.channelId, b.params, 1n, [0n, 0n], { withdrawn: [[0n, 0n], [0n, 50n]] });
      await arm(encode("withdraw", [b.tuple, stateTuple(withdrawal), ...signed(withdrawal), [], NO_CHECKPOINT]));
      await send(a1.getFunction("claim")(hostileAddress));
      await expectGuardRefusedReentry();
      expect(await hostileOf(f.wallets[1].address)).toBe(800n + 130n);
      expect(await f.adjudicator.getFunction("claimableOf")(hostileAddress, f.wallets[1].address)).toBe(0n);
      const [, nonce] = await f.adjudicator.getFunction("channel")(b.channelId);
      expect(nonce).toBe(0n);
      await expectRevert(a1.getFunction("claim")(hostileAddress), f.adjudicator, "NothingClaimable");
    });

    it("closeCooperatively: a payout that re-enters closeCooperatively of another channel is refused", async () => {
      const a = await funded(SALT_A);
      const b = await funded(SALT_B);
      const finalA = stateOf(a.channelId, a.params, 1n, [0n, 30n], { isFinal: true });
      const finalB = stateOf(b.channelId, b.params, 1n, [0n, -30n], { isFinal: true });
      await arm(encode("closeCooperatively", [b.tuple, stateTuple(finalB), ...signed(finalB)]));
      await send(a0.getFunction("closeCooperatively")(a.tuple, stateTuple(finalA), ...signed(finalA)));
      await expectGuardRefusedReentry();
      expect(await phaseOf(a.channelId)).toBe(PHASE.Concluded);
      expect(await phaseOf(b.channelId)).toBe(PHASE.Open);
      expect(await hostileOf(f.wallets[0].address)).toBe(800n + 70n);
      expect(await hostileOf(f.wallets[1].address)).toBe(800n + 130n);
      expect(await hostileOf(f.adjudicatorAddress)).toBe(200n);
    });

    it("deposit: a deposit whose transferFrom re-enters closeCooperatively of the same channel is refused", async () => {
      const a = await funded(SALT_A);
      const final = stateOf(a.channelId, a.params, 1n, [0n, 0n], { isFinal: true });
      await arm(encode("closeCooperatively", [a.tuple, stateTuple(final), ...signed(final)]));
      await send(a0.getFunction("deposit")(a.tuple, 1, 50n));
      await expectGuardRefusedReentry();
      expect(await phaseOf(a.channelId)).toBe(PHASE.Open);
      expect(await f.adjudicator.getFunction("holdings")(a.channelId, 1)).toEqual([150n, 100n]);
      expect(await hostileOf(f.adjudicatorAddress)).toBe(250n);
    });

    it("deposit: a deposit whose transferFrom re-enters deposit is refused; each deposit is credited once", async () => {
      // The token itself is participant 1 of a channel in itself, so it may deposit when it re-enters.
      const params = { ...f.params, participants: [f.wallets[0].address, hostileAddress] as [string, string], assets: [hostileAddress], salt: SALT_A };
      const tuple = paramsTuple(params);
      const channelId = channelIdOf(params, f.chainId, f.adjudicatorAddress);
      await send(hostile.getFunction("mint")(hostileAddress, 1000n));
      await send(hostile.getFunction("act")(f.adjudicatorAddress, encode("open", [tuple, 0, 0n]), 2n ** 255n));
      await arm(encode("deposit", [tuple, 0, 40n]));
      await send(a0.getFunction("deposit")(tuple, 0, 100n));
      await expectGuardRefusedReentry();
      expect(await f.adjudicator.getFunction("holdings")(channelId, 0)).toEqual([100n, 0n]);
      expect(await hostileOf(f.adjudicatorAddress)).toBe(100n);
      expect(await hostileOf(hostileAddress)).toBe(1000n);
    });
  });

  describe("hostile tokens and claimable payouts", () => {
    async function hostileChannel(mode: number, reentry: string = "0x") {
      const hostile = (await f.ethers.deployContract("HostileToken")) as unknown as Contract;
      const hostileAddress = await hostile.getAddress();
      for (const wallet of f.wallets) {
        await send(hostile.getFunction("mint")(wallet.address, 1000n));
        await send((hostile.connect(wallet) as Contract).getFunction("approve")(f.adjudicatorAddress, 1000n));
      }
      const params = { ...f.params, assets: [f.params.assets[1]!, hostileAddress], salt: ZERO_HASH };
      const tuple = paramsTuple(params);
      const channelId = channelIdOf(params, f.chainId, f.adjudicatorAddress);
      await send(a0.getFunction("open")(tuple, 1, 100n));
      await send(a1.getFunction("deposit")(tuple, 1, 100n));
      await send(a1.getFunction("deposit")(tuple, 0, 10n));
      await send(hostile.getFunction("arm")(mode, f.adjudicatorAddress, reentry));
      return { hostile, params, tuple, channelId };
    }

    for (const [mode, name] of [
      [2, "reverts"],
      [3, "returns false"],
      [4, "burns all gas"],
    ] as const) {
      it(`a payout whose token ${name} becomes claimable and the other asset is still paid`, async () => {
        const { hostile, params, tuple, channelId } = await hostileChannel(mode);
        const final = stateOf(channelId, params, 1n, [-4n, 30n], { isFinal: true });
        const cashBefore = await f.cash.getFunction("balanceOf")(f.wallets[1].address);
        // an explicit gas limit: estimation refuses a transaction with an inner call that runs out of gas
        await send(a0.getFunction("closeCooperatively")(tuple, stateTuple(final), ...signed(final), { gasLimit: 2_000_000n }));
        expect((await f.cash.getFunction("balanceOf")(f.wallets[1].address)) - cashBefore).toBe(6n);
        expect(await f.adjudicator.getFunction("claimableOf")(await hostile.getAddress(), f.wallets[0].address)).toBe(70n);
        expect(await f.adjudicator.getFunction("claimableOf")(await hostile.getAddress(), f.wallets[1].address)).toBe(130n);
        await send(hostile.getFunction("arm")(0, f.adjudicatorAddress, "0x"));
        await send(a1.getFunction("claim")(await hostile.getAddress()));
        expect(await hostile.getFunction("balanceOf")(f.wallets[1].address)).toBe(900n + 130n);
        await expectRevert(a1.getFunction("claim")(await hostile.getAddress()), f.adjudicator, "NothingClaimable");
      });
    }
  });
});
