/**
 * Typed chain errors, in the style of client/protocol/errors.ts: every failure of a chain call is a
 * `ChainError` with a stable, machine-readable `code`. A contract revert (`code: "REVERTED"`) also
 * carries the decoded custom error — its name, selector, positional and named arguments — so callers
 * branch on `isRevert(error, "StaleNonce")` instead of matching message strings.
 */
import { AbiCoder, ErrorFragment, Result, isError } from "ethers";
import { CodedError, isCodedError } from "../protocol/coded-error.js";
import { errorInterface } from "./abi.js";

export const CHAIN_ERROR_CODES = [
  /** The contract reverted; `revert` holds the decoded error when its selector is known. */
  "REVERTED",
  /** A signed state lacks one of the two signatures; nothing was sent. */
  "NOT_AGREED",
  /** The sending account cannot pay for the transaction's gas. */
  "INSUFFICIENT_FUNDS",
  /** The account nonce was already used, or a replacement was underpriced. */
  "NONCE_CONFLICT",
  /** The transaction was replaced or dropped before it was mined. */
  "REPLACED",
  /** The transaction did not reach the requested confirmations in time. */
  "TIMEOUT",
  /** The signer (a wallet, a person) refused to sign. */
  "REJECTED",
  /** The JSON-RPC node could not be reached or answered with a server error. */
  "NETWORK",
  /**
   * The last withdrawal's checkpointed state could not be read from its transaction (it was not a
   * direct call of the adjudicator's `withdraw`): pass the checkpointed state explicitly.
   */
  "CHECKPOINT_UNREADABLE",
  /** An event search had no block to start from (neither the caller's nor the configured `startBlock`). */
  "LOG_START_UNKNOWN",
  /** The provider refused an `eth_getLogs` range of an event search; the message names the range. */
  "LOG_RANGE_REFUSED",
  /** Anything else; `cause` holds the original error. */
  "UNKNOWN",
] as const;

export type ChainErrorCode = (typeof CHAIN_ERROR_CODES)[number];

/** A decoded revert reason: a custom error, `Error(string)` or `Panic(uint256)`. */
export interface RevertInfo {
  /** The error's name, e.g. "StaleNonce"; "Error" / "Panic" for the built-in reasons; null when unknown. */
  readonly name: string | null;
  /** The full signature, e.g. "StaleNonce(uint64,uint64)"; null when unknown. */
  readonly signature: string | null;
  /** The 4-byte selector ("0x" for an empty revert). */
  readonly selector: string;
  /** Positional arguments (bigints, checksummed addresses, lowercase hex). */
  readonly args: readonly unknown[];
  /** Arguments by their Solidity parameter names (unnamed parameters are left out). */
  readonly namedArgs: Readonly<Record<string, unknown>>;
  /** The raw revert data. */
  readonly data: string;
}

export interface ChainErrorDetails {
  /** What was being done, e.g. "challenge", "approve", "channel". */
  readonly action?: string;
  readonly revert?: RevertInfo | null;
  readonly transactionHash?: string | null;
  readonly cause?: unknown;
}

export class ChainError<C extends ChainErrorCode = ChainErrorCode> extends CodedError<C, ChainErrorDetails> {
  override readonly name: string = "ChainError";
  readonly action: string | null;
  /** Present (possibly with a null name) for REVERTED; null otherwise. */
  readonly revert: RevertInfo | null;
  readonly transactionHash: string | null;

  constructor(code: C, shortMessage: string, details: ChainErrorDetails = {}) {
    super(code, shortMessage, details, details.cause === undefined ? undefined : { cause: details.cause });
    this.action = details.action ?? null;
    this.revert = details.revert ?? null;
    this.transactionHash = details.transactionHash ?? null;
  }
}

/** Whether `error` is a ChainError, optionally of a given code. */
export function isChainError<C extends ChainErrorCode>(error: unknown, code?: C): error is ChainError<C> {
  return isCodedError(error, ChainError, code);
}

/** Whether `error` is a revert, optionally with the custom error `name` (e.g. "StaleNonce"). */
export function isRevert(error: unknown, name?: string): error is ChainError<"REVERTED"> {
  return isChainError(error, "REVERTED") && (name === undefined || error.revert?.name === name);
}

const ERROR_STRING_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";

