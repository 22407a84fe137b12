// Measures the gas of every adjudicator operation on a fresh in-process chain with the whole system
// deployed by Ignition. Two configurations: one plain ERC-20 asset (comparable with the anchors of
// docs/gas.md) and the real case, a restricted security token plus a cash token.
import hre from "hardhat";
import { MaxUint256, TypedDataEncoder, keccak256, toBeHex, type Contract, type Signer } from "ethers";
import { deploySystem, onboard, type ClearlineSystem } from "../devstack/system.js";
import { STATE_EIP712_TYPES } from "../client/protocol/encoding.js";

export interface GasFigures {
  [operation: string]: number;
}

/**
 * The anchors: the cheapest peer per operation, re-measured with one ERC-20 asset. The open figure
 * most likely includes the token's first write for the peer's adjudicator, so only the fresh row
 * compares like for like (docs/gas.md, "Where we are above the anchors").
 */
export const ANCHORS: Record<string, number> = {
  "open + first deposit": 83_682,
  "open + first deposit, adjudicator already holds the token": 83_682,
  "top-up deposit": 49_506,
  "cooperative close, both paid": 104_984,
  "force close with a state": 93_558,
  "challenge with a newer state": 55_155,
  "settle, no locks": 66_355,
  "withdraw without closing": 109_836,
};

const ZERO = "0x" + "00".repeat(32);
/** `withdraw`'s checkpoint before the first withdrawal: a state without allocations. */
const NO_CHECKPOINT = [ZERO, 0n, [], ZERO, false];
const MAX_LOCKS = 8;

interface Ctx {
  system: ClearlineSystem;
  venue: Signer;
  investor: Signer;
  chainId: bigint;
  adjudicatorAddress: string;
  now: () => Promise<bigint>;
  mineAt: (t: bigint) => Promise<void>;
  salt: number;
}

async function gasOf(tx: Promise<{ wait: () => Promise<{ gasUsed: bigint } | null> }>): Promise<number> {
  const receipt = await (await tx).wait();
  return Number(receipt!.gasUsed);
}

