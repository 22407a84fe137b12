// Issuer powers inside layer two, on the whole system deployed by Ignition: a receiver frozen at
// payout does not block its counterparty; its share becomes claimable, and the token's controller can
// move it to a recovery address.
import { beforeEach, describe, expect, it } from "vitest";
import hre from "hardhat";
import { MaxUint256, type Contract } from "ethers";
import { deploySystem, onboard, type ClearlineSystem } from "../../scripts/lib/system.js";
import { devWallet } from "../../scripts/lib/stack.js";
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
    // the investor is frozen by the issuer before the close; the venue's payout must still go through
    await (await system.token.getFunction("freeze")(investor.address)).wait();
    const final = stateOf(channelId, params, 3n, [-50n], { isFinal: true });
    const sigs = signBoth([venue, investor], adjudicatorDomain(chainId, adjudicatorAddress), final);
    await (await (adjudicator.connect(venue) as Contract).getFunction("closeCooperatively")(paramsTuple(params), stateTuple(final), ...sigs)).wait();
  });

  it("pays the counterparty and keeps the frozen receiver's share claimable", async () => {
    const token = await system.token.getAddress();
    expect(await system.token.getFunction("balanceOf")(signers.venue.address)).toBe(800n + 250n);
    expect(await adjudicator.getFunction("claimableOf")(token, signers.investor.address)).toBe(250n);
    expect(await system.token.getFunction("balanceOf")(await adjudicator.getAddress())).toBe(250n);
    // frozen, the investor cannot claim it either: the token refuses the transfer (ERC-1404 0xA1)
    expect(await revertName((adjudicator.connect(signers.investor) as Contract).getFunction("claim")(token), system.token)).toBe("TransferRestricted");
    expect(await adjudicator.getFunction("claimableOf")(token, signers.investor.address)).toBe(250n);
  });

  it("lets the token's controller recover a frozen holder's claimable balance, and nobody else", async () => {
    const token = await system.token.getAddress();
    expect(await revertName((adjudicator.connect(signers.outsider) as Contract).getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery), adjudicator)).toBe("NotController");
    await (await adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.recovery)).toBe(250n);
    expect(await adjudicator.getFunction("claimableOf")(token, signers.investor.address)).toBe(0n);
    expect(await revertName(adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery), adjudicator)).toBe("NothingClaimable");
  });

  it("refuses recovery from a holder who is not frozen; once unfrozen the holder claims itself", async () => {
    const token = await system.token.getAddress();
    await (await system.token.getFunction("unfreeze")(signers.investor.address)).wait();
    expect(await revertName(adjudicator.getFunction("recoverClaimable")(token, signers.investor.address, signers.recovery), adjudicator)).toBe("HolderNotFrozen");
    await (await (adjudicator.connect(signers.investor) as Contract).getFunction("claim")(token)).wait();
    expect(await system.token.getFunction("balanceOf")(signers.investor.address)).toBe(700n + 250n);
  });
});
