// The venue's order log on disk: one LevelDB of canonical entry bytes keyed by sequence number. An
// append is one synced batch, so an entry is on disk before the venue answers for it; a restart reads
// the entries back in order and replays them (books.ts). Beside it, in memory, the perfect subtrees
// of the durable entries' Merkle tree (subtree-levels.ts), from which proofs are read in O(log² n).
import { Level } from "level";
import { decodeEntry, encodeEntry, type LogEntry } from "../../../client/protocol/trading/log-entry.js";
import { leafHash } from "../../../client/protocol/trading/merkle.js";
import { SubtreeLevels } from "../../../client/protocol/trading/subtree-levels.js";

/** What the desk needs of its log's storage; LevelOrderLog is the real one. */
export interface OrderLogStore {
  /** Every entry, by sequence number from 0. */
  entries(): Promise<LogEntry[]>;
  /** At most `count` entries' canonical bytes from sequence number `from` on. */
  segment(from: bigint, count: number): Promise<Uint8Array[]>;
  /** Appends entries durably (synced) and in one write: all or none. */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** The Merkle tree of the durable entries (grows once an append resolves). */
  readonly tree: SubtreeLevels;
  close(): Promise<void>;
}

// Fixed-width hex keys sort like the numbers they encode.
const keyOf = (sequence: bigint): string => sequence.toString(16).padStart(16, "0");
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export class LevelOrderLog implements OrderLogStore {
  readonly tree = new SubtreeLevels();

  private constructor(private readonly db: Level<string, string>) {}

  static async open(path: string): Promise<LevelOrderLog> {
    const db = new Level<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await db.open();
    const log = new LevelOrderLog(db);
    for await (const value of db.values()) log.tree.append(leafHash(new Uint8Array(Buffer.from(value, "hex"))));
    return log;
  }

  async entries(): Promise<LogEntry[]> {
    const entries: LogEntry[] = [];
    for await (const [key, value] of this.db.iterator()) {
      const entry = decodeEntry(new Uint8Array(Buffer.from(value, "hex")));
      if (keyOf(entry.sequence) !== key) throw new Error(`order log corrupt: entry ${entry.sequence} stored under ${key}`);
      entries.push(entry);
    }
    return entries;
  }

  async segment(from: bigint, count: number): Promise<Uint8Array[]> {
    const out: Uint8Array[] = [];
    for await (const value of this.db.values({ gte: keyOf(from), limit: count })) out.push(new Uint8Array(Buffer.from(value, "hex")));
    return out;
  }

  async append(entries: readonly LogEntry[]): Promise<void> {
    entries.forEach((entry, i) => {
      if (entry.sequence !== BigInt(this.tree.size + i)) throw new Error(`order log append out of order: entry ${entry.sequence} after ${this.tree.size + i} entries`);
    });
    const encoded = entries.map(encodeEntry);
    await this.db.batch(
      entries.map((entry, i) => ({ type: "put" as const, key: keyOf(entry.sequence), value: toHex(encoded[i]!) })),
      { sync: true },
    );
    for (const bytes of encoded) this.tree.append(leafHash(bytes));
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
