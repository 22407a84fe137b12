// The investor's side of a fill's settlement (docs/protocol.md, "Settlement of a fill"): the venue
// proposes a lock pair in our channel, unasked, naming the fill it settles by its log sequence
// number. We fetch that fill and its maker's and taker's order entries from the venue's log, each
// proven included in a checkpoint the venue signed, and countersign only if the pair is exactly that
// fill's legs for one of the orders we placed (the pure check, protocol/trading/fill-locks.ts); we
// count what it takes of the order, and the fill, so that the venue cannot settle more than we signed.
// The pair's resolution (with the secret) and expiry are countersigned like any lock's. Orders are
// known to the TradingClient that placed them, in memory: a restarted client refuses pairs of orders
// it placed before.
import { ProtocolError, type Address, type Bytes32, type Eip712Domain, type Lock } from "../protocol/index.js";
import { chargeOfNamedFill, type OwnOrder, type PlacedOrder } from "../protocol/trading/fill-locks.js";
import { isTradingError } from "../protocol/trading/errors.js";
import type { LogEntry } from "../protocol/trading/log-entry.js";
import { orderHashOf, type Order } from "../protocol/trading/order.js";
import type { Checkpoint, SignedCheckpoint } from "../protocol/trading/receipt.js";
import { isClientError } from "./errors.js";

/** Told of a venue lock pair naming fill `fill`: true when it settles that fill of an order it holds (and counts it). */
export interface FillApprover {
  approve(assets: readonly Address[], locks: readonly [Lock, Lock], fill: bigint): Promise<boolean>;
}

/** INVALID_UPDATE unless the pair names a fill and one of `approvers` takes the pair. */
export async function approveFillLocks(approvers: Iterable<FillApprover>, assets: readonly Address[], locks: readonly [Lock, Lock], fill: bigint | undefined): Promise<void> {
  if (fill === undefined) throw new ProtocolError("INVALID_UPDATE", "the venue's lock pair names no fill");
  for (const approver of approvers) if (await approver.approve(assets, locks, fill)) return;
  throw new ProtocolError("INVALID_UPDATE", `the venue's lock pair settles fill ${fill}, which is of no order we placed`);
}

/** What OwnOrders reads of the venue's log (TradingClient). */
export interface VenueLog {
  /** The venue's order domain: our orders' hashes in it. */
  readonly domain: Eip712Domain;
  /** The venue's checkpoint of its log now, its signature checked. */
  checkpoint(): Promise<SignedCheckpoint>;
  /** The entry at `sequence`, proven included in the log of `checkpoint` (NODE_MISBEHAVED otherwise). */
  provenEntry(sequence: bigint, checkpoint: Checkpoint): Promise<LogEntry>;
}

/** The orders a TradingClient placed, how much of each lock pairs took, and the fills charged. */
export class OwnOrders implements FillApprover {
  private readonly orders: (OwnOrder & { readonly orderHash: Bytes32 })[] = [];
  private readonly charged = new Set<bigint>();

  constructor(private readonly log: VenueLog) {}

  add(order: Order): void {
    this.orders.push({ order, orderHash: orderHashOf(order, this.log.domain), committed: 0n });
  }

  async approve(assets: readonly Address[], locks: readonly [Lock, Lock], sequence: bigint): Promise<boolean> {
    if (this.orders.length === 0) return false;
    try {
      const { checkpoint } = await this.log.checkpoint();
      const fill = await this.log.provenEntry(sequence, checkpoint);
      if (fill.kind !== "fill") throw new ProtocolError("INVALID_UPDATE", `the venue's log entry ${sequence} is no fill (${fill.kind})`);
      // Ours by the order entries the fill names: the venue may propose before our receipt is checked.
      const placed: (PlacedOrder & { readonly own: number })[] = [];
      for (const orderSequence of [fill.makerSequence, fill.takerSequence]) {
        const entry = await this.log.provenEntry(orderSequence, checkpoint);
        if (entry.kind !== "order") throw new ProtocolError("INVALID_UPDATE", `fill ${sequence} names log entry ${orderSequence} as an order, which is no order (${entry.kind})`);
        const own = this.orders.findIndex(({ orderHash }) => orderHash === orderHashOf(entry.signed.order, this.log.domain));
        if (own >= 0) placed.push({ ...this.orders[own]!, sequence: orderSequence, own });
      }
      if (placed.length === 0) return false;
      // No await from the check to the count: concurrent pairs (other channels) see each other's charges.
      const { index, quantity } = chargeOfNamedFill(assets, locks, fill, placed, this.charged);
      const own = placed[index]!.own;
      this.orders[own] = { ...this.orders[own]!, committed: this.orders[own]!.committed + quantity };
      this.charged.add(sequence);
      return true;
    } catch (error) {
      if (isTradingError(error)) throw new ProtocolError("INVALID_UPDATE", `${error.code}: ${error.message}`);
      // A log the node refuses to show or cannot prove: refused. A lost connection: left unanswered (offered again).
      if (isClientError(error, "REJECTED") || isClientError(error, "NODE_MISBEHAVED")) throw new ProtocolError("INVALID_UPDATE", `fill ${sequence} does not check out in the venue's log: ${error.message}`);
      throw error;
    }
  }
}
