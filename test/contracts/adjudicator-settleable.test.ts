// No co-signed state strands or mis-credits funds: the empty lock list has one canonical root (zero,
// with the hash of an empty list accepted for it), registration takes the lock list, checks it against
// the signed root and its length, and emits it, so settlement needs nothing but chain data; a
// checkpoint pins its state; a withdrawal keeps the withdrawer's locks covered; a deposit credits
// exactly what arrived.
import { beforeEach, describe, expect, it } from "vitest";
import { AbiCoder, keccak256, type Contract } from "ethers";
import { deployAdjudicatorFixture } from "../helpers/adjudicator.js";
import { hashlockOf, locksRootOf, lockTuples, NO_CHECKPOINT, paramsTuple, signBoth, stateOf, stateTuple, type LockData, type StateData } from "../helpers/channel.js";

type Fixture = Awaited<ReturnType<typeof deployAdjudicatorFixture>>;

const EMPTY_LIST_ROOT = keccak256(AbiCoder.defaultAbiCoder().encode(["tuple(uint8,uint8,uint128,bytes32,uint64)[]"], [[]]));

async function revertName(promise: Promise<unknown>, contract: Contract): Promise<string | undefined> {
  try {
    await ((await promise) as { wait: () => Promise<unknown> }).wait();
  } catch (error) {
    const data = (error as { data?: string }).data;
    return data ? contract.interface.parseError(data)?.name : (error as Error).message;
  }
  return undefined;
}

