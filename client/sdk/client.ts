// The investor's SDK: connects to a venue's node over WebSocket, proves its address, opens and funds
// channels on chain, proposes and countersigns updates through the pure protocol core, keeps every
// agreed state in its own store (so it can dispute without the node), resyncs after a reconnect,
// and does everything on chain itself when it must: force-close, challenge, settle, claim.
//
// Payments to another investor are hashlocked (docs/protocol.md, "Off-chain protocol" 5): the
// receiver's SDK makes an invoice (a secret it keeps in its store, and its hashlock), the payer locks
// the amount to the venue under that hashlock, the venue locks the same to the receiver, and the
// receiver's SDK claims its lock with the secret, which lets the venue claim the payer's.
//
// This file is the facade; its parts are modules beside it (connection, invoices, venue proposals,
// reports, lock claims, own transactions, deposits, balances, errors, events).
import { randomBytes } from "node:crypto";
import { hexlify } from "ethers";
import {
  applyUpdate,
  baseAfterVoid,
  channelBalance,
  channelOf,
  checkTransition,
  genesisState,
  paramsToJson,
  rejectionOf,
  checkStateBounds,
  signedStateToJson,
  stateDigest,
  stateToJson,
  validateTransition,
  verifyAgreed,
  withSignature,
  ProtocolError,
  MAX_LOCK_DURATION,
  type Address,
  type Bytes32,
  type Deposits,
  type Leg,
  type Lock,
  type SignedState,
  type Update,
} from "../protocol/index.js";
import { PROTOCOL_VERSION, rejectedMessage, type ChannelView, type NodeMessageParsed } from "../protocol/wire.js";
import type { AdjudicatorClient, TxOutcome } from "../chain/adjudicator.js";
import type { ChannelRecord, HistoryEntry } from "../store/store.js";
import { summarize } from "../store/summary.js";
import { loginDigest } from "../protocol/session.js";
import { ordersDomainOf } from "../protocol/trading/order.js";
import { TradingClient } from "./trading.js";
import { ClientError, isClientError, rejectionError } from "./errors.js";
import { Connection } from "./connection.js";
import type { ClientOptions } from "./client-options.js";
import { InvoiceBook, type Invoice } from "./invoices.js";
import { backed, type Balance } from "./balances.js";
import { ChannelReports } from "./reports.js";
import { waitForLockClaimed, type AgreedListener } from "./lock-claims.js";
import { neverOpens, recordOwnTransaction } from "./own-transactions.js";
import { confirmedDeposits } from "./deposits.js";
import { checkpointOf, storedStateAt } from "../chain/checkpoint.js";
import { pruneChannels, type PruneResult } from "./channel-pruning.js";
import { serialized, serializedOrNow, type Live } from "./live-channels.js";
import { ME, VENUE, checkVenueMayPropose, recordVoid, voidedNonceOf } from "./venue-proposals.js";
import { ChargeBook, approveFillLocks, type FillApprover } from "./fill-settlement.js";
import { isFillChargeTable } from "../store/fill-charges.js";
import { ChainTime } from "./chain-time.js";

export { CLIENT_ERROR_CODES, ClientError, isClientError, type ClientErrorCode, type Rejection } from "./errors.js";
export { DEFAULT_INVOICE_LIMITS, type Invoice, type InvoiceLimits } from "./invoices.js";
export type { ClientEvent } from "./events.js";
export type { Balance } from "./balances.js";
export type { ClientOptions } from "./client-options.js";
export type { PruneResult } from "./channel-pruning.js";

/** Longest payment reference kept in the history. */
export const MAX_MEMO_LENGTH = 256;

/** A routed payment's lock expires this many of the payer's challenge periods ahead (at most MAX_LOCK_DURATION). */
export const ROUTED_LOCK_PERIODS = 3n;

