// Property tests of the Adjudicator on the real contract (in-process Hardhat chain): random
// sequences of deposits by both sides in both assets, off-chain payments, hashlocks and
// withdrawals producing co-signed states, withdrawals executed on chain, then either a
// cooperative close or a force close (with a state or none) answered by challenges and settled,
// with the second asset a HostileToken that sometimes refuses payouts (revert / return false /
// burn all gas). After every transaction the adjudicator must hold exactly what it owes; at the
// end each participant must have received exactly deposits − withdrawals ∓ net (± resolved locks)
// of the state that won, pushed or left claimable, and claims must pay it out exactly once.
//
// One chain per file; every run starts from an `evm_snapshot` and is reverted afterwards.
// CLEARLINE_FC_SEED / CLEARLINE_FC_RUNS reproduce or lengthen a campaign.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { keccak256, toBeHex, type Contract, type HDNodeWallet } from "ethers";
import { deployAdjudicatorFixture } from "../helpers/adjudicator.js";
import {
  channelIdOf,
  hashlockOf,
  lockTuples,
  locksRootOf,
  paramsTuple,
  signBoth,
  stateTuple,
  ZERO_HASH,
  type ChannelParams,
  type LockData,
  type StateData,
} from "../helpers/channel.js";

type Fixture = Awaited<ReturnType<typeof deployAdjudicatorFixture>>;
type Who = 0 | 1;
type Asset = 0 | 1;

const MODE = { Honest: 0, Reenter: 1, Revert: 2, ReturnFalse: 3, BurnGas: 4 } as const;
type Mode = (typeof MODE)[keyof typeof MODE];
const REFUSING = new Set<number>([MODE.Revert, MODE.ReturnFalse, MODE.BurnGas]);
const PERIOD = 3600n;
// Generous gas: fee estimation refuses a transaction whose inner (capped) call runs out of gas.
const GAS = { gasLimit: 3_000_000n };

const NUM_RUNS = Number(process.env.CLEARLINE_FC_RUNS ?? 60);
const SEED = process.env.CLEARLINE_FC_SEED === undefined ? undefined : Number(process.env.CLEARLINE_FC_SEED);

// ---------------------------------------------------------------------------------------------
// Scenario generators
// ---------------------------------------------------------------------------------------------

const who = fc.constantFrom<Who>(0, 1);
const asset = fc.constantFrom<Asset>(0, 1);
const permille = fc.integer({ min: 0, max: 1000 });
const mode = fc.constantFrom<Mode>(MODE.Honest, MODE.Honest, MODE.Revert, MODE.ReturnFalse, MODE.BurnGas);

type Action =
  | { kind: "deposit"; who: Who; asset: Asset; amount: bigint }
  | { kind: "pay"; who: Who; asset: Asset; permille: number }
  | { kind: "signWithdrawal"; who: Who; asset: Asset; permille: number }
  | { kind: "withdraw"; mode: Mode; stale: boolean }
  | { kind: "lock"; who: Who; asset: Asset; permille: number; expiresIn: number; revealNow: boolean }
  | { kind: "reveal" }
  | { kind: "resolveLock" }
  | { kind: "wait"; seconds: number };

/** A lock pending when the dispute starts, its secret revealed never, at once, or at its expiry's edge. */
interface FinalLock {
  who: Who;
  asset: Asset;
  permille: number;
  expiresIn: number;
  reveal: "never" | "now" | "atExpiry" | "afterExpiry";
}

