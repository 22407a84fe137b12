// The SDK's typed errors: every failure the client reports carries a stable `code`.
import { CodedError, isCodedError } from "../protocol/coded-error.js";
import type { NodeMessageParsed } from "../protocol/wire.js";
import type { ShardRedirect } from "../protocol/session.js";

export const CLIENT_ERROR_CODES = [
  /** The venue refused a proposal; `rejection` says why (for compliance: the ERC-1404 rule). */
  "REJECTED",
  "NOT_CONNECTED",
  "TIMEOUT",
  "UNKNOWN_CHANNEL",
  /** The node speaks for another chain or adjudicator than the client's. */
  "WRONG_CHAIN",
  /** The operation needs a chain connection the client was not given. */
  "NO_CHAIN",
  /** The node sent something the client cannot accept. */
  "NODE_MISBEHAVED",
  "CHANNEL_NOT_READY",
  /** An argument the client refuses before anything is signed. */
  "INVALID_ARGUMENT",
  /** As many unpaid invoices are pending as `invoices.maxPending` allows (a requester gets `rejected` with this code). */
  "TOO_MANY_INVOICES",
  /** The venue's nodes sent the client from shard to shard more often in a row than it follows (node-urls.ts MAX_SHARD_REDIRECTS). */
  "TOO_MANY_REDIRECTS",
] as const;

export type ClientErrorCode = (typeof CLIENT_ERROR_CODES)[number];

export interface Rejection {
  readonly code: string;
  readonly message: string;
  readonly restriction?: { readonly code: number; readonly rule: string; readonly message: string };
}

/** A failure the SDK reports; its message is for the application as is. */
export class ClientError<C extends ClientErrorCode = ClientErrorCode> extends CodedError<C> {
  override readonly name: string = "ClientError";
  constructor(
    code: C,
    message: string,
    readonly rejection?: Rejection,
    /** A NOT_CONNECTED that is a redirect: the shard the node sent us to. */
    readonly redirect?: ShardRedirect,
  ) {
    super(code, message, {}, { codeSuffix: false });
  }
}

/** Whether `error` is a ClientError, optionally of a given code. */
export function isClientError<C extends ClientErrorCode>(error: unknown, code?: C): error is ClientError<C> {
  return isCodedError(error, ClientError, code);
}

/** The ClientError for the venue's `rejected` answer to our `what`, naming the ERC-1404 rule if any. */
export function rejectionError(answer: Extract<NodeMessageParsed, { type: "rejected" }>, what: string): ClientError {
  const rejection: Rejection = { code: answer.code, message: answer.message, ...(answer.restriction ? { restriction: answer.restriction } : {}) };
  const rule = answer.restriction ? ` [ERC-1404 0x${answer.restriction.code.toString(16)} ${answer.restriction.rule}: ${answer.restriction.message}]` : "";
  return new ClientError("REJECTED", `the venue rejected the ${what}: ${answer.code} ${answer.message}${rule}`, rejection);
}
