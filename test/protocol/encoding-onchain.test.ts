/**
 * The TypeScript encoding against the deployed Adjudicator, byte for byte: for many random inputs
 * the contract's `stateDigest`, `channelIdOf`, `locksRootOf` and `domainSeparator` views equal the
 * core's, and states signed by either signer implementation are accepted by `withdraw` and
 * `closeCooperatively`.
 */
import { beforeAll, describe, expect, it } from "vitest";
import hre from "hardhat";
import fc from "fast-check";
import { ZeroHash, type Contract } from "ethers";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import {
  MAX_LOCKS,
  NativeSigner,
  NobleSigner,
  applyUpdate,
  channelOf,
  checkTransition,
  channelIdOf,
  domainOf,
  domainSeparatorOf,
  genesisState,
  locksRootOf,
  stateDigest,
  typedStateOf,
  type Channel,
  type Signer,
  type State,
} from "../../client/protocol/index.js";
import * as arb from "./arbitraries.js";
import { testWallet } from "../helpers/adjudicator.js";
import { NO_CHECKPOINT } from "../../client/chain/tuples.js";

let ethers: HardhatEthers;
let adjudicator: Contract;
let adjudicatorAddress: string;
let chainId: bigint;

beforeAll(async () => {
  ({ ethers } = await hre.network.create());
  adjudicator = (await ethers.deployContract("Adjudicator")) as unknown as Contract;
  adjudicatorAddress = await adjudicator.getAddress();
  chainId = (await ethers.provider.getNetwork()).chainId;
});

/** Random values from an arbitrary, reproducibly (fixed seed). */
function samples<T>(arbitrary: fc.Arbitrary<T>, count: number, seed: number): T[] {
  return fc.sample(arbitrary, { numRuns: count, seed });
}

describe("encoding equals the Adjudicator's views", () => {
  it("domainSeparator", async () => {
    expect(await adjudicator.getFunction("domainSeparator")()).toBe(domainSeparatorOf(domainOf({ chainId, adjudicator: adjudicatorAddress })));
  });

  it("stateDigest for 300 random states", async () => {
    const domain = domainOf({ chainId, adjudicator: adjudicatorAddress });
    const states = samples(arb.state, 300, 1);
    const onChain = await Promise.all(states.map((state) => adjudicator.getFunction("stateDigest")(typedStateOf(state))));
    states.forEach((state, i) => expect(onChain[i], `state ${i}`).toBe(stateDigest(state, domain)));
  });

  it("channelIdOf for 200 random parameters", async () => {
    const all = samples(arb.params, 200, 2);
    const onChain = await Promise.all(all.map((params) => adjudicator.getFunction("channelIdOf")(params)));
    all.forEach((params, i) => expect(onChain[i], `params ${i}`).toBe(channelIdOf(params, chainId, adjudicatorAddress)));
  });

  it("locksRootOf for 200 random lock lists, 0 to MAX_LOCKS long", async () => {
    const lists = samples(fc.array(arb.lock, { maxLength: MAX_LOCKS }), 200, 3);
    const onChain = await Promise.all(lists.map((locks) => adjudicator.getFunction("locksRootOf")(locks)));
    lists.forEach((locks, i) => expect(onChain[i], `locks ${i}`).toBe(locksRootOf(locks)));
  });
});

