// The operator's CLI speaks like the investor's: symbols and decimals in and out (client/cli/amounts.ts),
// a channel named by a unique prefix of its id, deadlines in human time, and the node's refusals
// in words with a stable code (docs/operations.md).
import { isAddress } from "ethers";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import { CliError } from "../../client/cli/errors.js";
import { formatAmount, parseAmount } from "../../client/cli/amounts.js";

export interface OperatorAsset {
  readonly address: string;
  readonly symbol: string;
  readonly decimals: number;
}

/**
 * A failure the node reported, or the node not answering at all. `code` is the one the admin API
 * answered with, passed on as it came (its ADMIN_*, CHANNEL_* and operator action codes, or the code
 * of the error it met), else this CLI's own: NODE_UNREACHABLE, INSUFFICIENT_BALANCE (checked before
 * asking the node), HTTP_<status> (an answer without a code). Printed as is, with the code after it.
 */
export class AdminError extends CodedError<string> {
  override readonly name: string = "AdminError";
  constructor(code: string, message: string) {
    super(code, message, {}, { codeSuffix: false });
  }
}

export function isAdminError(error: unknown, code?: string): error is AdminError {
  return isCodedError(error, AdminError, code);
}

/** The channel whose id starts with `prefix` (with or without 0x, any case); UNKNOWN_CHANNEL when none or several do. */
export function resolveChannel(prefix: string, ids: readonly string[]): string {
  const wanted = prefix.trim().toLowerCase().replace(/^0x/, "");
  // "0x" alone is a prefix of every id: fine with one channel, ambiguous with several.
  if (prefix.trim() === "" || !/^[0-9a-f]{0,64}$/.test(wanted)) throw new CliError("USAGE", `"${prefix}" is not a channel id or a prefix of one (hex digits)`);
  const matches = ids.filter((id) => id.toLowerCase().replace(/^0x/, "").startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CliError("UNKNOWN_CHANNEL", `the node has no channel ${prefix}`);
  throw new CliError("UNKNOWN_CHANNEL", `${prefix} is ambiguous: it starts ${matches.length} channels (${matches.join(", ")}); give more digits`, { candidates: matches });
}

/** The index in the channel of the asset named by symbol (any case), address or index; UNKNOWN_ASSET otherwise. */
export function resolveAsset(name: string, channelAssets: readonly string[], known: readonly OperatorAsset[]): number {
  const symbols = channelAssets.map((address) => known.find((a) => a.address.toLowerCase() === address.toLowerCase())?.symbol ?? address);
  const lower = name.toLowerCase();
  let index = -1;
  if (/^\d+$/.test(name)) index = Number(name) < channelAssets.length ? Number(name) : -1;
  else if (isAddress(name)) index = channelAssets.findIndex((a) => a.toLowerCase() === lower);
  else index = symbols.findIndex((s) => s.toLowerCase() === lower);
  if (index < 0) throw new CliError("UNKNOWN_ASSET", `the channel holds no asset ${name}; it holds ${symbols.join(", ")}`);
  return index;
}

export function assetOf(address: string, known: readonly OperatorAsset[]): OperatorAsset {
  return known.find((a) => a.address.toLowerCase() === address.toLowerCase()) ?? { address, symbol: address, decimals: 0 };
}

/** "12.5 CLS" */
export const units = (amount: bigint | string, asset: OperatorAsset): string => `${formatAmount(BigInt(amount), asset.decimals)} ${asset.symbol}`;

/** `text` ("10", "0.5") of `asset` in smallest units; INVALID_AMOUNT for a negative, zero or too precise amount. */
export const parseUnits = (text: string, asset: OperatorAsset): bigint => parseAmount(text, asset.decimals, asset.symbol);

/** "2026-12-02 22:41:07 UTC (in 4 min)" for a deadline in unix seconds. */
export function formatDeadline(seconds: bigint | number | string, nowMs: number = Date.now()): string {
  const at = Number(seconds) * 1000;
  const when = new Date(at).toISOString().replace("T", " ").replace(/\.\d{3}Z$/, " UTC");
  const minutes = Math.round(Math.abs(at - nowMs) / 60_000);
  const span = minutes < 1 ? "less than a minute" : minutes < 120 ? `${minutes} min` : minutes < 48 * 60 ? `${Math.round(minutes / 60)} h` : `${Math.round(minutes / 1440)} days`;
  return `${when} (${at >= nowMs ? `in ${span}` : `${span} ago`})`;
}
