// The `shard` section of the node's configuration (docs/operations.md, "Shards"): which shard this
// process is, and, with the LevelDB store, the whole shard map; with PostgreSQL the map is a table
// (postgres-shard-map.ts) and this process only registers its own public URL there.
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { isShardId, isShardUrl } from "../../../client/protocol/session.js";

const shardId = z.string().refine(isShardId, "a shard id: 1–32 characters of a-z, 0-9 and -, starting with a letter or digit");
const shardUrl = z.string().refine(isShardUrl, "a ws:// or wss:// URL without spaces");
const address = z.string().refine(isAddress, "not an address").transform((a) => getAddress(a));

export const shardConfigSchema = z.strictObject({
  /** This process's shard. */
  id: shardId,
  /** This shard's public URL, what other shards send its investors to (PostgreSQL: registered in the map at start). */
  url: shardUrl.optional(),
  /** LevelDB: every shard of the venue, id → public URL (this one included). PostgreSQL: absent (the map is a table). */
  shards: z.record(shardId, shardUrl).optional(),
  /** LevelDB: investors kept on a shard other than their hash default, address → shard id (see "Adding a shard"). */
  investors: z.record(address, shardId).optional(),
  /** PostgreSQL: the schema holding the shard map, shared by every shard of the venue. */
  mapSchema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "1–63 characters of a-z, 0-9 and _, not starting with a digit").default("clearline_shard_map"),
  /** The link between shards that carries payments between their investors (link.ts, remote-routes.ts). */
  link: z
    .strictObject({
      /** Links from other shards answered at once (default 64). */
      maxLinks: z.number().int().min(1).max(10_000).optional(),
      /** Requests one link may have unanswered (default 512). */
      maxInFlight: z.number().int().min(1).max(100_000).optional(),
      /** How often the payer's shard asks the others for the secrets of its unclaimed locks (default 2,000 ms). */
      secretPullMs: z.number().int().min(100).max(600_000).optional(),
    })
    .optional(),
});

export type ShardConfig = z.output<typeof shardConfigSchema>;
