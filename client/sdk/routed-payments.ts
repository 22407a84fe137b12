// Payments to another investor, hashlocked through the venue (docs/protocol.md, off-chain protocol
// 5): the receiver's SDK makes an invoice (a secret it keeps in its store, and its hashlock), the
// payer locks the amount to the venue under that hashlock, the venue locks the same to the receiver,
// and the receiver's SDK claims its lock with the secret, which lets the venue claim the payer's.
import { MAX_LOCK_DURATION, type Address, type Bytes32, type Lock, type SignedState } from "../protocol/index.js";
import { PROTOCOL_VERSION, type NodeMessageParsed } from "../protocol/wire.js";
import type { ClientContext } from "./client-context.js";
import { ClientError, isClientError, rejectionError } from "./errors.js";
import { InvoiceBook, type Invoice } from "./invoices.js";
import { waitForLockClaimed, type AgreedListener } from "./lock-claims.js";
import { propose } from "./our-proposals.js";
import { ME, VENUE } from "./venue-proposals.js";

/** A routed payment's lock expires this many of the payer's challenge periods ahead (at most MAX_LOCK_DURATION). */
export const ROUTED_LOCK_PERIODS = 3n;

export class RoutedPayments {
  /** Told of every venue proposal we countersigned (a routed payment waits for its lock's resolution). */
  readonly agreedListeners = new Set<AgreedListener>();
  private readonly invoiceBook: InvoiceBook;

  constructor(private readonly ctx: ClientContext) {
    this.invoiceBook = new InvoiceBook(ctx.store, ctx.options.signer.address, ctx.options.invoices);
  }

  /** Asks `to` for an invoice through the venue, pays it and resolves with our state once the venue claimed the lock. */
  async pay(channelId: Bytes32, payment: { assetIndex: number; amount: bigint; to: Address; memo?: string }): Promise<SignedState> {
    const { connection } = this.ctx;
    const record = await this.ctx.recordOf(channelId);
    const token = record.params.assets[payment.assetIndex];
    if (token === undefined) throw new ClientError("INVALID_ARGUMENT", `the channel has no asset ${payment.assetIndex}`);
    const answer = await connection.request({ v: PROTOCOL_VERSION, type: "invoice_request", id: connection.newId(), channelId, to: payment.to, token, amount: payment.amount.toString() });
    if (answer.type === "rejected") throw rejectionError(answer, "payment");
    const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
    if (answer.type !== "invoice" || !same(answer.to, payment.to) || !same(answer.token, token) || BigInt(answer.amount) !== payment.amount) {
      throw new ClientError("NODE_MISBEHAVED", `expected the invoice asked for, got ${answer.type}`);
    }
    const invoice: Invoice = { hashlock: answer.hashlock, token, amount: payment.amount, to: answer.to };
    const timeoutMs = 3 * (this.ctx.options.responseTimeoutMs ?? 30_000);
    const claimed = waitForLockClaimed(this.agreedListeners, channelId, invoice.hashlock, timeoutMs, async () => (await this.ctx.recordOf(channelId)).latest!);
    try {
      await this.payInvoice(channelId, invoice, payment.memo);
    } catch (error) {
      claimed.cancel();
      throw error;
    }
    return claimed.done;
  }

  /** An invoice for `amount` of the channel's asset `assetIndex`, its secret stored first. */
  async createInvoice(channelId: Bytes32, request: { assetIndex: number; amount: bigint }): Promise<Invoice> {
    const token = (await this.ctx.recordOf(channelId)).params.assets[request.assetIndex];
    if (token === undefined) throw new ClientError("INVALID_ARGUMENT", `the channel has no asset ${request.assetIndex}`);
    return this.invoiceBook.issue(token, request.amount);
  }

  /** Locks the invoice's amount to the venue under its hashlock, routed to its receiver, for ROUTED_LOCK_PERIODS challenge periods. */
  async payInvoice(channelId: Bytes32, invoice: Invoice, memo?: string): Promise<SignedState> {
    const { params } = await this.ctx.recordOf(channelId);
    const assetIndex = params.assets.indexOf(invoice.token);
    if (assetIndex < 0) throw new ClientError("INVALID_ARGUMENT", `the channel does not hold ${invoice.token}`);
    const duration = params.challengePeriod * ROUTED_LOCK_PERIODS;
    const expiry = (await this.ctx.chainTime.now()) + (duration < MAX_LOCK_DURATION ? duration : MAX_LOCK_DURATION);
    const lock: Lock = { assetIndex, sender: ME, amount: invoice.amount, hashlock: invoice.hashlock, expiry };
    return propose(this.ctx, channelId, { kind: "addLock", lock }, { route: { to: invoice.to } }, memo);
  }

  /** Anyone may pay us (the venue checked the payment's compliance already): an invoice, or TOO_MANY_INVOICES. */
  async answerInvoiceRequest(message: Extract<NodeMessageParsed, { type: "invoice_request" }>): Promise<void> {
    const { connection } = this.ctx;
    let invoice: Invoice;
    try {
      invoice = await this.invoiceBook.issue(message.token, BigInt(message.amount));
    } catch (error) {
      if (!isClientError(error, "TOO_MANY_INVOICES")) throw error;
      connection.send({ v: PROTOCOL_VERSION, type: "invoice_refused", id: message.id, code: "TOO_MANY_INVOICES", message: error.message });
      this.ctx.options.onEvent?.({ type: "invoiceRefused", code: "TOO_MANY_INVOICES", from: message.from });
      return;
    }
    connection.send({ v: PROTOCOL_VERSION, type: "invoice", id: message.id, hashlock: invoice.hashlock });
  }

  /** Deletes expired unpaid invoices (and their secrets) from the store; resolves with their hashlocks. */
  pruneInvoices(): Promise<readonly Bytes32[]> {
    return this.invoiceBook.prune();
  }

  /**
   * Claims, one by one, the venue's locks to us in a channel whose secret we hold (our invoices) and
   * that have not expired. Unawaited: a failure is retried after the next (re)connect.
   */
  claimLocks(channelId: Bytes32): void {
    const claim = async (): Promise<void> => {
      const latest = (await this.ctx.recordOf(channelId)).latest;
      const secrets = await this.ctx.store.secrets();
      const now = await this.ctx.chainTime.now();
      for (const lock of latest?.state.locks ?? []) {
        const secret = secrets.get(lock.hashlock);
        if (lock.sender !== VENUE || secret === undefined || now > lock.expiry) continue;
        await propose(this.ctx, channelId, { kind: "resolveLock", hashlock: lock.hashlock, secret }, { secrets: [{ hashlock: lock.hashlock, secret }] });
      }
    };
    claim().catch((error: unknown) => this.ctx.options.onEvent?.({ type: "claimFailed", channelId, error: error instanceof Error ? error : new Error(String(error)) }));
  }
}
