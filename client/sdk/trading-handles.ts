// The client's TradingClients: one per venue log (OrderLogAnchor) for the client's life, so a handle
// asked for again is the same one — its order nonces stay increasing, and what it registers (the
// approver of the venue's lock pairs for our fills, the fills charged in its log) is registered once.
import type { Address } from "../protocol/index.js";
import { ordersDomainOf } from "../protocol/trading/order.js";
import { isFillChargeTable } from "../store/fill-charges.js";
import type { ClientContext } from "./client-context.js";
import { ChargeBook, type FillApprover } from "./fill-settlement.js";
import { TradingClient, type TradingLink } from "./trading.js";

export class TradingHandles {
  /** By the anchor's lower-case address. */
  private readonly handles = new Map<string, TradingClient>();
  private readonly approvers = new Map<string, FillApprover>();

  constructor(private readonly ctx: ClientContext) {}

  /** The TradingClient of the venue's OrderLogAnchor `anchor` (made on first use). */
  of(anchor: Address): TradingClient {
    const key = anchor.toLowerCase();
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = new TradingClient(this.linkOf(key), ordersDomainOf(this.ctx.options.deployment.chainId, anchor));
      this.handles.set(key, handle);
    }
    return handle;
  }

  /** Who may approve a venue lock pair: one approver per venue log. */
  fillApprovers(): Iterable<FillApprover> {
    return this.approvers.values();
  }

  private linkOf(key: string): TradingLink {
    const { ctx } = this;
    return {
      signer: ctx.options.signer,
      verifier: ctx.options.verifier,
      venue: () => ctx.venueAddress(),
      request: (message) => ctx.connection.request(message),
      newId: () => ctx.connection.newId(),
      approveFills: (approver) => void this.approvers.set(key, approver),
      // One handle per log, so one book per log: the fills charged there, kept in the client's store.
      chargeBook: (log) => new ChargeBook(log, isFillChargeTable(ctx.store) ? ctx.store : undefined),
    };
  }
}
