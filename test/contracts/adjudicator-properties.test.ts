// Property tests of the Adjudicator on the real contracts (the whole system deployed by Ignition on
// an in-process Hardhat chain). Random scenarios drive one channel in three assets — the restricted
// security token (whose issuer freezes participants), a HostileToken that refuses payouts (revert,
// return false, burn all gas) and a token that can start charging a fee on transfers — through
// deposits, off-chain payments, hashlocks, withdrawals, then a cooperative close or a dispute
// answered (or not) by challenges and settled. Honest moves are mixed with adversarial ones: forged
// signatures, stale and forked states, odd lock lists, fee-on-transfer deposits, frozen participants.
//
// After every step: the adjudicator holds exactly what the channel holds plus what is claimable and
// held for the controller; the recorded nonce never falls below one registered or checkpointed; every
// refused call changed nothing. At every payout each participant receives exactly its share —
// pushed, claimable, or held for the controller when the token's rules refuse the movement — and
// never more than the channel holds. Every co-signed state that gets registered settles, and claims
// pay out exactly once. The generator's coverage of each kind of move is asserted, not just printed.
//
// One chain per file; every run starts from an `evm_snapshot` and is reverted afterwards.
// CI runs a fixed seed, so the coverage minimums below are reproducible and a failure is never luck;
// `npm run fuzz` runs a longer campaign on fresh random seeds (CLEARLINE_FC_SEED=random), and
// CLEARLINE_FC_SEED / CLEARLINE_FC_RUNS reproduce or lengthen one.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import hre from "hardhat";
import { keccak256, toBeHex, type Contract, type HDNodeWallet } from "ethers";
import { deploySystem, onboard } from "../../devstack/system.js";
import { devWallet } from "../../devstack/stack.js";
import { timeHelpers } from "../helpers/chain.js";
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
  stateTuple,
  ZERO_HASH,
  type ChannelParams,
  type LockData,
  type StateData,
} from "../helpers/channel.js";

type Who = 0 | 1;
type Asset = 0 | 1 | 2;
const ASSETS = [0, 1, 2] as const;
const WHO = [0, 1] as const;
/** Asset 0 is the restricted token, 1 the hostile one, 2 the fee-on-transfer one. */
const RESTRICTED: Asset = 0;
const HOSTILE: Asset = 1;
const FEE: Asset = 2;

const MODE = { Honest: 0, Reenter: 1, Revert: 2, ReturnFalse: 3, BurnGas: 4 } as const;
type Mode = (typeof MODE)[keyof typeof MODE];
const REFUSING = new Set<number>([MODE.Revert, MODE.ReturnFalse, MODE.BurnGas]);
const PERIOD = 3600n;
const DAY = 86_400;
// Generous gas: fee estimation refuses a transaction whose inner (capped) call runs out of gas.
const GAS = { gasLimit: 5_000_000n };

const NUM_RUNS = Number(process.env.CLEARLINE_FC_RUNS ?? 70);
const FIXED_SEED = 20_261_202;
const SEED = seedOf(process.env.CLEARLINE_FC_SEED);

function seedOf(setting: string | undefined): number | undefined {
  if (setting === undefined || setting === "") return FIXED_SEED;
  if (setting === "random") return undefined;
  const seed = Number(setting);
  if (!Number.isSafeInteger(seed)) throw new Error(`CLEARLINE_FC_SEED must be an integer or "random", not ${setting}`);
  return seed;
}

// ---------------------------------------------------------------------------------------------
// Scenario generators
// ---------------------------------------------------------------------------------------------

const who = fc.constantFrom<Who>(0, 1);
const asset = fc.constantFrom<Asset>(0, 1, 2);
const permille = fc.integer({ min: 0, max: 1000 });
const mode = fc.constantFrom<Mode>(MODE.Honest, MODE.Honest, MODE.Revert, MODE.ReturnFalse, MODE.BurnGas);
/** Seconds until a lock expires: mostly within the dispute's horizon, sometimes beyond MAX_LOCK_WAIT. */
const expiresIn = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 3 * 3600 }) },
  { weight: 1, arbitrary: fc.integer({ min: 31 * DAY, max: 400 * DAY }) },
);

type Forgery = "swap" | "stranger" | "highS" | "otherChain" | "otherChannel" | "tampered";
type OddLock = "badAsset" | "badSender" | "zeroAmount";
type Op = "withdraw" | "forceClose" | "closeCooperatively";

type Action =
  | { kind: "deposit"; who: Who; asset: Asset; amount: bigint }
  | { kind: "pay"; who: Who; asset: Asset; permille: number }
  | { kind: "signWithdrawal"; who: Who; asset: Asset; permille: number }
  | { kind: "withdraw"; mode: Mode }
  | { kind: "lock"; who: Who; asset: Asset; permille: number; expiresIn: number; revealNow: boolean }
  | { kind: "oddLock"; odd: OddLock }
  | { kind: "reveal" }
  | { kind: "resolveLock" }
  | { kind: "wait"; seconds: number }
  | { kind: "forge"; op: Op; forgery: Forgery; pick: number }
  | { kind: "stale"; op: "withdraw" | "forceClose" | "fork"; pick: number }
  | { kind: "wrongCheckpoint"; pick: number }
  | { kind: "wrongLocks"; how: "drop" | "extra" | "tooMany" }
  | { kind: "feeDeposit"; who: Who; amount: bigint; feeBps: number }
  | { kind: "freeze"; who: Who; frozen: boolean; deposit: bigint };

/** A lock pending when the dispute starts, its secret revealed never, at once, or at its expiry's edge. */
interface FinalLock {
  who: Who;
  asset: Asset;
  permille: number;
  expiresIn: number;
  reveal: "never" | "now" | "atExpiry" | "afterExpiry";
}

type Ending =
  | { kind: "cooperative"; mode: Mode; freeze: Who | null }
  | {
      kind: "force";
      mode: Mode;
      freeze: Who | null;
      withoutState: boolean;
      caller: Who;
      registerPick: number;
      challengePicks: number[];
      /** Whether the honest side answers with the latest state (else any registered state must settle). */
      answer: boolean;
      finalLock: FinalLock | null;
    };

const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("deposit" as const), who, asset, amount: fc.bigInt({ min: 1n, max: 5_000n }) }) },
  // Payments favour the restricted token: its movements are what the issuer's rules may hold.
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("pay" as const), who, asset: fc.constantFrom<Asset>(0, 0, 1, 2), permille }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("signWithdrawal" as const), who, asset, permille }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), mode }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("lock" as const), who, asset, permille, expiresIn, revealNow: fc.boolean() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("oddLock" as const), odd: fc.constantFrom<OddLock>("badAsset", "badSender", "zeroAmount") }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("reveal" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("resolveLock" as const) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wait" as const), seconds: fc.integer({ min: 0, max: 2 * 3600 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("forge" as const),
      op: fc.constantFrom<Op>("withdraw", "forceClose", "closeCooperatively"),
      forgery: fc.constantFrom<Forgery>("swap", "stranger", "highS", "otherChain", "otherChannel", "tampered"),
      pick: fc.nat(),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ kind: fc.constant("stale" as const), op: fc.constantFrom("withdraw" as const, "forceClose" as const, "fork" as const), pick: fc.nat() }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wrongCheckpoint" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("wrongLocks" as const), how: fc.constantFrom("drop" as const, "extra" as const, "tooMany" as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("feeDeposit" as const), who, amount: fc.bigInt({ min: 100n, max: 5_000n }), feeBps: fc.integer({ min: 100, max: 5_000 }) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("freeze" as const), who, frozen: fc.boolean(), deposit: fc.bigInt({ min: 1n, max: 5_000n }) }),
  },
);

