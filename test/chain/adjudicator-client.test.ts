import { beforeEach, describe, expect, it } from "vitest";
import { Contract, ZeroHash, keccak256 } from "ethers";
import { erc20Abi, interfaceOf } from "../../client/chain/abi.js";
import { AdjudicatorClient, type TxProgress } from "../../client/chain/adjudicator.js";
import { lockTuples, NO_CHECKPOINT, paramsTuple, signaturesOf, stateTuple } from "../../client/chain/tuples.js";
import { ChainError, isChainError, isRevert } from "../../client/chain/errors.js";
import { locksRootOf } from "../../client/protocol/encoding.js";
import { RESTRICTION_CODES } from "../../client/protocol/restriction-codes.js";
import { chainFixture, hex32, INITIAL_BALANCE, type ChainFixture } from "./fixture.js";

/** Runs `action` and returns the ChainError it throws (fails the test if it does not throw one). */
async function chainErrorOf(action: Promise<unknown>): Promise<ChainError> {
  try {
    await action;
  } catch (error) {
    expect(error).toBeInstanceOf(ChainError);
    return error as ChainError;
  }
  return expect.fail("expected a ChainError");
}

describe("AdjudicatorClient", () => {
  let f: ChainFixture;

  beforeEach(async () => {
    f = await chainFixture();
  });

  it("opens with a first deposit, approving the token first, and reports progress", async () => {
    const progress: TxProgress[] = [];
    const investor = new AdjudicatorClient(f.investorWallet, f.deployment, { onProgress: (p) => progress.push(p) });
    const params = f.newParams();
    const outcome = await investor.open(params, 0, 400n);

    expect(outcome.channelId).toBe(await f.system.adjudicator.getFunction("channelIdOf")(paramsTuple(params)));
    expect(progress.map((p) => `${p.action}:${p.stage}`)).toEqual([
      "approve:submitted",
      "approve:mined",
      "approve:confirmed",
      "open:submitted",
      "open:mined",
      "open:confirmed",
    ]);
    expect(progress[3]!.hash).toBe(outcome.hash);
    // Exactly what the deposit needed was approved, and it was spent.
    const erc20 = new Contract(f.token, erc20Abi() as never, f.provider);
    expect(await erc20.getFunction("allowance")(f.investorWallet.address, f.adjudicatorAddress)).toBe(0n);

    expect(await investor.channel(outcome.channelId)).toEqual({ phase: "Open", nonce: 0n, deadline: 0n });
    await investor.deposit(params, 1, 250n);
    await f.venue.deposit(params, 0, 70n);
    expect(await investor.holdings(outcome.channelId, 0, null)).toEqual({ available0: 70n, available1: 400n, paid0: 0n, paid1: 0n });
    expect(await investor.holdings(outcome.channelId, 1, null)).toEqual({ available0: 0n, available1: 250n, paid0: 0n, paid1: 0n });
  });

  it("skips the approval when the allowance suffices (unlimited approval mode)", async () => {
    const progress: TxProgress[] = [];
    const investor = new AdjudicatorClient(f.investorWallet, f.deployment, { approval: "unlimited", onProgress: (p) => progress.push(p) });
    const params = f.newParams();
    await investor.open(params, 1, 10n);
    await investor.deposit(params, 1, 20n);
    expect(progress.filter((p) => p.stage === "submitted").map((p) => p.action)).toEqual(["approve", "open", "deposit"]);
  });

  it("opens without a deposit and rejects a second open with WrongPhase", async () => {
    const params = f.newParams();
    const { channelId } = await f.venue.open(params);
    const error = await chainErrorOf(f.investor.open(params));
    expect(isRevert(error, "WrongPhase")).toBe(true);
    expect(error.revert!.namedArgs).toEqual({ channelId, phase: 1n });
    expect(error.action).toBe("open");
  });

  it("withdraws without closing; the state becomes a checkpoint (StaleNonce afterwards)", async () => {
    const { params, channelId } = await f.fundedChannel();
    const signed = f.sign(f.stateOf(params, 1n, [100n, -50n], { withdrawn: [[0n, 300n], [200n, 0n]] }));
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    await f.venue.withdraw(params, signed); // anyone may submit it
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 300n);
    expect(await f.investor.holdings(channelId, 0)).toEqual({ available0: 1000n, available1: 700n, paid0: 0n, paid1: 300n });
    expect(await f.investor.channel(channelId)).toEqual({ phase: "Open", nonce: 1n, deadline: 0n });

    const again = await chainErrorOf(f.investor.withdraw(params, signed, signed.state));
    expect(again.code).toBe("REVERTED");
    expect(again.revert).toMatchObject({ name: "StaleNonce", signature: "StaleNonce(uint64,uint64)", args: [1n, 1n] });
    expect(again.revert!.namedArgs).toEqual({ known: 1n, offered: 1n });
    const none = await chainErrorOf(f.investor.forceCloseWithoutState(params));
    expect(isRevert(none, "CheckpointExists")).toBe(true);
  });

  it("withdraws again against the checkpointed state read from the chain, and pays only what was added", async () => {
    const { params, channelId } = await f.fundedChannel();
    const first = f.sign(f.stateOf(params, 1n, [100n, -50n], { withdrawn: [[0n, 300n], [200n, 0n]] }));
    await f.investor.withdraw(params, first, null);
    expect(await f.investor.checkpointedState(channelId)).toEqual(stateTuple(first.state));

    const second = f.sign(f.stateOf(params, 2n, [100n, -50n], { withdrawn: [[0n, 450n], [200n, 0n]] }));
    // Not the checkpointed state: "no checkpoint" and an older-looking twin are refused, nothing moves.
    const none = await chainErrorOf(f.investor.withdraw(params, second, null));
    expect(none.revert).toMatchObject({ name: "CheckpointMismatch", args: [0n] });
    const twin = f.stateOf(params, 1n, [100n, -50n], { withdrawn: [[0n, 0n], [0n, 0n]] });
    expect((await chainErrorOf(f.investor.withdraw(params, second, twin))).revert).toMatchObject({ name: "CheckpointMismatch", args: [1n] });

    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    await f.venue.withdraw(params, second); // the checkpoint is read from the first withdrawal's transaction
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 150n);
    expect(await f.investor.holdings(channelId, 0)).toEqual({ available0: 1000n, available1: 550n, paid0: 0n, paid1: 450n });
    expect(await f.investor.holdings(channelId, 1)).toEqual({ available0: 800n, available1: 1000n, paid0: 200n, paid1: 0n });
    expect(await f.venue.checkpointedState(channelId)).toEqual(stateTuple(second.state));

    // The final state pays exactly the rest: token 1000 − 100 to the venue, 550 + 100 to the investor.
    const venueBefore = await f.balanceOf(f.system.token, f.venueWallet.address);
    await f.investor.closeCooperatively(params, f.sign(f.stateOf(params, 3n, [100n, -50n], { withdrawn: [[0n, 450n], [200n, 0n]], isFinal: true })));
    expect(await f.balanceOf(f.system.token, f.venueWallet.address)).toBe(venueBefore + 900n);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 150n + 650n);
    expect(await f.investor.holdings(channelId, 0)).toEqual({ available0: 0n, available1: 0n, paid0: 0n, paid1: 0n });
  });

  it("reports CHECKPOINT_UNREADABLE when the last withdrawal went through another contract; given explicitly, the checkpoint still works", async () => {
    const { params, channelId } = await f.fundedChannel();
    const first = f.sign(f.stateOf(params, 1n, [0n, 0n], { withdrawn: [[0n, 100n], [0n, 0n]] }));
    const relay = (await f.ethers.deployContract("HostileToken")) as unknown as Contract;
    const call = interfaceOf("Adjudicator").encodeFunctionData("withdraw", [
      paramsTuple(params),
      stateTuple(first.state),
      ...signaturesOf(first),
      lockTuples(first.state.locks),
      NO_CHECKPOINT,
    ]);
    await (await relay.getFunction("act")(f.adjudicatorAddress, call, 0n)).wait();
    expect((await chainErrorOf(f.investor.checkpointedState(channelId))).code).toBe("CHECKPOINT_UNREADABLE");
    expect((await chainErrorOf(f.investor.holdings(channelId, 0))).code).toBe("CHECKPOINT_UNREADABLE");

    const second = f.sign(f.stateOf(params, 2n, [0n, 0n], { withdrawn: [[0n, 150n], [0n, 0n]] }));
    expect((await chainErrorOf(f.investor.withdraw(params, second))).code).toBe("CHECKPOINT_UNREADABLE");
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    await f.investor.withdraw(params, second, first.state);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 50n);
    // The second withdrawal was a direct call: from now on the checkpoint is read from the chain again.
    expect(await f.investor.checkpointedState(channelId)).toEqual(stateTuple(second.state));
  });

  it("closes cooperatively with a final state and pays both at once", async () => {
    const { params, channelId } = await f.fundedChannel();
    const final = f.sign(f.stateOf(params, 7n, [250n, -100n], { isFinal: true }));
    const venueToken = await f.balanceOf(f.system.token, f.venueWallet.address);
    const investorCash = await f.balanceOf(f.system.cash, f.investorWallet.address);
    await f.investor.closeCooperatively(params, final);
    // token: venue 1000 - 250 back; cash: investor 1000 - 100 back.
    expect(await f.balanceOf(f.system.token, f.venueWallet.address)).toBe(venueToken + 750n);
    expect(await f.balanceOf(f.system.cash, f.investorWallet.address)).toBe(investorCash + 900n);
    expect(await f.investor.channel(channelId)).toEqual({ phase: "Concluded", nonce: 7n, deadline: 0n });

    const notFinal = await chainErrorOf(f.investor.closeCooperatively(params, f.sign(f.stateOf(params, 8n, [0n, 0n]))));
    expect(notFinal.revert?.name).toBe("NotFinal");
  });

  it("registers a state with its locks; the event alone settles it", async () => {
    const { params, channelId } = await f.fundedChannel();
    const now = await f.venue.chainTime();
    const locks = [
      { assetIndex: 1, sender: 0 as const, amount: 50n, hashlock: keccak256("0x" + "01".repeat(32)), expiry: now + 100n },
      { assetIndex: 0, sender: 1 as const, amount: 7n, hashlock: keccak256("0x" + "02".repeat(32)), expiry: now + 100n },
    ];
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 4n, [10n, 0n], { locks })));
    const registered = await f.investor.registeredOutcome(channelId);
    expect(registered).toMatchObject({ nonce: 4n, nets: [10n, 0n], locks, locksRoot: locksRootOf(locks) });
    await f.mineAt(registered!.deadline);
    await f.investor.settle(params, registered!.nets, registered!.locks); // both locks expired: back to their senders
    expect((await f.investor.channel(channelId)).phase).toBe("Concluded");
  });

  it("force-closes, is challenged with a newer state, and settles after the deadline", async () => {
    const { params, channelId } = await f.fundedChannel();
    const stale = f.sign(f.stateOf(params, 3n, [10n, 10n]));
    const latest = f.sign(f.stateOf(params, 5n, [-200n, 300n]));
    const forced = await f.venue.forceClose(params, stale);
    const { deadline } = await f.venue.channel(channelId);
    const forcedAt = BigInt((await f.provider.getBlock(forced.blockNumber))!.timestamp);
    expect(deadline).toBe(forcedAt + 3600n);
    expect(await f.investor.registeredOutcome(channelId)).toMatchObject({ nonce: 3n, deadline, nets: [10n, 10n], locksRoot: ZeroHash });

    await f.investor.challenge(params, latest);
    expect((await f.investor.channel(channelId)).nonce).toBe(5n);
    const older = await chainErrorOf(f.venue.challenge(params, f.sign(f.stateOf(params, 4n, [0n, 0n]))));
    expect(older.revert).toMatchObject({ name: "StaleNonce", args: [5n, 4n] });

    const early = await chainErrorOf(f.venue.settle(params, [-200n, 300n], []));
    expect(early.revert?.name).toBe("ChallengePeriodNotOver");
    const registered = await f.investor.registeredOutcome(channelId);
    expect(registered?.nets).toEqual([-200n, 300n]);
    await f.mineAt(registered!.deadline);
    const wrong = await chainErrorOf(f.venue.settle(params, [0n, 0n], []));
    expect(wrong.revert?.name).toBe("OutcomeMismatch");

    const before = await Promise.all([
      f.balanceOf(f.system.token, f.venueWallet.address),
      f.balanceOf(f.system.token, f.investorWallet.address),
      f.balanceOf(f.system.cash, f.venueWallet.address),
      f.balanceOf(f.system.cash, f.investorWallet.address),
    ]);
    await f.venue.settle(params, registered!.nets, []);
    const after = await Promise.all([
      f.balanceOf(f.system.token, f.venueWallet.address),
      f.balanceOf(f.system.token, f.investorWallet.address),
      f.balanceOf(f.system.cash, f.venueWallet.address),
      f.balanceOf(f.system.cash, f.investorWallet.address),
    ]);
    // net -200 of the token moves 200 from the investor to the venue; net 300 of cash the other way.
    expect(after.map((b, i) => b - before[i]!)).toEqual([1200n, 800n, 700n, 1300n]);
    expect((await f.venue.channel(channelId)).phase).toBe("Concluded");
  });

  it("force-closes without a state and settles everyone's deposits back", async () => {
    const { params, channelId } = await f.fundedChannel({ venue: [0n, 0n], investor: [500n, 0n] });
    await f.investor.forceCloseWithoutState(params);
    const { deadline } = await f.investor.channel(channelId);
    expect(await f.investor.registeredOutcome(channelId)).toMatchObject({ nonce: 0n, nets: [0n, 0n] });
    await f.mineAt(deadline);
    await f.investor.settle(params, [0n, 0n], []);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(INITIAL_BALANCE);
  });

  it("decodes InvalidSignature and refuses a state that is not agreed without sending anything", async () => {
    const { params } = await f.fundedChannel();
    const signed = f.sign(f.stateOf(params, 2n, [1n, 1n]));
    const swapped = { state: signed.state, signatures: [signed.signatures[1], signed.signatures[0]] as const };
    const error = await chainErrorOf(f.venue.forceClose(params, swapped));
    expect(error.code).toBe("REVERTED");
    expect(error.revert).toMatchObject({ name: "InvalidSignature", args: [0n], namedArgs: { participantIndex: 0n } });
    expect(error.shortMessage).toBe("forceClose: reverted InvalidSignature(0)");

    const nonceBefore = await f.provider.getTransactionCount(f.venueWallet.address);
    const half = { state: signed.state, signatures: [signed.signatures[0], null] as const };
    const notAgreed = await chainErrorOf(f.venue.forceClose(params, half));
    expect(isChainError(notAgreed, "NOT_AGREED")).toBe(true);
    expect(await f.provider.getTransactionCount(f.venueWallet.address)).toBe(nonceBefore);
  });

  it("leaves a frozen investor's payout claimable; claim fails with the token's TransferRestricted until unfrozen", async () => {
    const { params } = await f.fundedChannel({ venue: [0n, 0n], investor: [600n, 0n] });
    await (await f.system.token.getFunction("freeze")(f.investorWallet.address)).wait();
    const close = await f.venue.closeCooperatively(params, f.sign(f.stateOf(params, 1n, [0n, 0n], { isFinal: true })));
    expect(close.receipt.logs.length).toBeGreaterThan(0);
    expect(await f.investor.claimableOf(f.token, f.investorWallet.address)).toBe(600n);

    const frozen = await chainErrorOf(f.investor.claim(f.token));
    expect(frozen.revert?.name).toBe("TransferRestricted");
    expect(frozen.revert?.namedArgs.code).toBe(BigInt(RESTRICTION_CODES.RECEIVER_FROZEN));

    await (await f.system.token.getFunction("unfreeze")(f.investorWallet.address)).wait();
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    await f.investor.claim(f.token);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 600n);
    expect(await f.investor.claimableOf(f.token, f.investorWallet.address)).toBe(0n);
    const nothing = await chainErrorOf(f.investor.claim(f.token));
    expect(nothing.revert).toMatchObject({ name: "NothingClaimable", args: [f.token, f.investorWallet.address] });
  });

  it("decodes the token's refusal of a frozen depositor", async () => {
    const params = f.newParams();
    await f.investor.open(params, 1, 5n);
    await (await f.system.token.getFunction("freeze")(f.investorWallet.address)).wait();
    const error = await chainErrorOf(f.investor.deposit(params, 0, 5n));
    expect(error.revert).toMatchObject({ name: "TransferRestricted", args: [BigInt(RESTRICTION_CODES.SENDER_FROZEN), "Sender address is frozen"] });
  });

  it("reveals a secret once and reports when", async () => {
    const secret = hex32(0xc0ffee);
    const outcome = await f.venue.revealSecret(secret);
    const at = BigInt((await f.provider.getBlock(outcome.blockNumber))!.timestamp);
    expect(await f.investor.secretRevealedAt(keccak256(secret))).toBe(at);
    await f.investor.revealSecret(secret); // a no-op, not an error
    expect(await f.investor.secretRevealedAt(keccak256(secret))).toBe(at);
  });

  it("waits for the configured confirmations before resolving", async () => {
    const progress: string[] = [];
    const client = new AdjudicatorClient(f.investorWallet, f.deployment, {
      confirmations: 3,
      pollIntervalMs: 5,
      onProgress: (p) => progress.push(p.stage),
    });
    const params = f.newParams();
    let resolved = false;
    const opening = client.open(params).then((outcome) => {
      resolved = true;
      return outcome;
    });
    const waitUntil = async (predicate: () => boolean) => {
      for (let i = 0; i < 400 && !predicate(); i++) await new Promise((r) => setTimeout(r, 5));
    };
    await waitUntil(() => progress.includes("mined"));
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    await f.mine();
    await new Promise((r) => setTimeout(r, 50));
    expect(resolved).toBe(false);
    await f.mine();
    const outcome = await opening;
    expect(progress).toEqual(["submitted", "mined", "confirmed"]);
    expect(await f.provider.getBlockNumber()).toBe(outcome.blockNumber + 2);
  });

  it("decodes the reason of a transaction that reverted when mined (a lost race)", async () => {
    const { params, channelId } = await f.fundedChannel();
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 3n, [0n, 0n])));
    const submitted: string[] = [];
    const investor = new AdjudicatorClient(f.investorWallet, f.deployment, {
      pollIntervalMs: 5,
      onProgress: (p) => {
        if (p.stage === "submitted") submitted.push(p.hash);
      },
    });
    await f.provider.send("evm_setAutomine", [false]);
    try {
      // Ours is valid when estimated and sent …
      const ours = investor.challenge(params, f.sign(f.stateOf(params, 6n, [1n, 1n])));
      for (let i = 0; i < 400 && submitted.length < 1; i++) await new Promise((r) => setTimeout(r, 5));
      expect(submitted).toHaveLength(1);
      // … but a newer state paying a higher tip is mined before it in the same block.
      const newer = f.sign(f.stateOf(params, 7n, [2n, 2n]));
      const adjudicator = f.system.adjudicator.connect(f.outsiderWallet) as typeof f.system.adjudicator;
      await adjudicator.getFunction("challenge")(paramsTuple(params), stateTuple(newer.state), newer.signatures[0], newer.signatures[1], [], {
        gasLimit: 500_000n,
        maxPriorityFeePerGas: 50_000_000_000n,
        maxFeePerGas: 100_000_000_000n,
      });
      await f.provider.send("evm_mine", []);
      const error = await chainErrorOf(ours);
      expect(error.code).toBe("REVERTED");
      expect(error.transactionHash).toBe(submitted[0]);
      expect(error.revert).toMatchObject({ name: "StaleNonce", args: [7n, 6n] });
    } finally {
      await f.provider.send("evm_setAutomine", [true]);
    }
    expect((await f.investor.channel(channelId)).nonce).toBe(7n);
  });

  it("serialises concurrent submissions of one account", async () => {
    const params = f.newParams();
    await f.investor.open(params, 1, 1n);
    const channelId = f.investor.channelIdOf(params);
    const client = new AdjudicatorClient(f.investorWallet, f.deployment, { approval: "unlimited" });
    await client.ensureAllowance(f.cash, 1n);
    await Promise.all([1n, 2n, 3n, 4n].map((amount) => client.deposit(params, 1, amount)));
    expect((await client.holdings(channelId, 1, null)).available1).toBe(11n);
  });
});
