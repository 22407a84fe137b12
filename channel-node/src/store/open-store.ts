// The node's channel store, as configured: LevelDB in the data directory (the default), or
// PostgreSQL when `store.url` (CLEARLINE_DATABASE_URL) is set. Either is bound to the node's chain.
import { join } from "node:path";
import type { ChainBinding } from "../../../client/store/chain-binding.js";
import { LevelStore } from "../../../client/store/level-store.js";
import type { ChannelRecord, ChannelStore } from "../../../client/store/store.js";
import type { NodeConfig } from "../config.js";
import { syncedWriteProbe } from "../health.js";
import { PostgresStore } from "./postgres-store.js";

export interface NodeStore {
  readonly store: ChannelStore;
  readonly kind: "leveldb" | "postgres";
  /** For the logs: the directory, or the database (URL without password) and schema. */
  readonly location: string;
  /** The health check's probe: a synced write into the data directory, or a round trip to the database. */
  readonly probe: () => Promise<void>;
}

export interface StoreBinding {
  readonly chain: ChainBinding;
  readonly adoptLegacy: (channels: readonly ChannelRecord[]) => Promise<boolean>;
}

export async function openNodeStore(config: Pick<NodeConfig, "dataDir" | "store">, binding: StoreBinding): Promise<NodeStore> {
  if (config.store === undefined) {
    const location = join(config.dataDir, "channels");
    const store = await LevelStore.open(location, binding);
    return { store, kind: "leveldb", location, probe: () => syncedWriteProbe(config.dataDir) };
  }
  const store = await PostgresStore.open({ ...config.store, ...binding });
  return { store, kind: "postgres", location: store.location, probe: () => store.probe() };
}
