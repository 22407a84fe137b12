/**
 * The wire (JSON) form of signed orders and cancels: bigints as decimal strings, addresses with a
 * valid EIP-55 checksum (or all one case), hex normalised to lowercase. Parsing turns a bad shape
 * into MALFORMED and a value outside its type into OUT_OF_RANGE.
 */
import { z } from "zod";
import { checksumAddress } from "../address.js";
import type { Address } from "../types.js";
import { TradingError } from "./errors.js";
import { checkOrderBounds, type Order, type SignedCancel, type SignedOrder } from "./order.js";

// 80 digits hold any uint256; the bound keeps a hostile peer from making us parse huge numbers.
const unsigned = z.string().regex(/^(0|[1-9][0-9]{0,79})$/, "an unsigned decimal string").transform(BigInt);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an address")
  .refine((s) => checksumAddress(s) !== null, "an address with a valid checksum")
  .transform((s) => checksumAddress(s) as Address);
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "32 bytes of hex")
  .transform((s) => s.toLowerCase());
const signature = z
  .string()
  .regex(/^0x[0-9a-fA-F]{130}$/, "a 65-byte signature")
  .transform((s) => s.toLowerCase());

export const orderJsonSchema = z.strictObject({
  investor: address,
  security: address,
  cash: address,
  side: z.enum(["buy", "sell"]),
  quantity: unsigned,
  price: unsigned,
  lotSize: unsigned,
  timeInForce: z.enum(["GTC", "IOC"]),
  expiresAt: unsigned,
  clientOrderId: bytes32,
  nonce: unsigned,
});

export const signedOrderJsonSchema = z.strictObject({ order: orderJsonSchema, signature });

export const signedCancelJsonSchema = z.strictObject({
  cancel: z.strictObject({ investor: address, orderHash: bytes32 }),
  signature,
});

export type OrderJson = z.input<typeof orderJsonSchema>;
export type SignedOrderJson = z.input<typeof signedOrderJsonSchema>;
export type SignedCancelJson = z.input<typeof signedCancelJsonSchema>;

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new TradingError("MALFORMED", `malformed ${what}: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function orderToJson(order: Order): OrderJson {
  return {
    ...order,
    quantity: order.quantity.toString(),
    price: order.price.toString(),
    lotSize: order.lotSize.toString(),
    expiresAt: order.expiresAt.toString(),
    nonce: order.nonce.toString(),
  };
}

export function signedOrderToJson(signed: SignedOrder): SignedOrderJson {
  return { order: orderToJson(signed.order), signature: signed.signature };
}

/** Parses a signed order from the wire: MALFORMED for a bad shape, OUT_OF_RANGE for a field outside its type. */
export function signedOrderFromJson(value: unknown): SignedOrder {
  const signed = parse(signedOrderJsonSchema, value, "signed order");
  checkOrderBounds(signed.order);
  return signed;
}

export function signedCancelToJson(signed: SignedCancel): SignedCancelJson {
  return { cancel: { ...signed.cancel }, signature: signed.signature };
}

/** Parses a signed cancel from the wire: MALFORMED for a bad shape. */
export function signedCancelFromJson(value: unknown): SignedCancel {
  return parse(signedCancelJsonSchema, value, "signed cancel");
}
