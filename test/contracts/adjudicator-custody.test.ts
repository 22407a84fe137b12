// Compliance at custody release, on the whole system deployed by Ignition: every movement of the
// restricted token between the participants, at close or at a withdrawal, is checked as a transfer
// from the real sender to the real receiver (detectCustodialTransferRestriction). A refused movement
// is held for the controller with its ERC-1404 code; the rest of the settlement proceeds.
import { beforeEach, describe, expect, it } from "vitest";
import hre from "hardhat";
import { MaxUint256, type Contract, type HDNodeWallet } from "ethers";
import { deploySystem, onboard, type ClearlineSystem } from "../../devstack/system.js";
import { devWallet } from "../../devstack/stack.js";
import { adjudicatorDomain, channelIdOf, NO_CHECKPOINT, paramsTuple, signBoth, stateOf, stateTuple, type ChannelParams, type StateData } from "../helpers/channel.js";

type Log = { fragment?: { name: string }; args: unknown[] };

describe("Adjudicator: compliance of movements at custody release", () => {
  let system: ClearlineSystem;
  let adjudicator: Contract;
  let ethers: Awaited<ReturnType<typeof hre.network.create>>["ethers"];
  let venue: HDNodeWallet;
  let investor: HDNodeWallet;
  let token: string;
  let chainId: bigint;
  let salt = 0;

  beforeEach(async () => {
    const connection = await hre.network.create();
    ethers = connection.ethers;
    system = await deploySystem(connection);
    adjudicator = system.adjudicator;
    venue = devWallet(1).connect(ethers.provider);
    investor = devWallet(2).connect(ethers.provider);
    token = await system.token.getAddress();
    chainId = (await ethers.provider.getNetwork()).chainId;
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    for (const wallet of [venue, investor]) {
      await onboard(system, wallet.address, now);
      await (await system.token.getFunction("mint")(wallet.address, 1_000n)).wait();
      await (await (system.token.connect(wallet) as Contract).getFunction("approve")(await adjudicator.getAddress(), MaxUint256)).wait();
    }
  });

  const as = (wallet: HDNodeWallet) => adjudicator.connect(wallet) as Contract;
  const balanceOf = async (address: string) => (await system.token.getFunction("balanceOf")(address)) as bigint;

  /** A channel venue ↔ `other` in the security token: the venue deposits 200, `other` `otherDeposit`. */
  async function channelWith(other: HDNodeWallet, otherDeposit: bigint) {
    const params: ChannelParams = { participants: [venue.address, other.address], assets: [token], challengePeriod: 600n, salt: "0x" + (++salt).toString(16).padStart(64, "0") };
    const channelId = channelIdOf(params, chainId, await adjudicator.getAddress());
    await (await as(venue).getFunction("open")(paramsTuple(params), 0, 200n)).wait();
    if (otherDeposit > 0n) await (await as(other).getFunction("deposit")(paramsTuple(params), 0, otherDeposit)).wait();
    const sign = (state: StateData) => signBoth([venue, other], adjudicatorDomain(chainId, adjudicator.target as string), state);
    return { params, channelId, tuple: paramsTuple(params), sign };
  }

  async function eventsOf(tx: Promise<{ wait: () => Promise<{ logs: unknown[] } | null> }>, name: string): Promise<string[][]> {
    const receipt = (await (await tx).wait())!;
    return (receipt.logs as Log[]).filter((l) => l.fragment?.name === name).map((l) => l.args.map(String));
  }

  it("holds a locked-up sender's payment (0x55) and still pays both their own", async () => {
    const { params, channelId, tuple, sign } = await channelWith(investor, 300n);
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    await (await system.rules.getFunction("setLockup")(investor.address, now + 86_400n)).wait();
    const final = stateOf(channelId, params, 1n, [-50n], { isFinal: true });
    const held = await eventsOf(as(venue).getFunction("closeCooperatively")(tuple, stateTuple(final), ...sign(final)), "MovementHeld");
    expect(held).toEqual([[channelId, token, investor.address, venue.address, "50", String(0x55)]]);
    expect(await balanceOf(venue.address)).toBe(800n + 200n);
    expect(await balanceOf(investor.address)).toBe(700n + 250n);
    expect(await adjudicator.getFunction("heldOf")(token, investor.address, venue.address)).toBe(50n);
    expect(await balanceOf(await adjudicator.getAddress())).toBe(50n);
  });

  it("holds a payment to a receiver without KYC (0x57) at settlement; the payer keeps the rest", async () => {
    const carol = devWallet(5).connect(ethers.provider); // never onboarded
    const { params, channelId, tuple, sign } = await channelWith(carol, 0n);
    const state = stateOf(channelId, params, 3n, [30n]);
    await (await as(venue).getFunction("forceClose")(tuple, stateTuple(state), ...sign(state), [])).wait();
    const [, , deadline] = (await adjudicator.getFunction("channel")(channelId)) as bigint[];
    await ethers.provider.send("evm_setNextBlockTimestamp", [Number(deadline)]);
    const held = await eventsOf(as(venue).getFunction("settle")(tuple, [30n], []), "MovementHeld");
    expect(held).toEqual([[channelId, token, venue.address, carol.address, "30", String(0x57)]]);
    expect(await balanceOf(venue.address)).toBe(800n + 170n);
    expect(await balanceOf(carol.address)).toBe(0n);
    expect(await adjudicator.getFunction("claimableOf")(token, carol.address)).toBe(0n);
    expect(await adjudicator.getFunction("heldOf")(token, venue.address, carol.address)).toBe(30n);
  });

  it("pays a compliant movement to its receiver and holds nothing", async () => {
    const { params, channelId, tuple, sign } = await channelWith(investor, 300n);
    const final = stateOf(channelId, params, 1n, [-50n], { isFinal: true });
    const held = await eventsOf(as(investor).getFunction("closeCooperatively")(tuple, stateTuple(final), ...sign(final)), "MovementHeld");
    expect(held).toEqual([]);
    expect(await balanceOf(venue.address)).toBe(800n + 250n);
    expect(await balanceOf(investor.address)).toBe(700n + 250n);
    expect(await balanceOf(await adjudicator.getAddress())).toBe(0n);
  });

  it("checks a withdrawal of received funds: a locked-up payer's tokens are held, the checkpoint still stands", async () => {
    const { params, channelId, tuple, sign } = await channelWith(investor, 100n);
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    await (await system.rules.getFunction("setLockup")(venue.address, now + 86_400n)).wait();
    // the venue paid 60 off chain; the investor withdraws its own 100 and the 60 it received
    const state = stateOf(channelId, params, 1n, [60n], { withdrawn: [[0n, 160n]] });
    const held = await eventsOf(as(investor).getFunction("withdraw")(tuple, stateTuple(state), ...sign(state), [], NO_CHECKPOINT), "MovementHeld");
    expect(held).toEqual([[channelId, token, venue.address, investor.address, "60", String(0x55)]]);
    expect(await balanceOf(investor.address)).toBe(900n + 100n);
    expect(await adjudicator.getFunction("heldOf")(token, venue.address, investor.address)).toBe(60n);
    expect(await adjudicator.getFunction("holdings")(channelId, 0)).toEqual([200n, -60n]);
    expect(await adjudicator.getFunction("channel")(channelId)).toEqual([1n, 1n, 0n]);
    // the final close moves nothing more: the venue gets its remaining 140
    const final = stateOf(channelId, params, 2n, [60n], { withdrawn: [[0n, 160n]], isFinal: true });
    expect(await eventsOf(as(venue).getFunction("closeCooperatively")(tuple, stateTuple(final), ...sign(final)), "MovementHeld")).toEqual([]);
    expect(await balanceOf(venue.address)).toBe(800n + 140n);
  });

  it("holds with code 0xFF when a token that says it is restricted cannot answer; its controller decides", async () => {
    const nope = (await ethers.deployContract("UnansweringRestrictedToken")) as unknown as Contract;
    const nopeAddress = await nope.getAddress();
    for (const wallet of [venue, investor]) {
      await (await nope.getFunction("mint")(wallet.address, 1_000n)).wait();
      await (await (nope.connect(wallet) as Contract).getFunction("approve")(await adjudicator.getAddress(), MaxUint256)).wait();
    }
    const params: ChannelParams = { participants: [venue.address, investor.address], assets: [nopeAddress], challengePeriod: 600n, salt: "0x" + "77".repeat(32) };
    const channelId = channelIdOf(params, chainId, await adjudicator.getAddress());
    await (await as(venue).getFunction("open")(paramsTuple(params), 0, 200n)).wait();
    const final = stateOf(channelId, params, 1n, [20n], { isFinal: true });
    const sigs = signBoth([venue, investor], adjudicatorDomain(chainId, adjudicator.target as string), final);
    const held = await eventsOf(as(venue).getFunction("closeCooperatively")(paramsTuple(params), stateTuple(final), ...sigs), "MovementHeld");
    expect(held).toEqual([[channelId, nopeAddress, venue.address, investor.address, "20", "255"]]);
    expect(await nope.getFunction("balanceOf")(venue.address)).toBe(800n + 180n);
    // the token's controller (its deployer) releases it to the receiver
    await (await adjudicator.getFunction("releaseHeld")(nopeAddress, venue.address, investor.address, investor.address)).wait();
    expect(await nope.getFunction("balanceOf")(investor.address)).toBe(1_000n + 20n);
  });

  it("does not check a plain ERC-20: a movement of cash is paid without any compliance call", async () => {
    const cash = system.cash;
    const cashAddress = await cash.getAddress();
    for (const wallet of [venue, investor]) {
      await (await cash.getFunction("mint")(wallet.address, 1_000n)).wait();
      await (await (cash.connect(wallet) as Contract).getFunction("approve")(await adjudicator.getAddress(), MaxUint256)).wait();
    }
    // the investor is frozen in the security token, which has no say over cash
    await (await system.token.getFunction("freeze")(investor.address)).wait();
    const params: ChannelParams = { participants: [venue.address, investor.address], assets: [cashAddress], challengePeriod: 600n, salt: "0x" + "78".repeat(32) };
    const channelId = channelIdOf(params, chainId, await adjudicator.getAddress());
    await (await as(investor).getFunction("open")(paramsTuple(params), 0, 100n)).wait();
    const final = stateOf(channelId, params, 1n, [-40n], { isFinal: true });
    const sigs = signBoth([venue, investor], adjudicatorDomain(chainId, adjudicator.target as string), final);
    expect(await eventsOf(as(venue).getFunction("closeCooperatively")(paramsTuple(params), stateTuple(final), ...sigs), "MovementHeld")).toEqual([]);
    expect(await cash.getFunction("balanceOf")(venue.address)).toBe(1_000n + 40n);
  });
});
