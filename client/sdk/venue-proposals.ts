// What the client countersigns from the venue unasked, and the void rule for what it refuses
// (docs/protocol.md, off-chain protocol 7).
import { baseAfterVoid, stateDigest, ProtocolError, type Channel, type SignedState, type Update, type Verifier } from "../protocol/index.js";
import type { ChannelRecord, ChannelStore } from "../store/store.js";

/** The investor's and the venue's index among a channel's participants. */
export const ME = 1;
export const VENUE = 0;

/** The nonce of the venue proposal we refused (void) that the channel's next state skips, if any. */
export function voidedNonceOf(record: ChannelRecord): bigint | undefined {
  return record.pending?.proposer === VENUE && record.pending.voided === true ? record.pending.signed.state.nonce : undefined;
}

/**
 * What the client countersigns unasked from the venue: payments to us, locks to us, lock resolutions
 * (the secret is checked) and expiries (the core checks the expiry). Nothing else moves our funds.
 */
export function checkVenueMayPropose(update: Update): void {
  const ok =
    (update.kind === "payment" && update.leg.from === VENUE) ||
    (update.kind === "addLock" && update.lock.sender === VENUE) ||
    update.kind === "resolveLock" ||
    update.kind === "expireLock";
  if (!ok) throw new ProtocolError("INVALID_UPDATE", `the client accepts only payments, locks to it and lock resolutions or expiries from the venue unasked, not ${update.kind}`);
}

/**
 * Records a venue proposal we refuse as void when it is the venue's signed state of the channel's
 * next nonce: the venue voids it on our refusal, so our next state — or the venue's — skips its
 * nonce. Anything else (a wrong nonce or signature) voids nothing.
 */
export async function recordVoid(store: ChannelStore, verifier: Verifier, channel: Channel, record: ChannelRecord, latest: SignedState, proposed: SignedState): Promise<void> {
  const next = baseAfterVoid(latest.state, voidedNonceOf(record)).nonce + 1n;
  const signature = proposed.signatures[VENUE];
  if (proposed.state.nonce !== next || signature === null || !verifier.verify(stateDigest(proposed.state, channel.domain), signature, channel.params.participants[VENUE])) return;
  await store.proposalRecorded(record.channelId, { proposer: VENUE, signed: proposed, update: { kind: "refused", movements: [], at: Date.now() }, voided: true });
}
