// The node's shard map, as configured: from the `shard` section (LevelDB), or the table in
// PostgreSQL beside the channel store (docs/operations.md, "Shards").
import type { NodeConfig } from "../config.js";
import { ShardError } from "./errors.js";
import { PostgresShardMap } from "./postgres-shard-map.js";
import { ConfiguredShardMap, type ShardMap } from "./shard-map.js";

/** The map, or undefined when the node is not sharded. SHARD_MAP_INVALID for a section that does not fit the store. */
export async function openShardMap(config: Pick<NodeConfig, "shard" | "store">): Promise<ShardMap | undefined> {
  const shard = config.shard;
  if (shard === undefined) return undefined;
  if (config.store === undefined) return new ConfiguredShardMap(shard);
  if (shard.shards !== undefined || shard.investors !== undefined) {
    throw new ShardError("SHARD_MAP_INVALID", "with the PostgreSQL store the shard map is a table: give shard.id and shard.url, not shard.shards or shard.investors");
  }
  if (shard.url === undefined) throw new ShardError("SHARD_MAP_INVALID", "with the PostgreSQL store shard.url (this shard's public ws:// URL) is required");
  if (shard.mapSchema === config.store.schema) throw new ShardError("SHARD_MAP_INVALID", `the shard map needs a schema of its own, not the channel store's (${shard.mapSchema})`);
  return PostgresShardMap.open({ url: config.store.url, schema: shard.mapSchema, self: { id: shard.id, url: shard.url }, statementTimeoutMs: config.store.statementTimeoutMs });
}