describe("states signed by each implementation are accepted on chain", () => {
  let token: Contract;
  let channel: Channel;
  let signers: [Signer, Signer];

  beforeAll(async () => {
    token = (await ethers.deployContract("TestERC20", ["Security", "SEC"])) as unknown as Contract;
    // Participant 0 signs with noble, participant 1 with libsecp256k1: one state carries both.
    const wallets = [testWallet(3).connect(ethers.provider), testWallet(4).connect(ethers.provider)] as const;
    signers = [new NobleSigner(wallets[0].privateKey), await NativeSigner.create(wallets[1].privateKey)];
    channel = channelOf(
      { participants: [signers[0].address, signers[1].address], assets: [await token.getAddress()], challengePeriod: 3_600n, salt: ZeroHash },
      { chainId, adjudicator: adjudicatorAddress },
    );
    for (const wallet of wallets) {
      await (await token.getFunction("mint")(wallet.address, 1_000n)).wait();
      await (await (token.connect(wallet) as Contract).getFunction("approve")(adjudicatorAddress, 1_000n)).wait();
    }
    await (await (adjudicator.connect(wallets[0]) as Contract).getFunction("open")(channel.params, 0, 600n)).wait();
    await (await (adjudicator.connect(wallets[1]) as Contract).getFunction("deposit")(channel.params, 0, 400n)).wait();
  });

  const signBoth = (state: State): [string, string] => {
    const digest = stateDigest(state, channel.domain);
    return [signers[0].sign(digest), signers[1].sign(digest)];
  };

  it("withdraw and closeCooperatively accept co-signed states and pay as the core computes", async () => {
    const paid = applyUpdate(channel, genesisState(channel).state, { kind: "payment", leg: { assetIndex: 0, from: 0, amount: 100n } });
    const withdrawn = applyUpdate(channel, paid, { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 1, amount: 400n }] });
    const balances = async () => Promise.all(signers.map((s) => token.getFunction("balanceOf")(s.address) as Promise<bigint>));
    const [b0, b1] = await balances();
    await (await adjudicator.getFunction("withdraw")(channel.params, typedStateOf(withdrawn), ...signBoth(withdrawn), [], NO_CHECKPOINT)).wait();
    expect(await balances()).toEqual([b0!, b1! + 400n]);

    const closing = applyUpdate(channel, withdrawn, { kind: "final" });
    await (await adjudicator.getFunction("closeCooperatively")(channel.params, typedStateOf(closing), ...signBoth(closing))).wait();
    // Participant 0: 600 deposited − 100 paid; participant 1: 400 + 100 received − 400 withdrawn.
    expect(await balances()).toEqual([b0! + 500n, b1! + 500n]);
  });

  it("lets a participant withdraw what it received off chain, in the core and on chain alike", async () => {
    const fresh = channelOf({ ...channel.params, salt: `0x${"01".repeat(32)}` }, channel.deployment);
    const wallet = testWallet(3).connect(ethers.provider);
    await (await token.getFunction("mint")(wallet.address, 100n)).wait();
    await (await (token.connect(wallet) as Contract).getFunction("approve")(adjudicatorAddress, 100n)).wait();
    await (await (adjudicator.connect(wallet) as Contract).getFunction("open")(fresh.params, 0, 100n)).wait();
    const paid = applyUpdate(fresh, genesisState(fresh).state, { kind: "payment", leg: { assetIndex: 0, from: 0, amount: 10n } });
    const withdrawn = applyUpdate(fresh, paid, { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 1, amount: 10n }] });
    expect(checkTransition(fresh, paid, withdrawn, { facts: { deposits: [[100n, 0n]], now: 0n } }).kind).toBe("withdrawal");
    const digest = stateDigest(withdrawn, fresh.domain);
    const receiver = fresh.params.participants[1];
    const before = (await token.getFunction("balanceOf")(receiver)) as bigint;
    await (await adjudicator.getFunction("withdraw")(fresh.params, typedStateOf(withdrawn), signers[0].sign(digest), signers[1].sign(digest), [], NO_CHECKPOINT)).wait();
    expect(((await token.getFunction("balanceOf")(receiver)) as bigint) - before).toBe(10n);
    // One unit more than received is refused by both.
    const greedy = applyUpdate(fresh, withdrawn, { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 1, amount: 1n }] });
    expect(() => checkTransition(fresh, withdrawn, greedy, { facts: { deposits: [[100n, 0n]], now: 0n } })).toThrow(
      expect.objectContaining({ code: "INSUFFICIENT_BALANCE" }),
    );
    const greedyDigest = stateDigest(greedy, fresh.domain);
    await expect(
      adjudicator.getFunction("withdraw")(fresh.params, typedStateOf(greedy), signers[0].sign(greedyDigest), signers[1].sign(greedyDigest), [], typedStateOf(withdrawn)),
    ).rejects.toThrow(/WithdrawalExceedsBalance/);
  });
});