const freezeAtEnd = fc.option(who, { freq: 3 });

const endingArb: fc.Arbitrary<Ending> = fc.oneof(
  fc.record({ kind: fc.constant("cooperative" as const), mode, freeze: freezeAtEnd }),
  fc.record({
    kind: fc.constant("force" as const),
    mode,
    freeze: freezeAtEnd,
    withoutState: fc.boolean(),
    caller: who,
    registerPick: fc.nat(),
    challengePicks: fc.array(fc.nat(), { maxLength: 3 }),
    answer: fc.boolean(),
    finalLock: fc.option(
      fc.record({
        who,
        asset,
        permille: fc.integer({ min: 1, max: 1000 }),
        expiresIn: fc.oneof(fc.integer({ min: 1, max: 2 * 3600 }), fc.integer({ min: 31 * DAY, max: 60 * DAY })),
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
  actions: fc.array(actionArb, { minLength: 4, maxLength: 16 }),
  ending: endingArb,
});

// ---------------------------------------------------------------------------------------------
// Off-chain model
// ---------------------------------------------------------------------------------------------

/** A co-signed state as both honest participants keep it, with its lock list. */
interface Signed {
  state: StateData;
  locks: LockData[];
  sigs: [string, string];
}

interface PendingLock {
  lock: LockData;
  secret: string;
}

const grid = (): bigint[][] => ASSETS.map(() => [0n, 0n]);

/** Everything the test knows about one channel. */
class ChannelModel {
  deposits = grid(); // [asset][who]
  paid = grid(); // withdrawn on chain, [asset][who]
  nets: bigint[] = ASSETS.map(() => 0n);
  withdrawn = grid(); // in the latest state
  lock: PendingLock | undefined;
  /** Locks no honest client would add (unknown asset or sender, zero amount): they must move nothing. */
  oddLocks: LockData[] = [];
  nonce = 0n;
  checkpoint = 0n;
  history: Signed[] = [];
  revealedAt = new Map<string, bigint>();
  frozen: [boolean, boolean] = [false, false];

  /** deposits(X) − withdrawn(X) ∓ net − locked(X): what X may still spend or withdraw. */
  balance(a: Asset, x: Who): bigint {
    let b = this.deposits[a]![x]! - this.withdrawn[a]![x]! + (x === 0 ? -this.nets[a]! : this.nets[a]!);
    if (this.lock && this.lock.lock.assetIndex === a && this.lock.lock.sender === x) b -= this.lock.lock.amount;
    return b;
  }

  /** What the adjudicator holds for X: deposits − paid withdrawals. */
  available(a: Asset, x: Who): bigint {
    return this.deposits[a]![x]! - this.paid[a]![x]!;
  }

  locks(): LockData[] {
    return [...(this.lock ? [this.lock.lock] : []), ...this.oddLocks];
  }

  /** Whether a well-formed lock's secret was revealed on chain by its expiry. */
  revealedInTime(lock: LockData): boolean {
    const at = this.revealedAt.get(lock.hashlock);
    return wellFormed(lock) && at !== undefined && at <= lock.expiry;
  }

  /** A well-formed lock that settlement waits for: not revealed in time (until expiry or MAX_LOCK_WAIT). */
  pending(lock: LockData): boolean {
    return wellFormed(lock) && !this.revealedInTime(lock);
  }

  /** Where a lock goes if resolved now: to its receiver iff revealed by its expiry; malformed: nowhere. */
  lockShift(lock: LockData): bigint {
    if (!this.revealedInTime(lock)) return 0n;
    return lock.sender === 0 ? lock.amount : -lock.amount;
  }
}

function wellFormed(lock: LockData): boolean {
  return lock.assetIndex < ASSETS.length && lock.sender <= 1;
}

function pick(amount: bigint, perMille: number): bigint {
  return (amount * BigInt(perMille)) / 1000n;
}

/** clamp(available0 − net, 0, total) for participant 0, the rest for 1 (the contract's split). */
function split(available0: bigint, available1: bigint, net: bigint): [bigint, bigint] {
  const total = available0 + available1;
  let owed0 = available0 - net;
  if (owed0 < 0n) owed0 = 0n;
  if (owed0 > total) owed0 = total;
  return [owed0, total - owed0];
}

/** The part of a payout beyond what the participant owned in the channel: a movement between them. */
function beyondOwn(amount: bigint, available: bigint): bigint {
  const own = available > 0n ? available : 0n;
  return amount > own ? amount - own : 0n;
}

// ---------------------------------------------------------------------------------------------
// The properties
// ---------------------------------------------------------------------------------------------

describe("Adjudicator properties (fast-check, real contracts)", () => {
  let ethers: Awaited<ReturnType<typeof hre.network.create>>["ethers"];
  let time: ReturnType<typeof timeHelpers>;
  let chainId: bigint;
  let adjudicator: Contract;
  let adjudicatorAddress: string;
  let restricted: Contract;
  let hostile: Contract;
  let feeToken: Contract;
  let tokens: Contract[];
  let tokenAddresses: string[];
  let wallets: [HDNodeWallet, HDNodeWallet];
  let domain: ReturnType<typeof adjudicatorDomain>;
  let maxLockWait: bigint;
  let runCounter = 0;
  const stats = {
    runs: 0,
    deposits: 0,
    withdrawals: 0,
    withdrawalsAfterCheckpoint: 0,
    wrongCheckpoints: 0,
    cooperative: 0,
    settled: 0,
    settledUnanswered: 0,
    settledWithOddLocks: 0,
    settledAfterLockWait: 0,
    withoutState: 0,
    challenges: 0,
    staleChallenges: 0,
    deferred: 0,
    held: 0,
    lockToReceiver: 0,
    forged: 0,
    stale: 0,
    forked: 0,
    wrongLocks: 0,
    feeRefused: 0,
    frozenDepositRefused: 0,
    heldRefusedWhileFrozen: 0,
  };

  beforeAll(async () => {
    const connection = await hre.network.create();
    ethers = connection.ethers;
    time = timeHelpers(ethers);
    chainId = (await ethers.provider.getNetwork()).chainId;
    const system = await deploySystem(connection);
    adjudicator = system.adjudicator;
    adjudicatorAddress = await adjudicator.getAddress();
    restricted = system.token;
    hostile = (await ethers.deployContract("HostileToken")) as unknown as Contract;
    feeToken = (await ethers.deployContract("SwitchableFeeToken")) as unknown as Contract;
    tokens = [restricted, hostile, feeToken];
    tokenAddresses = await Promise.all(tokens.map((t) => t.getAddress()));
    wallets = [devWallet(1).connect(ethers.provider), devWallet(2).connect(ethers.provider)];
    const now = await time.latest();
    for (const wallet of wallets) {
      // Identities that outlive every run's time travel.
      await onboard(system, wallet.address, now, { expiresAt: now + 100n * 365n * BigInt(DAY) });
      await (await restricted.getFunction("mint")(wallet.address, 10n ** 24n)).wait();
      await (await hostile.getFunction("mint")(wallet.address, 10n ** 30n)).wait();
      await (await feeToken.getFunction("mint")(wallet.address, 10n ** 30n)).wait();
      for (const token of tokens) {
        await (await (token.connect(wallet) as Contract).getFunction("approve")(adjudicatorAddress, 2n ** 255n)).wait();
      }
    }
    domain = adjudicatorDomain(chainId, adjudicatorAddress);
    maxLockWait = (await adjudicator.getFunction("MAX_LOCK_WAIT")()) as bigint;
  });

  afterAll(() => {
    console.info("adjudicator-properties coverage", stats);
  });

  const as = (x: Who) => adjudicator.connect(wallets[x]) as Contract;

  async function send(promise: Promise<{ wait: () => Promise<unknown> }>): Promise<{ blockNumber: number }> {
    return (await (await promise).wait()) as { blockNumber: number };
  }

  async function blockTime(blockNumber: number): Promise<bigint> {
    return BigInt((await ethers.provider.getBlock(blockNumber))!.timestamp);
  }

  /**
   * Asserts a revert with custom error `errorName` of `contract` (the adjudicator by default). Pass a
   * function to send the call only when this runs (inside `unchanged`, after the state was read).
   */
  async function expectRevert(
    action: Promise<unknown> | (() => Promise<unknown>),
    errorName: string,
    contract: Contract = adjudicator,
  ): Promise<void> {
    let caught: unknown;
    try {
      const tx = await (typeof action === "function" ? action() : action);
      if (tx && typeof tx === "object" && "wait" in tx) await (tx as { wait: () => Promise<unknown> }).wait();
    } catch (error) {
      caught = error;
    }
    expect(caught, `expected revert ${errorName}`).toBeDefined();
    const data =
      (caught as { data?: string }).data ?? (caught as { info?: { error?: { data?: string } } }).info?.error?.data;
    const parsed = data ? contract.interface.parseError(data) : null;
    expect(parsed?.name, `expected ${errorName}, got ${String((caught as Error).message)}`).toBe(errorName);
  }

  interface Flows {
    balance: bigint[][]; // [asset][who]
    claimable: bigint[][];
    held: bigint[][]; // [asset][to]: held for the controller from the other participant to `to`
    adjudicator: bigint[];
  }

  async function snapshotFlows(): Promise<Flows> {
    const flows: Flows = { balance: grid(), claimable: grid(), held: grid(), adjudicator: [] };
    for (const a of ASSETS) {
      for (const x of WHO) {
        flows.balance[a]![x] = (await tokens[a]!.getFunction("balanceOf")(wallets[x].address)) as bigint;
        flows.claimable[a]![x] = (await adjudicator.getFunction("claimableOf")(tokenAddresses[a], wallets[x].address)) as bigint;
        const from = wallets[x === 0 ? 1 : 0].address;
        flows.held[a]![x] = (await adjudicator.getFunction("heldOf")(tokenAddresses[a], from, wallets[x].address)) as bigint;
      }
      flows.adjudicator.push((await tokens[a]!.getFunction("balanceOf")(adjudicatorAddress)) as bigint);
    }
    return flows;
  }

  /**
   * Each participant received exactly `expected[asset][who]` — pushed, claimable when the token
   * refused the push, or held for the controller when the restricted token's rules refuse a movement
   * between the participants — and the adjudicator paid out no more than that in total.
   */
  async function expectFlows(
    before: Flows,
    expected: bigint[][],
    available: bigint[][],
    m: ChannelModel,
    tokenMode: Mode,
    what: string,
  ): Promise<void> {
    const after = await snapshotFlows();
    for (const a of ASSETS) {
      let outOfAdjudicator = 0n;
      for (const x of WHO) {
        const pushed = after.balance[a]![x]! - before.balance[a]![x]!;
        const deferred = after.claimable[a]![x]! - before.claimable[a]![x]!;
        const held = after.held[a]![x]! - before.held[a]![x]!;
        const label = `${what}: asset ${a} participant ${x}`;
        expect(pushed + deferred + held, `${label} received`).toBe(expected[a]![x]!);
        outOfAdjudicator += pushed;
        if (a === HOSTILE) {
          expect(REFUSING.has(tokenMode) ? pushed : deferred, `${label} ${REFUSING.has(tokenMode) ? "pushed" : "deferred"}`).toBe(0n);
        } else if (a === RESTRICTED) {
          const involved = m.frozen[0] || m.frozen[1];
          const moved = beyondOwn(expected[a]![x]!, available[a]![x]!);
          expect(held, `${label} held for the controller`).toBe(involved ? moved : 0n);
          if (m.frozen[x]) expect(pushed, `${label} pushed to a frozen participant`).toBe(0n);
          else expect(deferred, `${label} deferred`).toBe(0n);
        } else {
          expect(pushed, `${label} pushed`).toBe(expected[a]![x]!);
        }
        if (deferred > 0n) stats.deferred++;
        if (held > 0n) stats.held++;
      }
      expect(before.adjudicator[a]! - after.adjudicator[a]!, `${what}: asset ${a} left the adjudicator`).toBe(outOfAdjudicator);
    }
  }

  /** The adjudicator holds exactly the channel's holdings plus all claimables and held movements. */
  async function expectSolvent(channelId: string): Promise<void> {
    const flows = await snapshotFlows();
    for (const a of ASSETS) {
      const [available0, available1] = (await adjudicator.getFunction("holdings")(channelId, a)) as bigint[];
      let owed = available0! + available1!;
      for (const x of WHO) owed += flows.claimable[a]![x]! + flows.held[a]![x]!;
      expect(flows.adjudicator[a], `adjudicator balance of asset ${a} vs what it owes`).toBe(owed);
    }
  }

  /** A refused call changed nothing: the channel's record and holdings and every balance are as before. */
  async function unchanged(channelId: string, attempt: () => Promise<void>): Promise<void> {
    const read = async () => {
      const record = Array.from((await adjudicator.getFunction("channel")(channelId)) as bigint[]);
      const holdings = [];
      for (const a of ASSETS) holdings.push(Array.from((await adjudicator.getFunction("holdings")(channelId, a)) as bigint[]));
      return { record, holdings, flows: await snapshotFlows() };
    };
    const before = await read();
    await attempt();
    expect(await read()).toEqual(before);
  }

  async function setMode(m: Mode): Promise<void> {
    await send(hostile.getFunction("arm")(m, adjudicatorAddress, "0x"));
  }

  async function setFrozen(m: ChannelModel, x: Who, frozen: boolean): Promise<void> {
    if (m.frozen[x] === frozen) return;
    await send(restricted.getFunction(frozen ? "freeze" : "unfreeze")(wallets[x].address));
    m.frozen[x] = frozen;
  }

  function newParams(): ChannelParams {
    return {
      participants: [wallets[0].address, wallets[1].address],
      assets: [...tokenAddresses],
      challengePeriod: PERIOD,
      salt: keccak256(toBeHex(++runCounter, 32)),
    };
  }

  async function runScenario(scenario: Scenario): Promise<void> {
    stats.runs++;
    const params = newParams();
    const p = paramsTuple(params);
    const channelId = channelIdOf(params, chainId, adjudicatorAddress);
    const m = new ChannelModel();
    let secretCounter = 0;
    /** The highest nonce the contract has registered or checkpointed so far. */
    let highestNonce = 0n;

    const makeState = (nonce: bigint, locks: LockData[], isFinal: boolean): StateData => ({
      channelId,
      nonce,
      allocations: params.assets.map((token, a) => ({
        token,
        net: m.nets[a]!,
        withdrawn0: m.withdrawn[a]![0]!,
        withdrawn1: m.withdrawn[a]![1]!,
      })),
      locksRoot: locksRootOf(locks),
      isFinal,
    });

    function signNext(isFinal = false): Signed {
      m.nonce += 1n;
      const locks = isFinal ? [] : m.locks();
      const state = makeState(m.nonce, locks, isFinal);
      const signed: Signed = { state, locks, sigs: signBoth(wallets, domain, state) };
      m.history.push(signed);
      return signed;
    }

    const withLocks = (s: Signed, locks = s.locks) => [p, stateTuple(s.state), ...s.sigs, lockTuples(locks)] as const;
    /** `withdraw`'s last argument: the checkpointed state, from which the contract derives what was paid. */
    const checkpointed = () => {
      const at = m.history.find((s) => s.state.nonce === m.checkpoint);
      return m.checkpoint === 0n || !at ? NO_CHECKPOINT : stateTuple(at.state);
    };

    async function expectNonceMonotone(): Promise<void> {
      const [phase, nonce] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
      if (phase === 3n) return; // a concluded channel keeps no record
      expect(nonce! >= highestNonce, `recorded nonce ${nonce} fell below ${highestNonce}`).toBe(true);
      expect(nonce! >= m.checkpoint, "recorded nonce below the checkpoint").toBe(true);
      highestNonce = nonce!;
    }

    /** Both sign a new lock of a share of the sender's balance; false when there is nothing to lock. */
    async function addLock(sender: Who, a: Asset, perMille: number, seconds: number): Promise<boolean> {
      if (m.lock) return false;
      const amount = pick(m.balance(a, sender), perMille);
      if (amount === 0n) return false;
      const secret = keccak256(toBeHex(runCounter * 1000 + ++secretCounter, 32));
      const now = await time.latest();
      m.lock = { secret, lock: { assetIndex: a, sender, amount, hashlock: hashlockOf(secret), expiry: now + BigInt(seconds) } };
      signNext();
      return true;
    }

    /** The lock's receiver publishes the secret on chain (once). */
    async function reveal(): Promise<void> {
      if (!m.lock || m.revealedAt.has(m.lock.lock.hashlock)) return;
      const receipt = await send(adjudicator.getFunction("revealSecret")(m.lock.secret));
      m.revealedAt.set(m.lock.lock.hashlock, await blockTime(receipt.blockNumber));
    }

    /** Folds the pending locks into the split as both sides agree off chain; odd locks are dropped. */
    function foldLocks(): void {
      m.oddLocks = [];
      if (!m.lock) return;
      m.nets[m.lock.lock.assetIndex] = m.nets[m.lock.lock.assetIndex]! + m.lockShift(m.lock.lock);
      m.lock = undefined;
    }

    /** A forged submission of `signed`: right state with wrong signatures, or a state the signatures do not cover. */
    function forge(signed: Signed, forgery: Forgery): { state: StateData; sigs: [string, string]; error: string } {
      const [s0, s1] = signed.sigs;
      switch (forgery) {
        case "swap":
          return { state: signed.state, sigs: [s1, s0], error: "InvalidSignature" };
        case "stranger":
          return { state: signed.state, sigs: [s0, signState(devWallet(7), domain, signed.state)], error: "InvalidSignature" };
        case "highS":
          return { state: signed.state, sigs: [highSTwin(s0), s1], error: "InvalidSignature" };
        case "otherChain":
          return { state: signed.state, sigs: signBoth(wallets, adjudicatorDomain(chainId + 1n, adjudicatorAddress), signed.state), error: "InvalidSignature" };
        case "otherChannel": {
          const state = { ...signed.state, channelId: keccak256(channelId) };
          return { state, sigs: signBoth(wallets, domain, state), error: "WrongChannel" };
        }
        case "tampered": {
          const allocations = signed.state.allocations.map((al, i) => (i === 0 ? { ...al, net: al.net + 1n } : al));
          return { state: { ...signed.state, allocations }, sigs: signed.sigs, error: "InvalidSignature" };
        }
      }
    }

    // Open, optionally with a first deposit.
    const [opener, openAsset, openAmount] = scenario.opening;
    await send(as(opener).getFunction("open")(p, openAsset, openAmount, GAS));
    m.deposits[openAsset]![opener] = m.deposits[openAsset]![opener]! + openAmount;
    await expectSolvent(channelId);

    for (const action of scenario.actions) {
      switch (action.kind) {
        case "deposit": {
          const call = () => as(action.who).getFunction("deposit")(p, action.asset, action.amount, GAS);
          if (action.asset === RESTRICTED && m.frozen[action.who]) {
            // The issuer froze the depositor: its tokens cannot move into the channel.
            await unchanged(channelId, () => expectRevert(call, "TransferRestricted", restricted));
            stats.frozenDepositRefused++;
            break;
          }
          await send(call());
          m.deposits[action.asset]![action.who] = m.deposits[action.asset]![action.who]! + action.amount;
          stats.deposits++;
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
          if (!latest || latest.state.nonce <= m.checkpoint) break;
          await setMode(action.mode);
          const before = await snapshotFlows();
          const available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
          await send(as(0).getFunction("withdraw")(...withLocks(latest), checkpointed(), GAS));
          const expected = ASSETS.map((a) => WHO.map((x) => m.withdrawn[a]![x]! - m.paid[a]![x]!));
          await expectFlows(before, expected, available, m, action.mode, `withdraw nonce ${latest.state.nonce}`);
          m.paid = m.withdrawn.map((row) => [...row]);
          if (m.checkpoint !== 0n) stats.withdrawalsAfterCheckpoint++;
          m.checkpoint = latest.state.nonce;
          stats.withdrawals++;
          break;
        }
        case "wrongCheckpoint": {
          // Anything but the checkpointed state — none, another signed state, a twin of the
          // checkpoint under its nonce — would misstate what was paid: refused, nothing moves.
          const latest = m.history.at(-1);
          if (!latest || latest.state.isFinal || latest.state.nonce <= m.checkpoint) break;
          const at = m.history.find((s) => s.state.nonce === m.checkpoint);
          const twin = at && { ...at.state, allocations: at.state.allocations.map((al) => ({ ...al, withdrawn1: al.withdrawn1 + 1n })) };
          const offers = [
            ...(m.checkpoint === 0n ? [] : [NO_CHECKPOINT]),
            ...(twin ? [stateTuple(twin)] : []),
            ...m.history.filter((s) => s.state.nonce !== m.checkpoint).map((s) => stateTuple(s.state)),
          ];
          if (offers.length === 0) break;
          const offer = offers[action.pick % offers.length]!;
          await unchanged(channelId, () => expectRevert(() => as(1).getFunction("withdraw")(...withLocks(latest), offer, GAS), "CheckpointMismatch"));
          stats.wrongCheckpoints++;
          break;
        }
        case "lock": {
          if (await addLock(action.who, action.asset, action.permille, action.expiresIn)) {
            if (action.revealNow) await reveal();
          }
          break;
        }
        case "oddLock": {
          const now = await time.latest();
          const base = { amount: 7n, hashlock: hashlockOf(keccak256(toBeHex(runCounter * 1000 + ++secretCounter, 32))), expiry: now + 600n };
          if (action.odd === "badAsset") m.oddLocks.push({ ...base, assetIndex: ASSETS.length + (secretCounter % 3), sender: 0 });
          else if (action.odd === "badSender") m.oddLocks.push({ ...base, assetIndex: 0, sender: 2 });
          else m.oddLocks.push({ ...base, assetIndex: FEE, sender: 1, amount: 0n });
          signNext();
          break;
        }
        case "reveal": {
          await reveal();
          break;
        }
        case "resolveLock": {
          if (!m.lock && m.oddLocks.length === 0) break;
          foldLocks();
          signNext();
          break;
        }
        case "wait": {
          await ethers.provider.send("evm_increaseTime", [action.seconds]);
          break;
        }
        case "forge": {
          if (m.history.length === 0) break;
          const target = m.history[action.pick % m.history.length]!;
          const forged = forge(target, action.forgery);
          const args = [p, stateTuple(forged.state), ...forged.sigs] as const;
          const call = () =>
            action.op === "closeCooperatively"
              ? as(1).getFunction("closeCooperatively")(...args, GAS)
              : action.op === "withdraw"
                ? as(1).getFunction("withdraw")(...args, lockTuples(target.locks), checkpointed(), GAS)
                : as(1).getFunction(action.op)(...args, lockTuples(target.locks), GAS);
          await unchanged(channelId, () => expectRevert(call, forged.error));
          stats.forged++;
          break;
        }
        case "stale": {
          const older = m.history.filter((s) => s.state.nonce < m.checkpoint);
          const atCheckpoint = m.history.find((s) => s.state.nonce === m.checkpoint);
          if (action.op === "fork") {
            // Both signed a different state under the checkpoint's nonce: it cannot replace the checkpoint.
            if (!atCheckpoint) break;
            const forkState = { ...atCheckpoint.state, locksRoot: ZERO_HASH, allocations: atCheckpoint.state.allocations.map((al) => ({ ...al, net: al.net - 1n })) };
            const fork: Signed = { state: forkState, locks: [], sigs: signBoth(wallets, domain, forkState) };
            await unchanged(channelId, () => expectRevert(() => as(1).getFunction("forceClose")(...withLocks(fork), GAS), "CheckpointMismatch"));
            stats.forked++;
            break;
          }
          const candidates = action.op === "withdraw" ? [...older, ...(atCheckpoint ? [atCheckpoint] : [])] : older;
          if (candidates.length === 0) break;
          const stale = candidates[action.pick % candidates.length]!;
          const call = () =>
            action.op === "withdraw"
              ? as(1).getFunction("withdraw")(...withLocks(stale), checkpointed(), GAS)
              : as(1).getFunction(action.op)(...withLocks(stale), GAS);
          await unchanged(channelId, () => expectRevert(call, "StaleNonce"));
          stats.stale++;
          break;
        }
        case "wrongLocks": {
          const latest = m.history.at(-1);
          if (!latest || latest.state.nonce < m.checkpoint) break;
          const now = await time.latest();
          const extra: LockData = { assetIndex: 0, sender: 0, amount: 1n, hashlock: ZERO_HASH, expiry: now };
          if (action.how === "tooMany") {
            // A co-signed state whose lock list exceeds MAX_LOCKS cannot be registered (nor withdrawn on).
            const many = Array.from({ length: 9 }, (_, i) => ({ ...extra, amount: BigInt(i + 1) }));
            const state = makeState(m.nonce + 1n, many, false);
            const signed: Signed = { state, locks: many, sigs: signBoth(wallets, domain, state) };
            await unchanged(channelId, () => expectRevert(() => as(1).getFunction("forceClose")(...withLocks(signed), GAS), "TooManyLocks"));
          } else {
            const wrong = action.how === "drop" ? latest.locks.slice(1) : [...latest.locks, extra];
            if (locksRootOf(wrong) === latest.state.locksRoot) break;
            await unchanged(channelId, () => expectRevert(() => as(1).getFunction("forceClose")(...withLocks(latest, wrong), GAS), "LocksMismatch"));
          }
          stats.wrongLocks++;
          break;
        }
        case "feeDeposit": {
          // The token starts charging a fee: the adjudicator must not credit what did not arrive.
          await send(feeToken.getFunction("setFee")(action.feeBps));
          try {
            await unchanged(channelId, () =>
              expectRevert(() => as(action.who).getFunction("deposit")(p, FEE, action.amount, GAS), "DeliveryMismatch"),
            );
          } finally {
            await send(feeToken.getFunction("setFee")(0));
          }
          stats.feeRefused++;
          break;
        }
        case "freeze": {
          await setFrozen(m, action.who, action.frozen);
          if (action.frozen) {
            // The frozen participant tries to move more of the restricted token into the channel.
            const call = () => as(action.who).getFunction("deposit")(p, RESTRICTED, action.deposit, GAS);
            await unchanged(channelId, () => expectRevert(call, "TransferRestricted", restricted));
            stats.frozenDepositRefused++;
          }
          break;
        }
      }
      await expectSolvent(channelId);
      await expectNonceMonotone();
    }

    // Close. `winner` is the state whose split must be paid; its locks are resolved at settlement.
    const ending = scenario.ending;
    const available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
    let winnerNets: bigint[];
    let winnerLocks: LockData[];
    let before: Flows;

    if (ending.kind === "cooperative") {
      foldLocks();
      const final = signNext(true);
      await setMode(ending.mode);
      if (ending.freeze !== null) await setFrozen(m, ending.freeze, true);
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
        const latestTime = await time.latest();
        if (fl.reveal === "atExpiry" && expiry > latestTime) await time.setNextBlockTimestamp(expiry);
        if (fl.reveal === "afterExpiry" && expiry + 1n > latestTime) await time.setNextBlockTimestamp(expiry + 1n);
        await reveal();
      }
      const registrable = m.history.filter((s) => s.state.nonce >= m.checkpoint);
      let registered: Signed | undefined;
      let deadline = 0n;
      /** A registration or challenge mined at time t moves the deadline to max(deadline, t + period). */
      const expectDeadlineExtended = async (receipt: { blockNumber: number }): Promise<void> => {
        const answerBy = (await blockTime(receipt.blockNumber)) + PERIOD;
        deadline = answerBy > deadline ? answerBy : deadline;
        const [, , recorded] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
        expect(recorded, "challenge-window rule").toBe(deadline);
        await expectNonceMonotone();
      };
      if ((ending.withoutState || registrable.length === 0) && m.checkpoint === 0n) {
        await expectDeadlineExtended(await send(as(ending.caller).getFunction("forceCloseWithoutState")(p, GAS)));
        stats.withoutState++;
      } else {
        if (ending.withoutState) {
          await unchanged(channelId, () => expectRevert(() => as(ending.caller).getFunction("forceCloseWithoutState")(p, GAS), "CheckpointExists"));
        }
        registered = registrable[ending.registerPick % registrable.length]!;
        await expectDeadlineExtended(await send(as(ending.caller).getFunction("forceClose")(...withLocks(registered), GAS)));
      }
      // Challenges with random states: only a newer one may replace the registered state.
      for (const pickIndex of ending.challengePicks) {
        if (m.history.length === 0) break;
        const candidate = m.history[pickIndex % m.history.length]!;
        const call = () => as(ending.caller === 0 ? 1 : 0).getFunction("challenge")(...withLocks(candidate), GAS);
        if (candidate.state.nonce > (registered?.state.nonce ?? 0n)) {
          await expectDeadlineExtended(await send(call()));
          registered = candidate;
          stats.challenges++;
        } else {
          await unchanged(channelId, () => expectRevert(call, "StaleNonce"));
          stats.staleChallenges++;
        }
      }
      // The honest side answers with the latest state if it is newer, unless it is away.
      const latest = m.history.at(-1);
      if (ending.answer && latest && latest.state.nonce > (registered?.state.nonce ?? 0n)) {
        await expectDeadlineExtended(await send(as(0).getFunction("challenge")(...withLocks(latest), GAS)));
        registered = latest;
        stats.challenges++;
      }
      const nets = registered ? registered.state.allocations.map((al) => al.net) : ASSETS.map(() => 0n);
      const locks = registered ? registered.locks : [];
      const [, recordedNonce] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
      expect(recordedNonce).toBe(registered?.state.nonce ?? 0n);
      await unchanged(channelId, () => expectRevert(() => as(0).getFunction("settle")(p, nets, lockTuples(locks)), "ChallengePeriodNotOver"));
      await time.increaseTo(deadline);
      // Settlement waits for a well-formed lock that is neither revealed in time nor expired, but
      // never longer than MAX_LOCK_WAIT after the deadline. (Block times drift by a second or two
      // with the wall clock, so the revert is asserted with a margin.)
      const open = locks.filter((l) => m.pending(l));
      const lastExpiry = open.reduce((t, l) => (l.expiry > t ? l.expiry : t), 0n);
      const waitEnd = deadline + maxLockWait;
      const settleFrom = lastExpiry < waitEnd ? lastExpiry + 1n : waitEnd + 1n;
      if (settleFrom > deadline + 30n) {
        await unchanged(channelId, () => expectRevert(() => as(0).getFunction("settle")(p, nets, lockTuples(locks)), "LockUnresolved"));
      }
      if (settleFrom > deadline) await time.increaseTo(settleFrom);
      if (lastExpiry >= waitEnd) stats.settledAfterLockWait++;
      if (ending.freeze !== null) await setFrozen(m, ending.freeze, true);
      await setMode(ending.mode);
      before = await snapshotFlows();
      await send(as(1).getFunction("settle")(p, nets, lockTuples(locks), GAS));
      await expectRevert(as(0).getFunction("settle")(p, nets, lockTuples(locks)), "WrongPhase");
      winnerNets = nets;
      winnerLocks = locks;
      stats.settled++;
      if (registered !== latest) stats.settledUnanswered++;
      if (locks.some((l) => !wellFormed(l) || l.amount === 0n)) stats.settledWithOddLocks++;
    }

    // Exactly deposits − withdrawals ∓ net ± resolved locks, for each participant and asset.
    const expected = ASSETS.map((a) => {
      let netEff = winnerNets[a]!;
      for (const lock of winnerLocks) {
        if (lock.assetIndex !== a) continue;
        const shift = m.lockShift(lock);
        if (shift !== 0n) stats.lockToReceiver++;
        netEff += shift;
      }
      const [owed0, owed1] = split(available[a]![0]!, available[a]![1]!, netEff);
      expect(owed0, `honest states never need clamping (asset ${a})`).toBe(available[a]![0]! - netEff);
      return [owed0, owed1];
    });
    await expectFlows(before, expected, available, m, ending.mode, "conclusion");
    const [phase] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
    expect(phase).toBe(3n);
    await expectSolvent(channelId);

    // Nothing is paid twice: the closing calls are refused now.
    const last = m.history.at(-1);
    if (last) {
      await unchanged(channelId, () => expectRevert(() => as(0).getFunction("withdraw")(...withLocks(last), checkpointed(), GAS), last.state.isFinal ? "UnexpectedFinal" : "WrongPhase"));
    }

    // Held movements: refused to their receiver while a participant is frozen, released once not.
    const afterClose = await snapshotFlows();
    for (const x of WHO) {
      if (afterClose.held[RESTRICTED]![x]! > 0n && (m.frozen[0] || m.frozen[1])) {
        const from = wallets[x === 0 ? 1 : 0].address;
        await unchanged(channelId, () => expectRevert(() => as(x).getFunction("claimHeld")(tokenAddresses[RESTRICTED], from, GAS), "MovementRestricted"));
        stats.heldRefusedWhileFrozen++;
      }
    }
    await setFrozen(m, 0, false);
    await setFrozen(m, 1, false);
    await setMode(MODE.Honest);
    for (const x of WHO) {
      const from = wallets[x === 0 ? 1 : 0].address;
      for (const a of ASSETS) {
        const owed = afterClose.claimable[a]![x]! + afterClose.held[a]![x]!;
        if (owed === 0n) continue;
        const balanceBefore = (await tokens[a]!.getFunction("balanceOf")(wallets[x].address)) as bigint;
        if (afterClose.claimable[a]![x]! > 0n) {
          await send(as(x).getFunction("claim")(tokenAddresses[a], GAS));
          await expectRevert(as(x).getFunction("claim")(tokenAddresses[a]), "NothingClaimable");
        }
        if (afterClose.held[a]![x]! > 0n) {
          await send(as(x).getFunction("claimHeld")(tokenAddresses[a], from, GAS));
          await expectRevert(as(x).getFunction("claimHeld")(tokenAddresses[a], from), "NothingHeld");
        }
        expect((await tokens[a]!.getFunction("balanceOf")(wallets[x].address)) - balanceBefore).toBe(owed);
      }
    }
    for (const a of ASSETS) {
      expect(await tokens[a]!.getFunction("balanceOf")(adjudicatorAddress), `asset ${a} left in the adjudicator`).toBe(0n);
    }
    // Across the whole life of the channel the participants got back exactly what went in.
    const totalIn = m.deposits.flat().reduce((s, v) => s + v, 0n);
    const totalOut = m.paid.flat().reduce((s, v) => s + v, 0n) + expected.flat().reduce((s, v) => s + v, 0n);
    expect(totalOut).toBe(totalIn);
  }

  async function isolated(body: () => Promise<void>): Promise<void> {
    const id = (await ethers.provider.send("evm_snapshot", [])) as string;
    try {
      await body();
    } finally {
      await ethers.provider.send("evm_revert", [id]);
    }
  }

  it("pays each participant exactly what the winning state owes it, never more than the channel holds", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, (scenario) => isolated(() => runScenario(scenario))),
      { numRuns: NUM_RUNS, seed: SEED },
    );
    // The generator must reach every kind of move often enough for the property to mean something.
    // Each minimum is about half of what a run reaches on average, so a fresh random seed passes too.
    const atLeast = (share: number) => Math.max(1, Math.floor(NUM_RUNS * share));
    const minimum: Record<keyof typeof stats, number> = {
      runs: NUM_RUNS,
      deposits: atLeast(0.5),
      withdrawals: atLeast(0.3),
      withdrawalsAfterCheckpoint: 0, // every run of the withdraw → withdraw → settle property below reaches it
      wrongCheckpoints: atLeast(0.05),
      cooperative: atLeast(0.15),
      settled: atLeast(0.3),
      settledUnanswered: atLeast(0.02),
      settledWithOddLocks: atLeast(0.04),
      settledAfterLockWait: 0, // reached by the lock-list property below
      withoutState: atLeast(0.03),
      challenges: atLeast(0.1),
      staleChallenges: atLeast(0.05),
      deferred: atLeast(0.1),
      held: atLeast(0.02),
      lockToReceiver: 0, // reached by the lock-list property below
      forged: atLeast(0.15),
      stale: atLeast(0.02),
      forked: atLeast(0.015),
      wrongLocks: atLeast(0.05),
      feeRefused: atLeast(0.1),
      frozenDepositRefused: atLeast(0.1),
      heldRefusedWhileFrozen: atLeast(0.02),
    };
    for (const [kind, count] of Object.entries(minimum)) {
      expect(stats[kind as keyof typeof stats], `coverage of ${kind}`).toBeGreaterThanOrEqual(count);
    }
  });

  // docs/protocol.md calls a state valid when deposits(X) − withdrawnX ∓ net − locked(X) ≥ 0 for both
  // sides, so an investor may withdraw, without closing, what it received off chain.
  it("a participant can withdraw what it received off chain without closing (protocol.md balance rule)", async () => {
    await isolated(async () => {
      const params = newParams();
      const p = paramsTuple(params);
      const channelId = channelIdOf(params, chainId, adjudicatorAddress);
      const m = new ChannelModel();
      await send(as(0).getFunction("open")(p, HOSTILE, 100n, GAS));
      m.deposits[HOSTILE]![0] = 100n;
      const state = (nonce: bigint, isFinal: boolean): StateData => ({
        channelId,
        nonce,
        allocations: params.assets.map((token, a) =>
          a === HOSTILE ? { token, net: 60n, withdrawn0: 0n, withdrawn1: 60n } : { token, net: 0n, withdrawn0: 0n, withdrawn1: 0n },
        ),
        locksRoot: ZERO_HASH,
        isFinal,
      });
      const expectOnly = (amount0: bigint, amount1: bigint) => ASSETS.map((a) => (a === HOSTILE ? [amount0, amount1] : [0n, 0n]));
      // Participant 0 paid 60 to participant 1, who withdraws them: balances 40 and 0, both ≥ 0.
      const withdrawal = state(1n, false);
      let available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
      let before = await snapshotFlows();
      await send(as(1).getFunction("withdraw")(p, stateTuple(withdrawal), ...signBoth(wallets, domain, withdrawal), [], NO_CHECKPOINT, GAS));
      await expectFlows(before, expectOnly(0n, 60n), available, m, MODE.Honest, "withdraw of received funds");
      m.paid[HOSTILE]![1] = 60n;
      const final = state(2n, true);
      available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
      before = await snapshotFlows();
      await send(as(0).getFunction("closeCooperatively")(p, stateTuple(final), ...signBoth(wallets, domain, final), GAS));
      await expectFlows(before, expectOnly(40n, 0n), available, m, MODE.Honest, "close after it");
    });
  });

  it("withdraw → withdraw → settle: each withdrawal pays what its state adds to the checkpointed one, settlement the rest", async () => {
    // A directed property: payments and withdrawals in turn, each withdrawal re-supplying the
    // checkpointed state (sometimes after a wrong one was refused), then a settlement or a close.
    const step = fc.record({ payer: who, payPermille: permille, withdrawer: who, asset, withdrawPermille: permille, offerWrong: fc.boolean() });
    let wrongRefused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 4 }), fc.boolean(), (steps, cooperative) =>
        isolated(async () => {
          const params = newParams();
          const p = paramsTuple(params);
          const channelId = channelIdOf(params, chainId, adjudicatorAddress);
          const m = new ChannelModel();
          await send(as(0).getFunction("open")(p, 0, 1000n, GAS));
          for (const a of ASSETS) {
            for (const x of WHO) if (a !== 0 || x !== 0) await send(as(x).getFunction("deposit")(p, a, 1000n, GAS));
            m.deposits[a] = [1000n, 1000n];
          }
          const stateNow = (isFinal: boolean): StateData => ({
            channelId,
            nonce: m.nonce,
            allocations: params.assets.map((token, a) => ({ token, net: m.nets[a]!, withdrawn0: m.withdrawn[a]![0]!, withdrawn1: m.withdrawn[a]![1]! })),
            locksRoot: ZERO_HASH,
            isFinal,
          });
          let checkpoint: StateData | null = null;
          for (const s of steps) {
            const paid = pick(m.balance(s.asset, s.payer), s.payPermille);
            m.nets[s.asset] = m.nets[s.asset]! + (s.payer === 0 ? paid : -paid);
            m.withdrawn[s.asset]![s.withdrawer] = m.withdrawn[s.asset]![s.withdrawer]! + pick(m.balance(s.asset, s.withdrawer), s.withdrawPermille);
            m.nonce += 1n;
            const state = stateNow(false);
            const args = [p, stateTuple(state), ...signBoth(wallets, domain, state), []] as const;
            if (s.offerWrong) {
              const wrong = checkpoint === null ? stateTuple({ ...state, nonce: m.nonce - 1n }) : NO_CHECKPOINT;
              await unchanged(channelId, () => expectRevert(() => as(1).getFunction("withdraw")(...args, wrong, GAS), "CheckpointMismatch"));
              wrongRefused++;
            }
            const available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
            const before = await snapshotFlows();
            await send(as(s.withdrawer).getFunction("withdraw")(...args, checkpoint === null ? NO_CHECKPOINT : stateTuple(checkpoint), GAS));
            const expected = ASSETS.map((a) => WHO.map((x) => m.withdrawn[a]![x]! - m.paid[a]![x]!));
            await expectFlows(before, expected, available, m, MODE.Honest, `withdrawal ${m.nonce}`);
            m.paid = m.withdrawn.map((row) => [...row]);
            m.checkpoint = m.nonce;
            checkpoint = state;
            await unchanged(channelId, () => expectRevert(() => as(1).getFunction("withdraw")(...args, stateTuple(state), GAS), "StaleNonce"));
          }
          const available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
          let before: Flows;
          if (cooperative) {
            m.nonce += 1n;
            const final = stateNow(true);
            before = await snapshotFlows();
            await send(as(0).getFunction("closeCooperatively")(p, stateTuple(final), ...signBoth(wallets, domain, final), GAS));
          } else {
            // The checkpointed state itself is registered and settled.
            const registered = checkpoint!;
            await send(as(1).getFunction("forceClose")(p, stateTuple(registered), ...signBoth(wallets, domain, registered), [], GAS));
            const [, , deadline] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
            await time.increaseTo(deadline!);
            before = await snapshotFlows();
            await send(as(0).getFunction("settle")(p, [...m.nets], [], GAS));
          }
          const expected = ASSETS.map((a) => [m.available(a, 0) - m.nets[a]!, m.available(a, 1) + m.nets[a]!]);
          await expectFlows(before, expected, available, m, MODE.Honest, "settlement after the withdrawals");
          await expectSolvent(channelId);
          const totalIn = m.deposits.flat().reduce((t, v) => t + v, 0n);
          const totalOut = m.paid.flat().reduce((t, v) => t + v, 0n) + expected.flat().reduce((t, v) => t + v, 0n);
          expect(totalOut).toBe(totalIn);
        }),
      ),
      { numRuns: Math.max(5, Math.floor(NUM_RUNS / 4)), seed: SEED },
    );
    expect(wrongRefused, "a wrong checkpoint was offered and refused").toBeGreaterThan(0);
  });

  it("a no-state close returns every deposit unless answered by a newer signed state", async () => {
    // A directed property: deposits only, then a no-state close answered (or not) by a signed state.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(who, asset, fc.bigInt({ min: 1n, max: 10_000n })), { minLength: 1, maxLength: 6 }),
        fc.option(fc.tuple(fc.bigInt({ min: 0n, max: 1000n }), fc.bigInt({ min: 0n, max: 1000n }))),
        (deposits, answer) =>
          isolated(async () => {
            const params = newParams();
            const p = paramsTuple(params);
            const channelId = channelIdOf(params, chainId, adjudicatorAddress);
            const m = new ChannelModel();
            await send(as(0).getFunction("open")(p, 0, 0n, GAS));
            for (const [x, a, amount] of deposits) {
              await send(as(x).getFunction("deposit")(p, a, amount, GAS));
              m.deposits[a]![x] = m.deposits[a]![x]! + amount;
            }
            await send(as(1).getFunction("forceCloseWithoutState")(p, GAS));
            const nets = ASSETS.map(() => 0n);
            if (answer) {
              // Participant 0 answers with a state paying up to what each side holds.
              nets[0] = m.deposits[0]![0]! < answer[0] ? m.deposits[0]![0]! : answer[0];
              nets[1] = -(m.deposits[1]![1]! < answer[1] ? m.deposits[1]![1]! : answer[1]);
              const state: StateData = {
                channelId,
                nonce: 1n,
                allocations: params.assets.map((token, a) => ({ token, net: nets[a]!, withdrawn0: 0n, withdrawn1: 0n })),
                locksRoot: ZERO_HASH,
                isFinal: false,
              };
              await send(as(0).getFunction("challenge")(p, stateTuple(state), ...signBoth(wallets, domain, state), [], GAS));
            }
            const [, , deadline] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
            await time.increaseTo(deadline!);
            const available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
            const before = await snapshotFlows();
            await send(as(0).getFunction("settle")(p, nets, [], GAS));
            const expected = ASSETS.map((a) => [m.deposits[a]![0]! - nets[a]!, m.deposits[a]![1]! + nets[a]!]);
            await expectFlows(before, expected, available, m, MODE.Honest, "no-state close");
            await expectSolvent(channelId);
          }),
      ),
      { numRuns: Math.max(5, Math.floor(NUM_RUNS / 4)), seed: SEED },
    );
  });

  it("every registered co-signed state settles, whatever its lock list, at most MAX_LOCK_WAIT after the deadline", async () => {
    type LockKind = "near" | "far" | "badAsset" | "badSender" | "zeroAmount";
    const lockSpec = fc.record({
      kind: fc.constantFrom<LockKind>("near", "near", "far", "badAsset", "badSender", "zeroAmount"),
      asset,
      sender: who,
      amount: fc.bigInt({ min: 1n, max: 50n }),
      expiresIn: fc.integer({ min: 0, max: 2 * 3600 }),
      reveal: fc.constantFrom("never" as const, "inTime" as const, "late" as const),
    });
    const reached = { waitedOut: 0, expired: 0, toReceiver: 0, malformed: 0, refusedEarly: 0, refusedUnresolved: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(lockSpec, { minLength: 1, maxLength: 8 }), (specs) =>
        isolated(async () => {
          const params = newParams();
          const p = paramsTuple(params);
          const channelId = channelIdOf(params, chainId, adjudicatorAddress);
          const m = new ChannelModel();
          await send(as(0).getFunction("open")(p, 0, 1000n, GAS));
          for (const a of ASSETS) {
            for (const x of WHO) {
              if (a === 0 && x === 0) continue;
              await send(as(x).getFunction("deposit")(p, a, 1000n, GAS));
            }
            m.deposits[a] = [1000n, 1000n];
          }
          const now = await time.latest();
          const secrets: string[] = [];
          const locks: LockData[] = specs.map((spec, i) => {
            const secret = keccak256(toBeHex(runCounter * 1000 + i + 1, 32));
            secrets.push(secret);
            const base: LockData = {
              assetIndex: spec.asset,
              sender: spec.sender,
              amount: spec.amount,
              hashlock: hashlockOf(secret),
              expiry: now + 60n + BigInt(spec.expiresIn),
            };
            if (spec.kind === "far") return { ...base, expiry: base.expiry + maxLockWait + BigInt(DAY) };
            if (spec.kind === "badAsset") return { ...base, assetIndex: ASSETS.length + i };
            if (spec.kind === "badSender") return { ...base, sender: 2 + (i % 3) };
            if (spec.kind === "zeroAmount") return { ...base, amount: 0n };
            return base;
          });
          const state: StateData = {
            channelId,
            nonce: 1n,
            allocations: params.assets.map((token) => ({ token, net: 0n, withdrawn0: 0n, withdrawn1: 0n })),
            locksRoot: locksRootOf(locks),
            isFinal: false,
          };
          await send(as(1).getFunction("forceClose")(p, stateTuple(state), ...signBoth(wallets, domain, state), lockTuples(locks), GAS));
          const [, , deadline] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
          // Reveals in time first, then the late ones in expiry order (a block's time never goes back).
          for (const [i, spec] of specs.entries()) {
            if (spec.reveal !== "inTime") continue;
            const receipt = await send(adjudicator.getFunction("revealSecret")(secrets[i]));
            m.revealedAt.set(locks[i]!.hashlock, await blockTime(receipt.blockNumber));
          }
          const late = specs.flatMap((spec, i) => (spec.reveal === "late" && spec.kind !== "far" ? [i] : []));
          late.sort((i, j) => Number(locks[i]!.expiry - locks[j]!.expiry));
          for (const i of late) {
            if (m.revealedAt.has(locks[i]!.hashlock)) continue;
            const at = locks[i]!.expiry + 1n;
            if (at > (await time.latest())) await time.setNextBlockTimestamp(at);
            const receipt = await send(adjudicator.getFunction("revealSecret")(secrets[i]));
            m.revealedAt.set(locks[i]!.hashlock, await blockTime(receipt.blockNumber));
          }
          const open = locks.filter((l) => m.pending(l));
          const lastExpiry = open.reduce((t, l) => (l.expiry > t ? l.expiry : t), 0n);
          const waitEnd = deadline! + maxLockWait;
          const settleFrom = lastExpiry < waitEnd ? lastExpiry + 1n : waitEnd + 1n;
          const earliest = settleFrom > deadline! ? settleFrom : deadline!;
          // Just before the deadline, and just before the last lock resolves (a margin for block-time
          // drift), settlement is refused and changes nothing.
          const settleNow = () => as(0).getFunction("settle")(p, ASSETS.map(() => 0n), lockTuples(locks));
          if (deadline! > (await time.latest()) + 30n) {
            await time.increaseTo(deadline! - 30n);
            await unchanged(channelId, () => expectRevert(settleNow, "ChallengePeriodNotOver"));
            reached.refusedEarly++;
          }
          if (earliest > deadline! + 60n && earliest > (await time.latest()) + 30n) {
            await time.increaseTo(earliest - 30n);
            await unchanged(channelId, () => expectRevert(settleNow, "LockUnresolved"));
            reached.refusedUnresolved++;
          }
          if (earliest > (await time.latest())) await time.increaseTo(earliest);
          const available = ASSETS.map((a) => WHO.map((x) => m.available(a, x)));
          const before = await snapshotFlows();
          await send(as(0).getFunction("settle")(p, ASSETS.map(() => 0n), lockTuples(locks), GAS));
          const expected = ASSETS.map((a) => {
            const shift = locks.filter((l) => l.assetIndex === a).reduce((sum, l) => sum + m.lockShift(l), 0n);
            return [1000n - shift, 1000n + shift];
          });
          await expectFlows(before, expected, available, m, MODE.Honest, "settlement with locks");
          await expectSolvent(channelId);
          if (lastExpiry >= waitEnd) reached.waitedOut++;
          if (open.length > 0 && lastExpiry < waitEnd) reached.expired++;
          if (locks.some((l) => m.revealedInTime(l))) reached.toReceiver++;
          if (locks.some((l) => !wellFormed(l))) reached.malformed++;
        }),
      ),
      { numRuns: Math.max(10, Math.floor(NUM_RUNS / 2)), seed: SEED },
    );
    console.info("adjudicator-properties lock-list coverage", reached);
    for (const [kind, count] of Object.entries(reached)) expect(count, `coverage of ${kind}`).toBeGreaterThanOrEqual(2);
  });
});