export class ClearlineClient {
  private readonly connection: Connection;
  private readonly live = new Map<Bytes32, Live>();
  /** The node's last report of each channel: status and confirmed deposits. */
  private readonly reports = new ChannelReports();
  /** The venue's address, learnt from the node's challenge. */
  private venue: Address | undefined;
  /** Told of every venue proposal we countersigned (a routed payment waits for its lock's resolution). */
  private readonly agreedListeners = new Set<AgreedListener>();
  private readonly invoiceBook: InvoiceBook;
  /** One approver per venue log (OrderLogAnchor): a venue lock pair must settle a fill of one of our orders there. */
  private readonly fillApprovers = new Map<string, FillApprover>();
  /** The fills charged per venue log (by OrderLogAnchor), shared by this client's TradingClients. */
  private readonly chargeBooks = new Map<string, ChargeBook>();
  /** Channels whose openChannel is in progress: never pruned. */
  private readonly opening = new Set<Bytes32>();
  /** What lock expiries are judged by: the chain's time (the host's without a chain). */
  private readonly chainTime: ChainTime;

  constructor(private readonly options: ClientOptions) {
    this.invoiceBook = new InvoiceBook(options.store, options.signer.address, options.invoices);
    const chain = options.chain;
    this.chainTime = new ChainTime(chain === undefined ? undefined : () => chain.chainTime());
    this.connection = new Connection({
      nodeUrl: options.nodeUrl,
      ...(options.fallbackUrls === undefined ? {} : { fallbackUrls: options.fallbackUrls }),
      ...(options.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: options.responseTimeoutMs }),
      ...(options.reconnect === undefined ? {} : { reconnect: options.reconnect }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      onMessage: (message) => this.onMessage(message),
    });
  }

  get address(): Address {
    return this.options.signer.address;
  }

  get connected(): boolean {
    return this.connection.connected;
  }

  /** Trading at this venue (client/sdk/trading.ts); `anchor` is the venue's OrderLogAnchor. */
  trading(anchor: Address): TradingClient {
    const link = {
      signer: this.options.signer,
      verifier: this.options.verifier,
      venue: () => {
        if (this.venue === undefined) throw new ClientError("NOT_CONNECTED", "connect first");
        return this.venue;
      },
      request: (message: { readonly id: string; readonly [field: string]: unknown }) => this.connection.request(message),
      newId: () => this.connection.newId(),
      // The first TradingClient's approver serves the log; later ones share its ChargeBook and would only repeat its reads.
      approveFills: (approver: FillApprover) => {
        if (!this.fillApprovers.has(anchor.toLowerCase())) this.fillApprovers.set(anchor.toLowerCase(), approver);
      },
      chargeBook: (log: Address) => {
        let book = this.chargeBooks.get(log.toLowerCase());
        if (book === undefined) this.chargeBooks.set(log.toLowerCase(), (book = new ChargeBook(log, isFillChargeTable(this.options.store) ? this.options.store : undefined)));
        return book;
      },
    };
    return new TradingClient(link, ordersDomainOf(this.options.deployment.chainId, anchor));
  }

  // ------------------------------------------------------------------ connection

  /** Connects, authenticates and resyncs every channel the store knows. */
  async connect(): Promise<void> {
    await this.connection.connect(async () => {
      for (const record of await this.options.store.channels()) this.track(record);
    });
  }

  /** Closes the connection to the node (channels stay as they are). */
  async disconnect(): Promise<void> {
    await this.connection.disconnect();
  }

