// The messages between the node and an external matching engine (docs/trading.md, "External
// matching engine"): JSON, bigints as decimal strings. The engine subscribes to the log from a
// sequence number and submits fills; the node streams log entries and answers each fill.
import { z } from "zod";
import { UINT128_MAX } from "../../../../client/protocol/types.js";
import type { LogEntry } from "../../../../client/protocol/trading/log-entry.js";

const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,38})$/, "a non-negative decimal integer")
  .transform((text) => BigInt(text))
  .refine((value) => value <= UINT128_MAX, "beyond uint128");

export const engineMessageSchema = z.discriminatedUnion("type", [
  /** Stream the log's entries from sequence number `from` on (again from there after a reconnect). */
  z.strictObject({ type: z.literal("subscribe"), from: decimal }),
  /** A fill of the maker (the earlier order) and the taker (the later), answered by `id`. */
  z.strictObject({
    type: z.literal("fill"),
    id: z.string().min(1).max(64),
    makerSequence: decimal,
    takerSequence: decimal,
    quantity: decimal,
    price: decimal,
  }),
]);
export type EngineMessage = z.output<typeof engineMessageSchema>;

/** A log entry as the engine reads it: what matching needs, bigints as decimal strings. */
export function entryJson(entry: LogEntry): Record<string, string> {
  const base = { kind: entry.kind, sequence: entry.sequence.toString() };
  switch (entry.kind) {
    case "order": {
      const o = entry.signed.order;
      return {
        ...base,
        receivedAt: entry.receivedAt.toString(),
        investor: o.investor,
        security: o.security,
        cash: o.cash,
        side: o.side,
        quantity: o.quantity.toString(),
        price: o.price.toString(),
        lotSize: o.lotSize.toString(),
        timeInForce: o.timeInForce,
        expiresAt: o.expiresAt.toString(),
      };
    }
    case "cancel":
      return { ...base, receivedAt: entry.receivedAt.toString(), target: entry.target.toString() };
    case "venueCancel":
      return { ...base, receivedAt: entry.receivedAt.toString(), target: entry.target.toString(), reason: entry.reason };
    case "fill":
      return { ...base, makerSequence: entry.makerSequence.toString(), takerSequence: entry.takerSequence.toString(), quantity: entry.quantity.toString(), price: entry.price.toString() };
  }
}
