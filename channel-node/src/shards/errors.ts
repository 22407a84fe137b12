// Typed errors of the shard mechanism (docs/operations.md, "Shards"): a stable `code` each.
import { isCodedError } from "../../../client/protocol/coded-error.js";

export const SHARD_ERROR_CODES = [
  /** The shard map is unusable: no shards, this shard missing from it, a pin naming an unknown shard. */
  "SHARD_MAP_INVALID",
  /** This shard's store holds channels of investors the map gives to another shard: the node refuses to start. */
  "INVESTOR_ELSEWHERE",
  /** The shard map could not be read (the database went away). */
  "SHARD_MAP_UNAVAILABLE",
] as const;

export type ShardErrorCode = (typeof SHARD_ERROR_CODES)[number];

export class ShardError extends Error {
  override readonly name = "ShardError";
  constructor(
    readonly code: ShardErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export function isShardError(error: unknown, code?: ShardErrorCode): error is ShardError {
  return isCodedError(error, ShardError, code);
}