type Ending =
  | { kind: "cooperative"; mode: Mode }
  | {
      kind: "force";
      mode: Mode;
      withoutState: boolean;
      caller: Who;
      registerPick: number;
      challengePicks: number[];
      finalLock: FinalLock | null;
    };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.record({ kind: fc.constant("deposit" as const), who, asset, amount: fc.bigInt({ min: 1n, max: 5_000n }) }),
  fc.record({ kind: fc.constant("pay" as const), who, asset, permille }),
  fc.record({ kind: fc.constant("pay" as const), who, asset, permille }),
  fc.record({ kind: fc.constant("signWithdrawal" as const), who, asset, permille }),
  fc.record({ kind: fc.constant("withdraw" as const), mode, stale: fc.boolean() }),
  fc.record({
    kind: fc.constant("lock" as const),
    who,
    asset,
    permille,
    expiresIn: fc.integer({ min: 0, max: 3 * 3600 }),
    revealNow: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("reveal" as const) }),
  fc.record({ kind: fc.constant("reveal" as const) }),
  fc.record({ kind: fc.constant("resolveLock" as const) }),
  fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 0, max: 2 * 3600 }) }),
);

const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.record({ kind: fc.constant("cooperative" as const), mode }),
  fc.record({
    kind: fc.constant("force" as const),
    mode,
    withoutState: fc.boolean(),
    caller: who,
    registerPick: fc.nat(),
    challengePicks: fc.array(fc.nat(), { maxLength: 3 }),
    finalLock: fc.option(
      fc.record({
        who,
        asset,
        permille: fc.integer({ min: 1, max: 1000 }),
        expiresIn: fc.integer({ min: 1, max: 2 * 3600 }),
        reveal: fc.constantFrom("never" as const, "now" as const, "atExpiry" as const, "afterExpiry" as const),
      }),
    ),
  }),
);

interface Scenario {
  opening: [Who, Asset, bigint];
  actions: Action[];
  ending: Ending;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  opening: fc.tuple(who, asset, fc.bigInt({ min: 0n, max: 5_000n })),
  actions: fc.array(actionArb, { minLength: 1, maxLength: 14 }),
  ending: endingArb,
});

// ---------------------------------------------------------------------------------------------
// Off-chain model
// ---------------------------------------------------------------------------------------------

/** A co-signed state as both honest participants keep it. */
interface Signed {
  state: StateData;
  locks: LockData[];
  sigs: [string, string];
}

interface PendingLock {
  lock: LockData;
  secret: string;
}

/** Everything the test knows about one channel. */
class ChannelModel {
  deposits: bigint[][] = [
    [0n, 0n],
    [0n, 0n],
  ]; // [asset][who]
  paid: bigint[][] = [
    [0n, 0n],
    [0n, 0n],
  ]; // withdrawn on chain, [asset][who]
  nets: bigint[] = [0n, 0n];
  withdrawn: bigint[][] = [
    [0n, 0n],
    [0n, 0n],
  ]; // in the latest state
  lock: PendingLock | undefined;
  nonce = 0n;
  checkpoint = 0n;
  history: Signed[] = [];
  revealedAt = new Map<string, bigint>();

  /** deposits(X) − withdrawn(X) ∓ net − locked(X): what X may still spend or withdraw. */
  balance(a: Asset, x: Who): bigint {
    let b = this.deposits[a]![x]! - this.withdrawn[a]![x]! + (x === 0 ? -this.nets[a]! : this.nets[a]!);
    if (this.lock && this.lock.lock.assetIndex === a && this.lock.lock.sender === x) b -= this.lock.lock.amount;
    return b;
  }

  /** Where a lock goes if resolved now: to its receiver iff revealed on chain by its expiry. */
  lockShift(lock: LockData): bigint {
    const at = this.revealedAt.get(lock.hashlock);
    if (at === undefined || at > lock.expiry) return 0n;
    return lock.sender === 0 ? lock.amount : -lock.amount;
  }
}

function pick(amount: bigint, perMille: number): bigint {
  return (amount * BigInt(perMille)) / 1000n;
}

// ---------------------------------------------------------------------------------------------
// The property
// ---------------------------------------------------------------------------------------------

