/**
 * The session handshake (docs/protocol.md): the node sends a random challenge; the investor proves it holds
 * its channel key by signing, EIP-191 style, a message that binds the challenge to the venue, the
 * chain and the adjudicator, so a signature can be replayed neither to another venue nor later.
 */
import { getAddress, hashMessage } from "ethers";
import type { Address, Bytes32, Deployment } from "./types.js";

export interface SessionChallenge {
  readonly venue: Address;
  readonly deployment: Deployment;
  /** 32 random bytes chosen by the node for this connection. */
  readonly nonce: Bytes32;
}

/** The exact text the investor signs. */
export function loginMessage(challenge: SessionChallenge): string {
  return [
    "Clearline session",
    `venue: ${getAddress(challenge.venue)}`,
    `chain: ${challenge.deployment.chainId.toString()}`,
    `adjudicator: ${getAddress(challenge.deployment.adjudicator)}`,
    `nonce: ${challenge.nonce.toLowerCase()}`,
  ].join("\n");
}

/** The EIP-191 digest of the login message (what `personal_sign` signs). */
export function loginDigest(challenge: SessionChallenge): Bytes32 {
  return hashMessage(loginMessage(challenge));
}

/**
 * The node's answer to an `auth` from an investor another shard of the venue serves (docs/operations.md,
 * "Shards"): an `error` with this code, sent instead of `welcome`; nothing changed and the connection
 * closes. Its message names the shard and its URL in the form `wrongShardMessage` writes.
 */
export const WRONG_SHARD = "WRONG_SHARD";

export interface ShardRedirect {
  /** The shard's id (1–32 characters of a-z, 0-9 and -, starting with a letter or digit). */
  readonly shard: string;
  /** Its public ws:// or wss:// URL. */
  readonly url: string;
}

const SHARD_ID = /^[a-z0-9][a-z0-9-]{0,31}$/;
const SHARD_URL = /^wss?:\/\/[^\s]{1,2000}$/;
const REDIRECT = /^your channels are served by shard (\S+) at (\S+)$/;

/** True for an id a shard may have. */
export function isShardId(id: string): boolean {
  return SHARD_ID.test(id);
}

/** True for a URL a shard map may name (ws:// or wss://, no spaces, at most 2,000 characters after the scheme). */
export function isShardUrl(url: string): boolean {
  return SHARD_URL.test(url);
}

/** The message of a WRONG_SHARD answer. */
export function wrongShardMessage(redirect: ShardRedirect): string {
  return `your channels are served by shard ${redirect.shard} at ${redirect.url}`;
}

/** The shard a WRONG_SHARD message names, or undefined when the message is not of that form. */
export function shardRedirectOf(message: string): ShardRedirect | undefined {
  const match = REDIRECT.exec(message);
  if (match === null || !isShardId(match[1]!) || !isShardUrl(match[2]!)) return undefined;
  return { shard: match[1]!, url: match[2]! };
}
