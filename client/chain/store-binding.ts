// Which chain the investor's store belongs to (client/store/chain-binding.ts), read from the chain
// the SDK is connected to: its id, the adjudicator and the hash of its genesis block.
import type { AdjudicatorClient } from "./adjudicator.js";
import { toChainError } from "./errors.js";
import type { Bytes32 } from "../protocol/types.js";
import type { ChainBinding } from "../store/chain-binding.js";
import type { ChannelRecord } from "../store/store.js";

export async function chainBindingOf(chain: AdjudicatorClient): Promise<ChainBinding> {
  let hash: string | null | undefined;
  try {
    hash = (await chain.provider.getBlock(0))?.hash;
  } catch (error) {
    throw toChainError(error, "getBlock");
  }
  if (typeof hash !== "string") throw toChainError(new Error("the chain has no genesis block"), "getBlock");
  return { ...chain.deployment, genesisHash: hash.toLowerCase() as Bytes32 };
}

/**
 * For a store written before stores were bound: its channels are on this chain unless one the
 * store saw on chain (any status but `proposed`) is unknown to the adjudicator.
 */
export function channelsOnChain(chain: AdjudicatorClient): (channels: readonly ChannelRecord[]) => Promise<boolean> {
  return async (channels) => {
    for (const record of channels) {
      if (record.status !== "proposed" && (await chain.channel(record.channelId)).phase === "None") return false;
    }
    return true;
  };
}
