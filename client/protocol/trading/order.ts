/**
 * Orders and cancels (docs/trading.md). An investor signs an order as EIP-712 typed data under the
 * "Clearline Orders" domain of the venue's OrderLogAnchor contract on its chain; the order hash is
 * that digest. Units: `quantity` is in raw units of the security token and a whole number of lots
 * (`lotSize` raw units each); `price` is raw units of the cash token per lot. So an execution of
 * `quantity` at `price` moves `quantity` security units and `quantity / lotSize × price` cash
 * units, both exact in bigint.
 */
import { ZeroAddress } from "ethers";
import { UINT128_MAX, UINT64_MAX, type Address, type Bytes32, type Eip712Domain, type SignatureHex } from "../types.js";
import type { Signer, Verifier } from "../signing.js";
import { TradingError } from "./errors.js";
import { ORDERS_EIP712_NAME, ORDERS_EIP712_VERSION, typeHashOf, typedDigest } from "./eip712.js";

export type Side = "buy" | "sell";
/** GTC rests until filled, cancelled or expired (`expiresAt`, 0 = never); IOC never rests. */
export type TimeInForce = "GTC" | "IOC";

/** A book: one security against one cash token, in lots of `lotSize` security raw units. */
export interface Market {
  readonly security: Address;
  readonly cash: Address;
  /** Security raw units per lot (≥ 1); prices are per lot. */
  readonly lotSize: bigint;
}

export interface Order {
  readonly investor: Address;
  readonly security: Address;
  readonly cash: Address;
  readonly side: Side;
  /** Security raw units, > 0, a multiple of lotSize (uint128). */
  readonly quantity: bigint;
  /** Limit price: cash raw units per lot, > 0 (uint128). */
  readonly price: bigint;
  /** Security raw units per lot, as the investor saw the market (uint128). */
  readonly lotSize: bigint;
  readonly timeInForce: TimeInForce;
  /** Unix seconds from which the order no longer trades; 0 = no expiry; always 0 for IOC (uint64). */
  readonly expiresAt: bigint;
  /** The investor's own reference, not interpreted by the venue. */
  readonly clientOrderId: Bytes32;
  /** Per-investor order nonce: each accepted order's exceeds the investor's previous one (uint64). */
  readonly nonce: bigint;
}

export interface SignedOrder {
  readonly order: Order;
  readonly signature: SignatureHex;
}

/** A request to take a resting order off the book, signed by the order's investor. */
export interface Cancel {
  readonly investor: Address;
  readonly orderHash: Bytes32;
}

export interface SignedCancel {
  readonly cancel: Cancel;
  readonly signature: SignatureHex;
}

const SIDE_CODE: Record<Side, bigint> = { buy: 0n, sell: 1n };
const TIME_IN_FORCE_CODE: Record<TimeInForce, bigint> = { GTC: 0n, IOC: 1n };

export const ORDER_TYPE =
  "Order(address investor,address security,address cash,uint8 side,uint128 quantity,uint128 price,uint128 lotSize," +
  "uint8 timeInForce,uint64 expiresAt,bytes32 clientOrderId,uint64 nonce)";
export const CANCEL_TYPE = "Cancel(address investor,bytes32 orderHash)";

/** The EIP-712 types of an order and a cancel, in the shape ethers' TypedDataEncoder and signTypedData take. */
export const ORDER_EIP712_TYPES = {
  Order: [
    { name: "investor", type: "address" },
    { name: "security", type: "address" },
    { name: "cash", type: "address" },
    { name: "side", type: "uint8" },
    { name: "quantity", type: "uint128" },
    { name: "price", type: "uint128" },
    { name: "lotSize", type: "uint128" },
    { name: "timeInForce", type: "uint8" },
    { name: "expiresAt", type: "uint64" },
    { name: "clientOrderId", type: "bytes32" },
    { name: "nonce", type: "uint64" },
  ],
};
export const CANCEL_EIP712_TYPES = {
  Cancel: [
    { name: "investor", type: "address" },
    { name: "orderHash", type: "bytes32" },
  ],
};

const ORDER_TYPEHASH = typeHashOf(ORDER_TYPE);
const CANCEL_TYPEHASH = typeHashOf(CANCEL_TYPE);

/** The domain orders, cancels, receipts and checkpoints of a venue are signed under: its OrderLogAnchor on its chain. */
export function ordersDomainOf(chainId: bigint, anchor: Address): Eip712Domain {
  return { name: ORDERS_EIP712_NAME, version: ORDERS_EIP712_VERSION, chainId, verifyingContract: anchor };
}

/** The order as the EIP-712 message (side and time in force as their uint8 codes). */
export function typedOrderOf(order: Order): Record<string, string | bigint> {
  return { ...order, side: SIDE_CODE[order.side], timeInForce: TIME_IN_FORCE_CODE[order.timeInForce] };
}

