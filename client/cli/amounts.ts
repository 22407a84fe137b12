// Decimal amounts for people, exact bigints for the protocol: "12.5" of a 6-decimal token is
// 12_500_000 smallest units. No floating point anywhere, so no amount is ever rounded.
import { CliError } from "./errors.js";

/** The largest amount the adjudicator accepts (uint128). */
export const MAX_AMOUNT = (1n << 128n) - 1n;

const DECIMAL = /^(\d+)(?:\.(\d*))?$|^\.(\d+)$/;

/**
 * Parses a non-negative decimal string into smallest units of a token with `decimals` decimals.
 * Accepts "12", "12.5", "0.000001", ".5", "12." and underscores as digit separators ("1_000").
 * Trailing zeros beyond the token's decimals are fine ("1.50" of a 1-decimal token); any other
 * digit beyond them is refused (INVALID_AMOUNT) rather than rounded. `what` names the token in
 * messages (its symbol).
 */
export function parseAmount(text: string, decimals: number, what = "the token", options: { allowZero?: boolean } = {}): bigint {
  if (!Number.isInteger(decimals) || decimals < 0 || decimals > 77) {
    throw new CliError("INVALID_AMOUNT", `${what} reports ${decimals} decimals; cannot parse amounts of it`);
  }
  const trimmed = text.trim();
  const cleaned = trimmed.replace(/(?<=\d)_(?=\d)/g, "");
  const match = DECIMAL.exec(cleaned);
  if (match === null) {
    const hint = /^[-−]/.test(trimmed) ? " (amounts cannot be negative)" : /e/i.test(trimmed) ? " (write it out: no exponents)" : "";
    throw new CliError("INVALID_AMOUNT", `"${text}" is not a decimal amount${hint}; write e.g. 12.5`);
  }
  const whole = match[1] ?? "0";
  const fraction = (match[2] ?? match[3] ?? "").replace(/0+$/, "");
  if (fraction.length > decimals) {
    const unit = decimals === 0 ? "whole units only" : `at most ${decimals} decimal${decimals === 1 ? "" : "s"}`;
    throw new CliError("INVALID_AMOUNT", `${text} has too many decimals: ${what} has ${unit}`, { decimals });
  }
  const value = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(fraction.padEnd(decimals, "0") || "0");
  if (value === 0n && !options.allowZero) throw new CliError("INVALID_AMOUNT", `the amount must be more than 0 ${what}`);
  if (value > MAX_AMOUNT) throw new CliError("INVALID_AMOUNT", `${text} ${what} is more than the adjudicator can hold (2^128 − 1 smallest units)`);
  return value;
}

/** Formats smallest units as a decimal string without trailing zeros: 12_500_000n, 6 → "12.5". */
export function formatAmount(value: bigint, decimals: number): string {
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const whole = abs / unit;
  const fraction = decimals === 0 ? "" : (abs % unit).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction === "" ? "" : `.${fraction}`}`;
}

/** Splits "<asset>:<amount>" (the asset may be an address, a symbol or security/cash). */
export function splitAssetAmount(text: string): { asset: string; amount: string } {
  const at = text.lastIndexOf(":");
  if (at <= 0 || at === text.length - 1) {
    throw new CliError("USAGE", `"${text}" is not <asset>:<amount>; write e.g. cash:100 or security:0.5`);
  }
  return { asset: text.slice(0, at), amount: text.slice(at + 1) };
}
