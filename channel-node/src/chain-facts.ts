// The node's view of the chain's facts beyond events (docs/operations.md, "Chain facts"): refuses
// restricted channel assets it cannot mirror at start, keeps the chain's time fresh (a read every poll
// interval), and wakes the chain watchers and the clock as soon as the RPC announces a new block.
import type { Logger } from "pino";
import type { JsonRpcProvider } from "ethers";
import type { ChainWatcher } from "../../client/chain/watcher.js";
import { assertUnrestrictedAssets } from "./asset-check.js";
import { ChainClock } from "./chain-clock.js";
import { ConfigError, chainFactsOf, type NodeConfig } from "./config.js";
import type { NodeMetrics } from "./metrics.js";
import { NewHeadsSubscription } from "./new-heads.js";

export interface ChainFacts {
  readonly clock: ChainClock;
  /** Wakes `watchers` (in this order) and the clock on every announced block, from now on. */
  follow(watchers: readonly ChainWatcher[]): void;
  stop(): Promise<void>;
}

export interface ChainFactsOptions {
  readonly config: NodeConfig;
  readonly provider: JsonRpcProvider;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** The host's clock in milliseconds (default `Date.now`; tests move it). */
  readonly hostNowMs?: () => number;
}

/** Checks the assets and reads the chain's time once; rejects (AssetCheckError, ConfigError, RPC errors) when the node must not start. */
export async function startChainFacts(options: ChainFactsOptions): Promise<ChainFacts> {
  const { config, provider, metrics, logger } = options;
  const settings = chainFactsOf(config);
  if (settings.maxViewAgeMs < 2 * config.pollIntervalMs) {
    throw new ConfigError(`invalid node configuration: chainFacts.maxViewAgeMs (${settings.maxViewAgeMs}) must be at least two poll intervals (${2 * config.pollIntervalMs})`);
  }
  await assertUnrestrictedAssets(provider, config.contracts.cash);

  const hostNowMs = options.hostNowMs ?? Date.now;
  const clock = new ChainClock({ provider, maxViewAgeMs: settings.maxViewAgeMs, hostNowMs });
  let lastReadMs = hostNowMs();
  const read = async (): Promise<void> => {
    try {
      const sample = await clock.refresh();
      lastReadMs = hostNowMs();
      metrics.chainClockDrift.set(sample.driftSeconds);
    } finally {
      metrics.chainViewAge.set((hostNowMs() - lastReadMs) / 1000);
    }
  };
  await read();
  const timer = setInterval(() => read().catch((error: unknown) => logger.warn({ err: error }, "reading the chain's time failed; retrying")), config.pollIntervalMs);
  timer.unref(); // a start that fails later must not keep the process alive

  let heads: NewHeadsSubscription | undefined;
  metrics.newHeadsSubscribed.set(0);
  return {
    clock,
    follow(watchers) {
      const url = settings.newHeadsUrl === "auto" ? config.rpcUrl.replace(/^http/, "ws") : settings.newHeadsUrl;
      if (url === "off" || heads !== undefined) return;
      heads = new NewHeadsSubscription({
        url,
        reconnectMs: settings.newHeadsReconnectMs,
        logger,
        onState: (subscribed) => metrics.newHeadsSubscribed.set(subscribed ? 1 : 0),
        onHead: () => {
          for (const watcher of watchers) watcher.wake();
          read().catch((error: unknown) => logger.warn({ err: error }, "reading the chain's time failed; retrying"));
        },
      });
      heads.start();
    },
    async stop() {
      clearInterval(timer);
      await heads?.stop();
    },
  };
}
