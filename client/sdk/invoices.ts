// The invoices the client issues: each keeps a secret in the store until paid or expired, so the
// unpaid ones are bounded (InvoiceLimits) and issued one at a time.
import { randomBytes } from "node:crypto";
import { hexlify } from "ethers";
import { hashlockOf, type Address, type Bytes32 } from "../protocol/index.js";
import type { ChannelStore } from "../store/store.js";
import { ClientError } from "./errors.js";

/** What a payer needs to pay the receiver `to` through the venue: `amount` of `token` under `hashlock`. */
export interface Invoice {
  readonly hashlock: Bytes32;
  readonly token: Address;
  readonly amount: bigint;
  readonly to: Address;
}

/**
 * Anyone may ask us, through the venue, for an invoice, and each stores a secret: the unpaid ones are
 * bounded. An invoice is pending until a lock under its hashlock arrives or it expires; expired ones
 * are deleted from the store (with their secret) before each new invoice and on every (re)connect.
 */
export interface InvoiceLimits {
  /** At most this many unpaid invoices; beyond it a new one is TOO_MANY_INVOICES. */
  readonly maxPending: number;
  /** An unpaid invoice expires this long after it was issued (ms). */
  readonly ttlMs: number;
}

export const DEFAULT_INVOICE_LIMITS: InvoiceLimits = { maxPending: 1_000, ttlMs: 3_600_000 };

/** The client's invoices in its store, within their limits. */
export class InvoiceBook {
  readonly limits: InvoiceLimits;
  /** Invoices are issued one at a time, so the bound holds under a burst of requests. */
  private queue: Promise<unknown> = Promise.resolve();

  /** INVALID_ARGUMENT for limits out of range. */
  constructor(
    private readonly store: ChannelStore,
    private readonly to: Address,
    limits: Partial<InvoiceLimits> | undefined,
  ) {
    this.limits = { ...DEFAULT_INVOICE_LIMITS, ...limits };
    const { maxPending, ttlMs } = this.limits;
    if (!Number.isSafeInteger(maxPending) || maxPending < 0) throw new ClientError("INVALID_ARGUMENT", `invoices.maxPending must be a non-negative integer, not ${maxPending}`);
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw new ClientError("INVALID_ARGUMENT", `invoices.ttlMs must be a positive integer (ms), not ${ttlMs}`);
  }

  /** Deletes expired unpaid invoices (and their secrets) from the store; resolves with their hashlocks. */
  prune(): Promise<readonly Bytes32[]> {
    return this.store.invoicesExpired(Date.now());
  }

  /** A new invoice for `amount` of `token`, its secret stored first; TOO_MANY_INVOICES beyond the bound. */
  issue(token: Address, amount: bigint): Promise<Invoice> {
    if (amount <= 0n) return Promise.reject(new ClientError("INVALID_ARGUMENT", "an invoice's amount must be positive"));
    const issue = async (): Promise<Invoice> => {
      await this.prune();
      const { maxPending, ttlMs } = this.limits;
      const pending = (await this.store.invoices()).size;
      if (pending >= maxPending) {
        throw new ClientError("TOO_MANY_INVOICES", `${pending} unpaid invoices are pending, the most this client allows (invoices.maxPending ${maxPending}); try again when some are paid or expired (after ${ttlMs} ms)`);
      }
      const secret = hexlify(randomBytes(32));
      const hashlock = hashlockOf(secret);
      await this.store.invoiceIssued(hashlock, secret, Date.now() + ttlMs);
      return { hashlock, token, amount, to: this.to };
    };
    const run = this.queue.then(issue, issue);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
