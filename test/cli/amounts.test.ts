// Amount parsing and formatting of the investor CLI: exact bigint math, no rounding ever.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MAX_AMOUNT, formatAmount, parseAmount, splitAssetAmount } from "../../client/cli/amounts.js";
import { CliError } from "../../client/cli/errors.js";

function refusal(run: () => unknown): CliError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    return error as CliError;
  }
  throw new Error("expected a refusal");
}

describe("parseAmount", () => {
  it("parses decimals into smallest units exactly", () => {
    expect(parseAmount("12.5", 6)).toBe(12_500_000n);
    expect(parseAmount("12", 6)).toBe(12_000_000n);
    expect(parseAmount("0.000001", 6)).toBe(1n);
    expect(parseAmount(".5", 6)).toBe(500_000n);
    expect(parseAmount("7.", 2)).toBe(700n);
    expect(parseAmount("1_000.25", 2)).toBe(100_025n);
    expect(parseAmount("  3  ", 0)).toBe(3n);
    // 18 decimals: beyond the 53 bits of a double, still exact.
    expect(parseAmount("123456789.123456789123456789", 18)).toBe(123456789123456789123456789n);
    expect(parseAmount("0.1", 18) + parseAmount("0.2", 18)).toBe(parseAmount("0.3", 18));
  });

  it("accepts trailing zeros beyond the token's decimals (the value is exact)", () => {
    expect(parseAmount("1.5000000", 6)).toBe(1_500_000n);
    expect(parseAmount("2.000", 0)).toBe(2n);
  });

  it("refuses too many decimals with a message naming the token's precision", () => {
    const error = refusal(() => parseAmount("1.1234567", 6, "cUSD"));
    expect(error.code).toBe("INVALID_AMOUNT");
    expect(error.message).toBe("1.1234567 has too many decimals: cUSD has at most 6 decimals");
    expect(refusal(() => parseAmount("0.5", 0, "SHARE")).message).toBe("0.5 has too many decimals: SHARE has whole units only");
    expect(refusal(() => parseAmount("0.01", 1, "X")).message).toContain("at most 1 decimal");
  });

  it("refuses what is not a positive decimal", () => {
    for (const text of ["", " ", "-1", "−1", "1e18", "0x10", "1.2.3", "abc", "1,5", "+1", "1 000", "_1", "1__0", "NaN", "Infinity", "."]) {
      expect(refusal(() => parseAmount(text, 6)).code, text).toBe("INVALID_AMOUNT");
    }
    expect(refusal(() => parseAmount("-1", 6)).message).toContain("cannot be negative");
    expect(refusal(() => parseAmount("1e3", 6)).message).toContain("no exponents");
    expect(refusal(() => parseAmount("0", 6, "cUSD")).message).toBe("the amount must be more than 0 cUSD");
    expect(refusal(() => parseAmount("0.000", 6)).code).toBe("INVALID_AMOUNT");
    expect(parseAmount("0", 6, "cUSD", { allowZero: true })).toBe(0n);
  });

  it("refuses amounts beyond uint128", () => {
    expect(parseAmount(MAX_AMOUNT.toString(), 0)).toBe(MAX_AMOUNT);
    expect(refusal(() => parseAmount((MAX_AMOUNT + 1n).toString(), 0)).code).toBe("INVALID_AMOUNT");
  });

  it("round-trips with formatAmount for every amount and precision", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: MAX_AMOUNT }), fc.integer({ min: 0, max: 30 }), (value, decimals) => {
        expect(parseAmount(formatAmount(value, decimals), decimals)).toBe(value);
      }),
      { numRuns: 500 },
    );
  });
});

describe("formatAmount", () => {
  it("formats without trailing zeros", () => {
    expect(formatAmount(12_500_000n, 6)).toBe("12.5");
    expect(formatAmount(12_000_000n, 6)).toBe("12");
    expect(formatAmount(1n, 6)).toBe("0.000001");
    expect(formatAmount(0n, 18)).toBe("0");
    expect(formatAmount(-7_500_000n, 6)).toBe("-7.5");
    expect(formatAmount(42n, 0)).toBe("42");
    expect(formatAmount(10n ** 17n, 18)).toBe("0.1");
  });
});

describe("splitAssetAmount", () => {
  it("splits at the last colon", () => {
    expect(splitAssetAmount("cash:100")).toEqual({ asset: "cash", amount: "100" });
    expect(splitAssetAmount("0x5FbDB2315678afecb367f032d93F642f64180aa3:0.5")).toEqual({ asset: "0x5FbDB2315678afecb367f032d93F642f64180aa3", amount: "0.5" });
    for (const text of ["cash", ":1", "cash:", ""]) expect(refusal(() => splitAssetAmount(text)).code).toBe("USAGE");
  });
});
