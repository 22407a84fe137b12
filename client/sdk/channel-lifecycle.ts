// A channel's steps on chain, each agreed with the venue where it must be: opening with a first
// deposit (and abandoning an open that never reached the chain), deposits, withdrawals, the
// cooperative close, and the dispute path (force-close, challenge, settle, claim).
import { randomBytes } from "node:crypto";
import { hexlify } from "ethers";
import { channelOf, paramsToJson, type Address, type Bytes32, type Update, type SignedState } from "../protocol/index.js";
import { PROTOCOL_VERSION } from "../protocol/wire.js";
import type { TxOutcome } from "../chain/adjudicator.js";
import { checkpointOf, storedStateAt } from "../chain/checkpoint.js";
import type { ClientContext } from "./client-context.js";
import { ClientError } from "./errors.js";
import { neverOpens } from "./own-transactions.js";
import { pruneChannels, type PruneResult } from "./channel-pruning.js";
import { ME } from "./venue-proposals.js";

export class ChannelLifecycle {
  /** Channels whose openChannel is in progress: never pruned. */
  private readonly opening = new Set<Bytes32>();

  constructor(
    private readonly ctx: ClientContext,
    /** Our proposal of `update`, agreed (our-proposals.ts). */
    private readonly propose: (channelId: Bytes32, update: Update) => Promise<SignedState>,
  ) {}

  /** Agrees channel parameters with the venue, opens the channel on chain with a first deposit and waits until the venue has seen it. */
  async openChannel(options: { assets: readonly Address[]; challengePeriod?: bigint; deposit?: { assetIndex: number; amount: bigint } }): Promise<Bytes32> {
    const { ctx } = this;
    const chain = ctx.requireChain();
    const params = {
      participants: [ctx.venueAddress(), ctx.options.signer.address] as const,
      assets: [...options.assets],
      challengePeriod: options.challengePeriod ?? 3_600n,
      salt: hexlify(randomBytes(32)),
    };
    const answer = await ctx.connection.request({ v: PROTOCOL_VERSION, type: "open", id: ctx.connection.newId(), params: paramsToJson(params) });
    if (answer.type !== "opened") throw new ClientError("NODE_MISBEHAVED", `expected opened, got ${answer.type}`);
    const channel = channelOf(params, ctx.options.deployment);
    if (answer.channel.channelId !== channel.channelId) throw new ClientError("NODE_MISBEHAVED", "the venue answered for another channel");
    this.opening.add(channel.channelId);
    try {
      await ctx.store.channelCreated({ channelId: channel.channelId, params: channel.params, deployment: ctx.options.deployment, me: ME, createdAt: Date.now() });
      ctx.track((await ctx.store.channel(channel.channelId))!);
      ctx.reports.set(answer.channel);
      const deposit = options.deposit;
      const seen = ctx.reports.waitFor(channel.channelId, (r) => r.status === "open" && (deposit === undefined || BigInt(r.deposits[deposit.assetIndex]?.[ME] ?? "0") >= deposit.amount));
      let outcome: TxOutcome;
      try {
        outcome = await chain.open(channel.params, deposit?.assetIndex ?? 0, deposit?.amount ?? 0n);
      } catch (error) {
        seen.catch(() => undefined);
        if (neverOpens(error)) await this.abandonIfUnknown(channel.channelId).catch(() => undefined);
        throw error;
      }
      await ctx.ownTransactionRecorded(channel.channelId, outcome);
      await seen;
      return channel.channelId;
    } finally {
      this.opening.delete(channel.channelId);
    }
  }

  /** Removes from the store the channels whose open never reached the chain (channel-pruning.ts); never one being opened. */
  pruneChannels(): Promise<PruneResult> {
    return pruneChannels(this.ctx.requireChain(), this.ctx.store, this.ctx.options.signer.address, this.opening, (channelId) => this.abandon(channelId));
  }

  /** Deposits on chain and waits until the venue has seen it. */
  async deposit(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    const { ctx } = this;
    const chain = ctx.requireChain();
    const record = await ctx.recordOf(channelId);
    const before = BigInt(ctx.reports.get(channelId)?.deposits[assetIndex]?.[ME] ?? "0");
    const seen = ctx.reports.waitFor(channelId, (r) => BigInt(r.deposits[assetIndex]?.[ME] ?? "0") >= before + amount);
    const outcome = await chain.deposit(record.params, assetIndex, amount);
    await ctx.ownTransactionRecorded(channelId, outcome);
    await seen;
    return outcome;
  }

  /** Withdraws without closing: agrees the withdrawal off-chain, then executes it on chain. */
  async withdraw(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    const chain = this.ctx.requireChain();
    const agreed = await this.propose(channelId, { kind: "withdrawal", withdrawals: [{ assetIndex, participant: ME, amount }] });
    const record = await this.ctx.recordOf(channelId);
    return chain.withdraw(record.params, agreed, await checkpointOf(chain, this.ctx.store, record));
  }

  /** Cooperative close; a final state agreed already (the venue's close, countersigned, not yet on chain) is sent as it is. */
  async close(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.ctx.requireChain();
    const { params, latest } = await this.ctx.recordOf(channelId);
    const final = latest?.state.isFinal === true ? latest : await this.propose(channelId, { kind: "final" });
    return chain.closeCooperatively(params, final);
  }

  /** Registers our latest agreed state on chain (or "no state" before the first update). */
  async forceClose(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.ctx.requireChain();
    const record = await this.ctx.recordOf(channelId);
    if (record.latest === null) return chain.forceCloseWithoutState(record.params);
    return chain.forceClose(record.params, record.latest);
  }

  /** Answers a registered stale state with our latest. */
  async challenge(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.ctx.requireChain();
    const record = await this.ctx.recordOf(channelId);
    if (record.latest === null) throw new ClientError("CHANNEL_NOT_READY", "there is no agreed state to challenge with");
    return chain.challenge(record.params, record.latest);
  }

  /**
   * Pays out a disputed channel after its deadline, with the registered outcome: "no state", or the
   * agreed state of the registered nonce from the store; read from the chain's `StateRegistered`
   * event only when the store does not hold it.
   */
  async settle(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.ctx.requireChain();
    const record = await this.ctx.recordOf(channelId);
    const onChain = await chain.channel(channelId);
    if (onChain.phase === "Disputed") {
      if (onChain.nonce === 0n) return chain.settle(record.params, record.params.assets.map(() => 0n), []);
      const known = record.latest?.state.nonce === onChain.nonce ? record.latest.state : await storedStateAt(this.ctx.store, channelId, onChain.nonce);
      if (known !== undefined) return chain.settle(record.params, known.allocations.map((a) => a.net), known.locks);
    }
    const outcome = await chain.registeredOutcome(channelId);
    if (outcome === null) throw new ClientError("CHANNEL_NOT_READY", "no state is registered for this channel");
    // The event carries the registered lock list: settle from chain data, whatever this store kept.
    return chain.settle(record.params, outcome.nets, outcome.locks);
  }

  /** Abandons the channel unless the chain knows it. */
  private async abandonIfUnknown(channelId: Bytes32): Promise<void> {
    if ((await this.ctx.requireChain().channel(channelId)).phase === "None") await this.abandon(channelId);
  }

  private async abandon(channelId: Bytes32): Promise<void> {
    await this.ctx.store.channelAbandoned(channelId);
    this.ctx.live.delete(channelId);
    this.ctx.reports.delete(channelId);
    this.ctx.options.onEvent?.({ type: "abandoned", channelId });
  }
}
