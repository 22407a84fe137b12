// The node's channel store, as configured: LevelDB in the data directory (the default), or
// PostgreSQL when `store.url` (CLEARLINE_DATABASE_URL) is set. Either is bound to the node's chain.
import { join } from "node:path";
import type { ChainBinding } from "../../../client/store/chain-binding.js";
import { LevelStore } from "../../../client/store/level-store.js";
import type { ChannelRecord, ChannelStore } from "../../../client/store/store.js";
import type { NodeConfig } from "../config.js";
import { syncedWriteProbe } from "../health.js";
import type { StoreError } from "../../../client/store/errors.js";
import type { HeldLease } from "./postgres-lease.js";

export interface NodeStore {
  readonly store: ChannelStore;
  readonly kind: "leveldb" | "postgres";
  /** For the logs: the directory, or the database (URL without password) and schema. */
  readonly location: string;
  /** The health check's probe: a synced write into the data directory, or a round trip to the database. */
  readonly probe: () => Promise<void>;
  /** On PostgreSQL: the epoch of the leader lease this node holds. */
  readonly leaseEpoch: string | null;
}

export interface StoreBinding {
  readonly chain: ChainBinding;
  readonly adoptLegacy: (channels: readonly ChannelRecord[]) => Promise<boolean>;
}

/** What a node on PostgreSQL needs to know: it lost the lease, or a write failed (the store refuses every later one); when to stop waiting for the lease. */
export interface StoreHooks {
  readonly onFenced?: (error: StoreError<"FENCED">) => void;
  readonly onFailed?: (error: StoreError<"WRITE_FAILED">) => void;
  readonly signal?: AbortSignal;
  /** While a standby waits: the lease another node holds, after each attempt to take it. */
  readonly onWaiting?: (held: HeldLease) => void;
  /** After each write batch is durable: its time (call → durable, ms). */
  readonly onBatch?: (ms: number) => void;
}

/** On PostgreSQL with `store.lease`, resolves only once this process holds the leader lease (a standby waits here). */
export async function openNodeStore(config: Pick<NodeConfig, "dataDir" | "store">, binding: StoreBinding, hooks: StoreHooks = {}): Promise<NodeStore> {
  if (config.store === undefined) {
    const location = join(config.dataDir, "channels");
    const store = await LevelStore.open(location, { ...binding, ...(hooks.onBatch === undefined ? {} : { onBatch: hooks.onBatch }) });
    return { store, kind: "leveldb", location, probe: () => syncedWriteProbe(config.dataDir), leaseEpoch: null };
  }
  const { lease, ...settings } = config.store;
  // Loaded only here: a node on LevelDB does not pay for loading the PostgreSQL client at start.
  const { PostgresStore } = await import("./postgres-store.js");
  const store = await PostgresStore.open({
    ...settings,
    ...binding,
    ...(lease === undefined
      ? {}
      : { lease: { ...lease, ...(hooks.signal === undefined ? {} : { signal: hooks.signal }), ...(hooks.onWaiting === undefined ? {} : { onWaiting: hooks.onWaiting }) } }),
    ...(hooks.onFenced === undefined ? {} : { onFenced: hooks.onFenced }),
    ...(hooks.onFailed === undefined ? {} : { onFailed: hooks.onFailed }),
    ...(hooks.onBatch === undefined ? {} : { onBatch: hooks.onBatch }),
  });
  return { store, kind: "postgres", location: store.location, probe: () => store.probe(), leaseEpoch: store.leaseEpoch };
}
