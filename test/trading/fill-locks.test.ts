// What an investor countersigns of a venue's lock pair (client/protocol/trading/fill-locks.ts and
// client/sdk/fill-settlement.ts): only a fill of one of its own orders — market, side, quantity left,
// exact price within the limit — and never more than the order's quantity over all pairs.
import { describe, expect, it } from "vitest";
import { getAddress, keccak256 } from "ethers";
import { isProtocolError, type Lock } from "../../client/protocol/index.js";
import { chargeOfNamedFill, fillOfPair, type PlacedOrder } from "../../client/protocol/trading/fill-locks.js";
import type { FillEntry } from "../../client/protocol/trading/log-entry.js";
import type { Order } from "../../client/protocol/trading/order.js";
import { OwnOrders, approveFillLocks } from "../../client/sdk/fill-settlement.js";

const SECURITY = getAddress("0x3000000000000000000000000000000000000003");
const CASH = getAddress("0x6000000000000000000000000000000000000006");
const OTHER = getAddress("0x7000000000000000000000000000000000000007");
const ASSETS = [SECURITY, CASH];
const LOT = 10n;
const H = keccak256(`0x${"5e".repeat(32)}`);
const T = 1_700_000_600n;

const order = (overrides: Partial<Order> = {}): Order => ({
  investor: getAddress("0x0b00000000000000000000000000000000000000"),
  security: SECURITY,
  cash: CASH,
  side: "sell",
  quantity: 50n,
  price: 100n,
  lotSize: LOT,
  timeInForce: "GTC",
  expiresAt: 0n,
  clientOrderId: `0x${"00".repeat(32)}`,
  nonce: 1n,
  ...overrides,
});

/** The pair as the venue proposes it to a seller (gives: security) or a buyer (gives: cash). */
function pair(gives: "security" | "cash", quantity: bigint, cash: bigint): readonly [Lock, Lock] {
  const investorSendsSecurity = gives === "security";
  return [
    { assetIndex: 0, sender: investorSendsSecurity ? 1 : 0, amount: quantity, hashlock: H, expiry: T },
    { assetIndex: 1, sender: investorSendsSecurity ? 0 : 1, amount: cash, hashlock: H, expiry: T },
  ];
}

describe("fillOfPair", () => {
  it("takes a fill of a sell at or above its limit, and of a buy at or below it", () => {
    expect(fillOfPair(ASSETS, pair("security", 30n, 300n), [{ order: order(), committed: 0n }])).toEqual({ index: 0, quantity: 30n, price: 100n });
    expect(fillOfPair(ASSETS, pair("security", 30n, 330n), [{ order: order(), committed: 0n }])).toEqual({ index: 0, quantity: 30n, price: 110n });
    const buy = order({ side: "buy" });
    expect(fillOfPair(ASSETS, pair("cash", 20n, 180n), [{ order: buy, committed: 0n }])).toEqual({ index: 0, quantity: 20n, price: 90n });
  });

  it("refuses a price beyond the limit, a wrong side, a partial lot, an inexact price, more than is left, another market", () => {
    const sell = [{ order: order(), committed: 0n }];
    expect(fillOfPair(ASSETS, pair("security", 30n, 297n), sell)).toBeUndefined(); // 99 per lot < 100
    expect(fillOfPair(ASSETS, pair("cash", 30n, 300n), sell)).toBeUndefined(); // a buy's pair for a sell
    expect(fillOfPair(ASSETS, pair("security", 25n, 250n), sell)).toBeUndefined(); // 2.5 lots
    expect(fillOfPair(ASSETS, pair("security", 30n, 301n), sell)).toBeUndefined(); // 100.33 per lot
    expect(fillOfPair(ASSETS, pair("security", 30n, 300n), [{ order: order(), committed: 30n }])).toBeUndefined(); // 20 left
    expect(fillOfPair([SECURITY, OTHER], pair("security", 30n, 300n), sell)).toBeUndefined();
    expect(fillOfPair(ASSETS, pair("cash", 30n, 3_300n), [{ order: order({ side: "buy" }), committed: 0n }])).toBeUndefined(); // 110 > 100
  });
});

