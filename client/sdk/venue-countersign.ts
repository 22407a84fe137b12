// The venue's proposals, unasked (docs/protocol.md, off-chain protocol 4): checked by the core and by
// what the client countersigns unasked (venue-proposals.ts; a fill's lock pair by fill-settlement.ts),
// then signed, recorded and answered `accepted`; refused with the core's reason otherwise, the refusal
// recorded as a void before it leaves.
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
import { approveFillLocks, type FillApprover } from "./fill-settlement.js";
import { serializedOrNow } from "./live-channels.js";
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

/** Countersigns or refuses the venue's proposal `message`. */
export async function answerVenueProposal(ctx: ClientContext, parts: CountersignParts, message: Extract<NodeMessageParsed, { type: "propose" }>): Promise<void> {
  const { store, signer, verifier, onEvent } = ctx.options;
  const live = ctx.live.get(message.channelId);
  if (live === undefined) {
    ctx.connection.send(rejectedMessage(message.id, message.channelId, { code: "UNKNOWN_CHANNEL", message: "the client knows no such channel" }));
    return;
  }
  // Simultaneous proposals: the venue's takes precedence, ours is dropped (the node rejects it with CONFLICT).
  await serializedOrNow(live, message.state.nonce, async () => {
    let refused: { record: ChannelRecord; latest: SignedState; proposed: SignedState } | undefined;
    try {
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
      onEvent?.({ type: "agreed", channelId: message.channelId, nonce: proposed.state.nonce, summary, proposer: "venue" });
      for (const listener of parts.agreedListeners) listener(message.channelId, update);
      if (update.kind === "addLock") parts.claimLocks(message.channelId);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      // Durable before the refusal leaves: the venue voids its proposal on it, and so do we.
      if (refused !== undefined) await recordVoid(store, verifier, live.channel, refused.record, refused.latest, refused.proposed);
      ctx.connection.send(rejectedMessage(message.id, message.channelId, rejectionOf(error)));
    }
  });
}
