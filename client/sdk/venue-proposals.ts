// What the client countersigns from the venue unasked, and the void rule for what it refuses
// (docs/protocol.md, off-chain protocol 7).
import { baseAfterVoid, stateDigest, ProtocolError, type Channel, type Lock, type SignedState, type State, type Update, type Verifier, type Withdrawal } from "../protocol/index.js";
import type { ChannelRecord, ChannelStore } from "../store/store.js";

/** The investor's and the venue's index among a channel's participants. */
export const ME = 1;
export const VENUE = 0;

/** The nonce of the venue proposal we refused (void) that the channel's next state skips, if any. */
export function voidedNonceOf(record: ChannelRecord): bigint | undefined {
  return record.pending?.proposer === VENUE && record.pending.voided === true ? record.pending.signed.state.nonce : undefined;
}

/** What the client knows besides the update when the venue proposes unasked. */
export interface VenueProposalContext {
  /** Our latest agreed state. */
  readonly latest: State;
  /** The venue's proposed state (the core recognised `update` in it). */
  readonly proposed: State;
  /** A proposal of ours is on its way to the venue, unanswered. */
  readonly ownProposalInFlight: boolean;
}

/**
 * What the client countersigns unasked from the venue (docs/protocol.md, off-chain protocol 4):
 * - payments to us, locks to us, lock resolutions (the secret is checked) and expiries (the core
 *   checks the expiry) — nothing else moves our funds;
 * - the cancel of a lock pair before its expiry (a failed fill's): both legs go back to their
 *   senders, and we give up only the venue's leg, which nobody but the venue could complete (it
 *   alone holds the secret; the core refuses a cancel once a reveal is known);
 * - the venue's withdrawal of its own funds: only the venue's cumulative withdrawals grow, our
 *   withdrawals, the nets and the locks stay as they are (the core checks the venue can cover it);
 * - a final state (the operator's cooperative close): exactly our latest balances, no lock in it or
 *   before it, and no proposal of ours in flight (it would be dropped by the close). A close pays
 *   both sides exactly the agreed balances, so countersigning it costs us nothing.
 * Funds reserved by our resting orders are the venue's to check: its books hold them.
 */
export function checkVenueMayPropose(update: Update, context: VenueProposalContext): void {
  switch (update.kind) {
    case "payment":
      if (update.leg.from === VENUE) return;
      break;
    case "addLock":
      if (update.lock.sender === VENUE) return;
      break;
    case "resolveLock":
    case "expireLock":
    case "cancelLockPair":
      return;
    case "withdrawal":
      return checkVenueWithdrawal(update.withdrawals, context);
    case "final":
      return checkVenueClose(context);
    default:
      break;
  }
  throw new ProtocolError(
    "INVALID_UPDATE",
    `the client accepts from the venue unasked only payments and locks to it, lock resolutions, expiries or lock pair cancels, the venue's own withdrawals and a final state of the latest balances, not ${nameOf(update)}`,
  );
}

function nameOf(update: Update): string {
  if (update.kind === "payment") return "a payment from the investor";
  if (update.kind === "addLock") return "a lock of the investor's funds";
  return `a ${update.kind}`;
}

function checkVenueWithdrawal(withdrawals: readonly Withdrawal[], { latest, proposed, ownProposalInFlight }: VenueProposalContext): void {
  const investors = withdrawals.filter((w) => w.participant !== VENUE);
  if (investors.length > 0) throw new ProtocolError("INVALID_UPDATE", "the venue may withdraw only its own funds unasked, never the investor's", { assetIndex: investors[0]!.assetIndex });
  const untouched = proposed.allocations.every((after, i) => {
    const before = latest.allocations[i];
    return before !== undefined && after.net === before.net && after.withdrawn1 === before.withdrawn1;
  });
  if (!untouched || !sameLocks(latest.locks, proposed.locks)) throw new ProtocolError("INVALID_UPDATE", "a venue withdrawal may change nothing but the venue's cumulative withdrawals");
  if (ownProposalInFlight) throw new ProtocolError("BUSY", "a proposal of the investor's is in flight; the venue's withdrawal must wait for its answer");
}

function checkVenueClose({ latest, proposed, ownProposalInFlight }: VenueProposalContext): void {
  if (latest.locks.length > 0 || proposed.locks.length > 0) {
    throw new ProtocolError("LOCKS_OUTSTANDING", "the venue proposed a final state while locks are outstanding", { locks: latest.locks.length });
  }
  const same =
    proposed.allocations.length === latest.allocations.length &&
    proposed.allocations.every((after, i) => {
      const before = latest.allocations[i]!;
      return after.token === before.token && after.net === before.net && after.withdrawn0 === before.withdrawn0 && after.withdrawn1 === before.withdrawn1;
    });
  if (!same) throw new ProtocolError("INVALID_UPDATE", "the venue's final state does not pay out exactly our latest agreed balances");
  if (ownProposalInFlight) throw new ProtocolError("BUSY", "a proposal of the investor's is in flight; the venue's close must wait for its answer");
}

const sameLocks = (a: readonly Lock[], b: readonly Lock[]): boolean =>
  a.length === b.length && a.every((l, i) => l.hashlock === b[i]!.hashlock && l.amount === b[i]!.amount && l.expiry === b[i]!.expiry && l.sender === b[i]!.sender && l.assetIndex === b[i]!.assetIndex);

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
