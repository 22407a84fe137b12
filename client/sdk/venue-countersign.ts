// The venue's proposals, unasked (docs/protocol.md, off-chain protocol 4): checked by the core and by
// what the client countersigns unasked (venue-proposals.ts; a fill's lock pair by fill-settlement.ts),
// then signed, recorded and answered `accepted`; refused with the core's reason otherwise, the refusal
// recorded as a void before it leaves. A proposal that cannot be judged (a chain read, a log-proof
// request or a store read or write failed) is judged again after a short back-off, and refused
// UNAVAILABLE when the retries fail (docs/sdk.md, "A venue proposal that cannot be judged").
import {
  checkStateBounds,
  genesisState,
  rejectionOf,
  stateDigest,
  validateTransition,
  withSignature,
  ProtocolError,
  type Bytes32,
  type SignedState,
} from "../protocol/index.js";
import { PROTOCOL_VERSION, rejectedMessage, type NodeMessageParsed } from "../protocol/wire.js";
import type { ChannelRecord } from "../store/store.js";
import { summarize } from "../store/summary.js";
import type { ClientContext } from "./client-context.js";
import { isClientError } from "./errors.js";
import { approveFillLocks, type FillApprover } from "./fill-settlement.js";
import { serializedOrNow, type Live } from "./live-channels.js";
import type { AgreedListener } from "./lock-claims.js";
import { ME, checkVenueMayPropose, recordVoid, voidedNonceOf } from "./venue-proposals.js";

/** What answering the venue's proposals needs besides the context. */
export interface CountersignParts {
  /** Who may approve a fill's lock pair: one approver per venue log. */
  readonly fillApprovers: () => Iterable<FillApprover>;
  /** Told of every venue proposal we countersigned (a routed payment waits for its lock's resolution). */
  readonly agreedListeners: ReadonlySet<AgreedListener>;
  /** A lock to us arrived: claim it if it is for one of our invoices. */
  readonly claimLocks: (channelId: Bytes32) => void;
}

/**
 * How a venue proposal that cannot be judged is retried: the waits before each new attempt, and the
 * time since its arrival after which no attempt starts. Well inside the node's default response
 * timeout (10 s), so the answer — a late countersignature or the refusal — reaches the proposal's offer.
 */
export const VENUE_PROPOSAL_RETRY = { delaysMs: [200, 400, 800, 1_600], budgetMs: 5_000 } as const;

type Propose = Extract<NodeMessageParsed, { type: "propose" }>;

/** The last venue proposal received per channel (the message itself: a restarted node reuses request ids): an older one still being retried is superseded by it. */
const lastProposal = new WeakMap<Live, Propose>();

/** A proposal refused UNAVAILABLE whose void the store could not record then: recorded before the channel's next proposal is judged. */
const unrecordedVoid = new WeakMap<Live, SignedState>();

/**
 * Countersigns or refuses the venue's proposal `message`. Judged in the channel's queue; when judging
 * fails for a reason other than the core's verdict it is retried (VENUE_PROPOSAL_RETRY), unless a
 * newer proposal arrived meanwhile or the connection is gone (the node offers it again after the
 * resync), and refused UNAVAILABLE when the retries are spent. Answered at most once.
 */
export async function answerVenueProposal(ctx: ClientContext, parts: CountersignParts, message: Propose): Promise<void> {
  const live = ctx.live.get(message.channelId);
  if (live === undefined) {
    ctx.connection.send(rejectedMessage(message.id, message.channelId, { code: "UNKNOWN_CHANNEL", message: "the client knows no such channel" }));
    return;
  }
  lastProposal.set(live, message);
  const arrived = Date.now();
  const { onEvent } = ctx.options;
  const nonce = message.state.nonce;
  // Simultaneous proposals: the venue's takes precedence, ours is dropped (the node rejects it with CONFLICT).
  await serializedOrNow(live, nonce, async () => {
    for (let attempt = 1; ; attempt += 1) {
      if (lastProposal.get(live) !== message) return;
      const answer: { sent: boolean } = { sent: false };
      try {
        await judge(ctx, parts, live, message, answer);
        return;
      } catch (error) {
        const failure = error instanceof Error ? error : new Error(String(error));
        // Answered already (a listener failed after it), or the connection is gone: nothing more to send.
        if (answer.sent || isClientError(failure, "NOT_CONNECTED")) throw failure;
        const delayMs = VENUE_PROPOSAL_RETRY.delaysMs[attempt - 1];
        if (delayMs === undefined || Date.now() + delayMs - arrived > VENUE_PROPOSAL_RETRY.budgetMs) {
          await refuseUnavailable(ctx, live, message, failure, attempt);
          return;
        }
        onEvent?.({ type: "venueProposalRetry", channelId: message.channelId, nonce, attempt, delayMs, error: failure });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      }
    }
  });
}

