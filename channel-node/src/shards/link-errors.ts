// Typed errors of the link between shards (link.ts): a stable `code` each. A refusal by the other shard
// keeps the refusal's own code and text in `rejection`, so the payer is told what the receiver's shard said.
import { CodedError, isCodedError } from "../../../client/protocol/coded-error.js";
import type { RejectionReason } from "../../../client/protocol/wire.js";

export const LINK_ERROR_CODES = [
  /** The other shard cannot be reached, closed the link, or did not answer in time. */
  "LINK_UNAVAILABLE",
  /** The other side of the link did not prove the venue's key. */
  "LINK_AUTH_FAILED",
  /** The other shard answered the request with a refusal (its code in `rejection`). */
  "LINK_REFUSED",
] as const;
export type LinkErrorCode = (typeof LINK_ERROR_CODES)[number];

export class LinkError extends CodedError<LinkErrorCode, { readonly shard?: string }> {
  override readonly name = "LinkError";
  /** LINK_REFUSED: what the other shard refused with. */
  rejection?: RejectionReason;

  /** The other shard's refusal of a request. */
  static refused(shard: string, rejection: RejectionReason): LinkError {
    const error = new LinkError("LINK_REFUSED", `shard ${shard} refused: ${rejection.message} (${rejection.code})`, { shard });
    error.rejection = { code: rejection.code, message: rejection.message, ...(rejection.restriction ? { restriction: rejection.restriction } : {}) };
    return error;
  }
}

export function isLinkError(error: unknown, code?: LinkErrorCode): error is LinkError {
  return isCodedError(error, LinkError, code);
}

/**
 * What the payer is told when a request to the receiver's shard failed: that shard's own refusal as
 * it came, else UNAVAILABLE (the receiver's shard cannot be reached; nothing was agreed).
 */
export function payerRejectionOf(error: LinkError): RejectionReason {
  if (error.rejection !== undefined) return error.rejection;
  return { code: "UNAVAILABLE", message: `the receiver's shard cannot be reached right now; nothing was agreed (${error.shortMessage})` };
}
