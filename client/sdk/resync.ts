// After each (re)connect the client sends its latest agreed state of every channel and takes in the
// node's view (docs/protocol.md, off-chain protocol 8): the venue's newer agreed state, once checked;
// our proposal the venue never got is void; a venue proposal void at the venue is skipped too.
import { checkStateBounds, genesisState, signedStateToJson, verifyAgreed } from "../protocol/index.js";
import { PROTOCOL_VERSION, type ChannelView } from "../protocol/wire.js";
import type { ClientContext } from "./client-context.js";
import { ClientError } from "./errors.js";
import { serialized } from "./live-channels.js";
import { recordVoid } from "./venue-proposals.js";

/** Sends our latest agreed state of every channel; resolves with the node's view of each. */
export async function resync(ctx: ClientContext): Promise<ChannelView[]> {
  const records = await ctx.store.channels();
  const channels = records.map((r) => ({ channelId: r.channelId, latest: r.latest === null ? null : signedStateToJson(r.latest) }));
  const answer = await ctx.connection.request({ v: PROTOCOL_VERSION, type: "resync", id: ctx.connection.newId(), channels });
  if (answer.type !== "resynced") throw new ClientError("NODE_MISBEHAVED", `expected resynced, got ${answer.type}`);
  return answer.channels;
}

/** Takes in the node's view of a channel: the newest agreed state if it is newer and valid. */
export async function absorb(ctx: ClientContext, report: ChannelView): Promise<void> {
  const { store, verifier } = ctx.options;
  ctx.reports.set(report);
  let record = await store.channel(report.channelId);
  if (record === undefined) return; // a channel we never agreed to: nothing of ours is at stake
  const live = ctx.track(record);
  await serialized(live, async () => {
    const theirs = report.latest;
    checkStateBounds(theirs.state);
    record = (await store.channel(report.channelId))!;
    const ours = record.latest?.state.nonce ?? 0n;
    if (theirs.state.nonce > ours) {
      verifyAgreed(live.channel, theirs, verifier);
      const pending = record.pending;
      const summary = pending !== null && pending.voided !== true && pending.signed.state.nonce === theirs.state.nonce ? pending.update : { kind: "resync", movements: [], at: Date.now() };
      await store.stateAgreed(report.channelId, theirs, summary);
    } else if (record.pending !== null && record.pending.voided !== true) {
      // Our proposal never reached the venue: it is void.
      await store.proposalCleared(report.channelId);
    }
    // A venue proposal void at the venue (expired while we were away, or refused): skip its nonce too.
    if (report.voided !== undefined) {
      record = (await store.channel(report.channelId))!;
      await recordVoid(store, verifier, live.channel, record, record.latest ?? genesisState(live.channel), report.voided);
    }
  });
}
