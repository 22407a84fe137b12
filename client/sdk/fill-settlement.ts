// The investor's side of a fill's settlement (docs/protocol.md, "Settlement of a fill"): the venue
// proposes a lock pair in our channel, unasked, naming the fill it settles by its log sequence
// number. We fetch that fill and its maker's and taker's order entries from the venue's log, each
// proven included in a checkpoint the venue signed, and countersign only if the pair is exactly that
// fill's legs for one of our own orders (the pure check, protocol/trading/fill-locks.ts).
//
// Our orders are recognised in the log, not remembered: an order entry is ours when it is signed by
// our key (the entry carries the signed order), so a restarted client or another process with our
// key settles fills of orders placed before. What lock pairs took of each order, and which fills
// were charged, is kept in the client's store (store/fill-charges.ts), written before the
// countersignature leaves: the venue cannot settle more than we signed, across restarts too
// (docs/trading.md, "The investor's side after a restart").
import { ProtocolError, type Address, type Bytes32, type Eip712Domain, type Lock, type Verifier } from "../protocol/index.js";
import { chargeOfNamedFill, type PlacedOrder } from "../protocol/trading/fill-locks.js";
import { isTradingError } from "../protocol/trading/errors.js";
import type { LogEntry, OrderEntry } from "../protocol/trading/log-entry.js";
import { verifySignedOrder } from "../protocol/trading/order.js";
import type { Checkpoint, SignedCheckpoint } from "../protocol/trading/receipt.js";
import type { FillCharge, FillChargeTable } from "../store/fill-charges.js";
import { isClientError } from "./errors.js";

/** Told of a venue lock pair naming fill `fill`: true when it settles that fill of an order of ours (and counts it). */
export interface FillApprover {
  approve(assets: readonly Address[], locks: readonly [Lock, Lock], fill: bigint): Promise<boolean>;
}

/** INVALID_UPDATE unless the pair names a fill and one of `approvers` takes the pair. */
export async function approveFillLocks(approvers: Iterable<FillApprover>, assets: readonly Address[], locks: readonly [Lock, Lock], fill: bigint | undefined): Promise<void> {
  if (fill === undefined) throw new ProtocolError("INVALID_UPDATE", "the venue's lock pair names no fill");
  for (const approver of approvers) if (await approver.approve(assets, locks, fill)) return;
  throw new ProtocolError("INVALID_UPDATE", `the venue's lock pair settles fill ${fill}, which is of no order we signed`);
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

/**
 * The fills charged in one venue's log and what they took of each of our orders: loaded once from
 * the store, counted in memory at once (concurrent pairs in other channels see each other's
 * charges) and stored durably. One per log and client, shared by its TradingClients.
 */
export class ChargeBook {
  private loading: Promise<void> | undefined;
  private readonly fills = new Set<bigint>();
  private readonly taken = new Map<Bytes32, bigint>();

  /** `table`: the client's store; none keeps the charges in memory only. */
  constructor(
    readonly log: Address,
    private readonly table: FillChargeTable | undefined,
  ) {}

  /** Reads the stored charges (once; again after a failed read). */
  load(): Promise<void> {
    this.loading ??= (async () => {
      for (const charge of (await this.table?.fillCharges(this.log)) ?? []) this.count(charge);
    })().catch((error: unknown) => {
      this.loading = undefined;
      throw error;
    });
    return this.loading;
  }

  get charged(): ReadonlySet<bigint> {
    return this.fills;
  }

  /** What lock pairs took of the order so far. */
  committedOf(orderHash: Bytes32): bigint {
    return this.taken.get(orderHash) ?? 0n;
  }

  /** Counts the charge now, then stores it; resolves once it is durable. */
  charge(fill: bigint, orderHash: Bytes32, quantity: bigint): Promise<void> {
    const charge: FillCharge = { log: this.log, fill, orderHash, quantity };
    this.count(charge);
    return this.table?.fillCharged(charge) ?? Promise.resolve();
  }

  private count(charge: FillCharge): void {
    this.fills.add(charge.fill);
    this.taken.set(charge.orderHash, this.committedOf(charge.orderHash) + charge.quantity);
  }
}

/** Approves a venue's lock pair for a fill of an order signed by `investor`, within what is left of it. */
export class OwnOrders implements FillApprover {
  constructor(
    private readonly log: VenueLog,
    private readonly investor: Address,
    private readonly verifier: Verifier,
    private readonly charges: ChargeBook,
  ) {}

  async approve(assets: readonly Address[], locks: readonly [Lock, Lock], sequence: bigint): Promise<boolean> {
    try {
      await this.charges.load();
      const { checkpoint } = await this.log.checkpoint();
      const fill = await this.log.provenEntry(sequence, checkpoint);
      if (fill.kind !== "fill") throw new ProtocolError("INVALID_UPDATE", `the venue's log entry ${sequence} is no fill (${fill.kind})`);
      const ours: { entry: OrderEntry; orderHash: Bytes32 }[] = [];
      for (const orderSequence of [fill.makerSequence, fill.takerSequence]) {
        const entry = await this.log.provenEntry(orderSequence, checkpoint);
        if (entry.kind !== "order") throw new ProtocolError("INVALID_UPDATE", `fill ${sequence} names log entry ${orderSequence} as an order, which is no order (${entry.kind})`);
        // Ours only with our own signature: an entry in our name that we did not sign is BAD_SIGNATURE.
        if (entry.signed.order.investor === this.investor) ours.push({ entry, orderHash: verifySignedOrder(entry.signed, this.log.domain, this.verifier) });
      }
      if (ours.length === 0) return false;
      // No await from reading what is committed to counting the charge.
      const placed: PlacedOrder[] = ours.map(({ entry, orderHash }) => ({ order: entry.signed.order, sequence: entry.sequence, committed: this.charges.committedOf(orderHash) }));
      const { index, quantity } = chargeOfNamedFill(assets, locks, fill, placed, this.charges.charged);
      await this.charges.charge(sequence, ours[index]!.orderHash, quantity);
      return true;
    } catch (error) {
      if (isTradingError(error)) throw new ProtocolError("INVALID_UPDATE", `${error.code}: ${error.message}`);
      // A log the node refuses to show or cannot prove: refused. A lost connection: left unanswered (offered again).
      if (isClientError(error, "REJECTED") || isClientError(error, "NODE_MISBEHAVED")) throw new ProtocolError("INVALID_UPDATE", `fill ${sequence} does not check out in the venue's log: ${error.message}`);
      throw error;
    }
  }
}
