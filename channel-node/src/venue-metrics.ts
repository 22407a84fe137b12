// What a venue watches on /metrics besides the counters of metrics.ts: value locked per asset, its
// wallet's tokens and ETH for gas, the chain's head and each chain watcher's lag, pending locks,
// disputes and the time to the nearest deadline, and the compliance mirror's pending backfills. Computed at each scrape — the channels from the
// engine's memory, the chain's facts from reads shared for `cacheMs` (one round in flight at a
// time), so a flood of scrapes of the public /metrics costs the chain one round of reads per
// `cacheMs`. Amounts are in whole tokens (floats: for watching, never for accounting).
import { Gauge } from "prom-client";
import { formatUnits } from "ethers";
import type { Address, State } from "../../client/protocol/index.js";
import type { ChannelRecord } from "../../client/store/store.js";
import type { AssetInfo } from "./operator-info.js";
import type { NodeMetrics } from "./metrics.js";

export interface VenueMetricsSources {
  readonly venue: Address;
  /** The venue's configured assets. */
  readonly assets: readonly Address[];
  readonly asset: (token: Address) => Promise<AssetInfo>;
  readonly walletBalance: (token: Address) => Promise<bigint>;
  readonly ethBalance: () => Promise<bigint>;
  readonly chainHead: () => Promise<number>;
  /** Every channel with its latest agreed state. */
  readonly channels: () => Iterable<{ readonly record: ChannelRecord; readonly latest: State }>;
  /** Each chain watcher's last processed block (null before its first poll). */
  readonly watchers: () => Record<string, number | null>;
  /** Rules contracts and registries reached through a rules replacement that the mirror is still reading (compliance-mirror.ts). */
  readonly backfilling: () => readonly string[];
  readonly confirmations: number;
  /** The chain's time in seconds; throws while unknown. */
  readonly now: () => bigint;
  /** How long one round of chain reads serves scrapes. */
  readonly cacheMs: number;
  readonly clockMs?: () => number;
}

interface ChainReads {
  readonly head: number;
  readonly eth: bigint;
  readonly wallet: readonly { readonly info: AssetInfo; readonly amount: bigint }[];
}

const whole = (amount: bigint, decimals: number): number => Number(formatUnits(amount, decimals));

