// A channel's confirmed deposits as the client counts them.
//
// A deposit counts once the chain holds it and the venue's node has reported it: the node counts a
// deposit only after its confirmations, and an update that spends a deposit the node does not count
// yet is refused there (INSUFFICIENT_BALANCE). Counting the smaller of the two keeps the client's
// checks and the node's in agreement, and never counts more than the chain holds (a node reporting
// more than it holds is not believed). Without a report (not connected) the chain alone counts.
// What was withdrawn comes from the stored checkpoint (client/chain/checkpoint.ts), not the chain's logs.
import type { Deposits } from "../protocol/index.js";
import type { ChannelView } from "../protocol/wire.js";
import type { AdjudicatorClient } from "../chain/adjudicator.js";
import { checkpointOf } from "../chain/checkpoint.js";
import type { ChannelRecord, ChannelStore } from "../store/store.js";

/** Confirmed deposits: the chain's, capped by the venue's report when there is one; without a chain, the report's. */
export async function confirmedDeposits(
  record: ChannelRecord,
  chain: AdjudicatorClient | undefined,
  report: ChannelView | undefined,
  store: Pick<ChannelStore, "history">,
): Promise<Deposits> {
  const reported = (assetIndex: number, participant: 0 | 1): bigint => BigInt(report?.deposits[assetIndex]?.[participant] ?? "0");
  if (chain !== undefined) {
    const checkpoint = await checkpointOf(chain, store, record);
    return Promise.all(
      record.params.assets.map(async (_token, assetIndex) => {
        const h = await chain.holdings(record.channelId, assetIndex, checkpoint);
        const held = [h.available0 + h.paid0, h.available1 + h.paid1] as const;
        if (report === undefined) return held;
        return [min(held[0], reported(assetIndex, 0)), min(held[1], reported(assetIndex, 1))] as const;
      }),
    );
  }
  return record.params.assets.map((_, i) => [reported(i, 0), reported(i, 1)] as const);
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