/** Runs every operation on channels over `assets` and returns their gas. */
async function measureConfiguration(ctx: Ctx, assets: Contract[]): Promise<GasFigures> {
  const { system, venue, investor } = ctx;
  const adjudicator = system.adjudicator;
  const assetAddresses = await Promise.all(assets.map((a) => a.getAddress()));
  const participants = [await venue.getAddress(), await investor.getAddress()];
  const domain = { name: "Clearline Adjudicator", version: "1", chainId: ctx.chainId, verifyingContract: ctx.adjudicatorAddress };
  const figures: GasFigures = {};
  const as = (s: Signer) => adjudicator.connect(s) as Contract;

  const newChannel = () => {
    ctx.salt += 1;
    const params = [participants, assetAddresses, 600n, toBeHex(ctx.salt, 32)] as const;
    return params;
  };
  const channelIdOf = async (params: ReturnType<typeof newChannel>): Promise<string> =>
    adjudicator.getFunction("channelIdOf")(params);
  const state = (channelId: string, nonce: bigint, nets: bigint[], extra: { withdrawn1?: bigint; locksRoot?: string; isFinal?: boolean } = {}) => ({
    channelId,
    nonce,
    allocations: assetAddresses.map((token, i) => ({ token, net: nets[i] ?? 0n, withdrawn0: 0n, withdrawn1: i === 0 ? (extra.withdrawn1 ?? 0n) : 0n })),
    locksRoot: extra.locksRoot ?? ZERO,
    isFinal: extra.isFinal ?? false,
  });
  const tuple = (s: ReturnType<typeof state>) => [s.channelId, s.nonce, s.allocations.map((a) => [a.token, a.net, a.withdrawn0, a.withdrawn1]), s.locksRoot, s.isFinal];
  const sign = async (s: ReturnType<typeof state>) => {
    const digest = TypedDataEncoder.hash(domain, STATE_EIP712_TYPES, s);
    const onChain: string = await adjudicator.getFunction("stateDigest")(tuple(s));
    if (digest !== onChain) throw new Error("digest mismatch between ethers and the adjudicator");
    return [await venue.signTypedData(domain, STATE_EIP712_TYPES, s), await investor.signTypedData(domain, STATE_EIP712_TYPES, s)];
  };
  /** A channel where both sides deposited 1,000 of every asset. */
  const funded = async () => {
    const params = newChannel();
    const id = await channelIdOf(params);
    await (await as(investor).getFunction("open")(params, 0, 1000n)).wait();
    for (let i = 0; i < assets.length; i++) {
      if (i > 0) await (await as(investor).getFunction("deposit")(params, i, 1000n)).wait();
      await (await as(venue).getFunction("deposit")(params, i, 1000n)).wait();
    }
    return { params, id };
  };
  const deadlineOf = async (id: string): Promise<bigint> => (await adjudicator.getFunction("channel")(id))[2];

  // open + first deposit (the first configuration runs on an adjudicator that holds none of the token
  // yet, so the token writes a fresh balance slot for it), again on a live one, top-ups
  {
    const params = newChannel();
    figures["open + first deposit"] = await gasOf(as(investor).getFunction("open")(params, 0, 1000n));
    figures["open + first deposit, adjudicator already holds the token"] = await gasOf(as(investor).getFunction("open")(newChannel(), 0, 1000n));
    figures["top-up deposit"] = await gasOf(as(investor).getFunction("deposit")(params, 0, 500n));
    figures["deposit by the other participant"] = await gasOf(as(venue).getFunction("deposit")(params, 0, 500n));
  }
  // withdraw without closing: the first one (no checkpoint yet), then one against the checkpointed state
  {
    const { params, id } = await funded();
    const s = state(id, 1n, [100n], { withdrawn1: 300n });
    figures["withdraw without closing"] = await gasOf(as(investor).getFunction("withdraw")(params, tuple(s), ...(await sign(s)), [], NO_CHECKPOINT));
    const again = state(id, 2n, [100n], { withdrawn1: 400n });
    figures["withdraw again (re-supplying the checkpointed state)"] = await gasOf(
      as(investor).getFunction("withdraw")(params, tuple(again), ...(await sign(again)), [], tuple(s)),
    );
  }
  // cooperative close
  {
    const { params, id } = await funded();
    const s = state(id, 5n, assets.map((_, i) => (i === 0 ? 100n : -50n)), { isFinal: true });
    figures["cooperative close, both paid"] = await gasOf(as(venue).getFunction("closeCooperatively")(params, tuple(s), ...(await sign(s))));
  }
  // force close with a state, challenge, settle
  {
    const { params, id } = await funded();
    const stale = state(id, 3n, assets.map(() => 10n));
    const latest = state(id, 9n, assets.map(() => 20n));
    figures["force close with a state"] = await gasOf(as(investor).getFunction("forceClose")(params, tuple(stale), ...(await sign(stale)), []));
    figures["challenge with a newer state"] = await gasOf(as(venue).getFunction("challenge")(params, tuple(latest), ...(await sign(latest)), []));
    await ctx.mineAt(await deadlineOf(id));
    figures["settle, no locks"] = await gasOf(as(venue).getFunction("settle")(params, assets.map(() => 20n), []));
  }
  // force close without a state
  {
    const { params, id } = await funded();
    figures["force close without a state"] = await gasOf(as(investor).getFunction("forceCloseWithoutState")(params));
    await ctx.mineAt(await deadlineOf(id));
    figures["settle after a close without a state"] = await gasOf(as(investor).getFunction("settle")(params, assets.map(() => 0n), []));
  }
  // settle with the maximum number of locks, half of them revealed in time
  {
    const { params, id } = await funded();
    const expiry = (await ctx.now()) + 10_000n;
    const secrets = Array.from({ length: MAX_LOCKS }, (_, i) => toBeHex(1000 + i + ctx.salt * 100, 32));
    const locks = secrets.map((secret, i) => [i % assets.length, i % 2, 10n, keccak256(secret), expiry] as const);
    const locksRoot: string = await adjudicator.getFunction("locksRootOf")(locks);
    const s = state(id, 4n, assets.map(() => 0n), { locksRoot });
    await (await as(venue).getFunction("forceClose")(params, tuple(s), ...(await sign(s)), locks)).wait();
    for (const secret of secrets.slice(0, MAX_LOCKS / 2)) {
      figures["reveal a secret"] = await gasOf(as(venue).getFunction("revealSecret")(secret));
    }
    await ctx.mineAt(expiry + 1n);
    figures[`settle, ${MAX_LOCKS} locks`] = await gasOf(as(venue).getFunction("settle")(params, assets.map(() => 0n), locks));
  }
  return figures;
}

