// The default shard of an investor nobody pinned yet: a hash of its address over the shard ids in
// sorted order. Pure, so every node of the venue computes the same answer from the same shard list.
// Adding a shard changes the default of some investors; a pin (shard-map.ts) keeps an investor
// where its channels are.
import { getAddress, keccak256 } from "ethers";
import type { Address } from "../../../client/protocol/types.js";

/** The shard among `shardIds` (not empty) that `investor` belongs to by default. */
export function defaultShardOf(investor: Address, shardIds: readonly string[]): string {
  if (shardIds.length === 0) throw new RangeError("no shards to choose from");
  const sorted = [...shardIds].sort();
  const digest = BigInt(keccak256(getAddress(investor)));
  return sorted[Number(digest % BigInt(sorted.length))]!;
}
