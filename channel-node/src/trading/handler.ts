// Puts the trading desk beside the channel engine on the transport: trading messages go to the desk
// (or are refused TRADING_DISABLED when the node has no trading configured), the rest to the engine.
//
// Reads — inclusion and consistency proofs, log entries, checkpoints (what an investor's SDK asks,
// about seven of them, before it countersigns a fill's lock pair), a book's depth and the investor's
// own orders and fills — are answered here, outside the desk's queue (proofs from the log store's
// stored subtrees, O(log² n) a proof; depth and own trading from the desk's books as committed) and
// with their own per-investor budget (`readRate`, READ_RATE_LIMITED): a burst of them neither uses
// the order budget nor waits in front of orders, and is itself bounded (docs/trading.md, "Reads").
import { PROTOCOL_VERSION, type ClientMessage, type NodeMessage } from "../../../client/protocol/wire.js";
import { consistencyProofFrom, inclusionProofFrom, type SubtreeSource } from "../../../client/protocol/trading/merkle.js";
import { hashHex } from "../../../client/protocol/trading/receipt.js";
import type { Address } from "../../../client/protocol/types.js";
import { countRejection, type NodeMetrics } from "../metrics.js";
import { TokenBucket } from "../rate-limit.js";
import type { Session, SessionHandler } from "../transport.js";
import { TradingDesk } from "./desk.js";
import { refusalOf } from "./errors.js";
import type { OrderLogStore } from "./log-store.js";

export interface ReadRate {
  readonly perSecond: number;
  readonly burst: number;
}

/** Per investor: enough for a few dozen fills' checks at once, and an auditor paging the log. */
export const DEFAULT_READ_RATE: ReadRate = { perSecond: 100, burst: 400 };

export interface TradingReads {
  /** The desk's log store: proofs and entries are read from it. */
  readonly log: OrderLogStore;
  /** Reads per investor (READ_RATE_LIMITED beyond). */
  readonly rate: ReadRate;
  readonly metrics: NodeMetrics;
  /** Wall-clock milliseconds, for the buckets. */
  readonly clock: () => number;
}

type Read = Extract<ClientMessage, { type: "log_inclusion" | "log_consistency" | "log_entries" | "log_checkpoint" | "book_depth" | "my_trading" }>;
const READS: ReadonlySet<string> = new Set(["log_inclusion", "log_consistency", "log_entries", "log_checkpoint", "book_depth", "my_trading"]);
const isRead = (message: ClientMessage): message is Read => READS.has(message.type);

/** Most entries one log_entries answer carries. */
const MAX_ENTRIES = 1_000;

/** `reads`: serve reads here with their own budget; none: the desk serves them on its order budget. */
export function withTrading(engine: SessionHandler, desk: TradingDesk | undefined, reads?: TradingReads): SessionHandler {
  const served = desk === undefined || reads === undefined ? undefined : new Reads(desk, reads);
  return {
    onAuthenticated(session) {
      engine.onAuthenticated(session);
      desk?.onAuthenticated(session);
    },
    onClosed(session) {
      engine.onClosed(session);
      desk?.onClosed(session);
    },
    async onMessage(session, message) {
      if (!TradingDesk.handles(message)) return engine.onMessage(session, message);
      if (served !== undefined && isRead(message)) return served.serve(session, message);
      if (desk !== undefined) return desk.onMessage(session, message);
      session.send({ v: PROTOCOL_VERSION, type: "order_refused", id: message.id, code: "TRADING_DISABLED", message: "this venue takes no orders" });
    },
  };
}

/** A proof index from the wire: beyond a safe integer it cannot be in the log (the core refuses -1). */
const indexOf = (value: string): number => (BigInt(value) <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : -1);

/** Answers reads: of the log from the stored tree, up to the desk's log (what its checkpoints and receipts cover); of the books from the desk. */
class Reads {
  private readonly buckets = new Map<Address, TokenBucket>();

  constructor(
    private readonly desk: TradingDesk,
    private readonly options: TradingReads,
  ) {}

  async serve(session: Session, message: Read): Promise<void> {
    const { metrics } = this.options;
    if (!this.take(session.address)) {
      const { perSecond, burst } = this.options.rate;
      metrics.boundRefusals.inc({ reason: "READ_RATE_LIMITED" });
      countRejection(metrics, { code: "READ_RATE_LIMITED" });
      session.send({ v: PROTOCOL_VERSION, type: "order_refused", id: message.id, code: "READ_RATE_LIMITED", message: `more than ${perSecond} reads per second (burst ${burst}) from ${session.address}` });
      return;
    }
    try {
      session.send(await this.answer(session.address, message));
    } catch (error) {
      const refusal = refusalOf(error);
      countRejection(metrics, refusal);
      session.send({ v: PROTOCOL_VERSION, type: "order_refused", id: message.id, ...refusal });
    }
  }

  private take(investor: Address): boolean {
    const { perSecond, burst } = this.options.rate;
    const now = this.options.clock();
    let bucket = this.buckets.get(investor);
    if (bucket === undefined) this.buckets.set(investor, (bucket = new TokenBucket(perSecond, burst, now)));
    return bucket.take(now);
  }

  private async answer(investor: Address, message: Read): Promise<NodeMessage> {
    const size = this.desk.size;
    const tree = this.options.log.tree;
    // The desk's log: the store's may hold an append the desk has not taken in yet.
    const view: SubtreeSource = { size, root: (from, to) => tree.root(from, to) };
    const proof = (path: readonly Uint8Array[], of: number): NodeMessage => ({ v: PROTOCOL_VERSION, type: "log_proof", id: message.id, proof: path.map(hashHex), size: of.toString(), root: hashHex(tree.rootOf(of)) });
    switch (message.type) {
      case "log_inclusion": {
        const of = message.size === undefined ? size : indexOf(message.size);
        return proof(inclusionProofFrom(view, indexOf(message.sequence), of), of);
      }
      case "log_consistency": {
        const of = message.second === undefined ? size : indexOf(message.second);
        return proof(consistencyProofFrom(view, indexOf(message.first), of), of);
      }
      case "log_entries": {
        const from = BigInt(message.from);
        const left = from >= BigInt(size) ? 0 : Number(BigInt(size) - from);
        const count = Math.min(left, MAX_ENTRIES, message.count ?? MAX_ENTRIES);
        const entries = count === 0 ? [] : await this.options.log.segment(from, count);
        return { v: PROTOCOL_VERSION, type: "log_entries", id: message.id, from: message.from, entries: entries.map((bytes) => `0x${Buffer.from(bytes).toString("hex")}`) };
      }
      case "log_checkpoint":
        return this.desk.checkpointMessage(message.id);
      case "book_depth":
        return this.desk.depth(message.id, message.security, message.cash, message.levels ?? 20);
      case "my_trading":
        return this.desk.myTrading(message.id, investor, message.limit ?? 100);
    }
  }
}
