// The investor's side of a fill's settlement (docs/protocol.md, "Settlement of a fill"): the venue
// proposes a lock pair in our channel, unasked; we countersign it only if it settles a fill of one of
// the orders we placed (the pure check, protocol/trading/fill-locks.ts), and count what it takes of
// that order so that the venue cannot settle more than we signed. The pair's resolution (with the
// secret) and expiry are countersigned like any lock's. Orders are known to the TradingClient that
// placed them, in memory: a restarted client refuses pairs of orders it placed before.
import { ProtocolError, type Address, type Lock } from "../protocol/index.js";
import { fillOfPair, type OwnOrder } from "../protocol/trading/fill-locks.js";
import type { Order } from "../protocol/trading/order.js";

/** Told of a venue lock pair; true when it settles a fill of an order it holds (and counts it). */
export interface FillApprover {
  approve(assets: readonly Address[], locks: readonly [Lock, Lock]): boolean;
}

/** INVALID_UPDATE unless one of `approvers` takes the pair. */
export function approveFillLocks(approvers: Iterable<FillApprover>, assets: readonly Address[], locks: readonly [Lock, Lock]): void {
  for (const approver of approvers) if (approver.approve(assets, locks)) return;
  throw new ProtocolError("INVALID_UPDATE", "the venue's lock pair settles no fill of an order we placed (market, side, quantity left, limit price)");
}

/** The orders a TradingClient placed, and how much of each lock pairs took. */
export class OwnOrders implements FillApprover {
  private readonly orders: OwnOrder[] = [];

  add(order: Order): void {
    this.orders.push({ order, committed: 0n });
  }

  approve(assets: readonly Address[], locks: readonly [Lock, Lock]): boolean {
    const fill = fillOfPair(assets, locks, this.orders);
    if (fill === undefined) return false;
    const own = this.orders[fill.index]!;
    this.orders[fill.index] = { ...own, committed: own.committed + fill.quantity };
    return true;
  }
}