  private async onMessage(message: NodeMessageParsed): Promise<void> {
    switch (message.type) {
      case "challenge": {
        const deployment = { chainId: BigInt(message.chainId), adjudicator: message.adjudicator };
        if (deployment.chainId !== this.options.deployment.chainId || deployment.adjudicator !== this.options.deployment.adjudicator) {
          this.connection.fail(new ClientError("WRONG_CHAIN", `the node serves chain ${deployment.chainId} / ${deployment.adjudicator}, not ours`));
          return;
        }
        this.venue = message.venue;
        const signature = this.options.signer.sign(loginDigest({ venue: message.venue, deployment, nonce: message.nonce }));
        this.connection.send({ v: PROTOCOL_VERSION, type: "auth", address: this.address, signature });
        return;
      }
      case "welcome": {
        await this.pruneInvoices();
        const reports = await this.resync();
        for (const report of reports) await this.absorb(report);
        this.connection.established();
        // Locks paid to us under our invoices, left unclaimed by a crash or a lost connection.
        for (const report of reports) this.claimLocks(report.channelId);
        return;
      }
      case "invoice_request": {
        // Anyone may pay us: the venue checked the compliance of the payment already.
        let invoice: Invoice;
        try {
          invoice = await this.invoiceBook.issue(message.token, BigInt(message.amount));
        } catch (error) {
          if (!isClientError(error, "TOO_MANY_INVOICES")) throw error;
          this.connection.send({ v: PROTOCOL_VERSION, type: "invoice_refused", id: message.id, code: "TOO_MANY_INVOICES", message: error.message });
          this.options.onEvent?.({ type: "invoiceRefused", code: "TOO_MANY_INVOICES", from: message.from });
          return;
        }
        this.connection.send({ v: PROTOCOL_VERSION, type: "invoice", id: message.id, hashlock: invoice.hashlock });
        return;
      }
      case "deposits": {
        this.reports.updated(message.channelId, message);
        this.options.onEvent?.({ type: "deposits", channelId: message.channelId, status: message.status });
        return;
      }
      case "propose":
        return this.onVenueProposal(message);
      case "order_filled":
        this.options.onEvent?.({ type: "orderFilled", orderSequence: BigInt(message.orderSequence), fill: message.fill });
        return;
      default:
        this.connection.answered(message);
    }
  }

  /** Sends our latest agreed state of every channel; adopts the venue's where it is newer. */
  private async resync(): Promise<ChannelView[]> {
    const records = await this.options.store.channels();
    const channels = records.map((r) => ({ channelId: r.channelId, latest: r.latest === null ? null : signedStateToJson(r.latest) }));
    const id = this.connection.newId();
    const answer = await this.connection.request({ v: PROTOCOL_VERSION, type: "resync", id, channels });
    if (answer.type !== "resynced") throw new ClientError("NODE_MISBEHAVED", `expected resynced, got ${answer.type}`);
    return answer.channels;
  }

  /** Takes in the node's view of a channel: the newest agreed state if it is newer and valid. */
  private async absorb(report: ChannelView): Promise<void> {
    this.reports.set(report);
    let record = await this.options.store.channel(report.channelId);
    if (record === undefined) return; // a channel we never agreed to: nothing of ours is at stake
    const live = this.track(record);
    await serialized(live, async () => {
      const theirs = report.latest;
      checkStateBounds(theirs.state);
      record = (await this.options.store.channel(report.channelId))!;
      const ours = record.latest?.state.nonce ?? 0n;
      if (theirs.state.nonce > ours) {
        verifyAgreed(live.channel, theirs, this.options.verifier);
        const pending = record.pending;
        const summary = pending !== null && pending.voided !== true && pending.signed.state.nonce === theirs.state.nonce ? pending.update : { kind: "resync", movements: [], at: Date.now() };
        await this.options.store.stateAgreed(report.channelId, theirs, summary);
      } else if (record.pending !== null && record.pending.voided !== true) {
        // Our proposal never reached the venue: it is void.
        await this.options.store.proposalCleared(report.channelId);
      }
      // A venue proposal void at the venue (expired while we were away, or refused): skip its nonce too.
      if (report.voided !== undefined) {
        record = (await this.options.store.channel(report.channelId))!;
        await recordVoid(this.options.store, this.options.verifier, live.channel, record, record.latest ?? genesisState(live.channel), report.voided);
      }
    });
  }

  // ------------------------------------------------------------------ venue proposals