/**
 * One attempt at judging: countersigned (recorded before the answer leaves, so a store write that
 * fails sends nothing) or refused with the core's reason. Throws anything else; `answer.sent` tells
 * whether an answer left before it did.
 */
async function judge(ctx: ClientContext, parts: CountersignParts, live: Live, message: Propose, answer: { sent: boolean }): Promise<void> {
  const { store, signer, verifier, onEvent } = ctx.options;
  let refused: { record: ChannelRecord; latest: SignedState; proposed: SignedState } | undefined;
  try {
    await recordUnrecordedVoid(ctx, live);
    const record = await ctx.recordOf(message.channelId);
    const latest = record.latest ?? genesisState(live.channel);
    checkStateBounds(message.state);
    const proposed: SignedState = { state: message.state, signatures: [message.signature, null] };
    refused = { record, latest, proposed };
    const secrets = new Map((message.secrets ?? []).map((x) => [x.hashlock, x.secret] as const));
    const facts = { deposits: await ctx.depositsOf(record), now: await ctx.chainTime.now() };
    const { update } = validateTransition(live.channel, latest, proposed, { facts, secrets, voided: voidedNonceOf(record) }, verifier);
    // A fill's lock pair only for the fill it names, of one of our orders (fill-settlement.ts); awaited in this channel's queue only.
    const fill = message.fill === undefined ? undefined : BigInt(message.fill);
    if (update.kind === "addLockPair") await approveFillLocks(parts.fillApprovers(), live.channel.params.assets, update.locks, fill);
    else if (fill !== undefined) throw new ProtocolError("INVALID_UPDATE", "only a lock pair names a fill");
    else checkVenueMayPropose(update, { latest: latest.state, proposed: proposed.state, ownProposalInFlight: live.outstanding !== undefined });
    const signature = signer.sign(stateDigest(proposed.state, live.channel.domain));
    const agreed = withSignature(proposed, ME, signature);
    const summary = summarize(update, Date.now());
    // Paid: the invoice's secret is kept from now on (before the lock is agreed, so a crash in between cannot expire it).
    if (update.kind === "addLock") await store.invoicePaid(update.lock.hashlock);
    await store.stateAgreed(message.channelId, agreed, summary);
    ctx.connection.send({ v: PROTOCOL_VERSION, type: "accepted", id: message.id, channelId: message.channelId, nonce: proposed.state.nonce.toString(), signature });
    answer.sent = true;
    onEvent?.({ type: "agreed", channelId: message.channelId, nonce: proposed.state.nonce, summary, proposer: "venue" });
    for (const listener of parts.agreedListeners) listener(message.channelId, update);
    if (update.kind === "addLock") parts.claimLocks(message.channelId);
  } catch (error) {
    if (!(error instanceof ProtocolError) || answer.sent) throw error;
    // Durable before the refusal leaves: the venue voids its proposal on it, and so do we.
    if (refused !== undefined) await recordVoid(store, verifier, live.channel, refused.record, refused.latest, refused.proposed);
    ctx.connection.send(rejectedMessage(message.id, message.channelId, rejectionOf(error)));
    answer.sent = true;
  }
}

/**
 * Records the void of a proposal refused UNAVAILABLE that the store could not record then (recordVoid
 * checks it is still the next nonce): before the channel's next state is judged or built, ours too.
 */
export async function recordUnrecordedVoid(ctx: ClientContext, live: Live): Promise<void> {
  const proposed = unrecordedVoid.get(live);
  if (proposed === undefined) return;
  const record = await ctx.recordOf(live.channel.channelId);
  await recordVoid(ctx.options.store, ctx.options.verifier, live.channel, record, record.latest ?? genesisState(live.channel), proposed);
  unrecordedVoid.delete(live);
}

/**
 * Gives up on a proposal it could not judge: refuses it UNAVAILABLE (the venue voids it and is free
 * to propose again) and tells the app. The void is recorded first when the store allows; when it
 * cannot, the refusal leaves all the same (the node tells of its void proposals at the next resync).
 */
async function refuseUnavailable(ctx: ClientContext, live: Live, message: Propose, failure: Error, attempts: number): Promise<void> {
  const { store, verifier, onEvent } = ctx.options;
  const proposed: SignedState = { state: message.state, signatures: [message.signature, null] };
  try {
    const record = await ctx.recordOf(message.channelId);
    await recordVoid(store, verifier, live.channel, record, record.latest ?? genesisState(live.channel), proposed);
  } catch {
    // The store failing is what the refusal reports; the void is recorded before the next proposal is judged.
    unrecordedVoid.set(live, proposed);
  }
  const reason = `the investor could not judge the proposal after ${attempts} attempts: ${failure.message}`.slice(0, 1_000);
  ctx.connection.send(rejectedMessage(message.id, message.channelId, { code: "UNAVAILABLE", message: reason }));
  onEvent?.({ type: "venueProposalRefused", channelId: message.channelId, nonce: message.state.nonce, code: "UNAVAILABLE", error: failure });
}
