// Our own proposals: the next state built from an update, checked, signed and recorded before it
// leaves, sent to the venue, and agreed with its countersignature (docs/protocol.md, off-chain
// protocol 3). One at a time per channel, after whatever the channel's queue holds.
import {
  applyUpdate,
  baseAfterVoid,
  checkTransition,
  genesisState,
  stateDigest,
  stateToJson,
  verifyAgreed,
  withSignature,
  type Address,
  type Bytes32,
  type SignedState,
  type Update,
} from "../protocol/index.js";
import { PROTOCOL_VERSION, type NodeMessageParsed } from "../protocol/wire.js";
import { summarize } from "../store/summary.js";
import type { ClientContext } from "./client-context.js";
import { ClientError, rejectionError } from "./errors.js";
import { serialized } from "./live-channels.js";
import { recordUnrecordedVoid } from "./venue-countersign.js";
import { ME, VENUE, voidedNonceOf } from "./venue-proposals.js";

/** What a proposal carries besides its state: a routed payment's receiver, the secrets of the locks it resolves. */
export interface ProposalExtras {
  readonly route?: { readonly to: Address };
  readonly secrets?: readonly { readonly hashlock: Bytes32; readonly secret: Bytes32 }[];
}

/** Builds, checks, signs, records and sends our proposal of `update`; resolves with the agreed state. */
export async function propose(ctx: ClientContext, channelId: Bytes32, update: Update, extra: ProposalExtras = {}, memo?: string): Promise<SignedState> {
  const live = ctx.live.get(channelId);
  if (live === undefined) throw new ClientError("UNKNOWN_CHANNEL", `no channel ${channelId}`);
  const { store, signer, verifier, onEvent } = ctx.options;
  return serialized(live, async () => {
    await recordUnrecordedVoid(ctx, live);
    const record = await ctx.recordOf(channelId);
    const latest = record.latest ?? genesisState(live.channel);
    // Over a void the nonce above it. Ours is then not recorded: the void stays, across a restart too.
    const voided = voidedNonceOf(record);
    const state = applyUpdate(live.channel, baseAfterVoid(latest.state, voided), update);
    const secrets = new Map(extra.secrets?.map((x) => [x.hashlock, x.secret] as const));
    checkTransition(live.channel, latest.state, state, { facts: { deposits: await ctx.depositsOf(record), now: await ctx.chainTime.now() }, secrets, voided });
    const signature = signer.sign(stateDigest(state, live.channel.domain));
    const ours = withSignature({ state, signatures: [null, null] }, ME, signature);
    const summary = summarize(update, Date.now(), memo);
    if (voided === undefined) await store.proposalRecorded(channelId, { proposer: ME, signed: ours, update: summary });
    const id = ctx.connection.newId();
    live.outstanding = { id, nonce: state.nonce };
    let answer: NodeMessageParsed;
    try {
      answer = await ctx.connection.request({ v: PROTOCOL_VERSION, type: "propose", id, channelId, state: stateToJson(state), signature, ...extra });
    } finally {
      live.outstanding = undefined;
    }
    if (answer.type === "rejected") {
      // Unless a void of the venue's proposal replaced ours meanwhile (the venue's took precedence).
      if ((await ctx.recordOf(channelId)).pending?.proposer === ME) await store.proposalCleared(channelId);
      throw rejectionError(answer, update.kind);
    }
    if (answer.type !== "accepted") throw new ClientError("NODE_MISBEHAVED", `expected accepted, got ${answer.type}`);
    const agreed = withSignature(ours, VENUE, answer.signature);
    verifyAgreed(live.channel, agreed, verifier);
    await store.stateAgreed(channelId, agreed, summary);
    onEvent?.({ type: "agreed", channelId, nonce: state.nonce, summary, proposer: "me" });
    return agreed;
  });
}