  private async onVenueProposal(message: Extract<NodeMessageParsed, { type: "propose" }>): Promise<void> {
    const live = this.live.get(message.channelId);
    if (live === undefined) {
      this.connection.send(rejectedMessage(message.id, message.channelId, { code: "UNKNOWN_CHANNEL", message: "the client knows no such channel" }));
      return;
    }
    // Simultaneous proposals: the venue's takes precedence, ours is dropped (the node rejects it with CONFLICT).
    await serializedOrNow(live, async () => {
      let refused: { record: ChannelRecord; latest: SignedState; proposed: SignedState } | undefined;
      try {
        const record = await this.recordOf(message.channelId);
        const latest = record.latest ?? genesisState(live.channel);
        checkStateBounds(message.state);
        const proposed: SignedState = { state: message.state, signatures: [message.signature, null] };
        refused = { record, latest, proposed };
        const secrets = new Map((message.secrets ?? []).map((x) => [x.hashlock, x.secret] as const));
        const facts = { deposits: await this.depositsOf(record), now: await this.chainTime.now() };
        const { update } = validateTransition(live.channel, latest, proposed, { facts, secrets, voided: voidedNonceOf(record) }, this.options.verifier);
        // A fill's lock pair only for the fill it names, of one of our orders (fill-settlement.ts); awaited in this channel's queue only.
        const fill = message.fill === undefined ? undefined : BigInt(message.fill);
        if (update.kind === "addLockPair") await approveFillLocks(this.fillApprovers.values(), live.channel.params.assets, update.locks, fill);
        else if (fill !== undefined) throw new ProtocolError("INVALID_UPDATE", "only a lock pair names a fill");
        else checkVenueMayPropose(update, { latest: latest.state, proposed: proposed.state, ownProposalInFlight: live.outstanding !== undefined });
        const signature = this.options.signer.sign(stateDigest(proposed.state, live.channel.domain));
        const agreed = withSignature(proposed, ME, signature);
        const summary = summarize(update, Date.now());
        // Paid: the invoice's secret is kept from now on (before the lock is agreed, so a crash in between cannot expire it).
        if (update.kind === "addLock") await this.options.store.invoicePaid(update.lock.hashlock);
        await this.options.store.stateAgreed(message.channelId, agreed, summary);
        this.connection.send({ v: PROTOCOL_VERSION, type: "accepted", id: message.id, channelId: message.channelId, nonce: proposed.state.nonce.toString(), signature });
        this.options.onEvent?.({ type: "agreed", channelId: message.channelId, nonce: proposed.state.nonce, summary, proposer: "venue" });
        for (const listener of this.agreedListeners) listener(message.channelId, update);
        if (update.kind === "addLock") this.claimLocks(message.channelId);
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        // Durable before the refusal leaves: the venue voids its proposal on it, and so do we.
        if (refused !== undefined) await recordVoid(this.options.store, this.options.verifier, live.channel, refused.record, refused.latest, refused.proposed);
        this.connection.send(rejectedMessage(message.id, message.channelId, rejectionOf(error)));
      }
    });
  }

  // ------------------------------------------------------------------ channels

