// The investor's SDK: connects to a venue's node over WebSocket, proves its address, opens and funds
// channels on chain, proposes and countersigns updates through the pure protocol core, keeps every
// agreed state in its own store (so it can dispute without the node), resyncs after a reconnect,
// and does everything on chain itself when it must: force-close, challenge, settle, claim.
//
// This file is the facade: the handshake and the dispatch of the node's messages. Its parts are
// modules beside it: the connection (connection.ts, with its reconnect back-off and node URLs), our
// proposals (our-proposals.ts), the venue's (venue-countersign.ts), resync (resync.ts), routed
// payments and invoices (routed-payments.ts), a channel's on-chain steps (channel-lifecycle.ts),
// trading handles (trading-handles.ts), and what they share (client-context.ts).
import { channelBalance, genesisState, type Address, type Bytes32, type Leg, type SignedState } from "../protocol/index.js";
import { PROTOCOL_VERSION, type ChannelView, type NodeMessageParsed } from "../protocol/wire.js";
import type { TxOutcome } from "../chain/adjudicator.js";
import type { ChannelRecord, HistoryEntry } from "../store/store.js";
import { loginDigest } from "../protocol/session.js";
import type { TradingClient } from "./trading.js";
import { ClientError } from "./errors.js";
import { Connection } from "./connection.js";
import type { ClientOptions } from "./client-options.js";
import type { Invoice } from "./invoices.js";
import { backed, type Balance } from "./balances.js";
import type { PruneResult } from "./channel-pruning.js";
import { ClientContext } from "./client-context.js";
import { propose } from "./our-proposals.js";
import { answerVenueProposal } from "./venue-countersign.js";
import { absorb, resync } from "./resync.js";
import { RoutedPayments } from "./routed-payments.js";
import { ChannelLifecycle } from "./channel-lifecycle.js";
import { TradingHandles } from "./trading-handles.js";
import { reconnectBackoffOf } from "./reconnect-backoff.js";
import { ME, VENUE } from "./venue-proposals.js";

export { CLIENT_ERROR_CODES, ClientError, isClientError, type ClientErrorCode, type Rejection } from "./errors.js";
export { DEFAULT_INVOICE_LIMITS, type Invoice, type InvoiceLimits } from "./invoices.js";
export { DEFAULT_RECONNECT_BACKOFF, type ReconnectBackoff } from "./reconnect-backoff.js";
export { ROUTED_LOCK_PERIODS } from "./routed-payments.js";
export type { ClientEvent } from "./events.js";
export type { Balance } from "./balances.js";
export type { ClientOptions } from "./client-options.js";
export type { PruneResult } from "./channel-pruning.js";

/** Longest payment reference kept in the history. */
export const MAX_MEMO_LENGTH = 256;

export class ClearlineClient {
  private readonly ctx: ClientContext;
  private readonly payments: RoutedPayments;
  private readonly lifecycle: ChannelLifecycle;
  private readonly tradingHandles: TradingHandles;

