// Which channels whose open never reached the chain the client may forget.
import type { Address, Bytes32 } from "../protocol/index.js";
import type { AdjudicatorClient } from "../chain/adjudicator.js";
import { toChainError } from "../chain/errors.js";
import type { ChannelStore } from "../store/store.js";

/** What `pruneChannels` did with each channel the chain does not know yet. */
export interface PruneResult {
  readonly abandoned: readonly Bytes32[];
  /** Channels kept, and why (an open in progress, a pending transaction of ours, on chain after all). */
  readonly kept: readonly { readonly channelId: Bytes32; readonly reason: string }[];
}

/**
 * Abandons the `proposed` channels of `store` unknown to the adjudicator, not in `opening`, while no
 * transaction of `address` is pending (a pending one may still open it); says what it kept and why.
 */
export async function pruneChannels(
  chain: AdjudicatorClient,
  store: ChannelStore,
  address: Address,
  opening: ReadonlySet<Bytes32>,
  abandon: (channelId: Bytes32) => Promise<void>,
): Promise<PruneResult> {
  const abandoned: Bytes32[] = [];
  const kept: { channelId: Bytes32; reason: string }[] = [];
  const candidates = await store.channels({ status: "proposed" });
  if (candidates.length === 0) return { abandoned, kept };
  const [pending, mined] = await Promise.all([chain.signer.getNonce("pending"), chain.signer.getNonce("latest")]).catch((error: unknown) => {
    throw toChainError(error, "getTransactionCount");
  });
  for (const record of candidates) {
    const channelId = record.channelId;
    if (opening.has(channelId)) kept.push({ channelId, reason: "being opened" });
    else if ((await chain.channel(channelId)).phase !== "None") kept.push({ channelId, reason: "on chain: its events are still to be seen" });
    else if (pending > mined) kept.push({ channelId, reason: `${pending - mined} transaction(s) of ${address} pending: one may still open it` });
    else {
      await abandon(channelId);
      abandoned.push(channelId);
    }
  }
  return { abandoned, kept };
}
