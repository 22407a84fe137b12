// The venue's order log on disk: one LevelDB of canonical entry bytes keyed by sequence number. An
// append is one synced batch, so an entry is on disk before the venue answers for it; a restart reads
// the entries back in order and replays them (books.ts).
import { Level } from "level";
import { decodeEntry, encodeEntry, type LogEntry } from "../../../client/protocol/trading/log-entry.js";

/** What the desk needs of its log's storage; LevelOrderLog is the real one. */
export interface OrderLogStore {
  /** Every entry, by sequence number from 0. */
  entries(): Promise<LogEntry[]>;
  /** At most `count` entries' canonical bytes from sequence number `from` on. */
  segment(from: bigint, count: number): Promise<Uint8Array[]>;
  /** Appends entries durably (synced) and in one write: all or none. */
  append(entries: readonly LogEntry[]): Promise<void>;
  close(): Promise<void>;
}

// Fixed-width hex keys sort like the numbers they encode.
const keyOf = (sequence: bigint): string => sequence.toString(16).padStart(16, "0");
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString("hex");

export class LevelOrderLog implements OrderLogStore {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(path: string): Promise<LevelOrderLog> {
    const db = new Level<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await db.open();
    return new LevelOrderLog(db);
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
    await this.db.batch(
      entries.map((entry) => ({ type: "put" as const, key: keyOf(entry.sequence), value: toHex(encodeEntry(entry)) })),
      { sync: true },
    );
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
