import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { TypedDataEncoder, Wallet, verifyTypedData } from "ethers";
import { UINT128_MAX, UINT64_MAX } from "../../client/protocol/index.js";
import {
  CANCEL_EIP712_TYPES,
  ORDER_EIP712_TYPES,
  cancelHashOf,
  isTradingError,
  notionalOf,
  orderHashOf,
  ordersDomainOf,
  signCancel,
  signOrder,
  signedCancelFromJson,
  signedCancelToJson,
  signedOrderFromJson,
  signedOrderToJson,
  typedOrderOf,
  validateOrder,
  verifySignedCancel,
  verifySignedOrder,
  type Order,
  type TradingErrorCode,
} from "../../client/protocol/trading/index.js";
import { nobleVerifier } from "../../client/protocol/index.js";
import { ANCHOR, CHAIN_ID, DOMAIN, MARKET, NOW, alice, anyOrder, bob, bytes32, order } from "./fixtures.js";

function codeOf(call: () => unknown): TradingErrorCode | "none" {
  try {
    call();
    return "none";
  } catch (error) {
    if (isTradingError(error)) return error.code;
    throw error;
  }
}

describe("order and cancel digests", () => {
  it("equal ethers' EIP-712 hash for any order in range", () => {
    fc.assert(
      fc.property(anyOrder, (o) => {
        expect(orderHashOf(o, DOMAIN)).toBe(TypedDataEncoder.hash(DOMAIN, ORDER_EIP712_TYPES, typedOrderOf(o)));
      }),
      { numRuns: 200 },
    );
  });

  it("equal ethers' EIP-712 hash for cancels", () => {
    fc.assert(
      fc.property(bytes32, (orderHash) => {
        const cancel = { investor: alice.address, orderHash };
        expect(cancelHashOf(cancel, DOMAIN)).toBe(TypedDataEncoder.hash(DOMAIN, CANCEL_EIP712_TYPES, cancel));
      }),
      { numRuns: 50 },
    );
  });

  it("bind the order to the chain and the venue's anchor: another domain gives another hash", () => {
    const o = order();
    const hash = orderHashOf(o, DOMAIN);
    expect(orderHashOf(o, ordersDomainOf(CHAIN_ID + 1n, ANCHOR))).not.toBe(hash);
    expect(orderHashOf(o, ordersDomainOf(CHAIN_ID, alice.address))).not.toBe(hash);
    expect(orderHashOf(o, { ...DOMAIN, name: "Clearline Adjudicator" })).not.toBe(hash);
  });

  it("every field is signed: changing any one changes the hash", () => {
    const o = order();
    const hash = orderHashOf(o, DOMAIN);
    const changed: Partial<Order>[] = [
      { investor: bob.address },
      { security: ANCHOR },
      { cash: ANCHOR },
      { side: "sell" },
      { quantity: o.quantity + 1n },
      { price: o.price + 1n },
      { lotSize: o.lotSize + 1n },
      { timeInForce: "IOC" },
      { expiresAt: 1n },
      { clientOrderId: `0x${"00".repeat(32)}` },
      { nonce: 2n },
    ];
    for (const change of changed) expect(orderHashOf(order(change), DOMAIN), JSON.stringify(Object.keys(change))).not.toBe(hash);
  });
});

describe("signing and verification", () => {
  it("a signed order verifies as the investor's, also by ethers' verifyTypedData", () => {
    const signed = signOrder(order(), DOMAIN, alice);
    expect(verifySignedOrder(signed, DOMAIN, nobleVerifier)).toBe(orderHashOf(signed.order, DOMAIN));
    expect(verifyTypedData(DOMAIN, ORDER_EIP712_TYPES, typedOrderOf(signed.order), signed.signature)).toBe(alice.address);
  });

  it("an order ethers' wallet signed verifies", async () => {
    const wallet = new Wallet(`0x${"a1".repeat(32)}`);
    const o = order({ investor: wallet.address });
    const signature = await wallet.signTypedData(DOMAIN, ORDER_EIP712_TYPES, typedOrderOf(o));
    expect(verifySignedOrder({ order: o, signature }, DOMAIN, nobleVerifier)).toBe(orderHashOf(o, DOMAIN));
  });

  it("refuses another signer, another domain, an altered order, a malformed signature: BAD_SIGNATURE", () => {
    const signed = signOrder(order(), DOMAIN, alice);
    const byBob = signOrder(order(), DOMAIN, bob);
    expect(codeOf(() => verifySignedOrder(byBob, DOMAIN, nobleVerifier))).toBe("BAD_SIGNATURE");
    expect(codeOf(() => verifySignedOrder(signed, ordersDomainOf(1n, ANCHOR), nobleVerifier))).toBe("BAD_SIGNATURE");
    expect(codeOf(() => verifySignedOrder({ ...signed, order: { ...signed.order, price: 1n } }, DOMAIN, nobleVerifier))).toBe(
      "BAD_SIGNATURE",
    );
    expect(codeOf(() => verifySignedOrder({ ...signed, signature: "0x1234" }, DOMAIN, nobleVerifier))).toBe("BAD_SIGNATURE");
  });

  it("cancels: the investor's verifies, anyone else's does not", () => {
    const cancel = { investor: alice.address, orderHash: orderHashOf(order(), DOMAIN) };
    const signed = signCancel(cancel, DOMAIN, alice);
    expect(verifySignedCancel(signed, DOMAIN, nobleVerifier)).toBe(cancelHashOf(cancel, DOMAIN));
    expect(codeOf(() => verifySignedCancel(signCancel(cancel, DOMAIN, bob), DOMAIN, nobleVerifier))).toBe("BAD_SIGNATURE");
    expect(codeOf(() => verifySignedCancel({ ...signed, cancel: { ...cancel, investor: bob.address } }, DOMAIN, nobleVerifier))).toBe(
      "BAD_SIGNATURE",
    );
  });
});

