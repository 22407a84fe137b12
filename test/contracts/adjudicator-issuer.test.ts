// Issuer powers inside layer two, on the whole system deployed by Ignition: a frozen investor's
// payment to the venue is held for the token's controller instead of reaching the venue; the frozen
// investor's own share becomes claimable (it cannot receive), and the controller can move either to a
// recovery address or release the held payment to the venue.
import { beforeEach, describe, expect, it } from "vitest";
import hre from "hardhat";
import { MaxUint256, type Contract } from "ethers";
import { deploySystem, onboard, type ClearlineSystem } from "../../devstack/system.js";
import { devWallet } from "../../devstack/stack.js";
import { adjudicatorDomain, channelIdOf, paramsTuple, signBoth, stateOf, stateTuple, type ChannelParams } from "../helpers/channel.js";

async function revertName(promise: Promise<unknown>, contract: Contract): Promise<string | undefined> {
  try {
    await ((await promise) as { wait: () => Promise<unknown> }).wait();
  } catch (error) {
    const data = (error as { data?: string }).data;
    return data ? contract.interface.parseError(data)?.name : (error as Error).message;
  }
  return undefined;
}

describe("Adjudicator and the issuer's powers", () => {
  let system: ClearlineSystem;
  let adjudicator: Contract;
  let params: ChannelParams;
  let signers: { venue: ReturnType<typeof devWallet>; investor: ReturnType<typeof devWallet>; recovery: string; outsider: ReturnType<typeof devWallet> };

  beforeEach(async () => {
    const connection = await hre.network.create();
    const { ethers } = connection;
    system = await deploySystem(connection);
    adjudicator = system.adjudicator;
    const venue = devWallet(1).connect(ethers.provider);
    const investor = devWallet(2).connect(ethers.provider);
    const outsider = devWallet(4).connect(ethers.provider);
    const recovery = devWallet(3).address;
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    for (const address of [venue.address, investor.address, recovery]) await onboard(system, address, now);
    for (const wallet of [venue, investor]) {
      await (await system.token.getFunction("mint")(wallet.address, 1_000n)).wait();
      await (await (system.token.connect(wallet) as Contract).getFunction("approve")(await adjudicator.getAddress(), MaxUint256)).wait();
    }
    signers = { venue, investor, recovery, outsider };
    params = { participants: [venue.address, investor.address], assets: [await system.token.getAddress()], challengePeriod: 600n, salt: "0x" + "42".repeat(32) };
    const chainId = (await ethers.provider.getNetwork()).chainId;
    const adjudicatorAddress = await adjudicator.getAddress();
    const channelId = channelIdOf(params, chainId, adjudicatorAddress);
    await (await (adjudicator.connect(investor) as Contract).getFunction("open")(paramsTuple(params), 0, 300n)).wait();
    await (await (adjudicator.connect(venue) as Contract).getFunction("deposit")(paramsTuple(params), 0, 200n)).wait();
    // the investor is frozen by the issuer before the close: its 50 to the venue is held, the venue's own
    // 200 are still paid
    await (await system.token.getFunction("freeze")(investor.address)).wait();
    const final = stateOf(channelId, params, 3n, [-50n], { isFinal: true });
    const sigs = signBoth([venue, investor], adjudicatorDomain(chainId, adjudicatorAddress), final);
    await (await (adjudicator.connect(venue) as Contract).getFunction("closeCooperatively")(paramsTuple(params), stateTuple(final), ...sigs)).wait();
  });

  it("holds the frozen investor's payment to the venue, pays the venue its own and keeps the investor's share claimable", async () => {
    const token = await system.token.getAddress();
    expect(await system.token.getFunction("balanceOf")(signers.venue.address)).toBe(800n + 200n);
    expect(await adjudicator.getFunction("heldOf")(token, signers.investor.address, signers.venue.address)).toBe(50n);
    expect(await adjudicator.getFunction("claimableOf")(token, signers.investor.address)).toBe(250n);
    expect(await system.token.getFunction("balanceOf")(await adjudicator.getAddress())).toBe(300n);
    const held = await adjudicator.queryFilter(adjudicator.filters.MovementHeld!());
    expect(held.map((e) => (e as unknown as { args: unknown[] }).args.slice(1).map(String))).toEqual([
      [token, signers.investor.address, signers.venue.address, "50", String(0xa0)], // SENDER_FROZEN
    ]);
    // frozen, the investor cannot claim its own share either: the token refuses the transfer (ERC-1404 0xA1)
    expect(await revertName((adjudicator.connect(signers.investor) as Contract).getFunction("claim")(token), system.token)).toBe("TransferRestricted");
    expect(await adjudicator.getFunction("claimableOf")(token, signers.investor.address)).toBe(250n);
    // nor can the venue take the held payment while the sender is frozen
    expect(await revertName((adjudicator.connect(signers.venue) as Contract).getFunction("claimHeld")(token, signers.investor.address), adjudicator)).toBe("MovementRestricted");
  });

  it("lets only the controller decide a held payment: release to the venue, and nothing twice", async () => {
    const token = await system.token.getAddress();
    const release = (as: Contract) => as.getFunction("releaseHeld")(token, signers.investor.address, signers.venue.address, signers.venue.address);
    expect(await revertName(release(adjudicator.connect(signers.outsider) as Contract), adjudicator)).toBe("NotController");
    expect(await revertName(release(adjudicator.connect(signers.venue) as Contract), adjudicator)).toBe("NotController");
    await (await release(adjudicator)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.venue.address)).toBe(800n + 250n);
    expect(await adjudicator.getFunction("heldOf")(token, signers.investor.address, signers.venue.address)).toBe(0n);
    expect(await revertName(release(adjudicator), adjudicator)).toBe("NothingHeld");
  });

  it("lets the controller recover a held payment to a recovery address instead", async () => {
    const token = await system.token.getAddress();
    await (await adjudicator.getFunction("releaseHeld")(token, signers.investor.address, signers.venue.address, signers.recovery)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.recovery)).toBe(50n);
    expect(await system.token.getFunction("balanceOf")(signers.venue.address)).toBe(800n + 200n);
  });

  it("once the investor is unfrozen, the venue takes the held payment itself", async () => {
    const token = await system.token.getAddress();
    await (await system.token.getFunction("unfreeze")(signers.investor.address)).wait();
    await (await (adjudicator.connect(signers.venue) as Contract).getFunction("claimHeld")(token, signers.investor.address)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.venue.address)).toBe(800n + 250n);
    expect(await revertName((adjudicator.connect(signers.venue) as Contract).getFunction("claimHeld")(token, signers.investor.address), adjudicator)).toBe("NothingHeld");
  });

  it("lets the token's controller recover a frozen holder's claimable balance, and nobody else", async () => {
    const token = await system.token.getAddress();
    expect(await revertName((adjudicator.connect(signers.outsider) as Contract).getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery), adjudicator)).toBe("NotController");
    await (await adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.recovery)).toBe(250n);
    expect(await adjudicator.getFunction("claimableOf")(token, signers.investor.address)).toBe(0n);
    expect(await revertName(adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery), adjudicator)).toBe("NothingClaimable");
  });

  it("lets the controller recover a frozen holder's claimable balance to itself, an address without investor KYC", async () => {
    const token = await system.token.getAddress();
    const controller = await (adjudicator.runner as unknown as { getAddress(): Promise<string> }).getAddress();
    const before = (await system.token.getFunction("balanceOf")(controller)) as bigint;
    await (await adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, controller)).wait();
    expect(await system.token.getFunction("balanceOf")(controller)).toBe(before + 250n);
  });

  it("refuses recovery from a holder who is not frozen; once unfrozen the holder claims itself", async () => {
    const token = await system.token.getAddress();
    await (await system.token.getFunction("unfreeze")(signers.investor.address)).wait();
    expect(await revertName(adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery), adjudicator)).toBe("HolderNotFrozen");
    await (await (adjudicator.connect(signers.investor) as Contract).getFunction("claim")(token)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.investor.address)).toBe(700n + 250n);
    expect(await adjudicator.getFunction("heldOf")(token, signers.investor.address, signers.venue.address)).toBe(50n);
  });
});
