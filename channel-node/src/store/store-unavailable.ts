// Store failures that say "the node cannot commit now" rather than "the node is broken": the
// database is down or timed out (WRITE_FAILED, UNAVAILABLE), the store is closing (CLOSED), or this
// node lost the leader lease (FENCED). Investors see them as the wire code UNAVAILABLE.
import { isStoreError } from "../../../client/store/errors.js";

const UNAVAILABLE_CODES = new Set(["WRITE_FAILED", "UNAVAILABLE", "CLOSED", "FENCED"]);

export function storeUnavailable(error: unknown): boolean {
  return isStoreError(error) && UNAVAILABLE_CODES.has(error.code);
}
