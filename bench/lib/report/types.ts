// The shape of bench/report.json: the headline figures at its top level, then every raw row.
import type { TradingBench } from "../../trading.js";
import type { PostgresBench } from "../../postgres.js";
import type { CryptoBench } from "../../crypto.js";
import type { WorkersBench } from "../../workers.js";
import type { GasFigures } from "../../../scripts/gas-measure.js";
import type { LoadResult } from "../../load.js";
import type { DiskBench } from "../disk.js";
import type { Headline } from "../headline.js";
import type { MirrorRow } from "../mirror.js";
import type { ProfileSummary } from "../profile.js";

export interface ProfiledRun {
  readonly channels: number;
  readonly updates: number;
  readonly updatesPerSecond: number;
  readonly summary: ProfileSummary;
}

export type ThroughputRow = LoadResult;

/** An open-loop run, offered `loadFraction` of the maximum closed-loop rate. */
export interface OpenLoopRow extends LoadResult {
  readonly loadFraction: number;
}

export interface MemoryRow {
  readonly channels: number;
  /** Agreed states in the store (history entries), over all channels. */
  readonly storedUpdates: number;
  /** Time to build the store through the LevelStore API (signing every state), ms. */
  readonly fillMs: number;
  /** Channels the node reported on /health (must equal `channels`). */
  readonly listedAtHealth: number;
  /** Spawn of the node process → first 200 from /health: the faster of two starts, and both. */
  readonly startMs: number;
  readonly startsMs: readonly number[];
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly externalBytes: number;
}

/** The report: the headline figures at its top level (bench/lib/headline.ts), then every raw row. */
export interface BenchReport extends Headline {
  readonly generatedAt: string;
  readonly durationSeconds: number;
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly platform: string;
    readonly loadAverageBefore: number[];
    readonly loadAverageAfter: number[];
    readonly commit: string;
  };
  readonly settings: Record<string, unknown>;
  readonly crypto: CryptoBench;
  readonly disk: DiskBench;
  /** Closed loop: each channel as fast as the node answers. */
  readonly throughput: readonly ThroughputRow[];
  /** Open loop: fixed offered rates, latency from each proposal's due time. */
  readonly openLoop: readonly OpenLoopRow[];
  /** Closed loop over a few channels with many more authenticated connections held open, idle. */
  readonly connections: readonly ThroughputRow[];
  /** The throughput node after the runs: all bench channels loaded, sessions closed. */
  readonly liveNode: { readonly channels: number; readonly rssBytes: number; readonly heapUsedBytes: number };
  /** CPU of the node with channels loaded and no load (chain polling), % of one core. */
  readonly idleNodeCorePercent: number;
  /** Restart of the throughput node (before the profiled run) on its own data directory. */
  readonly restartWithLiveChannels: { readonly channels: number; readonly ms: number };
  readonly profile: ProfiledRun | undefined;
  /** The same profile in the open loop at half the maximum rate; absent when the open-loop runs were skipped. */
  readonly profileAtHalfLoad?: ProfiledRun;
  readonly memory: readonly MemoryRow[];
  /** The saved compliance mirror with many holders (bench/lib/mirror.ts); absent when skipped. */
  readonly mirror?: readonly MirrorRow[];
  /** Orders and settled fills (bench/trading.ts); absent when skipped. */
  readonly trading?: TradingBench;
  /** The node on PostgreSQL and its failover time (bench/postgres.ts): absent when skipped by flag, `skipped` when PostgreSQL is missing. */
  readonly postgres?: PostgresBench;
  /** Shard processes of one venue side by side (bench/workers.ts); absent when skipped. */
  readonly workers?: WorkersBench;
  readonly gas: { readonly oneAsset: GasFigures; readonly twoAssets: GasFigures; readonly issuer: GasFigures; readonly anchors: Record<string, number> };
}
