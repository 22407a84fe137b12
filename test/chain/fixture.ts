// A fresh in-process chain with the whole Clearline system (devstack/system.ts), a venue and an
// investor who are onboarded and hold security and cash tokens, their AdjudicatorClients, and
// helpers that build and sign states with the protocol core (so these tests also check that the
// core's encoding and signatures are what the contract accepts).
import hre from "hardhat";
import { type Contract, type HDNodeWallet } from "ethers";
import { domainOf, stateDigest } from "../../client/protocol/encoding.js";
import { NobleSigner } from "../../client/protocol/signing.js";
import type { Bytes32, Lock, Params, SignedState, State } from "../../client/protocol/types.js";
import { AdjudicatorClient, type AdjudicatorClientOptions } from "../../client/chain/adjudicator.js";
import { deploySystem, onboard } from "../../devstack/system.js";
import { testWallet } from "../helpers/adjudicator.js";

export const INITIAL_BALANCE = 1_000_000n;

export async function chainFixture(options: { clientOptions?: AdjudicatorClientOptions } = {}) {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const provider = ethers.provider;
  const system = await deploySystem(connection);
  // Event searches start at the deployment, as a real client's configured startBlock would.
  const startBlock = await provider.getBlockNumber();
  const chainId = (await provider.getNetwork()).chainId;
  const adjudicatorAddress = (await system.adjudicator.getAddress()) as string;
  const token = (await system.token.getAddress()) as string;
  const cash = (await system.cash.getAddress()) as string;
  const jurisdiction = (await system.jurisdiction.getAddress()) as string;
  const rules = (await system.rules.getAddress()) as string;

  const now = async (): Promise<bigint> => BigInt((await provider.getBlock("latest"))!.timestamp);
  const mine = async (count = 1): Promise<void> => {
    for (let i = 0; i < count; i++) await provider.send("evm_mine", []);
  };
  const mineAt = async (at: bigint): Promise<void> => {
    await provider.send("evm_setNextBlockTimestamp", [Number(at)]);
    await provider.send("evm_mine", []);
  };

  // Accounts 1 and 2 of Hardhat's default mnemonic: the test holds their keys.
  const venueWallet = testWallet(1).connect(provider) as HDNodeWallet;
  const investorWallet = testWallet(2).connect(provider) as HDNodeWallet;
  const outsiderWallet = testWallet(3).connect(provider) as HDNodeWallet;
  const keys = [new NobleSigner(venueWallet.privateKey), new NobleSigner(investorWallet.privateKey)] as const;

  for (const wallet of [venueWallet, investorWallet]) {
    await onboard(system, wallet.address, await now());
    await (await system.token.getFunction("mint")(wallet.address, INITIAL_BALANCE)).wait();
    await (await system.cash.getFunction("mint")(wallet.address, INITIAL_BALANCE)).wait();
  }

  const deployment = { chainId, adjudicator: adjudicatorAddress };
  const venue = new AdjudicatorClient(venueWallet, deployment, { pollIntervalMs: 5, startBlock, ...options.clientOptions });
  const investor = new AdjudicatorClient(investorWallet, deployment, { pollIntervalMs: 5, startBlock, ...options.clientOptions });

  let salt = 0;
  function newParams(overrides: Partial<Params> = {}): Params {
    salt += 1;
    return {
      participants: [venueWallet.address, investorWallet.address],
      assets: [token, cash],
      challengePeriod: 3600n,
      salt: `0x${salt.toString(16).padStart(64, "0")}`,
      ...overrides,
    };
  }

  /** A state of `params` with the given nets, withdrawals and locks. */
  function stateOf(
    params: Params,
    nonce: bigint,
    nets: readonly bigint[],
    extra: { withdrawn?: readonly (readonly [bigint, bigint])[]; locks?: readonly Lock[]; isFinal?: boolean } = {},
  ): State {
    return {
      channelId: venue.channelIdOf(params),
      nonce,
      allocations: params.assets.map((asset, i) => ({
        token: asset,
        net: nets[i] ?? 0n,
        withdrawn0: extra.withdrawn?.[i]?.[0] ?? 0n,
        withdrawn1: extra.withdrawn?.[i]?.[1] ?? 0n,
      })),
      locks: extra.locks ?? [],
      isFinal: extra.isFinal ?? false,
    };
  }

  /** Both participants' signatures over `state`, with the core's signer. */
  function sign(state: State): SignedState {
    const digest = stateDigest(state, domainOf(deployment));
    return { state, signatures: [keys[0].sign(digest), keys[1].sign(digest)] };
  }

  const balanceOf = async (asset: Contract, holder: string): Promise<bigint> =>
    (await asset.getFunction("balanceOf")(holder)) as bigint;

  /** A channel opened by the investor with deposits by both participants. */
  async function fundedChannel(deposits: { venue?: readonly bigint[]; investor?: readonly bigint[] } = {}, params = newParams()) {
    const [i0, i1] = deposits.investor ?? [1000n, 1000n];
    const [v0, v1] = deposits.venue ?? [1000n, 1000n];
    const { channelId } = await investor.open(params, 0, i0!);
    if (i1! > 0n) await investor.deposit(params, 1, i1!);
    if (v0! > 0n) await venue.deposit(params, 0, v0!);
    if (v1! > 0n) await venue.deposit(params, 1, v1!);
    return { params, channelId };
  }

  return {
    connection,
    ethers,
    provider,
    system,
    chainId,
    deployment,
    startBlock,
    adjudicatorAddress,
    token,
    cash,
    jurisdiction,
    rules,
    now,
    mine,
    mineAt,
    venueWallet,
    investorWallet,
    outsiderWallet,
    keys,
    venue,
    investor,
    newParams,
    stateOf,
    sign,
    balanceOf,
    fundedChannel,
  };
}

export type ChainFixture = Awaited<ReturnType<typeof chainFixture>>;

export const hex32 = (n: number | bigint): Bytes32 => `0x${n.toString(16).padStart(64, "0")}`;