/** The order hash: the EIP-712 digest the investor signs. Fields must be in range (checkOrderBounds). */
export function orderHashOf(order: Order, domain: Eip712Domain): Bytes32 {
  return typedDigest(domain, ORDER_TYPEHASH, [
    order.investor,
    order.security,
    order.cash,
    SIDE_CODE[order.side],
    order.quantity,
    order.price,
    order.lotSize,
    TIME_IN_FORCE_CODE[order.timeInForce],
    order.expiresAt,
    order.clientOrderId,
    order.nonce,
  ]);
}

/** The EIP-712 digest of a cancel. */
export function cancelHashOf(cancel: Cancel, domain: Eip712Domain): Bytes32 {
  return typedDigest(domain, CANCEL_TYPEHASH, [cancel.investor, cancel.orderHash]);
}

function checkRange(value: bigint, min: bigint, max: bigint, field: string): void {
  if (value < min || value > max) {
    throw new TradingError("OUT_OF_RANGE", `${field} = ${value} is outside ${min}..${max}`, { field, value });
  }
}

/** Throws OUT_OF_RANGE for a field outside its Solidity type. */
export function checkOrderBounds(order: Order): void {
  checkRange(order.quantity, 0n, UINT128_MAX, "quantity");
  checkRange(order.price, 0n, UINT128_MAX, "price");
  checkRange(order.lotSize, 0n, UINT128_MAX, "lotSize");
  checkRange(order.expiresAt, 0n, UINT64_MAX, "expiresAt");
  checkRange(order.nonce, 0n, UINT64_MAX, "nonce");
}

/** Cash raw units for `quantity` security raw units at `price` per lot of `lotSize`: exact when quantity is whole lots. */
export function notionalOf(quantity: bigint, price: bigint, lotSize: bigint): bigint {
  if (lotSize <= 0n || quantity % lotSize !== 0n) {
    throw new TradingError("INVALID_ORDER", `${quantity} is not a whole number of lots of ${lotSize}`, { quantity, lotSize });
  }
  return (quantity / lotSize) * price;
}

/**
 * Throws unless `order` may enter the book of `market` at time `now` (unix seconds):
 * OUT_OF_RANGE (field types; a notional beyond uint128), WRONG_MARKET (security, cash or lot size),
 * INVALID_ORDER (zero investor, zero quantity or price, partial lots, an IOC with an expiry), EXPIRED.
 */
export function validateOrder(order: Order, market: Market, now: bigint): void {
  checkOrderBounds(order);
  if (order.security !== market.security || order.cash !== market.cash || order.lotSize !== market.lotSize) {
    throw new TradingError("WRONG_MARKET", "the order is for another market", {
      security: order.security,
      cash: order.cash,
      lotSize: order.lotSize,
    });
  }
  const invalid = (why: string): never => {
    throw new TradingError("INVALID_ORDER", why);
  };
  if (order.investor === ZeroAddress) invalid("the investor is the zero address");
  if (order.quantity === 0n) invalid("quantity is zero");
  if (order.price === 0n) invalid("price is zero");
  if (order.timeInForce === "IOC" && order.expiresAt !== 0n) invalid("an IOC order has no expiry");
  checkRange(notionalOf(order.quantity, order.price, order.lotSize), 0n, UINT128_MAX, "notional");
  if (order.expiresAt !== 0n && order.expiresAt <= now) {
    throw new TradingError("EXPIRED", `the order expired at ${order.expiresAt}`, { expiresAt: order.expiresAt, now });
  }
}

export function signOrder(order: Order, domain: Eip712Domain, signer: Signer): SignedOrder {
  checkOrderBounds(order);
  return { order, signature: signer.sign(orderHashOf(order, domain)) };
}

export function signCancel(cancel: Cancel, domain: Eip712Domain, signer: Signer): SignedCancel {
  return { cancel, signature: signer.sign(cancelHashOf(cancel, domain)) };
}

/** The order hash of a signed order; BAD_SIGNATURE unless its investor signed it. */
export function verifySignedOrder(signed: SignedOrder, domain: Eip712Domain, verifier: Verifier): Bytes32 {
  checkOrderBounds(signed.order);
  const orderHash = orderHashOf(signed.order, domain);
  if (!verifier.verify(orderHash, signed.signature, signed.order.investor)) {
    throw new TradingError("BAD_SIGNATURE", "the order is not signed by its investor", { orderHash });
  }
  return orderHash;
}

/** The cancel's digest; BAD_SIGNATURE unless its investor signed it. */
export function verifySignedCancel(signed: SignedCancel, domain: Eip712Domain, verifier: Verifier): Bytes32 {
  const cancelHash = cancelHashOf(signed.cancel, domain);
  if (!verifier.verify(cancelHash, signed.signature, signed.cancel.investor)) {
    throw new TradingError("BAD_SIGNATURE", "the cancel is not signed by its investor", { cancelHash });
  }
  return cancelHash;
}