  /**
   * Agrees channel parameters with the venue, opens the channel on chain with a first deposit and
   * waits until the venue has seen it.
   */
  async openChannel(options: { assets: readonly Address[]; challengePeriod?: bigint; deposit?: { assetIndex: number; amount: bigint } }): Promise<Bytes32> {
    const chain = this.requireChain();
    const venue = await this.venueAddress();
    const params = {
      participants: [venue, this.address] as const,
      assets: [...options.assets],
      challengePeriod: options.challengePeriod ?? 3_600n,
      salt: hexlify(randomBytes(32)),
    };
    const answer = await this.connection.request({ v: PROTOCOL_VERSION, type: "open", id: this.connection.newId(), params: paramsToJson(params) });
    if (answer.type !== "opened") throw new ClientError("NODE_MISBEHAVED", `expected opened, got ${answer.type}`);
    const channel = channelOf(params, this.options.deployment);
    if (answer.channel.channelId !== channel.channelId) throw new ClientError("NODE_MISBEHAVED", "the venue answered for another channel");
    this.opening.add(channel.channelId);
    try {
      await this.options.store.channelCreated({ channelId: channel.channelId, params: channel.params, deployment: this.options.deployment, me: ME, createdAt: Date.now() });
      this.track((await this.options.store.channel(channel.channelId))!);
      this.reports.set(answer.channel);
      const deposit = options.deposit;
      const seen = this.reports.waitFor(channel.channelId, (r) => r.status === "open" && (deposit === undefined || BigInt(r.deposits[deposit.assetIndex]?.[ME] ?? "0") >= deposit.amount));
      let outcome: TxOutcome;
      try {
        outcome = await chain.open(channel.params, deposit?.assetIndex ?? 0, deposit?.amount ?? 0n);
      } catch (error) {
        seen.catch(() => undefined);
        if (neverOpens(error)) await this.abandonIfUnknown(channel.channelId).catch(() => undefined);
        throw error;
      }
      await this.ownTransactionRecorded(channel.channelId, outcome);
      await seen;
      return channel.channelId;
    } finally {
      this.opening.delete(channel.channelId);
    }
  }

  /**
   * Removes from the store the channels whose open never reached the chain: `proposed`, unknown to
   * the adjudicator, not being opened by this client, and no transaction of ours pending (a pending
   * one may still open it). Resolves with what it abandoned and what it kept, and why.
   */
  async pruneChannels(): Promise<PruneResult> {
    return pruneChannels(this.requireChain(), this.options.store, this.address, this.opening, (channelId) => this.abandon(channelId));
  }

  /** Abandons the channel unless the chain knows it. */
  private async abandonIfUnknown(channelId: Bytes32): Promise<void> {
    if ((await this.requireChain().channel(channelId)).phase === "None") await this.abandon(channelId);
  }

  private async abandon(channelId: Bytes32): Promise<void> {
    await this.options.store.channelAbandoned(channelId);
    this.live.delete(channelId);
    this.reports.delete(channelId);
    this.options.onEvent?.({ type: "abandoned", channelId });
  }