describe("validation", () => {
  it("accepts a good order, GTC with a future expiry, and IOC", () => {
    expect(codeOf(() => validateOrder(order(), MARKET, NOW))).toBe("none");
    expect(codeOf(() => validateOrder(order({ expiresAt: NOW + 1n }), MARKET, NOW))).toBe("none");
    expect(codeOf(() => validateOrder(order({ timeInForce: "IOC", side: "sell" }), MARKET, NOW))).toBe("none");
  });

  it.each<[string, Partial<Order>, TradingErrorCode]>([
    ["quantity beyond uint128", { quantity: UINT128_MAX + 1n }, "OUT_OF_RANGE"],
    ["negative price", { price: -1n }, "OUT_OF_RANGE"],
    ["expiry beyond uint64", { expiresAt: UINT64_MAX + 1n }, "OUT_OF_RANGE"],
    ["nonce beyond uint64", { nonce: UINT64_MAX + 1n }, "OUT_OF_RANGE"],
    ["notional beyond uint128", { quantity: 2_000n, price: UINT128_MAX }, "OUT_OF_RANGE"],
    ["another security", { security: ANCHOR }, "WRONG_MARKET"],
    ["another cash token", { cash: ANCHOR }, "WRONG_MARKET"],
    ["another lot size", { lotSize: 1n }, "WRONG_MARKET"],
    ["zero investor", { investor: "0x0000000000000000000000000000000000000000" }, "INVALID_ORDER"],
    ["zero quantity", { quantity: 0n }, "INVALID_ORDER"],
    ["zero price", { price: 0n }, "INVALID_ORDER"],
    ["a partial lot", { quantity: 1_500n }, "INVALID_ORDER"],
    ["IOC with an expiry", { timeInForce: "IOC", expiresAt: NOW + 10n }, "INVALID_ORDER"],
    ["expiry now", { expiresAt: NOW }, "EXPIRED"],
    ["expiry past", { expiresAt: NOW - 1n }, "EXPIRED"],
  ])("refuses %s", (_why, change, code) => {
    expect(codeOf(() => validateOrder(order(change), MARKET, NOW))).toBe(code);
  });

  it("notional is exact: whole lots times the price per lot", () => {
    expect(notionalOf(5_000n, 1_250_000n, 1_000n)).toBe(6_250_000n);
    expect(notionalOf(UINT128_MAX, 1n, UINT128_MAX)).toBe(1n);
    expect(codeOf(() => notionalOf(999n, 1n, 1_000n))).toBe("INVALID_ORDER");
  });
});

describe("wire form", () => {
  it("round-trips any signed order and cancel", () => {
    fc.assert(
      fc.property(anyOrder, bytes32, (o, orderHash) => {
        const signed = { order: o, signature: `0x${"11".repeat(64)}1b` };
        expect(signedOrderFromJson(JSON.parse(JSON.stringify(signedOrderToJson(signed))))).toEqual(signed);
        const cancel = { cancel: { investor: o.investor, orderHash }, signature: signed.signature };
        expect(signedCancelFromJson(JSON.parse(JSON.stringify(signedCancelToJson(cancel))))).toEqual(cancel);
      }),
      { numRuns: 100 },
    );
  });

  it("normalises addresses to their checksum and hex to lowercase", () => {
    const json = signedOrderToJson(signOrder(order(), DOMAIN, alice));
    const upper = { ...json, order: { ...json.order, investor: json.order.investor.toLowerCase(), clientOrderId: json.order.clientOrderId.toUpperCase().replace("0X", "0x") } };
    const parsed = signedOrderFromJson(upper);
    expect(parsed.order.investor).toBe(alice.address);
    expect(parsed.order.clientOrderId).toBe(order().clientOrderId);
  });

  it("refuses bad shapes with MALFORMED and out-of-range numbers with OUT_OF_RANGE", () => {
    const json = signedOrderToJson(signOrder(order(), DOMAIN, alice));
    const badChecksum = json.order.investor.replace(/[a-f]/, (c) => c.toUpperCase());
    const cases: [unknown, TradingErrorCode][] = [
      [null, "MALFORMED"],
      [{ ...json, extra: 1 }, "MALFORMED"],
      [{ ...json, order: { ...json.order, quantity: 5000 } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, quantity: "-1" } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, quantity: "01" } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, price: "9".repeat(81) } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, side: "short" } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, timeInForce: "FOK" } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, investor: badChecksum } }, "MALFORMED"],
      [{ ...json, order: { ...json.order, clientOrderId: "0x12" } }, "MALFORMED"],
      [{ ...json, signature: "0x12" }, "MALFORMED"],
      [{ ...json, order: { ...json.order, quantity: (UINT128_MAX + 1n).toString() } }, "OUT_OF_RANGE"],
      [{ ...json, order: { ...json.order, nonce: (UINT64_MAX + 1n).toString() } }, "OUT_OF_RANGE"],
    ];
    for (const [value, code] of cases) expect(codeOf(() => signedOrderFromJson(value)), JSON.stringify(value)).toBe(code);
    expect(codeOf(() => signedCancelFromJson({ cancel: { investor: alice.address }, signature: json.signature }))).toBe("MALFORMED");
  });
});
