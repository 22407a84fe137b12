// A fresh in-process chain with an Adjudicator, two plain ERC-20 assets and two funded, approved
// participants whose private keys the test holds (it signs states with them).
import hre from "hardhat";
import type { BaseWallet, Contract, HDNodeWallet } from "ethers";
import { devWallet } from "../../devstack/stack.js";
import { adjudicatorDomain, channelIdOf, type ChannelParams } from "./channel.js";
import { timeHelpers } from "./chain.js";

export async function connectChain() {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const chainId = (await ethers.provider.getNetwork()).chainId;
  const time = timeHelpers(ethers);
  return {
    connection,
    ethers,
    chainId,
    now: time.latest,
    /** Moves the chain's clock so that the next block has timestamp `at`. */
    setNextTimestamp: (at: bigint) => time.setNextBlockTimestamp(at),
    /** Mines a block with timestamp `at`. */
    mineAt: (at: bigint) => time.increaseTo(at),
  };
}

/** Account `index` of Hardhat's development mnemonic (funded on every local chain). */
export function testWallet(index: number): HDNodeWallet {
  return devWallet(index);
}

export async function deployAdjudicatorFixture(options: { challengePeriod?: bigint } = {}) {
  const chain = await connectChain();
  const { ethers } = chain;
  const adjudicator = (await ethers.deployContract("Adjudicator")) as unknown as Contract;
  const adjudicatorAddress = await adjudicator.getAddress();
  const security = (await ethers.deployContract("TestERC20", ["Security", "SEC"])) as unknown as Contract;
  const cash = (await ethers.deployContract("TestERC20", ["Cash", "USD"])) as unknown as Contract;
  const wallets = [testWallet(1).connect(ethers.provider), testWallet(2).connect(ethers.provider)] as [
    HDNodeWallet,
    HDNodeWallet,
  ];
  for (const wallet of wallets) {
    for (const token of [security, cash]) {
      await (await token.getFunction("mint")(wallet.address, 1_000_000n)).wait();
      await (await (token.connect(wallet) as Contract).getFunction("approve")(adjudicatorAddress, 2n ** 255n)).wait();
    }
  }
  const params: ChannelParams = {
    participants: [wallets[0].address, wallets[1].address],
    assets: [await security.getAddress(), await cash.getAddress()],
    challengePeriod: options.challengePeriod ?? 3600n,
    salt: "0x" + "11".repeat(32),
  };
  const channelId = channelIdOf(params, chain.chainId, adjudicatorAddress);
  const domain = adjudicatorDomain(chain.chainId, adjudicatorAddress);
  const as = (wallet: BaseWallet) => adjudicator.connect(wallet) as Contract;
  return { ...chain, adjudicator, adjudicatorAddress, security, cash, wallets, params, channelId, domain, as };
}