/** Converts ethers Results to plain arrays, recursively; `bytes…` values as lowercase hex. */
function plain(value: unknown, type: string): unknown {
  if (value instanceof Result || Array.isArray(value)) {
    const inner = type.endsWith("[]") ? type.slice(0, type.lastIndexOf("[")) : "";
    return Array.from(value as unknown[], (item) => plain(item, inner));
  }
  if (typeof value === "string" && type.startsWith("bytes")) return value.toLowerCase();
  return value;
}

/** Decodes revert data against every Clearline error; never throws. */
export function decodeRevert(data: string): RevertInfo {
  const selector = data.length >= 10 ? data.slice(0, 10).toLowerCase() : "0x";
  const unknown: RevertInfo = { name: null, signature: null, selector, args: [], namedArgs: {}, data };
  if (selector === "0x") return unknown;
  try {
    if (selector === ERROR_STRING_SELECTOR || selector === PANIC_SELECTOR) {
      const isString = selector === ERROR_STRING_SELECTOR;
      const [value] = AbiCoder.defaultAbiCoder().decode([isString ? "string" : "uint256"], `0x${data.slice(10)}`);
      return {
        name: isString ? "Error" : "Panic",
        signature: isString ? "Error(string)" : "Panic(uint256)",
        selector,
        args: [value],
        namedArgs: isString ? { message: value } : { code: value },
        data,
      };
    }
    const parsed = errorInterface().parseError(data);
    if (parsed === null) return unknown;
    const inputs = (parsed.fragment as ErrorFragment).inputs;
    const args = Array.from(parsed.args, (value, i) => plain(value, inputs[i]?.type ?? ""));
    const namedArgs: Record<string, unknown> = {};
    inputs.forEach((input, i) => {
      if (input.name !== "") namedArgs[input.name] = args[i];
    });
    return { name: parsed.name, signature: parsed.signature, selector, args, namedArgs, data };
  } catch {
    return unknown;
  }
}

/** Finds revert data anywhere in an error from ethers, Hardhat or a JSON-RPC node. */
export function findRevertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number): string | undefined => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 8) return undefined;
    seen.add(e);
    const record = e as Record<string, unknown>;
    if (typeof record.data === "string" && /^0x([0-9a-fA-F]{2})*$/.test(record.data)) return record.data;
    for (const key of ["error", "info", "cause", "data"]) {
      const found = visit(record[key], depth + 1);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(error, 0);
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return (error as { shortMessage?: string }).shortMessage ?? error.message;
  return String(error);
}

/**
 * Turns anything a chain call threw into a ChainError (a ChainError passes through unchanged).
 * `action` names what was being done, for messages and progress displays.
 */
export function toChainError(error: unknown, action?: string, transactionHash?: string | null): ChainError {
  if (error instanceof ChainError) return error;
  const details = { action, cause: error, transactionHash: transactionHash ?? null };
  const prefix = action === undefined ? "" : `${action}: `;
  const data = findRevertData(error);
  if (data !== undefined || isError(error, "CALL_EXCEPTION")) {
    const revert = decodeRevert(data ?? "0x");
    const argsText = revert.args.map(String).join(", ");
    const reason = revert.name === null ? (data === undefined || data === "0x" ? "without data" : `with unknown error ${revert.selector}`) : `${revert.name}(${argsText})`;
    return new ChainError("REVERTED", `${prefix}reverted ${reason}`, { ...details, revert });
  }
  if (isError(error, "INSUFFICIENT_FUNDS")) return new ChainError("INSUFFICIENT_FUNDS", `${prefix}${messageOf(error)}`, details);
  if (isError(error, "NONCE_EXPIRED") || isError(error, "REPLACEMENT_UNDERPRICED")) {
    return new ChainError("NONCE_CONFLICT", `${prefix}${messageOf(error)}`, details);
  }
  if (isError(error, "TRANSACTION_REPLACED")) return new ChainError("REPLACED", `${prefix}${messageOf(error)}`, details);
  if (isError(error, "TIMEOUT")) return new ChainError("TIMEOUT", `${prefix}${messageOf(error)}`, details);
  if (isError(error, "ACTION_REJECTED")) return new ChainError("REJECTED", `${prefix}${messageOf(error)}`, details);
  if (isError(error, "NETWORK_ERROR") || isError(error, "SERVER_ERROR")) {
    return new ChainError("NETWORK", `${prefix}${messageOf(error)}`, details);
  }
  return new ChainError("UNKNOWN", `${prefix}${messageOf(error)}`, details);
}
