/**
 * The trading section of the bench: orders accepted per second, fills settled per second and the
 * latency from an order to its settled fill, with the node's CPU per fill and where it goes.
 *
 * A fresh stack (its own local chain) with `pairs` × 2 investors, each with one channel holding the
 * security and the cash token (and the venue's deposits of both, so it can pass every leg on). The
 * node runs with `trading.settlement` (docs/trading.md) under the CPU profiler. Each pair is a closed
 * loop: the seller rests a GTC sell of one lot, the buyer takes it with an IOC buy at the same price,
 * and the pair waits until both channels hold no lock of the fill any more (the node's "settled":
 * lock pair agreed in both channels, then resolved with the secret) before its next round. The load
 * is therefore `pairs` fills in flight. The investors are the SDK's real clients (`openClient`), in
 * this process, answering the venue's lock pairs and resolutions themselves.
 */
import { join } from "node:path";
import { mkdirSync, readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { openClient, type OpenedClient, type TradingClient } from "../client/sdk/index.js";
import { CASH_UNIT, SECURITY_UNIT, devWallet, startStack, type Stack } from "../devstack/stack.js";
import type { NodeConfig } from "../channel-node/src/config.js";
import type { BenchNode, BenchNodeOptions } from "./lib/node.js";
import { summarizeProfile, type ProfileSummary } from "./lib/profile.js";
import { tradingFigures, type FillTiming, type TradingFigures } from "./lib/trading-window.js";

/** Dev-mnemonic accounts of the trading investors start here (the demo's alice is 2). */
const FIRST_TRADER_INDEX = 2;
/** One lot is one smallest unit of the security, at one smallest unit of cash: no balance runs dry in a run. */
const LOT = 1n;
const PRICE = 1n;
const INVESTOR_DEPOSIT = { security: 10n * SECURITY_UNIT, cash: 1_000n * CASH_UNIT };
const VENUE_DEPOSIT = { security: 10n * SECURITY_UNIT, cash: 1_000n * CASH_UNIT };

export interface TradingBenchOptions {
  readonly pairs: number;
  readonly warmupSeconds: number;
  readonly seconds: number;
  readonly workDir: string;
  /** Starts the node (the caller tracks and stops it). */
  readonly startNode: (config: NodeConfig, options: BenchNodeOptions) => Promise<BenchNode>;
  /** Registers a stop with the caller's clean-up; returns the idempotent stop. */
  readonly track: (stop: () => Promise<void>) => () => Promise<void>;
  readonly log: (line: string) => void;
}

export interface TradingBench extends TradingFigures {
  readonly pairs: number;
  /** Node CPU (all threads, /proc) in the window per fill settled in it, µs. */
  readonly nodeCpuUsPerFill: number;
  readonly nodeCorePercent: number;
  /** Fills settled over the whole run, and fills that failed (both from the node's /metrics). */
  readonly settledTotal: number;
  readonly failedTotal: number;
  readonly profile?: ProfileSummary;
}

interface Trader {
  readonly opened: OpenedClient;
  readonly trading: TradingClient;
  readonly channelId: string;
}

/** The settlement knobs of the run: the defaults, with a shorter drive interval than 1 s would be idle time here. */
const SETTLEMENT = { lockSeconds: 3_600, timeoutMs: 120_000, intervalMs: 1_000 };

export async function measureTrading(options: TradingBenchOptions): Promise<TradingBench> {
  const count = options.pairs * 2;
  const indices = Array.from({ length: count }, (_, i) => FIRST_TRADER_INDEX + i);
  const stack: Stack = await startStack({ investors: indices.map((index) => ({ index })) });
  const stopStack = options.track(() => stack.stop());
  try {
    const profileDir = join(options.workDir, "trading-profile");
    mkdirSync(profileDir, { recursive: true });
    const config = stack.nodeConfig({
      dataDir: join(options.workDir, "trading-node"),
      rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
      logLevel: "warn",
      trading: {
        orderLogAnchor: stack.addresses.orderLogAnchor,
        markets: [{ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT.toString() }],
        maxRestingOrdersPerInvestor: 100,
        // Policy, not cost: lifted like the channel rate limit (docs/performance.md).
        orderRate: { perSecond: 1_000_000, burst: 1_000_000 },
        maxOrdersPerBook: 100_000,
        cancelOnDisconnect: true,
        anchorIntervalMs: 0,
        settlement: SETTLEMENT,
      },
    });
    const node = await options.startNode(config, { nodeFlags: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, "--cpu-prof-interval=1000"] });
    const traders: Trader[] = [];
    const waiters = new Map<string, () => void>();
    const stopClients = options.track(async () => {
      for (const trader of traders) await trader.opened.close();
    });
    for (const index of indices) {
      let channelId = "";
      const opened = await openClient({
        nodeUrl: node.url,
        privateKey: devWallet(index).privateKey,
        rpcUrl: stack.chain.url,
        adjudicator: stack.addresses.adjudicator,
        dataDir: join(options.workDir, "trading-clients"),
        signer: "native",
        responseTimeoutMs: 30_000,
        // A venue proposal agreed in our channel: the pair waiting on it looks at the locks again.
        onEvent: (event) => {
          if (event.type === "agreed" && event.channelId === channelId) waiters.get(channelId)?.();
        },
      });
      await opened.client.connect();
      channelId = await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: 0, amount: INVESTOR_DEPOSIT.security } });
      await opened.client.deposit(channelId, 1, INVESTOR_DEPOSIT.cash);
      await node.adminPost(`/channels/${channelId}/deposit?asset=0&amount=${VENUE_DEPOSIT.security}`);
      await node.adminPost(`/channels/${channelId}/deposit?asset=1&amount=${VENUE_DEPOSIT.cash}`);
      traders.push({ opened, trading: opened.client.trading(stack.addresses.orderLogAnchor), channelId });
    }
    options.log(`trading: ${count} investors with channels holding both assets`);

    const locksIn = async (trader: Trader) => (await trader.opened.client.channels()).find((c) => c.channelId === trader.channelId)?.latest?.state.locks.length ?? 0;
    /** Resolves when the channel holds no lock, checked again at each agreed venue proposal (and every 50 ms, in case one was missed). */
    const lockFree = async (trader: Trader) => {
      for (;;) {
        if ((await locksIn(trader)) === 0) return;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 50);
          waiters.set(trader.channelId, () => {
            clearTimeout(timer);
            resolve();
          });
        });
        waiters.delete(trader.channelId);
      }
    };

    const accepted: number[] = [];
    const fills: FillTiming[] = [];
    let running = true;
    const order = (side: "buy" | "sell", timeInForce: "GTC" | "IOC") => ({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT, side, quantity: LOT, price: PRICE, timeInForce });
    const loops = Array.from({ length: options.pairs }, async (_, pair) => {
      const seller = traders[2 * pair]!;
      const buyer = traders[2 * pair + 1]!;
      while (running) {
        await seller.trading.placeOrder(order("sell", "GTC"));
        accepted.push(performance.now());
        const sent = performance.now();
        const taken = await buyer.trading.placeOrder(order("buy", "IOC"));
        accepted.push(performance.now());
        // Another pair's resting sell may be older than ours: price-time priority gives the buyer that one, so
        // both sellers' channels may take part. Wait until every channel of the pair is lock-free either way.
        if (taken.fills.length === 0) throw new Error("the buy did not trade against a resting sell at the same price");
        await Promise.all([lockFree(seller), lockFree(buyer)]);
        fills.push({ orderSentMs: sent, settledMs: performance.now() });
      }
    });
    const failed = Promise.all(loops).then(() => undefined);
    let loopError: unknown;
    failed.catch((error: unknown) => (loopError = error));

    await sleep(options.warmupSeconds * 1000);
    const window = { startMs: performance.now(), endMs: 0 };
    const cpuFrom = node.cpuSeconds();
    // V8 stamps profile samples on the monotonic clock hrtime reads (as bench/load.ts does).
    const monotonicFrom = Number(process.hrtime.bigint() / 1000n);
    await sleep(options.seconds * 1000);
    window.endMs = performance.now();
    const cpuSeconds = node.cpuSeconds() - cpuFrom;
    const monotonicTo = Number(process.hrtime.bigint() / 1000n);
    running = false;
    await failed.catch(() => undefined);
    if (loopError !== undefined) throw loopError;

    const metrics = await node.metrics();
    await stopClients();
    await node.stop();
    const figures = tradingFigures(window, accepted, fills);
    const settledInWindow = figures.fillsSettledPerSecond * figures.windowSeconds;
    const profileFile = readdirSync(profileDir).find((f) => f.endsWith(".cpuprofile"));
    return {
      ...figures,
      pairs: options.pairs,
      nodeCpuUsPerFill: settledInWindow === 0 ? 0 : Math.round((cpuSeconds * 1e6) / settledInWindow),
      nodeCorePercent: Math.round((cpuSeconds / figures.windowSeconds) * 1000) / 10,
      settledTotal: metrics.get('clearline_fill_settlements_total{outcome="settled"}') ?? 0,
      failedTotal: metrics.get('clearline_fill_settlements_total{outcome="failed"}') ?? 0,
      ...(profileFile === undefined ? {} : { profile: summarizeProfile(join(profileDir, profileFile), [monotonicFrom, monotonicTo]) }),
    };
  } finally {
    await stopStack();
  }
}
