// A channel's confirmed deposits as the client knows them.
import type { Deposits } from "../protocol/index.js";
import type { ChannelView } from "../protocol/wire.js";
import type { AdjudicatorClient } from "../chain/adjudicator.js";
import type { ChannelRecord } from "../store/store.js";

/** Confirmed deposits: from the chain when the client has one, else the venue's `report`. */
export async function confirmedDeposits(record: ChannelRecord, chain: AdjudicatorClient | undefined, report: ChannelView | undefined): Promise<Deposits> {
  if (chain !== undefined) {
    return Promise.all(
      record.params.assets.map(async (_token, assetIndex) => {
        const h = await chain.holdings(record.channelId, assetIndex);
        return [h.available0 + h.paid0, h.available1 + h.paid1] as const;
      }),
    );
  }
  return record.params.assets.map((_, i) => [BigInt(report?.deposits[i]?.[0] ?? "0"), BigInt(report?.deposits[i]?.[1] ?? "0")] as const);
}