describe("Adjudicator: every co-signed state settles from chain data", () => {
  let f: Fixture;
  let p: ReturnType<typeof paramsTuple>;
  const signed = (state: StateData) => signBoth(f.wallets, f.domain, state);
  const a0 = () => f.as(f.wallets[0]);
  const a1 = () => f.as(f.wallets[1]);
  const lock = (i: number, overrides: Partial<LockData> = {}): LockData => ({
    assetIndex: 0,
    sender: 0,
    amount: 10n,
    hashlock: hashlockOf("0x" + (i + 1).toString(16).padStart(64, "0")),
    expiry: 1n,
    ...overrides,
  });

  beforeEach(async () => {
    f = await deployAdjudicatorFixture();
    p = paramsTuple(f.params);
    await (await a0().getFunction("open")(p, 0, 100n)).wait();
    await (await a1().getFunction("deposit")(p, 0, 100n)).wait();
  });

  async function settleFromEvents(): Promise<void> {
    // Only chain data: the latest StateRegistered event of the channel.
    const [event] = (await f.adjudicator.queryFilter(f.adjudicator.filters.StateRegistered!(f.channelId))).slice(-1) as unknown as {
      args: { deadline: bigint; nets: bigint[]; locks: unknown[][] };
    }[];
    await f.mineAt(event!.args.deadline);
    const locks = event!.args.locks.map((l) => [...l]);
    await (await a0().getFunction("settle")(p, [...event!.args.nets], locks)).wait();
  }

  it("registers and settles a state signed with the hash of an empty lock list as no locks", async () => {
    const state = stateOf(f.channelId, f.params, 2n, [30n, 0n], { locksRoot: EMPTY_LIST_ROOT });
    await (await a0().getFunction("forceClose")(p, stateTuple(state), ...signed(state), [])).wait();
    const before = (await f.security.getFunction("balanceOf")(f.wallets[1].address)) as bigint;
    await settleFromEvents();
    expect(await f.security.getFunction("balanceOf")(f.wallets[1].address)).toBe(before + 130n);
    // ... and a final state with that root closes cooperatively
    const other = await fundedSecondChannel();
    const final = stateOf(other.channelId, other.params, 1n, [0n, 0n], { locksRoot: EMPTY_LIST_ROOT, isFinal: true });
    await (await a0().getFunction("closeCooperatively")(other.tuple, stateTuple(final), ...signed(final))).wait();
    expect((await f.adjudicator.getFunction("channel")(other.channelId))[0]).toBe(3n);
  });

  async function fundedSecondChannel() {
    const params = { ...f.params, salt: "0x" + "22".repeat(32) };
    const tuple = paramsTuple(params);
    const channelId = (await f.adjudicator.getFunction("channelIdOf")(tuple)) as string;
    await (await a0().getFunction("open")(tuple, 0, 10n)).wait();
    return { params, tuple, channelId };
  }

  it("emits the lock list at registration, so anyone settles from the event alone", async () => {
    const locks = [lock(0, { sender: 1, amount: 25n }), lock(1, { assetIndex: 1, amount: 0n, sender: 0 })];
    const state = stateOf(f.channelId, f.params, 4n, [5n, 0n], { locksRoot: locksRootOf(locks) });
    const receipt = await (await a1().getFunction("forceClose")(p, stateTuple(state), ...signed(state), lockTuples(locks))).wait();
    const parsed = f.adjudicator.interface.parseLog(receipt.logs.at(-1))!;
    expect(parsed.name).toBe("StateRegistered");
    expect(parsed.args.getValue("locks").map((l: unknown[]) => [...l])).toEqual(lockTuples(locks).map((l) => [...l].map((v) => (typeof v === "number" ? BigInt(v) : v))));
    const before = (await f.security.getFunction("balanceOf")(f.wallets[0].address)) as bigint;
    await settleFromEvents(); // both locks expired (expiry 1): back to their senders
    expect(await f.security.getFunction("balanceOf")(f.wallets[0].address)).toBe(before + 95n);
  });

  it("refuses at registration a lock list longer than MAX_LOCKS, or not the signed one; nothing changes", async () => {
    const nine = Array.from({ length: 9 }, (_, i) => lock(i));
    const tooMany = stateOf(f.channelId, f.params, 2n, [0n, 0n], { locksRoot: locksRootOf(nine.slice(0, 8)).replace(/^0x/, "0x") });
    // a root over nine locks (computed here, since locksRootOf refuses more than eight)
    const nineRoot = keccak256(AbiCoder.defaultAbiCoder().encode(["tuple(uint8,uint8,uint128,bytes32,uint64)[]"], [lockTuples(nine)]));
    const nineState = { ...tooMany, locksRoot: nineRoot };
    expect(await revertName(a0().getFunction("forceClose")(p, stateTuple(nineState), ...signed(nineState), lockTuples(nine)), f.adjudicator)).toBe("TooManyLocks");
    expect(await revertName(a0().getFunction("withdraw")(p, stateTuple(nineState), ...signed(nineState), lockTuples(nine), NO_CHECKPOINT), f.adjudicator)).toBe("TooManyLocks");
    expect(await revertName(a0().getFunction("forceClose")(p, stateTuple(tooMany), ...signed(tooMany), lockTuples(nine.slice(0, 7))), f.adjudicator)).toBe("LocksMismatch");
    expect(await revertName(a0().getFunction("forceClose")(p, stateTuple(tooMany), ...signed(tooMany), []), f.adjudicator)).toBe("LocksMismatch");
    expect(await f.adjudicator.getFunction("channel")(f.channelId)).toEqual([1n, 0n, 0n]);
    await (await a0().getFunction("forceClose")(p, stateTuple(tooMany), ...signed(tooMany), lockTuples(nine.slice(0, 8)))).wait();
    expect((await f.adjudicator.getFunction("channel")(f.channelId))[0]).toBe(2n);
  });

  it("pins the checkpointed state: another state with its nonce cannot be registered", async () => {
    const checkpoint = stateOf(f.channelId, f.params, 3n, [10n, 0n], { withdrawn: [[0n, 5n], [0n, 0n]] });
    await (await a1().getFunction("withdraw")(p, stateTuple(checkpoint), ...signed(checkpoint), [], NO_CHECKPOINT)).wait();
    const twin = stateOf(f.channelId, f.params, 3n, [-90n, 0n], { withdrawn: [[0n, 5n], [0n, 0n]] });
    expect(await revertName(a0().getFunction("forceClose")(p, stateTuple(twin), ...signed(twin), []), f.adjudicator)).toBe("CheckpointMismatch");
    expect(await f.adjudicator.getFunction("channel")(f.channelId)).toEqual([1n, 3n, 0n]);
    await (await a1().getFunction("forceClose")(p, stateTuple(checkpoint), ...signed(checkpoint), [])).wait();
    expect(await f.adjudicator.getFunction("channel")(f.channelId)).toEqual([2n, 3n, expect.any(BigInt)]);
  });

  it("keeps the withdrawer's locked amounts covered", async () => {
    // participant 1 holds 100 and has locked 70 of it: it may withdraw 30, not 31
    const locks = [lock(0, { sender: 1, amount: 70n, expiry: 10n ** 12n })];
    const greedy = stateOf(f.channelId, f.params, 1n, [0n, 0n], { withdrawn: [[0n, 31n], [0n, 0n]], locksRoot: locksRootOf(locks) });
    expect(await revertName(a1().getFunction("withdraw")(p, stateTuple(greedy), ...signed(greedy), lockTuples(locks), NO_CHECKPOINT), f.adjudicator)).toBe("WithdrawalExceedsBalance");
    expect(await f.adjudicator.getFunction("holdings")(f.channelId, 0)).toEqual([100n, 100n]);
    const fair = stateOf(f.channelId, f.params, 1n, [0n, 0n], { withdrawn: [[0n, 30n], [0n, 0n]], locksRoot: locksRootOf(locks) });
    await (await a1().getFunction("withdraw")(p, stateTuple(fair), ...signed(fair), lockTuples(locks), NO_CHECKPOINT)).wait();
    expect(await f.adjudicator.getFunction("holdings")(f.channelId, 0)).toEqual([100n, 70n]);
  });

  it("refuses a deposit of a token that delivers less than asked, and credits nothing", async () => {
    const fee = (await f.ethers.deployContract("FeeOnTransferToken")) as unknown as Contract;
    const feeAddress = await fee.getAddress();
    await (await fee.getFunction("mint")(f.wallets[0].address, 1_000n)).wait();
    await (await (fee.connect(f.wallets[0]) as Contract).getFunction("approve")(f.adjudicatorAddress, 1_000n)).wait();
    const params = { ...f.params, assets: [feeAddress], salt: "0x" + "33".repeat(32) };
    expect(await revertName(a0().getFunction("open")(paramsTuple(params), 0, 500n), f.adjudicator)).toBe("DeliveryMismatch");
    await (await a0().getFunction("open")(paramsTuple(params), 0, 0n)).wait();
    const channelId = (await f.adjudicator.getFunction("channelIdOf")(paramsTuple(params))) as string;
    expect(await revertName(a0().getFunction("deposit")(paramsTuple(params), 0, 500n), f.adjudicator)).toBe("DeliveryMismatch");
    expect(await f.adjudicator.getFunction("holdings")(channelId, 0)).toEqual([0n, 0n]);
    expect(await fee.getFunction("balanceOf")(f.adjudicatorAddress)).toBe(0n);
    expect(await fee.getFunction("balanceOf")(f.wallets[0].address)).toBe(1_000n);
  });
});
