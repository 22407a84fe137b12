// Typed errors of the shard mechanism (docs/operations.md, "Shards"): a stable `code` each.
import { CodedError, isCodedError } from "../../../client/protocol/coded-error.js";

export const SHARD_ERROR_CODES = [
  /** The shard map is unusable: no shards, this shard missing from it, a pin naming an unknown shard. */
  "SHARD_MAP_INVALID",
  /** This shard's store holds channels of investors the map gives to another shard: the node refuses to start. */
  "INVESTOR_ELSEWHERE",
  /** The shard map could not be read (the database went away). */
  "SHARD_MAP_UNAVAILABLE",
] as const;

export type ShardErrorCode = (typeof SHARD_ERROR_CODES)[number];

/** A refusal of the shard mechanism; the node's CLI prints its message as is, with the code after it. */
export class ShardError<C extends ShardErrorCode = ShardErrorCode> extends CodedError<C, Readonly<Record<string, unknown>>> {
  override readonly name: string = "ShardError";
  constructor(code: C, message: string, details: Readonly<Record<string, unknown>> = {}) {
    super(code, message, details, { codeSuffix: false });
  }
}

/** Whether `error` is a ShardError, optionally of a given code. */
export function isShardError<C extends ShardErrorCode>(error: unknown, code?: C): error is ShardError<C> {
  return isCodedError(error, ShardError, code);
}
