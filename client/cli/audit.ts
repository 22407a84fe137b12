// `clearline receipts audit`: fetches the venue's whole order log, checks it against the venue's
// signed checkpoint (same size, same Merkle root), and replays the book of the deployment's market
// with the priority audit of the matching mode the checkpoint signs (`auditPriority` for the
// built-in book, `auditExternalPriority` for an external engine), reporting every price–time
// priority violation (docs/trading.md).
import { hexToBytes } from "@noble/hashes/utils.js";
import { auditExternalPriority, auditPriority, decodeEntry, entryLeafHash, rootOf, type LogEntry, type Market, type MatchingMode, type Violation } from "../protocol/trading/index.js";
import type { TradingClient } from "../sdk/trading.js";
import { CliError } from "./errors.js";

export interface Audit {
  readonly size: bigint;
  readonly root: string;
  /** How the venue matches, as its checkpoint signs it: the audit that was run. */
  readonly matching: MatchingMode;
  /** Entries of this market's book among them. */
  readonly entries: number;
  readonly violations: readonly Violation[];
}

/**
 * Fetches entries 0 … size − 1 (at most `maxEntries`), checks them against the checkpoint and audits
 * `market`'s book as the checkpoint says it is matched: on arrival by the built-in book, or later by
 * an external engine. `expected`, when given, must be that mode (MATCHING_MISMATCH otherwise).
 */
export async function auditLog(trading: TradingClient, market: Market, maxEntries: number, expected?: MatchingMode): Promise<Audit> {
  const { checkpoint } = await trading.checkpoint();
  const { matching } = checkpoint;
  if (expected !== undefined && expected !== matching) {
    throw new CliError("MATCHING_MISMATCH", `--matching ${expected}, but the venue signed in its checkpoint that it matches with ${matching === "external" ? "an external engine" : "its built-in book"} (${matching})`, { expected, announced: matching });
  }
  if (checkpoint.size > BigInt(maxEntries)) {
    throw new CliError("LOG_TOO_LARGE", `the venue's log has ${checkpoint.size} entries, more than --max-entries ${maxEntries}`, { size: checkpoint.size });
  }
  const entries: LogEntry[] = [];
  while (BigInt(entries.length) < checkpoint.size) {
    const page = await trading.logEntries(BigInt(entries.length), Math.min(1_000, Number(checkpoint.size) - entries.length));
    if (page.length === 0) throw new CliError("NOT_IN_LOG", `the venue's log ends at ${entries.length} entries, its checkpoint says ${checkpoint.size}`);
    for (const bytes of page) {
      let entry: LogEntry;
      try {
        entry = decodeEntry(bytes);
      } catch (error) {
        throw new CliError("NOT_IN_LOG", `the venue's log entry ${entries.length} cannot be read: ${(error as Error).message}`);
      }
      if (entry.sequence !== BigInt(entries.length)) throw new CliError("NOT_IN_LOG", `the venue sent entry ${entry.sequence} at position ${entries.length}`);
      entries.push(entry);
    }
  }
  const root = rootOf(entries.slice(0, Number(checkpoint.size)).map(entryLeafHash));
  if (Buffer.compare(Buffer.from(root), Buffer.from(hexToBytes(checkpoint.root.slice(2)))) !== 0) {
    throw new CliError("NOT_IN_LOG", `the venue's log entries do not have the root of its signed checkpoint (${checkpoint.size} entries)`);
  }
  const ours = ofMarket(entries.slice(0, Number(checkpoint.size)), market);
  return { size: checkpoint.size, root: checkpoint.root, matching, entries: ours.length, violations: (matching === "external" ? auditExternalPriority : auditPriority)(ours, market) };
}

/** The entries of one market's book: its orders, the cancels of them and the fills between them. */
function ofMarket(entries: readonly LogEntry[], market: Market): LogEntry[] {
  const orders = new Set<bigint>();
  const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
  return entries.filter((entry) => {
    switch (entry.kind) {
      case "order": {
        const mine = same(entry.signed.order.security, market.security) && same(entry.signed.order.cash, market.cash);
        if (mine) orders.add(entry.sequence);
        return mine;
      }
      case "fill":
        return orders.has(entry.takerSequence);
      default:
        return orders.has(entry.target);
    }
  });
}
