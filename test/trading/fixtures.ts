/** Shared data of the trading tests: a market, two investors' keys, a domain, and order arbitraries. */
import fc from "fast-check";
import { getAddress, hexlify } from "ethers";
import { NobleSigner, UINT128_MAX, UINT64_MAX, type Address, type Bytes32 } from "../../client/protocol/index.js";
import { ordersDomainOf, type Market, type Order } from "../../client/protocol/trading/index.js";

export const SECURITY: Address = "0x3000000000000000000000000000000000000003";
export const CASH: Address = "0x6000000000000000000000000000000000000006";
export const ANCHOR: Address = "0x7000000000000000000000000000000000000007";
export const CHAIN_ID = 31_337n;
export const DOMAIN = ordersDomainOf(CHAIN_ID, ANCHOR);
/** One lot is 1,000 raw units of the security. */
export const MARKET: Market = { security: SECURITY, cash: CASH, lotSize: 1_000n };
export const NOW = 1_700_000_000n;

export const alice = new NobleSigner(`0x${"a1".repeat(32)}`);
export const bob = new NobleSigner(`0x${"b2".repeat(32)}`);
export const venue = new NobleSigner(`0x${"c3".repeat(32)}`);

export function order(overrides: Partial<Order> = {}): Order {
  return {
    investor: alice.address,
    security: SECURITY,
    cash: CASH,
    side: "buy",
    quantity: 5_000n,
    price: 1_250_000n,
    lotSize: MARKET.lotSize,
    timeInForce: "GTC",
    expiresAt: 0n,
    clientOrderId: `0x${"0f".repeat(32)}`,
    nonce: 1n,
    ...overrides,
  };
}

export const address: fc.Arbitrary<Address> = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((bytes) => getAddress(hexlify(bytes)));
export const bytes32: fc.Arbitrary<Bytes32> = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((bytes) => hexlify(bytes));
const uint128 = fc.oneof(fc.constantFrom(0n, 1n, UINT128_MAX), fc.bigInt({ min: 0n, max: UINT128_MAX }));
const uint64 = fc.oneof(fc.constantFrom(0n, 1n, UINT64_MAX), fc.bigInt({ min: 0n, max: UINT64_MAX }));

/** Any order whose fields are in their Solidity ranges (not necessarily valid for a market). */
export const anyOrder: fc.Arbitrary<Order> = fc.record({
  investor: address,
  security: address,
  cash: address,
  side: fc.constantFrom("buy" as const, "sell" as const),
  quantity: uint128,
  price: uint128,
  lotSize: uint128,
  timeInForce: fc.constantFrom("GTC" as const, "IOC" as const),
  expiresAt: uint64,
  clientOrderId: bytes32,
  nonce: uint64,
});

/** Freezes a value and everything in it: any later write throws (ES modules are strict). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