describe("Adjudicator properties (fast-check, real contract)", () => {
  let f: Fixture;
  let hostile: Contract;
  let hostileAddress: string;
  let tokens: [Contract, Contract];
  let tokenAddresses: [string, string];
  let runCounter = 0;
  const stats = { runs: 0, cooperative: 0, settled: 0, withoutState: 0, challenges: 0, withdrawals: 0, deferred: 0, lockToReceiver: 0, lockFoldedToReceiver: 0 };

  beforeAll(async () => {
    f = await deployAdjudicatorFixture({ challengePeriod: PERIOD });
    hostile = (await f.ethers.deployContract("HostileToken")) as unknown as Contract;
    hostileAddress = await hostile.getAddress();
    for (const wallet of f.wallets) {
      await (await hostile.getFunction("mint")(wallet.address, 10n ** 30n)).wait();
      await (await (hostile.connect(wallet) as Contract).getFunction("approve")(f.adjudicatorAddress, 2n ** 255n)).wait();
      await (await f.security.getFunction("mint")(wallet.address, 10n ** 30n)).wait();
    }
    tokens = [f.security, hostile];
    tokenAddresses = [await f.security.getAddress(), hostileAddress];
  });

  afterAll(() => {
    // Visible with --reporter=verbose; keeps an eye on what the generator actually reaches.
    console.info("adjudicator-properties coverage", stats);
  });

  async function send(promise: Promise<{ wait: () => Promise<unknown> }>): Promise<{ blockNumber: number }> {
    const receipt = (await (await promise).wait()) as { blockNumber: number };
    return receipt;
  }

  async function blockTime(blockNumber: number): Promise<bigint> {
    const block = await f.ethers.provider.getBlock(blockNumber);
    return BigInt(block!.timestamp);
  }

  async function expectRevert(promise: Promise<unknown>, errorName: string): Promise<void> {
    let caught: unknown;
    try {
      const tx = await promise;
      if (tx && typeof tx === "object" && "wait" in tx) await (tx as { wait: () => Promise<unknown> }).wait();
    } catch (error) {
      caught = error;
    }
    expect(caught, `expected revert ${errorName}`).toBeDefined();
    const data =
      (caught as { data?: string }).data ?? (caught as { info?: { error?: { data?: string } } }).info?.error?.data;
    const parsed = data ? f.adjudicator.interface.parseError(data) : null;
    expect(parsed?.name, `expected ${errorName}, got ${String((caught as Error).message)}`).toBe(errorName);
  }

  /** [asset][who] balances and claimables of both participants. */
  async function snapshotFlows(): Promise<{ balance: bigint[][]; claimable: bigint[][] }> {
    const balance: bigint[][] = [];
    const claimable: bigint[][] = [];
    for (const a of [0, 1] as const) {
      balance.push([]);
      claimable.push([]);
      for (const x of [0, 1] as const) {
        balance[a]!.push(await tokens[a].getFunction("balanceOf")(f.wallets[x].address));
        claimable[a]!.push(await f.adjudicator.getFunction("claimableOf")(tokenAddresses[a], f.wallets[x].address));
      }
    }
    return { balance, claimable };
  }

  /** Each participant received exactly `expected[asset][who]`, pushed unless the token refused. */
  async function expectFlows(
    before: { balance: bigint[][]; claimable: bigint[][] },
    expected: bigint[][],
    tokenMode: Mode,
    what: string,
  ): Promise<void> {
    const after = await snapshotFlows();
    for (const a of [0, 1] as const) {
      for (const x of [0, 1] as const) {
        const pushed = after.balance[a]![x]! - before.balance[a]![x]!;
        const deferred = after.claimable[a]![x]! - before.claimable[a]![x]!;
        expect(pushed + deferred, `${what}: asset ${a} participant ${x} received`).toBe(expected[a]![x]!);
        const refused = a === 1 && REFUSING.has(tokenMode);
        expect(refused ? pushed : deferred, `${what}: asset ${a} participant ${x} ${refused ? "pushed" : "deferred"}`).toBe(0n);
        if (deferred > 0n) stats.deferred++;
      }
    }
  }

  /** The adjudicator holds exactly the channel's holdings plus all claimables (nothing else runs). */
  async function expectSolvent(channelId: string): Promise<void> {
    for (const a of [0, 1] as const) {
      const [available0, available1] = (await f.adjudicator.getFunction("holdings")(channelId, tokenAddresses[a])) as bigint[];
      let owed = available0! + available1!;
      for (const wallet of f.wallets) {
        owed += (await f.adjudicator.getFunction("claimableOf")(tokenAddresses[a], wallet.address)) as bigint;
      }
      const held = (await tokens[a].getFunction("balanceOf")(f.adjudicatorAddress)) as bigint;
      expect(held, `adjudicator balance of asset ${a} vs what it owes`).toBe(owed);
    }
  }

  async function setMode(m: Mode): Promise<void> {
    await send(hostile.getFunction("arm")(m, f.adjudicatorAddress, "0x"));
  }

  async function runScenario(scenario: Scenario): Promise<void> {
    stats.runs++;
    const salt = keccak256(toBeHex(++runCounter, 32));
    const params: ChannelParams = {
      participants: [f.wallets[0].address, f.wallets[1].address],
      assets: [...tokenAddresses],
      challengePeriod: PERIOD,
      salt,
    };
    const p = paramsTuple(params);
    const channelId = channelIdOf(params, f.chainId, f.adjudicatorAddress);
    const as = (x: Who) => f.as(f.wallets[x] as HDNodeWallet);
    const m = new ChannelModel();
    let secretCounter = 0;

    function signNext(isFinal = false): Signed {
      m.nonce += 1n;
      const locks = m.lock ? [m.lock.lock] : [];
      const state: StateData = {
        channelId,
        nonce: m.nonce,
        allocations: params.assets.map((token, a) => ({
          token,
          net: m.nets[a]!,
          withdrawn0: m.withdrawn[a]![0]!,
          withdrawn1: m.withdrawn[a]![1]!,
        })),
        locksRoot: locksRootOf(locks),
        isFinal,
      };
      const signed: Signed = { state, locks, sigs: signBoth(f.wallets, f.domain, state) };
      m.history.push(signed);
      return signed;
    }

    /** Both sign a new lock of a share of the sender's balance; false when there is nothing to lock. */
    async function addLock(sender: Who, a: Asset, perMille: number, expiresIn: number): Promise<boolean> {
      if (m.lock) return false;
      const amount = pick(m.balance(a, sender), perMille);
      if (amount === 0n) return false;
      const secret = keccak256(toBeHex(runCounter * 1000 + ++secretCounter, 32));
      const now = BigInt((await f.ethers.provider.getBlock("latest"))!.timestamp);
      m.lock = {
        secret,
        lock: { assetIndex: a, sender, amount, hashlock: hashlockOf(secret), expiry: now + BigInt(expiresIn) },
      };
      signNext();
      return true;
    }

    /** The lock's receiver publishes the secret on chain (once). */
    async function reveal(): Promise<void> {
      if (!m.lock || m.revealedAt.has(m.lock.lock.hashlock)) return;
      const receipt = await send(f.adjudicator.getFunction("revealSecret")(m.lock.secret));
      m.revealedAt.set(m.lock.lock.hashlock, await blockTime(receipt.blockNumber));
    }

    /** Folds the pending lock into the split as both sides agree off chain (receiver iff revealed in time). */
    function foldLock(): void {
      if (!m.lock) return;
      const shift = m.lockShift(m.lock.lock);
      if (shift !== 0n) stats.lockFoldedToReceiver++;
      m.nets[m.lock.lock.assetIndex] = m.nets[m.lock.lock.assetIndex]! + shift;
      m.lock = undefined;
    }

    // Open, optionally with a first deposit.
    const [opener, openAsset, openAmount] = scenario.opening;
    await send(as(opener).getFunction("open")(p, openAsset, openAmount));
    m.deposits[openAsset]![opener] = m.deposits[openAsset]![opener]! + openAmount;
    await expectSolvent(channelId);

    for (const action of scenario.actions) {
      switch (action.kind) {
        case "deposit": {
          await send(as(action.who).getFunction("deposit")(p, action.asset, action.amount));
          m.deposits[action.asset]![action.who] = m.deposits[action.asset]![action.who]! + action.amount;
          break;
        }
        case "pay": {
          const amount = pick(m.balance(action.asset, action.who), action.permille);
          m.nets[action.asset] = m.nets[action.asset]! + (action.who === 0 ? amount : -amount);
          signNext();
          break;
        }
        case "signWithdrawal": {
          // Within the participant's balance, which includes what it received off chain.
          const amount = pick(m.balance(action.asset, action.who), action.permille);
          m.withdrawn[action.asset]![action.who] = m.withdrawn[action.asset]![action.who]! + amount;
          signNext();
          break;
        }
        case "withdraw": {
          const latest = m.history.at(-1);
          if (!latest) break;
          const older = m.history.find((s) => s.state.nonce <= m.checkpoint);
          if (action.stale && older) {
            // A state at or below the checkpoint can never be withdrawn again.
            await expectRevert(
              as(1).getFunction("withdraw")(p, stateTuple(older.state), ...older.sigs, GAS),
              "StaleNonce",
            );
            break;
          }
          if (latest.state.nonce <= m.checkpoint) break;
          await setMode(action.mode);
          const before = await snapshotFlows();
          await send(as(0).getFunction("withdraw")(p, stateTuple(latest.state), ...latest.sigs, GAS));
          const expected = [0, 1].map((a) => [0, 1].map((x) => m.withdrawn[a]![x]! - m.paid[a]![x]!));
          await expectFlows(before, expected, action.mode, `withdraw nonce ${latest.state.nonce}`);
          m.paid = m.withdrawn.map((row) => [...row]);
          m.checkpoint = latest.state.nonce;
          stats.withdrawals++;
          break;
        }
        case "lock": {
          if (await addLock(action.who, action.asset, action.permille, action.expiresIn)) {
            if (action.revealNow) await reveal();
          }
          break;
        }
        case "reveal": {
          await reveal();
          break;
        }
        case "resolveLock": {
          if (!m.lock) break;
          foldLock();
          signNext();
          break;
        }
        case "wait": {
          await f.ethers.provider.send("evm_increaseTime", [action.seconds]);
          break;
        }
      }
      await expectSolvent(channelId);
    }

    // Close. `winner` is the state whose split must be paid; its locks are resolved at settlement.
    const ending = scenario.ending;
    const held = [0, 1].map((a) => [0, 1].map((x) => m.deposits[a]![x]! - m.paid[a]![x]!));
    let winnerNets: bigint[];
    let winnerLocks: LockData[];
    let before: Awaited<ReturnType<typeof snapshotFlows>>;

    if (ending.kind === "cooperative") {
      foldLock();
      const final = signNext(true);
      await setMode(ending.mode);
      before = await snapshotFlows();
      await send(as(1).getFunction("closeCooperatively")(p, stateTuple(final.state), ...final.sigs, GAS));
      winnerNets = [...m.nets];
      winnerLocks = [];
      stats.cooperative++;
    } else {
      // A routed payment may be in flight when the dispute starts; its secret may surface exactly
      // at the lock's expiry (still in time) or one second after it (too late).
      const fl = ending.finalLock;
      if (fl && (await addLock(fl.who, fl.asset, fl.permille, fl.expiresIn)) && fl.reveal !== "never") {
        const expiry = m.lock!.lock.expiry;
        const latestTime = BigInt((await f.ethers.provider.getBlock("latest"))!.timestamp);
        if (fl.reveal === "atExpiry" && expiry > latestTime) await f.setNextTimestamp(expiry);
        if (fl.reveal === "afterExpiry" && expiry + 1n > latestTime) await f.setNextTimestamp(expiry + 1n);
        await reveal();
      }
      const registrable = m.history.filter((s) => s.state.nonce >= m.checkpoint);
      let registered: Signed | undefined;
      let deadline = 0n;
      /** A registration or challenge mined at time t moves the deadline to max(deadline, t + period). */
      const expectDeadlineExtended = async (receipt: { blockNumber: number }): Promise<void> => {
        const answerBy = (await blockTime(receipt.blockNumber)) + PERIOD;
        deadline = answerBy > deadline ? answerBy : deadline;
        const [, , recorded] = (await f.adjudicator.getFunction("channel")(channelId)) as bigint[];
        expect(recorded, "challenge-window rule").toBe(deadline);
      };
      if ((ending.withoutState || registrable.length === 0) && m.checkpoint === 0n) {
        await expectDeadlineExtended(await send(as(ending.caller).getFunction("forceCloseWithoutState")(p)));
        stats.withoutState++;
      } else {
        if (ending.withoutState) {
          await expectRevert(as(ending.caller).getFunction("forceCloseWithoutState")(p), "CheckpointExists");
        }
        registered = registrable[ending.registerPick % registrable.length]!;
        await expectDeadlineExtended(
          await send(as(ending.caller).getFunction("forceClose")(p, stateTuple(registered.state), ...registered.sigs)),
        );
      }
      // Challenges with random states: only a newer one may replace the registered state.
      for (const pickIndex of ending.challengePicks) {
        if (m.history.length === 0) break;
        const candidate = m.history[pickIndex % m.history.length]!;
        const registeredNonce = registered?.state.nonce ?? 0n;
        const call = as(ending.caller === 0 ? 1 : 0).getFunction("challenge")(
          p,
          stateTuple(candidate.state),
          ...candidate.sigs,
        );
        if (candidate.state.nonce > registeredNonce) {
          await expectDeadlineExtended(await send(call));
          registered = candidate;
          stats.challenges++;
        } else {
          await expectRevert(call, "StaleNonce");
        }
      }
      // The honest side always answers with the latest state if it is newer.
      const latest = m.history.at(-1);
      if (latest && latest.state.nonce > (registered?.state.nonce ?? 0n)) {
        await expectDeadlineExtended(await send(as(0).getFunction("challenge")(p, stateTuple(latest.state), ...latest.sigs)));
        registered = latest;
        stats.challenges++;
      }
      const nets = registered ? registered.state.allocations.map((a) => a.net) : [0n, 0n];
      const locks = registered ? registered.locks : [];
      const [, recordedNonce] = (await f.adjudicator.getFunction("channel")(channelId)) as bigint[];
      expect(recordedNonce).toBe(registered?.state.nonce ?? 0n);
      await expectRevert(as(0).getFunction("settle")(p, nets, lockTuples(locks)), "ChallengePeriodNotOver");
      await f.mineAt(deadline);
      // Settlement waits for a lock that is neither revealed in time nor expired. (Block times
      // drift by a second or two with the wall clock, so the revert is asserted with a margin.)
      const unrevealed = locks.filter((l) => m.lockShift(l) === 0n);
      const lastExpiry = unrevealed.reduce((t, l) => (l.expiry > t ? l.expiry : t), 0n);
      if (lastExpiry > deadline + 30n) {
        await expectRevert(as(0).getFunction("settle")(p, nets, lockTuples(locks)), "LockUnresolved");
      }
      if (lastExpiry >= deadline) await f.mineAt(lastExpiry + 1n);
      await setMode(ending.mode);
      before = await snapshotFlows();
      await send(as(1).getFunction("settle")(p, nets, lockTuples(locks), GAS));
      await expectRevert(as(0).getFunction("settle")(p, nets, lockTuples(locks)), "WrongPhase");
      winnerNets = nets;
      winnerLocks = locks;
      stats.settled++;
    }

    // Exactly deposits − withdrawals ∓ net ± resolved locks, for each participant and asset.
    const expected = [0, 1].map((a) => {
      let netEff = winnerNets[a]!;
      for (const lock of winnerLocks) {
        if (lock.assetIndex !== a) continue;
        const shift = m.lockShift(lock);
        if (shift !== 0n) stats.lockToReceiver++;
        netEff += shift;
      }
      const owed0 = held[a]![0]! - netEff;
      const owed1 = held[a]![1]! + netEff;
      expect(owed0 >= 0n && owed1 >= 0n, `honest states never owe a negative amount (asset ${a})`).toBe(true);
      return [owed0, owed1];
    });
    await expectFlows(before, expected, ending.mode, "conclusion");
    const [phase] = (await f.adjudicator.getFunction("channel")(channelId)) as bigint[];
    expect(phase).toBe(3n);
    await expectSolvent(channelId);

    // Claims pay what was left claimable, exactly once; afterwards the adjudicator holds nothing.
    await setMode(MODE.Honest);
    for (const x of [0, 1] as const) {
      for (const a of [0, 1] as const) {
        const owed = (await f.adjudicator.getFunction("claimableOf")(tokenAddresses[a], f.wallets[x].address)) as bigint;
        if (owed === 0n) continue;
        const balanceBefore = (await tokens[a].getFunction("balanceOf")(f.wallets[x].address)) as bigint;
        await send(as(x).getFunction("claim")(tokenAddresses[a]));
        expect((await tokens[a].getFunction("balanceOf")(f.wallets[x].address)) - balanceBefore).toBe(owed);
        await expectRevert(as(x).getFunction("claim")(tokenAddresses[a]), "NothingClaimable");
      }
    }
    for (const a of [0, 1] as const) {
      expect(await tokens[a].getFunction("balanceOf")(f.adjudicatorAddress)).toBe(0n);
    }
    // Across the whole life of the channel each participant got deposits − net ± locks, no more.
    const totalIn = m.deposits.flat().reduce((s, v) => s + v, 0n);
    const totalOut = m.paid.flat().reduce((s, v) => s + v, 0n) + expected.flat().reduce((s, v) => s + v, 0n);
    expect(totalOut).toBe(totalIn);
  }

  it("pays each participant exactly what the winning state owes it, never more than the channel holds", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (scenario) => {
        const id = (await f.ethers.provider.send("evm_snapshot", [])) as string;
        try {
          await runScenario(scenario);
        } finally {
          await f.ethers.provider.send("evm_revert", [id]);
        }
      }),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    expect(stats.settled + stats.cooperative).toBeGreaterThan(0);
  });

  // docs/protocol.md calls a state valid when deposits(X) − withdrawnX ∓ net − locked(X) ≥ 0 for both
  // sides, so an investor may withdraw, without closing, what it received off chain.
  it("a participant can withdraw what it received off chain without closing (protocol.md balance rule)", async () => {
    const id = (await f.ethers.provider.send("evm_snapshot", [])) as string;
    try {
      const params: ChannelParams = {
        participants: [f.wallets[0].address, f.wallets[1].address],
        assets: [...tokenAddresses],
        challengePeriod: PERIOD,
        salt: keccak256(toBeHex(++runCounter, 32)),
      };
      const p = paramsTuple(params);
      const channelId = channelIdOf(params, f.chainId, f.adjudicatorAddress);
      await send(f.as(f.wallets[0]).getFunction("open")(p, 0, 100n));
      const state = (nonce: bigint, isFinal: boolean): StateData => ({
        channelId,
        nonce,
        allocations: [
          { token: tokenAddresses[0], net: 60n, withdrawn0: 0n, withdrawn1: 60n },
          { token: tokenAddresses[1], net: 0n, withdrawn0: 0n, withdrawn1: 0n },
        ],
        locksRoot: ZERO_HASH,
        isFinal,
      });
      // Participant 0 paid 60 to participant 1, who withdraws them: balances 40 and 0, both ≥ 0.
      const withdrawal = state(1n, false);
      let before = await snapshotFlows();
      await send(f.as(f.wallets[1]).getFunction("withdraw")(p, stateTuple(withdrawal), ...signBoth(f.wallets, f.domain, withdrawal)));
      await expectFlows(before, [[0n, 60n], [0n, 0n]], MODE.Honest, "withdraw of received funds");
      const final = state(2n, true);
      before = await snapshotFlows();
      await send(f.as(f.wallets[0]).getFunction("closeCooperatively")(p, stateTuple(final), ...signBoth(f.wallets, f.domain, final)));
      await expectFlows(before, [[40n, 0n], [0n, 0n]], MODE.Honest, "close after it");
    } finally {
      await f.ethers.provider.send("evm_revert", [id]);
    }
  });

  it("a no-state close returns every deposit unless answered by a newer signed state", async () => {
    // A directed property: deposits only, then a no-state close answered (or not) by a signed state.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(who, asset, fc.bigInt({ min: 1n, max: 10_000n })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.tuple(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 1000n }))),
        async (deposits, answer) => {
          const id = (await f.ethers.provider.send("evm_snapshot", [])) as string;
          try {
            const salt = keccak256(toBeHex(++runCounter, 32));
            const params: ChannelParams = {
              participants: [f.wallets[0].address, f.wallets[1].address],
              assets: [...tokenAddresses],
              challengePeriod: PERIOD,
              salt,
            };
            const p = paramsTuple(params);
            const channelId = channelIdOf(params, f.chainId, f.adjudicatorAddress);
            const held = [
              [0n, 0n],
              [0n, 0n],
            ];
            await send(f.as(f.wallets[0]).getFunction("open")(p, 0, 0n));
            for (const [x, a, amount] of deposits) {
              await send(f.as(f.wallets[x]).getFunction("deposit")(p, a, amount));
              held[a]![x] = held[a]![x]! + amount;
            }
            await send(f.as(f.wallets[1]).getFunction("forceCloseWithoutState")(p));
            let nets = [0n, 0n];
            if (answer) {
              // Participant 0 answers with a state paying up to what each side holds.
              const net0 = held[0]![0]! < answer[0] ? held[0]![0]! : answer[0];
              const net1 = -(held[1]![1]! < answer[1] ? held[1]![1]! : answer[1]);
              nets = [net0, net1];
              const state: StateData = {
                channelId,
                nonce: 1n,
                allocations: params.assets.map((token, a) => ({ token, net: nets[a]!, withdrawn0: 0n, withdrawn1: 0n })),
                locksRoot: ZERO_HASH,
                isFinal: false,
              };
              await send(f.as(f.wallets[0]).getFunction("challenge")(p, stateTuple(state), ...signBoth(f.wallets, f.domain, state)));
            }
            const [, , deadline] = (await f.adjudicator.getFunction("channel")(channelId)) as bigint[];
            await f.mineAt(deadline!);
            const before = await snapshotFlows();
            await send(f.as(f.wallets[0]).getFunction("settle")(p, nets, []));
            const expected = [0, 1].map((a) => [held[a]![0]! - nets[a]!, held[a]![1]! + nets[a]!]);
            await expectFlows(before, expected, MODE.Honest, "no-state close");
            await expectSolvent(channelId);
          } finally {
            await f.ethers.provider.send("evm_revert", [id]);
          }
        },
      ),
      { numRuns: Math.max(5, Math.floor(NUM_RUNS / 4)), seed: SEED },
    );
  });
});
