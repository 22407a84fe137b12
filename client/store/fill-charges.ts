/**
 * The investor's table of fill charges (docs/trading.md, "The investor's side after a restart"): each
 * venue lock pair the client countersigned for a fill of one of its orders, with how much of the
 * order it took. It is what keeps a restarted client from agreeing a second pair for a fill, or
 * pairs beyond an order's quantity. A charge is written durably before the countersignature leaves.
 * Keyed by the venue's order domain (its OrderLogAnchor) and the fill's log sequence number.
 */
import { isAddress } from "ethers";
import { z } from "zod";
import type { Address, Bytes32 } from "../protocol/types.js";
import { StoreError } from "./errors.js";

export interface FillCharge {
  /** The venue's OrderLogAnchor: whose log `fill` is a sequence number of. */
  readonly log: Address;
  /** The fill entry's sequence number in that log. */
  readonly fill: bigint;
  /** Our order the fill is of (EIP-712 digest under the venue's order domain). */
  readonly orderHash: Bytes32;
  /** Raw units of the security the fill took of the order. */
  readonly quantity: bigint;
}

/** What a client store offers for fill charges (LevelStore, MemoryStore). */
export interface FillChargeTable {
  /** Stores a charge durably (resolves once on disk); INVALID_ARGUMENT for a malformed one. The caller charges a fill once. */
  fillCharged(charge: FillCharge): Promise<void>;
  /** Every charge of the log of `log`. */
  fillCharges(log: Address): Promise<readonly FillCharge[]>;
}

export function isFillChargeTable(store: object): store is FillChargeTable {
  return typeof (store as Partial<FillChargeTable>).fillCharged === "function" && typeof (store as Partial<FillChargeTable>).fillCharges === "function";
}

const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/).transform(BigInt);
const chargeSchema = z.strictObject({
  log: z.string().refine(isAddress),
  fill: uint,
  orderHash: z.string().regex(/^0x[0-9a-f]{64}$/),
  quantity: uint,
});

/** INVALID_ARGUMENT unless the charge is well formed (a positive quantity, a 32-byte lowercase hash). */
export function checkFillCharge(charge: FillCharge): void {
  const ok = isAddress(charge.log) && charge.fill >= 0n && charge.quantity > 0n && /^0x[0-9a-f]{64}$/.test(charge.orderHash);
  if (!ok) throw new StoreError("INVALID_ARGUMENT", `malformed fill charge of fill ${charge.fill}`);
}

/** The key of a charge: its log and the fill's sequence number, zero-padded so keys sort by sequence. */
export const fillChargeKey = (log: Address, fill: bigint): string => `fill/${log.toLowerCase()}/${fill.toString().padStart(20, "0")}`;
export const fillChargePrefix = (log: Address): string => `fill/${log.toLowerCase()}/`;

export function encodeFillCharge(charge: FillCharge): string {
  return JSON.stringify({ log: charge.log, fill: charge.fill.toString(), orderHash: charge.orderHash, quantity: charge.quantity.toString() });
}

export function decodeFillCharge(text: string, key: string): FillCharge {
  let parsed;
  try {
    parsed = chargeSchema.parse(JSON.parse(text));
  } catch (cause) {
    throw new StoreError("CORRUPT", `${key} holds no fill charge`, { key }, { cause });
  }
  const charge = { ...parsed, log: parsed.log as Address };
  if (fillChargeKey(charge.log, charge.fill) !== key) throw new StoreError("CORRUPT", `${key} holds the charge of fill ${charge.fill}`, { key });
  return charge;
}
