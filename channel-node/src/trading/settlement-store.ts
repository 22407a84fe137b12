// Where the venue keeps each fill's settlement (docs/trading.md, "Settlement"): its own LevelDB
// (`<dataDir>/settlements`), one synced write per change, so that the secret is on disk before any
// lock under its hashlock is proposed, and the decision to reveal it or to give up is on disk before
// it is acted on. The order log itself is never rewritten: a fill's settlement is not a log entry.
import { Level } from "level";
import { z } from "zod";
import type { Bytes32 } from "../../../client/protocol/types.js";

/**
 * - `locking`: the secret is drawn; the venue proposes the lock pairs (and waits for both);
 * - `revealed`: both pairs were agreed; the venue resolves them with the secret (on chain if it must);
 * - `settled`: no lock under the hashlock is left in either channel: both legs moved;
 * - `failed`: the venue gave up before revealing; every pair agreed expires back to its senders.
 */
export const SETTLEMENT_STAGES = ["locking", "revealed", "settled", "failed"] as const;
export type SettlementStage = (typeof SETTLEMENT_STAGES)[number];

export interface SettlementRecord {
  /** The fill's sequence number in the order log. */
  readonly fill: bigint;
  readonly secret: Bytes32;
  readonly hashlock: Bytes32;
  /** Expiry of all four locks (chain time, unix seconds). */
  readonly expiry: bigint;
  readonly sellerChannel: Bytes32 | null;
  readonly buyerChannel: Bytes32 | null;
  readonly stage: SettlementStage;
  /** Why it failed (a stable code). */
  readonly reason?: string;
  /** Wall-clock milliseconds when the secret was drawn. */
  readonly createdAt: number;
}

const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const recordSchema = z.strictObject({
  fill: z.string().regex(/^[0-9]+$/),
  secret: bytes32,
  hashlock: bytes32,
  expiry: z.string().regex(/^[0-9]+$/),
  sellerChannel: bytes32.nullable(),
  buyerChannel: bytes32.nullable(),
  stage: z.enum(SETTLEMENT_STAGES),
  reason: z.string().optional(),
  createdAt: z.number(),
});

const keyOf = (fill: bigint): string => fill.toString(16).padStart(16, "0");

export interface SettlementStore {
  records(): Promise<SettlementRecord[]>;
  /** Stores (or replaces) the record durably before it resolves. */
  put(record: SettlementRecord): Promise<void>;
  close(): Promise<void>;
}

export class LevelSettlementStore implements SettlementStore {
  private constructor(private readonly db: Level<string, string>) {}

  static async open(path: string): Promise<LevelSettlementStore> {
    const db = new Level<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await db.open();
    return new LevelSettlementStore(db);
  }

  async records(): Promise<SettlementRecord[]> {
    const out: SettlementRecord[] = [];
    for await (const value of this.db.values()) {
      const r = recordSchema.parse(JSON.parse(value));
      out.push({ ...r, fill: BigInt(r.fill), expiry: BigInt(r.expiry) } as SettlementRecord);
    }
    return out;
  }

  put(record: SettlementRecord): Promise<void> {
    const value = JSON.stringify({ ...record, fill: record.fill.toString(), expiry: record.expiry.toString() });
    return this.db.put(keyOf(record.fill), value, { sync: true });
  }

  close(): Promise<void> {
    return this.db.close();
  }
}
