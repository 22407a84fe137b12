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