  /** INVALID_ARGUMENT for invoice limits or a reconnect back-off out of range. */
  constructor(private readonly options: ClientOptions) {
    const connection = new Connection({
      nodeUrl: options.nodeUrl,
      ...(options.fallbackUrls === undefined ? {} : { fallbackUrls: options.fallbackUrls }),
      ...(options.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: options.responseTimeoutMs }),
      ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
      backoff: reconnectBackoffOf(options.reconnectBackoff),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      onMessage: (message) => this.onMessage(message),
    });
    this.ctx = new ClientContext(options, connection);
    this.payments = new RoutedPayments(this.ctx);
    this.lifecycle = new ChannelLifecycle(this.ctx, (channelId, update) => propose(this.ctx, channelId, update));
    this.tradingHandles = new TradingHandles(this.ctx);
  }

  get address(): Address {
    return this.options.signer.address;
  }

  get connected(): boolean {
    return this.ctx.connection.connected;
  }

  /** Trading at this venue (client/sdk/trading.ts); `anchor` is the venue's OrderLogAnchor. The same handle for the same anchor, for the client's life. */
  trading(anchor: Address): TradingClient {
    return this.tradingHandles.of(anchor);
  }

  // ------------------------------------------------------------------ connection

  /** Connects, authenticates and resyncs every channel the store knows. */
  async connect(): Promise<void> {
    await this.ctx.connection.connect(async () => {
      for (const record of await this.options.store.channels()) this.ctx.track(record);
    });
  }

  /** Closes the connection to the node (channels stay as they are). */
  async disconnect(): Promise<void> {
    await this.ctx.connection.disconnect();
  }

  private async onMessage(message: NodeMessageParsed): Promise<void> {
    const { connection } = this.ctx;
    switch (message.type) {
      case "challenge": {
        const deployment = { chainId: BigInt(message.chainId), adjudicator: message.adjudicator };
        if (deployment.chainId !== this.options.deployment.chainId || deployment.adjudicator !== this.options.deployment.adjudicator) {
          connection.fail(new ClientError("WRONG_CHAIN", `the node serves chain ${deployment.chainId} / ${deployment.adjudicator}, not ours`));
          return;
        }
        this.ctx.venue = message.venue;
        const signature = this.options.signer.sign(loginDigest({ venue: message.venue, deployment, nonce: message.nonce }));
        connection.send({ v: PROTOCOL_VERSION, type: "auth", address: this.address, signature });
        return;
      }
      case "welcome": {
        await this.pruneInvoices();
        const reports = await resync(this.ctx);
        for (const report of reports) await absorb(this.ctx, report);
        connection.established();
        // Locks paid to us under our invoices, left unclaimed by a crash or a lost connection.
        for (const report of reports) this.payments.claimLocks(report.channelId);
        return;
      }
      case "invoice_request":
        return this.payments.answerInvoiceRequest(message);
      case "deposits": {
        this.ctx.reports.updated(message.channelId, message);
        this.options.onEvent?.({ type: "deposits", channelId: message.channelId, status: message.status });
        return;
      }
      case "propose":
        return answerVenueProposal(
          this.ctx,
          { fillApprovers: () => this.tradingHandles.fillApprovers(), agreedListeners: this.payments.agreedListeners, claimLocks: (channelId) => this.payments.claimLocks(channelId) },
          message,
        );
      case "order_filled":
        this.options.onEvent?.({ type: "orderFilled", orderSequence: BigInt(message.orderSequence), fill: message.fill });
        return;
      default:
        connection.answered(message);
    }
  }

  // ------------------------------------------------------------------ channels

  /**
   * Agrees channel parameters with the venue, opens the channel on chain with a first deposit and
   * waits until the venue has seen it.
   */
  openChannel(options: { assets: readonly Address[]; challengePeriod?: bigint; deposit?: { assetIndex: number; amount: bigint } }): Promise<Bytes32> {
    return this.lifecycle.openChannel(options);
  }

  /**
   * Removes from the store the channels whose open never reached the chain: `proposed`, unknown to
   * the adjudicator, not being opened by this client, and no transaction of ours pending (a pending
   * one may still open it). Resolves with what it abandoned and what it kept, and why.
   */
  pruneChannels(): Promise<PruneResult> {
    return this.lifecycle.pruneChannels();
  }

  /** Deposits on chain and waits until the venue has seen it. */
  deposit(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    return this.lifecycle.deposit(channelId, assetIndex, amount);
  }

  /**
   * Pays `amount` of asset `assetIndex` to the venue, or through it to investor `to` (online): asks
   * `to` for an invoice through the venue, pays it with a routed lock and resolves with our state
   * once the venue claimed the lock (the receiver is paid by then).
   */
  async pay(channelId: Bytes32, payment: { assetIndex: number; amount: bigint; to?: Address; memo?: string }): Promise<SignedState> {
    if (payment.memo !== undefined && payment.memo.length > MAX_MEMO_LENGTH) {
      throw new ClientError("INVALID_ARGUMENT", `a memo has at most ${MAX_MEMO_LENGTH} characters`);
    }
    if (payment.to === undefined) {
      const leg: Leg = { assetIndex: payment.assetIndex, from: ME, amount: payment.amount };
      return propose(this.ctx, channelId, { kind: "payment", leg }, {}, payment.memo);
    }
    return this.payments.pay(channelId, { ...payment, to: payment.to });
  }

  /**
   * Makes an invoice for `amount` of the channel's asset `assetIndex`, payable to us by any investor
   * of the venue (`payInvoice`). Its secret is stored before the invoice is returned.
   */
  createInvoice(channelId: Bytes32, request: { assetIndex: number; amount: bigint }): Promise<Invoice> {
    return this.payments.createInvoice(channelId, request);
  }

  /**
   * Pays an invoice: locks its amount to the venue under its hashlock, routed to its receiver, for
   * ROUTED_LOCK_PERIODS challenge periods. Resolves with the agreed lock; the payment completes when
   * the venue claims the lock with the receiver's secret, and the lock returns to us at its expiry.
   */
  payInvoice(channelId: Bytes32, invoice: Invoice, memo?: string): Promise<SignedState> {
    return this.payments.payInvoice(channelId, invoice, memo);
  }

  /** Delivery versus payment with the venue: `give` leaves the investor, `get` arrives, in one state. */
  trade(channelId: Bytes32, trade: { give: { assetIndex: number; amount: bigint }; get: { assetIndex: number; amount: bigint } }): Promise<SignedState> {
    const legs = [
      { assetIndex: trade.give.assetIndex, from: ME, amount: trade.give.amount },
      { assetIndex: trade.get.assetIndex, from: VENUE, amount: trade.get.amount },
    ].sort((a, b) => a.assetIndex - b.assetIndex) as unknown as readonly [Leg, Leg];
    return propose(this.ctx, channelId, { kind: "trade", legs });
  }

  /** Withdraws without closing: agrees the withdrawal off-chain, then executes it on chain. */
  withdraw(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    return this.lifecycle.withdraw(channelId, assetIndex, amount);
  }

  /**
   * Cooperative close: agrees a final state with the venue and pays both out in one transaction. A
   * final state agreed already (the venue's close, countersigned, not yet on chain) is sent as it is.
   */
  close(channelId: Bytes32): Promise<TxOutcome> {
    return this.lifecycle.close(channelId);
  }

  /** Registers our latest agreed state on chain (or "no state" before the first update). */
  forceClose(channelId: Bytes32): Promise<TxOutcome> {
    return this.lifecycle.forceClose(channelId);
  }

  /** Answers a registered stale state with our latest. */
  challenge(channelId: Bytes32): Promise<TxOutcome> {
    return this.lifecycle.challenge(channelId);
  }

  /**
   * Pays out a disputed channel after its deadline, with the registered outcome: "no state", or the
   * agreed state of the registered nonce from the store; read from the chain's `StateRegistered`
   * event only when the store does not hold it.
   */
  settle(channelId: Bytes32): Promise<TxOutcome> {
    return this.lifecycle.settle(channelId);
  }

  async claim(token: Address): Promise<TxOutcome> {
    return this.ctx.requireChain().claim(token);
  }

  // ------------------------------------------------------------------ reads

  async channels(): Promise<readonly ChannelRecord[]> {
    return this.options.store.channels();
  }

  /**
   * What each participant holds of each asset in the channel, by the latest agreed state and the
   * confirmed deposits; never negative (see `Balance.shortfall`).
   */
  async balances(channelId: Bytes32): Promise<Balance[]> {
    const record = await this.ctx.recordOf(channelId);
    if (this.options.chain !== undefined && (await this.options.chain.channel(channelId)).phase === "Concluded") {
      // Paid out: nothing is left in the channel.
      return record.params.assets.map((asset) => ({ asset, venue: 0n, me: 0n, shortfall: 0n }));
    }
    const channel = this.ctx.track(record).channel;
    const state = (record.latest ?? genesisState(channel)).state;
    const deposits = await this.ctx.depositsOf(record);
    return record.params.assets.map((asset, i) => backed(asset, channelBalance(state, deposits, i, VENUE), channelBalance(state, deposits, i, ME)));
  }

  /** Agreed updates of a channel, newest first (at most `limit`). */
  async history(channelId: Bytes32, limit?: number): Promise<readonly HistoryEntry[]> {
    return this.options.store.history(channelId, { newestFirst: true, ...(limit === undefined ? {} : { limit }) });
  }

  /** The node's last report of a channel (status, confirmed deposits). */
  report(channelId: Bytes32): ChannelView | undefined {
    return this.ctx.reports.get(channelId);
  }

  /** Deletes expired unpaid invoices (and their secrets) from the store; resolves with their hashlocks. */
  async pruneInvoices(): Promise<readonly Bytes32[]> {
    return this.payments.pruneInvoices();
  }
}
