// The CLI's own typed errors (bad input, missing settings) and the translation of every error the
// SDK, the chain adapter, the store or the protocol core can throw into one shape: a stable code, a
// sentence for a person (naming the ERC-1404 rule for a compliance refusal), JSON for a machine, and
// an exit code.
import { ClientError } from "../sdk/client.js";
import { ChainError } from "../chain/errors.js";
import { ProtocolError, ComplianceError, restrictionOf } from "../protocol/index.js";
import { CodedError, isCodedError } from "../protocol/coded-error.js";
import { StoreError } from "../store/errors.js";

export const CLI_ERROR_CODES = [
  /** Bad command line: a missing or malformed argument or option. */
  "USAGE",
  /** An amount that is not a positive decimal with at most the token's decimals. */
  "INVALID_AMOUNT",
  /** The private key is missing or not 32 bytes of hex. */
  "INVALID_KEY",
  /** A setting (node URL, RPC URL, adjudicator) is given nowhere: not as an option, nor in the deployment file. */
  "MISSING_SETTING",
  /** The deployment file cannot be read or is not what `npm start` writes. */
  "BAD_DEPLOYMENT",
  /** An asset name that is neither an address, nor security/cash, nor a symbol of the channel's assets. */
  "UNKNOWN_ASSET",
  /** A channel id that is not in this investor's store (or is ambiguous as a prefix). */
  "UNKNOWN_CHANNEL",
  /** The RPC endpoint serves another chain than the deployment file names, or the investor's store belongs to another chain. */
  "WRONG_CHAIN",
  /** Another clearline process holds this investor's store. */
  "STORE_BUSY",
  /** The JSON-RPC endpoint does not answer. */
  "CHAIN_UNREACHABLE",
  /** A receipt named by sequence number or file that is not in the investor's data dir. */
  "UNKNOWN_RECEIPT",
  /** A receipt file that is malformed, of another venue or chain, or not signed by the venue. */
  "BAD_RECEIPT",
  /** The venue's log does not hold a receipt's entry, or its log now does not extend the receipt's. */
  "NOT_IN_LOG",
  /** The venue's order log has more entries than `receipts audit --max-entries` allows. */
  "LOG_TOO_LARGE",
  /** `receipts audit --matching` names another matching mode than the one the venue signed in its checkpoint. */
  "MATCHING_MISMATCH",
  /** `clearline daemon` (or `watch`) while a daemon of this investor runs already. */
  "DAEMON_RUNNING",
  /** The investor's daemon holds the store but did not answer, or closed its control connection before the command finished. */
  "DAEMON_UNREACHABLE",
  /** The daemon runs as many commands as it admits at once (`daemon --max-commands`). */
  "DAEMON_BUSY",
  /** A control request the daemon cannot read: not JSON, too long, of another investor or an unknown command. */
  "BAD_CONTROL_REQUEST",
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

/** The CLI's own refusal; describeError shows its message as is, with the code after it. */
export class CliError<C extends CliErrorCode = CliErrorCode> extends CodedError<C, Readonly<Record<string, unknown>>> {
  override readonly name: string = "CliError";
  constructor(code: C, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(code, message, details, { codeSuffix: false });
  }
}

/** Whether `error` is a CliError, optionally of a given code. */
export function isCliError<C extends CliErrorCode>(error: unknown, code?: C): error is CliError<C> {
  return isCodedError(error, CliError, code);
}

/** Exit codes: 1 the operation failed (refused, reverted, unreachable), 2 the command line was wrong. */
export const EXIT = { OK: 0, FAILED: 1, USAGE: 2 } as const;

const USAGE_CODES: ReadonlySet<string> = new Set<CliErrorCode>(["USAGE", "INVALID_AMOUNT", "INVALID_KEY", "MISSING_SETTING", "UNKNOWN_ASSET", "UNKNOWN_CHANNEL", "UNKNOWN_RECEIPT"]);

export interface Restriction {
  readonly code: number;
  readonly rule: string;
  readonly message: string;
}

/** An error as the CLI reports it. */
export interface Described {
  /** Stable, machine-readable: the SDK's, the chain's, the store's, the core's or the CLI's code. */
  readonly code: string;
  /** Who said no: the venue, the chain, the local protocol check, the store or the CLI itself. */
  readonly source: "venue" | "chain" | "protocol" | "store" | "cli" | "internal";
  /** One sentence for a person. */
  readonly message: string;
  /** For a compliance refusal: the ERC-1404 code, the rule's name and its message. */
  readonly restriction?: Restriction;
  /** The venue's own rejection code (NON_COMPLIANT, INSUFFICIENT_BALANCE, …). */
  readonly reason?: string;
  /** A decoded contract revert. */
  readonly revert?: { readonly name: string | null; readonly args: readonly string[] };
  readonly transactionHash?: string;
  readonly exitCode: number;
}

const PHASES = ["not open", "open", "disputed", "concluded"];
const iso = (seconds: unknown): string => new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

/** A sentence for the adjudicator's reverts a person meets in disputes; undefined for the others. */
function explainRevert(name: string, args: readonly unknown[]): string | undefined {
  switch (name) {
    case "ChallengePeriodNotOver":
      return `the challenge period is not over: it ends ${iso(args[0])}`;
    case "ChallengePeriodOver":
      return `the challenge period ended ${iso(args[0])}`;
    case "StaleNonce":
      return `state #${String(args[1])} is not newer than state #${String(args[0])}, which the chain already has`;
    case "WrongPhase":
      return `the channel is ${PHASES[Number(args[1])] ?? `in phase ${String(args[1])}`} on chain`;
    case "NothingClaimable":
      return "nothing is claimable";
    case "CheckpointExists":
      return `a withdrawal made state #${String(args[0])} a checkpoint: "no state" can no longer be registered`;
    default:
      return undefined;
  }
}

/** "0x57" */
export const hexCode = (code: number): string => `0x${code.toString(16).padStart(2, "0")}`;

/** "refused: receiver lacks valid KYC/AML (ERC-1404 0x57 RECEIVER_NOT_ELIGIBLE)" */
export function restrictionSentence(restriction: Restriction, prefix = "refused"): string {
  return `${prefix}: ${lowerFirst(restriction.message)} (ERC-1404 ${hexCode(restriction.code)} ${restriction.rule})`;
}

/** Lower-cases the first letter unless the first word is an acronym ("KYC …" stays). */
function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

const stringify = (value: unknown): string => (typeof value === "bigint" ? value.toString() : String(value));

export function describeError(error: unknown): Described {
  if (error instanceof CliError) {
    return { code: error.code, source: "cli", message: error.message, exitCode: USAGE_CODES.has(error.code) ? EXIT.USAGE : EXIT.FAILED };
  }
  if (error instanceof ClientError) {
    const rejection = error.rejection;
    if (error.code === "REJECTED" && rejection !== undefined) {
      if (rejection.restriction !== undefined) {
        return {
          code: "REJECTED",
          source: "venue",
          reason: rejection.code,
          restriction: rejection.restriction,
          message: restrictionSentence(rejection.restriction),
          exitCode: EXIT.FAILED,
        };
      }
      return { code: "REJECTED", source: "venue", reason: rejection.code, message: `refused by the venue: ${rejection.message} (${rejection.code})`, exitCode: EXIT.FAILED };
    }
    const message = error.code === "UNKNOWN_CHANNEL" ? `${error.message} in this investor's store` : error.message;
    return { code: error.code, source: "venue", message, exitCode: EXIT.FAILED };
  }
  if (error instanceof ChainError) {
    const revert = error.revert;
    const base = {
      code: error.code,
      source: "chain" as const,
      exitCode: EXIT.FAILED,
      ...(error.transactionHash ? { transactionHash: error.transactionHash } : {}),
      ...(revert ? { revert: { name: revert.name, args: revert.args.map(stringify) } } : {}),
    };
    // A token refused a transfer on chain (a deposit or a payout): name the ERC-1404 rule.
    if (revert?.name === "TransferRestricted") {
      const code = Number(revert.args[0]);
      const entry = restrictionOf(code);
      const restriction = { code, rule: entry?.name ?? "UNKNOWN", message: String(revert.args[1] ?? entry?.message ?? "") };
      return { ...base, restriction, message: restrictionSentence(restriction, `refused on chain (${error.action ?? "transaction"})`) };
    }
    const explained = revert?.name ? explainRevert(revert.name, revert.args) : undefined;
    const detail = explained === undefined ? error.shortMessage.replace(`${error.action ?? ""}: `, "") : `${explained} (${revert!.name})`;
    return { ...base, message: `on-chain ${error.action ?? "call"} failed: ${detail}` };
  }
  if (error instanceof ComplianceError) {
    const restriction = { code: error.restrictionCode, rule: error.rule, message: error.restrictionMessage };
    return { code: error.code, source: "protocol", restriction, message: restrictionSentence(restriction), exitCode: EXIT.FAILED };
  }
  if (error instanceof ProtocolError) {
    return { code: error.code, source: "protocol", message: `not allowed: ${error.shortMessage} (${error.code})`, exitCode: EXIT.FAILED };
  }
  if (error instanceof StoreError) {
    return { code: error.code, source: "store", message: `local store: ${error.shortMessage} (${error.code})`, exitCode: EXIT.FAILED };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", source: "internal", message, exitCode: EXIT.FAILED };
}
