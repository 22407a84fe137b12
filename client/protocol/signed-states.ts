/**
 * States with their signatures: a signed proposal validated (`checkTransition` plus the
 * participants' signatures over its EIP-712 digest), an agreed state verified (both signatures),
 * a countersignature added, a signer's place in the channel. Pure: the `Verifier` recovers
 * signers from bytes, nothing here reads keys, the network or a clock.
 */
import type { Channel } from "./channel.js";
import { ProtocolError } from "./errors.js";
import { stateDigest } from "./encoding.js";
import type { Signer, Verifier } from "./signing.js";
import { checkTransition, type TransitionContext } from "./transitions.js";
import type { Bytes32, ParticipantIndex, SignatureHex, SignedState } from "./types.js";
import type { Update } from "./updates.js";

/** The result of a successful validation: what the state does and the digest to countersign. */
export interface Transition {
  readonly update: Update;
  readonly digest: Bytes32;
}

/**
 * `checkTransition` plus signatures: every signature present must be its participant's (BAD_SIGNATURE),
 * and at least one must be, the proposer's. `current` is the caller's own latest agreed state and is
 * not re-verified.
 */
export function validateTransition(
  channel: Channel,
  current: SignedState,
  proposed: SignedState,
  context: TransitionContext,
  verifier: Verifier,
): Transition {
  const update = checkTransition(channel, current.state, proposed.state, context);
  const digest = stateDigest(proposed.state, channel.domain);
  const [sig0, sig1] = proposed.signatures;
  if (sig0 === null && sig1 === null) throw new ProtocolError("BAD_SIGNATURE", "the proposal is not signed");
  checkSignature(channel, digest, sig0, 0, verifier);
  checkSignature(channel, digest, sig1, 1, verifier);
  return { update, digest };
}

function checkSignature(channel: Channel, digest: Bytes32, signature: SignatureHex | null, participant: ParticipantIndex, verifier: Verifier): void {
  if (signature !== null && !verifier.verify(digest, signature, channel.params.participants[participant])) {
    throw new ProtocolError("BAD_SIGNATURE", `not participant ${participant}'s signature`, { participant });
  }
}

/** BAD_SIGNATURE unless both participants signed the state (an agreed state, e.g. from a peer's resync). */
export function verifyAgreed(channel: Channel, signed: SignedState, verifier: Verifier): Bytes32 {
  const digest = stateDigest(signed.state, channel.domain);
  signed.signatures.forEach((signature, participant) => {
    if (signature === null) throw new ProtocolError("BAD_SIGNATURE", `participant ${participant}'s signature is missing`, { participant });
    checkSignature(channel, digest, signature, participant as ParticipantIndex, verifier);
  });
  return digest;
}

/** `signed` with `signature` in participant `participant`'s slot. */
export function withSignature(signed: SignedState, participant: ParticipantIndex, signature: SignatureHex): SignedState {
  const signatures: [SignatureHex | null, SignatureHex | null] = [signed.signatures[0], signed.signatures[1]];
  signatures[participant] = signature;
  return { state: signed.state, signatures };
}

/** The participant index of `signer` in the channel; INVALID_PARAMS when it is neither. */
export function participantIndexOf(channel: Channel, signer: Pick<Signer, "address">): ParticipantIndex {
  const index = channel.params.participants.indexOf(signer.address);
  if (index !== 0 && index !== 1) throw new ProtocolError("INVALID_PARAMS", "the signer is not a participant of the channel");
  return index;
}