/** Claim and recovery need a restricted token whose holder can be frozen. */
async function measureIssuerPaths(ctx: Ctx): Promise<GasFigures> {
  const { system, venue, investor } = ctx;
  const figures: GasFigures = {};
  const token = system.token;
  const tokenAddress = await token.getAddress();
  const participants = [await venue.getAddress(), await investor.getAddress()];
  const domain = { name: "Clearline Adjudicator", version: "1", chainId: ctx.chainId, verifyingContract: ctx.adjudicatorAddress };
  const adjudicator = system.adjudicator;
  const closeFrozen = async () => {
    ctx.salt += 1;
    const params = [participants, [tokenAddress], 600n, toBeHex(ctx.salt, 32)] as const;
    const id: string = await adjudicator.getFunction("channelIdOf")(params);
    await (await (adjudicator.connect(investor) as Contract).getFunction("open")(params, 0, 100n)).wait();
    const s = { channelId: id, nonce: 1n, allocations: [{ token: tokenAddress, net: 0n, withdrawn0: 0n, withdrawn1: 0n }], locksRoot: ZERO, isFinal: true };
    const t = [id, 1n, [[tokenAddress, 0n, 0n, 0n]], ZERO, true];
    await (await token.getFunction("freeze")(participants[1])).wait();
    figures["cooperative close, payout deferred (receiver frozen)"] = await gasOf(
      adjudicator.getFunction("closeCooperatively")(params, t, await venue.signTypedData(domain, STATE_EIP712_TYPES, s), await investor.signTypedData(domain, STATE_EIP712_TYPES, s)),
    );
  };
  await closeFrozen();
  await (await token.getFunction("unfreeze")(participants[1])).wait();
  figures["claim"] = await gasOf((adjudicator.connect(investor) as Contract).getFunction("claim")(tokenAddress));
  await closeFrozen();
  figures["recover a frozen holder's claimable"] = await gasOf(adjudicator.getFunction("recoverClaimable")(tokenAddress, participants[1], participants[0]));
  await (await token.getFunction("unfreeze")(participants[1])).wait();
  figures["restricted token: compliant transfer"] = await gasOf((token.connect(investor) as Contract).getFunction("transfer")(participants[0], 10n));
  return figures;
}

export async function measureGas(): Promise<{ oneAsset: GasFigures; twoAssets: GasFigures; issuer: GasFigures }> {
  const connection = await hre.network.create();
  const { ethers } = connection;
  const [, venue, investor] = await ethers.getSigners();
  const system = await deploySystem(connection);
  const now = async () => BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const mineAt = async (t: bigint) => {
    await ethers.provider.send("evm_setNextBlockTimestamp", [Number(t)]);
    await ethers.provider.send("evm_mine", []);
  };
  const adjudicatorAddress = await system.adjudicator.getAddress();
  for (const account of [venue!, investor!]) {
    const address = await account.getAddress();
    await onboard(system, address, await now());
    await (await system.token.getFunction("mint")(address, 1_000_000n)).wait();
    await (await system.cash.getFunction("mint")(address, 1_000_000n)).wait();
    for (const asset of [system.token, system.cash]) {
      await (await (asset.connect(account) as Contract).getFunction("approve")(adjudicatorAddress, MaxUint256)).wait();
    }
  }
  const ctx: Ctx = { system, venue: venue!, investor: investor!, chainId: (await ethers.provider.getNetwork()).chainId, adjudicatorAddress, now, mineAt, salt: 0 };
  const oneAsset = await measureConfiguration(ctx, [system.cash]);
  const twoAssets = await measureConfiguration(ctx, [system.token, system.cash]);
  const issuerFigures = await measureIssuerPaths(ctx);
  await connection.close();
  return { oneAsset, twoAssets, issuer: issuerFigures };
}