/** Registers the venue's gauges on `metrics.registry`. */
export function registerVenueMetrics(metrics: NodeMetrics, sources: VenueMetricsSources): void {
  const registers = [metrics.registry];
  const clockMs = sources.clockMs ?? Date.now;
  let cached: { at: number; reads: Promise<ChainReads | null> } | undefined;
  /** The chain's facts, read at most once per `cacheMs`; null when the chain does not answer. */
  const chainReads = (): Promise<ChainReads | null> => {
    if (cached === undefined || clockMs() - cached.at >= sources.cacheMs) {
      const reads = Promise.all([
        sources.chainHead(),
        sources.ethBalance(),
        Promise.all(sources.assets.map(async (token) => ({ info: await sources.asset(token), amount: await sources.walletBalance(token) }))),
      ]).then(
        ([head, eth, wallet]) => ({ head, eth, wallet }),
        () => null,
      );
      cached = { at: clockMs(), reads };
    }
    return cached.reads;
  };
  /** Symbols and decimals of the configured assets (read once; an unreadable one is named by its address). */
  const infos = (): Promise<Map<string, AssetInfo>> =>
    Promise.all(sources.assets.map((token) => sources.asset(token).catch(() => ({ address: token, symbol: token, decimals: 0 })))).then(
      (list) => new Map(list.map((info) => [info.address.toLowerCase(), info])),
    );

  new Gauge({
    name: "clearline_value_locked",
    help: "Tokens held by the adjudicator for the venue's channels not yet concluded (deposits less agreed withdrawals), whole tokens per asset",
    labelNames: ["asset", "token"],
    registers,
    async collect() {
      this.reset();
      const known = await infos();
      const totals = new Map<string, bigint>();
      for (const { record, latest } of sources.channels()) {
        if (record.status === "concluded" || record.status === "proposed") continue;
        record.params.assets.forEach((token, i) => {
          const allocation = latest.allocations[i]!;
          const [deposit0, deposit1] = record.deposits[i] ?? [0n, 0n];
          const held = deposit0 + deposit1 - allocation.withdrawn0 - allocation.withdrawn1;
          totals.set(token.toLowerCase(), (totals.get(token.toLowerCase()) ?? 0n) + held);
        });
      }
      for (const [token, amount] of totals) {
        const info = known.get(token) ?? { address: token, symbol: token, decimals: 0 };
        this.set({ asset: info.symbol, token: info.address }, whole(amount, info.decimals));
      }
    },
  });

  new Gauge({
    name: "clearline_compliance_backfills",
    help: "Contracts reached through a rules replacement that the compliance mirror is still reading; their tokens' movements are refused (COMPLIANCE_UNKNOWN) meanwhile",
    registers,
    collect() {
      this.set(sources.backfilling().length);
    },
  });

  new Gauge({
    name: "clearline_pending_locks",
    help: "Unresolved locks (payments in flight) in the latest agreed states of open channels",
    registers,
    collect() {
      let count = 0;
      for (const { record, latest } of sources.channels()) if (record.status !== "concluded") count += latest.locks.length;
      this.set(count);
    },
  });

  new Gauge({
    name: "clearline_disputes",
    help: "Channels disputed on chain and not yet settled",
    registers,
    collect() {
      let count = 0;
      for (const { record } of sources.channels()) if (record.status === "disputed") count++;
      this.set(count);
    },
  });

  new Gauge({
    name: "clearline_dispute_deadline_seconds",
    help: "Seconds by the chain's clock until the nearest deadline of an unsettled dispute (negative: passed, settlement due), labelled with its channel; absent without disputes",
    labelNames: ["channel"],
    registers,
    collect() {
      this.reset();
      let nearest: { channel: string; deadline: bigint } | undefined;
      for (const { record } of sources.channels()) {
        if (record.status !== "disputed" || record.dispute === null) continue;
        if (nearest === undefined || record.dispute.deadline < nearest.deadline) nearest = { channel: record.channelId, deadline: record.dispute.deadline };
      }
      if (nearest === undefined) return;
      try {
        this.set({ channel: nearest.channel }, Number(nearest.deadline - sources.now()));
      } catch {
        // The chain's time is unknown (stale view): no figure rather than a wrong one.
      }
    },
  });

  new Gauge({
    name: "clearline_venue_wallet_balance",
    help: "The venue wallet's balance of each configured asset, whole tokens (absent while the chain does not answer)",
    labelNames: ["asset", "token"],
    registers,
    async collect() {
      this.reset();
      const reads = await chainReads();
      for (const { info, amount } of reads?.wallet ?? []) this.set({ asset: info.symbol, token: info.address }, whole(amount, info.decimals));
    },
  });

  new Gauge({
    name: "clearline_venue_wallet_eth",
    help: "The venue wallet's ETH for gas (absent while the chain does not answer)",
    labelNames: ["venue"],
    registers,
    async collect() {
      this.reset();
      const reads = await chainReads();
      if (reads !== null) this.set({ venue: sources.venue }, whole(reads.eth, 18));
    },
  });

  new Gauge({
    name: "clearline_chain_head_block",
    help: "The chain's latest block number, as last read (clearline_health_check{check=\"chain\"} says whether the chain answers)",
    registers,
    async collect() {
      const reads = await chainReads();
      if (reads !== null) this.set(reads.head);
    },
  });

  new Gauge({
    name: "clearline_watcher_lag_blocks",
    help: "Blocks each chain watcher is behind the head less confirmations (absent before its first poll or while the chain does not answer)",
    labelNames: ["watcher"],
    registers,
    async collect() {
      this.reset();
      const reads = await chainReads();
      if (reads === null) return;
      for (const [watcher, processed] of Object.entries(sources.watchers())) {
        if (processed !== null) this.set({ watcher }, Math.max(0, reads.head - sources.confirmations - processed));
      }
    },
  });
}