describe("which order a pair is charged to", () => {
  it("the tightest limit, so that a looser order still takes a later fill of the tighter one", () => {
    const own = new OwnOrders();
    own.add(order({ price: 97n, quantity: 10n })); // loose: any price from 97
    own.add(order({ price: 103n, quantity: 10n })); // tight: from 103
    // A fill at 103 could be either's: charged to the tight one; the fill at 97 then fits the loose one.
    approveFillLocks([own], ASSETS, pair("security", 10n, 103n));
    approveFillLocks([own], ASSETS, pair("security", 10n, 97n));
    const buys = [{ order: order({ side: "buy", price: 110n }), committed: 0n }, { order: order({ side: "buy", price: 101n }), committed: 0n }];
    expect(fillOfPair(ASSETS, pair("cash", 10n, 100n), buys)?.index).toBe(1);
  });
});

describe("the SDK's own orders", () => {
  it("counts what each pair takes, so the venue cannot settle more than the order", () => {
    const own = new OwnOrders();
    own.add(order());
    approveFillLocks([own], ASSETS, pair("security", 30n, 300n));
    approveFillLocks([own], ASSETS, pair("security", 20n, 200n));
    let refusal: unknown;
    try {
      approveFillLocks([own], ASSETS, pair("security", 10n, 100n));
    } catch (error) {
      refusal = error;
    }
    expect(isProtocolError(refusal) && refusal.code).toBe("INVALID_UPDATE");
  });

  it("refuses every pair with no orders placed", () => {
    expect(() => approveFillLocks([new OwnOrders()], ASSETS, pair("security", 10n, 100n))).toThrow(/settles no fill/);
  });
});

describe("a pair that names its fill (chargeOfNamedFill)", () => {
  // Our sell rests as log entry 4; our buy as entry 9. The fill at 7 is of our sell (maker) and another investor's buy (taker 6).
  const placed: PlacedOrder[] = [
    { sequence: 4n, order: order({ quantity: 50n, price: 100n }), committed: 0n },
    { sequence: 9n, order: order({ side: "buy", quantity: 20n, price: 120n }), committed: 0n },
  ];
  const fill = (overrides: Partial<FillEntry> = {}): FillEntry => ({ kind: "fill", sequence: 7n, makerSequence: 4n, takerSequence: 6n, quantity: 30n, price: 105n, ...overrides });
  const code = (run: () => unknown): string | undefined => {
    try {
      run();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return undefined;
  };

  it("charges exactly the fill's legs to the order it names, as maker or as taker", () => {
    expect(chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), placed, new Set())).toEqual({ index: 0, quantity: 30n, price: 105n });
    // Our buy as taker of another's sell: we give cash (2 lots at 110) and get the security.
    expect(chargeOfNamedFill(ASSETS, pair("cash", 20n, 220n), fill({ sequence: 10n, makerSequence: 8n, takerSequence: 9n, quantity: 20n, price: 110n }), placed, new Set())).toEqual({ index: 1, quantity: 20n, price: 110n });
  });

  it("refuses a pair naming another investor's fill (UNKNOWN_ORDER), and a self-trade's (FILL_MISMATCH)", () => {
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill({ makerSequence: 3n }), placed, new Set()))).toBe("UNKNOWN_ORDER");
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 20n, 200n), fill({ takerSequence: 9n, quantity: 20n, price: 100n }), placed, new Set()))).toBe("FILL_MISMATCH");
  });

  it("refuses a wrong amount, a wrong direction, another market, a price beyond the limit, more than is left", () => {
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 316n), fill(), placed, new Set()))).toBe("FILL_MISMATCH"); // one unit more cash
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 20n, 210n), fill(), placed, new Set()))).toBe("FILL_MISMATCH"); // another quantity at the same price
    expect(code(() => chargeOfNamedFill(ASSETS, pair("cash", 30n, 315n), fill(), placed, new Set()))).toBe("FILL_MISMATCH"); // a buyer's pair for our sell
    expect(code(() => chargeOfNamedFill([SECURITY, OTHER], pair("security", 30n, 315n), fill(), placed, new Set()))).toBe("FILL_MISMATCH");
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 270n), fill({ price: 90n }), placed, new Set()))).toBe("FILL_MISMATCH"); // below our sell's 100
    const mostlyTaken = [{ ...placed[0]!, committed: 30n }];
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), mostlyTaken, new Set()))).toBe("FILL_MISMATCH"); // 20 left
  });

  it("refuses a second pair for a fill already charged (FILL_CHARGED)", () => {
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), placed, new Set([7n])))).toBe("FILL_CHARGED");
    expect(chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), placed, new Set([6n])).index).toBe(0);
  });
});