  /** Deposits on chain and waits until the venue has seen it. */
  async deposit(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    const chain = this.requireChain();
    const record = await this.recordOf(channelId);
    const before = BigInt(this.reports.get(channelId)?.deposits[assetIndex]?.[ME] ?? "0");
    const seen = this.reports.waitFor(channelId, (r) => BigInt(r.deposits[assetIndex]?.[ME] ?? "0") >= before + amount);
    const outcome = await chain.deposit(record.params, assetIndex, amount);
    await this.ownTransactionRecorded(channelId, outcome);
    await seen;
    return outcome;
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
      return this.propose(channelId, { kind: "payment", leg }, {}, payment.memo);
    }
    const record = await this.recordOf(channelId);
    const token = record.params.assets[payment.assetIndex];
    if (token === undefined) throw new ClientError("INVALID_ARGUMENT", `the channel has no asset ${payment.assetIndex}`);
    const id = this.connection.newId();
    const answer = await this.connection.request({ v: PROTOCOL_VERSION, type: "invoice_request", id, channelId, to: payment.to, token, amount: payment.amount.toString() });
    if (answer.type === "rejected") throw rejectionError(answer, "payment");
    const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
    if (answer.type !== "invoice" || !same(answer.to, payment.to) || !same(answer.token, token) || BigInt(answer.amount) !== payment.amount) {
      throw new ClientError("NODE_MISBEHAVED", `expected the invoice asked for, got ${answer.type}`);
    }
    const invoice: Invoice = { hashlock: answer.hashlock, token, amount: payment.amount, to: answer.to };
    const timeoutMs = 3 * (this.options.responseTimeoutMs ?? 30_000);
    const claimed = waitForLockClaimed(this.agreedListeners, channelId, invoice.hashlock, timeoutMs, async () => (await this.recordOf(channelId)).latest!);
    try {
      await this.payInvoice(channelId, invoice, payment.memo);
    } catch (error) {
      claimed.cancel();
      throw error;
    }
    return claimed.done;
  }

  /**
   * Makes an invoice for `amount` of the channel's asset `assetIndex`, payable to us by any investor
   * of the venue (`payInvoice`). Its secret is stored before the invoice is returned.
   */
  async createInvoice(channelId: Bytes32, request: { assetIndex: number; amount: bigint }): Promise<Invoice> {
    const token = (await this.recordOf(channelId)).params.assets[request.assetIndex];
    if (token === undefined) throw new ClientError("INVALID_ARGUMENT", `the channel has no asset ${request.assetIndex}`);
    return this.invoiceBook.issue(token, request.amount);
  }

  /**
   * Pays an invoice: locks its amount to the venue under its hashlock, routed to its receiver, for
   * ROUTED_LOCK_PERIODS challenge periods. Resolves with the agreed lock; the payment completes when
   * the venue claims the lock with the receiver's secret, and the lock returns to us at its expiry.
   */
  async payInvoice(channelId: Bytes32, invoice: Invoice, memo?: string): Promise<SignedState> {
    const { params } = await this.recordOf(channelId);
    const assetIndex = params.assets.indexOf(invoice.token);
    if (assetIndex < 0) throw new ClientError("INVALID_ARGUMENT", `the channel does not hold ${invoice.token}`);
    const duration = params.challengePeriod * ROUTED_LOCK_PERIODS;
    const lock: Lock = { assetIndex, sender: ME, amount: invoice.amount, hashlock: invoice.hashlock, expiry: (await this.chainTime.now()) + (duration < MAX_LOCK_DURATION ? duration : MAX_LOCK_DURATION) };
    return this.propose(channelId, { kind: "addLock", lock }, { route: { to: invoice.to } }, memo);
  }

  /** Delivery versus payment with the venue: `give` leaves the investor, `get` arrives, in one state. */
  async trade(channelId: Bytes32, trade: { give: { assetIndex: number; amount: bigint }; get: { assetIndex: number; amount: bigint } }): Promise<SignedState> {
    const legs = [
      { assetIndex: trade.give.assetIndex, from: ME, amount: trade.give.amount },
      { assetIndex: trade.get.assetIndex, from: VENUE, amount: trade.get.amount },
    ].sort((a, b) => a.assetIndex - b.assetIndex) as unknown as readonly [Leg, Leg];
    return this.propose(channelId, { kind: "trade", legs });
  }

  /** Withdraws without closing: agrees the withdrawal off-chain, then executes it on chain. */
  async withdraw(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<TxOutcome> {
    const chain = this.requireChain();
    const agreed = await this.propose(channelId, { kind: "withdrawal", withdrawals: [{ assetIndex, participant: ME, amount }] });
    const record = await this.recordOf(channelId);
    return chain.withdraw(record.params, agreed, await checkpointOf(chain, this.options.store, record));
  }

  /**
   * Cooperative close: agrees a final state with the venue and pays both out in one transaction. A
   * final state agreed already (the venue's close, countersigned, not yet on chain) is sent as it is.
   */
  async close(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.requireChain();
    const { params, latest } = await this.recordOf(channelId);
    const final = latest?.state.isFinal === true ? latest : await this.propose(channelId, { kind: "final" });
    return chain.closeCooperatively(params, final);
  }

  /** Registers our latest agreed state on chain (or "no state" before the first update). */
  async forceClose(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.requireChain();
    const record = await this.recordOf(channelId);
    if (record.latest === null) return chain.forceCloseWithoutState(record.params);
    return chain.forceClose(record.params, record.latest);
  }

  /** Answers a registered stale state with our latest. */
  async challenge(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.requireChain();
    const record = await this.recordOf(channelId);
    if (record.latest === null) throw new ClientError("CHANNEL_NOT_READY", "there is no agreed state to challenge with");
    return chain.challenge(record.params, record.latest);
  }

  /**
   * Pays out a disputed channel after its deadline, with the registered outcome: "no state", or the
   * agreed state of the registered nonce from the store; read from the chain's `StateRegistered`
   * event only when the store does not hold it.
   */
  async settle(channelId: Bytes32): Promise<TxOutcome> {
    const chain = this.requireChain();
    const record = await this.recordOf(channelId);
    const onChain = await chain.channel(channelId);
    if (onChain.phase === "Disputed") {
      if (onChain.nonce === 0n) return chain.settle(record.params, record.params.assets.map(() => 0n), []);
      const known = record.latest?.state.nonce === onChain.nonce ? record.latest.state : await storedStateAt(this.options.store, channelId, onChain.nonce);
      if (known !== undefined) return chain.settle(record.params, known.allocations.map((a) => a.net), known.locks);
    }
    const outcome = await chain.registeredOutcome(channelId);
    if (outcome === null) throw new ClientError("CHANNEL_NOT_READY", "no state is registered for this channel");
    // The event carries the registered lock list: settle from chain data, whatever this store kept.
    return chain.settle(record.params, outcome.nets, outcome.locks);
  }

  async claim(token: Address): Promise<TxOutcome> {
    return this.requireChain().claim(token);
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
    const record = await this.recordOf(channelId);
    if (this.options.chain !== undefined && (await this.options.chain.channel(channelId)).phase === "Concluded") {
      // Paid out: nothing is left in the channel.
      return record.params.assets.map((asset) => ({ asset, venue: 0n, me: 0n, shortfall: 0n }));
    }
    const channel = this.track(record).channel;
    const state = (record.latest ?? genesisState(channel)).state;
    const deposits = await this.depositsOf(record);
    return record.params.assets.map((asset, i) => backed(asset, channelBalance(state, deposits, i, VENUE), channelBalance(state, deposits, i, ME)));
  }

  /** Agreed updates of a channel, newest first (at most `limit`). */
  async history(channelId: Bytes32, limit?: number): Promise<readonly HistoryEntry[]> {
    return this.options.store.history(channelId, { newestFirst: true, ...(limit === undefined ? {} : { limit }) });
  }

  /** The node's last report of a channel (status, confirmed deposits). */
  report(channelId: Bytes32): ChannelView | undefined {
    return this.reports.get(channelId);
  }

  // ------------------------------------------------------------------ internals

  /** Builds, checks, signs, records and sends our proposal; resolves with the agreed state. */
  private async propose(
    channelId: Bytes32,
    update: Update,
    extra: { route?: { to: Address }; secrets?: { hashlock: Bytes32; secret: Bytes32 }[] } = {},
    memo?: string,
  ): Promise<SignedState> {
    const live = this.live.get(channelId);
    if (live === undefined) throw new ClientError("UNKNOWN_CHANNEL", `no channel ${channelId}`);
    return serialized(live, async () => {
      const record = await this.recordOf(channelId);
      const latest = record.latest ?? genesisState(live.channel);
      // Over a void the nonce above it. Ours is then not recorded: the void stays, across a restart too.
      const voided = voidedNonceOf(record);
      const state = applyUpdate(live.channel, baseAfterVoid(latest.state, voided), update);
      const secrets = new Map(extra.secrets?.map((x) => [x.hashlock, x.secret] as const));
      checkTransition(live.channel, latest.state, state, { facts: { deposits: await this.depositsOf(record), now: await this.chainTime.now() }, secrets, voided });
      const signature = this.options.signer.sign(stateDigest(state, live.channel.domain));
      const ours = withSignature({ state, signatures: [null, null] }, ME, signature);
      const summary = summarize(update, Date.now(), memo);
      if (voided === undefined) await this.options.store.proposalRecorded(channelId, { proposer: ME, signed: ours, update: summary });
      const id = this.connection.newId();
      live.outstanding = id;
      let answer: NodeMessageParsed;
      try {
        answer = await this.connection.request({ v: PROTOCOL_VERSION, type: "propose", id, channelId, state: stateToJson(state), signature, ...extra });
      } finally {
        live.outstanding = undefined;
      }
      if (answer.type === "rejected") {
        // Unless a void of the venue's proposal replaced ours meanwhile (the venue's took precedence).
        if ((await this.recordOf(channelId)).pending?.proposer === ME) await this.options.store.proposalCleared(channelId);
        throw rejectionError(answer, update.kind);
      }
      if (answer.type !== "accepted") throw new ClientError("NODE_MISBEHAVED", `expected accepted, got ${answer.type}`);
      const agreed = withSignature(ours, VENUE, answer.signature);
      verifyAgreed(live.channel, agreed, this.options.verifier);
      await this.options.store.stateAgreed(channelId, agreed, summary);
      this.options.onEvent?.({ type: "agreed", channelId, nonce: state.nonce, summary, proposer: "me" });
      return agreed;
    });
  }

  /** Deletes expired unpaid invoices (and their secrets) from the store; resolves with their hashlocks. */
  async pruneInvoices(): Promise<readonly Bytes32[]> {
    return this.invoiceBook.prune();
  }

  /**
   * Claims, one by one, the venue's locks to us in a channel whose secret we hold (our invoices) and
   * that have not expired. Unawaited: a failure is retried after the next (re)connect.
   */
  private claimLocks(channelId: Bytes32): void {
    const claim = async (): Promise<void> => {
      const latest = (await this.recordOf(channelId)).latest;
      const secrets = await this.options.store.secrets();
      const now = await this.chainTime.now();
      for (const lock of latest?.state.locks ?? []) {
        const secret = secrets.get(lock.hashlock);
        if (lock.sender !== VENUE || secret === undefined || now > lock.expiry) continue;
        await this.propose(channelId, { kind: "resolveLock", hashlock: lock.hashlock, secret }, { secrets: [{ hashlock: lock.hashlock, secret }] });
      }
    };
    claim().catch((error: unknown) =>
      this.options.onEvent?.({ type: "claimFailed", channelId, error: error instanceof Error ? error : new Error(String(error)) }),
    );
  }

  /** Stores what our own open/deposit transaction did on chain (idempotent by log position). */
  private async ownTransactionRecorded(channelId: Bytes32, outcome: TxOutcome): Promise<void> {
    await recordOwnTransaction(this.options.store, this.options.deployment.adjudicator, await this.recordOf(channelId), outcome);
  }

  /** Confirmed deposits: from the chain when the client has one, else the venue's report. */
  private depositsOf(record: ChannelRecord): Promise<Deposits> {
    return confirmedDeposits(record, this.options.chain, this.reports.get(record.channelId), this.options.store);
  }

  private async venueAddress(): Promise<Address> {
    if (this.venue === undefined) throw new ClientError("NOT_CONNECTED", "connect first");
    return this.venue;
  }

  private requireChain(): AdjudicatorClient {
    if (this.options.chain === undefined) throw new ClientError("NO_CHAIN", "this operation needs a chain connection (rpcUrl)");
    return this.options.chain;
  }

  private async recordOf(channelId: Bytes32): Promise<ChannelRecord> {
    const record = await this.options.store.channel(channelId);
    if (record === undefined) throw new ClientError("UNKNOWN_CHANNEL", `no channel ${channelId}`);
    return record;
  }

  private track(record: ChannelRecord): Live {
    let live = this.live.get(record.channelId);
    if (live === undefined) {
      live = { channel: channelOf(record.params, record.deployment), queue: Promise.resolve(), outstanding: undefined };
      this.live.set(record.channelId, live);
    }
    return live;
  }
}
