// Wires the venue's node together: channel store, chain adapter and watchers, compliance mirror,
// channel engine, watchtower, WebSocket transport. Everything here is I/O plumbing; decisions are
// made by the protocol core, the engine and the watchtower policy.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { JsonRpcProvider, Wallet } from "ethers";
import { pino, type Logger } from "pino";
import { createSigner, loadVerifier, type Address, type Bytes32, type Deployment } from "../../client/protocol/index.js";
import { chainBindingOf, channelsOnChain } from "../../client/chain/store-binding.js";
import { isStoreError, type ChannelStore } from "../../client/store/store.js";
import type { StoreError } from "../../client/store/errors.js";
import { openNodeStore } from "./store/open-store.js";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { ChainWatcher, type ChainEvent } from "../../client/chain/watcher.js";
import { openComplianceMirror } from "./compliance-mirror.js";
import { ChannelEngine } from "./engine.js";
import { Transport } from "./transport.js";
import { createMetrics, type NodeMetrics } from "./metrics.js";
import { DisputeGuard } from "./disputes.js";
import { applyAdjudicatorEvents } from "./adjudicator-events.js";
import { startChainFacts } from "./chain-facts.js";
import { ensureAdminToken } from "./admin-auth.js";
import { HealthMonitor } from "./health.js";
import { StandbyServer } from "./standby.js";
import { httpApi } from "./http.js";
import { AssetBook, nodeInfo } from "./operator-info.js";
import { AdminActions } from "./admin-actions.js";
import { adminRoutes } from "./admin-api.js";
import { registerVenueMetrics } from "./venue-metrics.js";
import { engineBoundsOf, type NodeConfig } from "./config.js";
import { DEPOSIT_COUNT_TIMEOUT_MS, venueDepositCounted } from "./venue-deposit.js";
import { TradingDesk } from "./trading/desk.js";
import { LevelOrderLog } from "./trading/log-store.js";
import { InFlightFunds, availableFundsOf, channelFundsOf } from "./trading/reservations.js";
import { DEFAULT_READ_RATE, withTrading } from "./trading/handler.js";
import { startAnchoring, type Anchoring } from "./trading/anchoring.js";
import { deskBoundsOf, marketsOf, settlementOf } from "./trading/config.js";
import { startEngineEndpoint } from "./trading/external/endpoint.js";
import type { EngineServer } from "./trading/external/engine-server.js";
import { ordersDomainOf } from "../../client/protocol/trading/order.js";
import { onChainBalanceOf } from "../../client/protocol/compliance/index.js";
import { startWebConsole } from "./console/web-console.js";
import { consoleConfigOf } from "./console/config.js";
import { openShardMap } from "./shards/open.js";
import { shardGate } from "./shards/gate.js";
import { StartTimer } from "./start-phases.js";
import { interShard } from "./shards/inter-shard.js";

export interface RunningNode {
  readonly url: string;
  readonly port: number;
  readonly venue: Address;
  readonly deployment: Deployment;
  readonly engine: ChannelEngine;
  readonly store: ChannelStore;
  /** The trading desk, when the node is configured to take orders. */
  readonly desk: TradingDesk | undefined;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** The file holding the operator's admin token (mode 0600). */
  readonly adminTokenFile: string;
  /** Closes the channel with the venue's latest state on chain (an unresponsive investor). */
  forceClose(channelId: Bytes32): Promise<string>;
  /** The venue funds its side of a channel (e.g. securities it will sell, cash it will pay); resolves once the node counts the deposit. */
  deposit(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<string>;
  stop(): Promise<void>;
}

export interface StartNodeOptions {
  readonly logger?: Logger;
  /** The host's clock in milliseconds (default `Date.now`); decisions use the chain's time (chain-clock.ts). */
  readonly hostNowMs?: () => number;
  /**
   * On PostgreSQL: called once the node stepped down — it lost the leader lease (FENCED) or a write
   * failed (WRITE_FAILED: the database went away) — and stopped serving; nothing more commits, so
   * nothing more is countersigned. The CLI exits then, for a standby or a supervisor to take over.
   */
  readonly onSteppedDown?: (error: StoreError<"FENCED" | "WRITE_FAILED">) => void;
}

export async function startNode(config: NodeConfig, options: StartNodeOptions = {}): Promise<RunningNode> {
  const timer = new StartTimer();
  const logger = options.logger ?? pino({ level: config.logLevel });
  const metrics = createMetrics();
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { polling: true, pollingInterval: config.pollIntervalMs, cacheTimeout: -1 });
  const wallet = new Wallet(config.privateKey, provider);
  const chainId = (await provider.getNetwork()).chainId;
  const deployment: Deployment = { chainId, adjudicator: config.contracts.adjudicator };
  const signer = await createSigner(config.privateKey, "native");
  const verifier = await loadVerifier();
  logger.info({ venue: signer.address, chainId: chainId.toString(), signer: signer.implementation }, "starting channel node");
  // Refuses restricted assets the mirror cannot follow and reads the chain's time, before anything opens.
  const chainFacts = await startChainFacts({ config, provider, metrics, logger: logger.child({ component: "chain" }), ...(options.hostNowMs ? { hostNowMs: options.hostNowMs } : {}) }).catch((error: unknown) => {
    provider.destroy();
    throw error;
  });
  timer.end("chain");

  mkdirSync(config.dataDir, { recursive: true });
  const adminToken = ensureAdminToken(config.dataDir);
  const chain = new AdjudicatorClient(wallet, deployment, { confirmations: 1, pollIntervalMs: Math.min(config.pollIntervalMs, 1_000), startBlock: config.startBlock, maxLogRange: config.maxLogRange });
  // With a lease the node is a standby until it holds it: it answers /health (503, role "standby")
  // and /metrics on its port (standby.ts), and does not serve investors yet.
  const lease = config.store?.lease;
  const standby =
    lease === undefined
      ? undefined
      : await StandbyServer.start({ host: config.host, port: config.port, venue: signer.address, timeoutMs: config.handshakeTimeoutMs, maxConnections: config.maxConnections, metrics, logger: logger.child({ component: "standby" }) }).catch(async (error: unknown) => {
          await chainFacts.stop();
          provider.destroy();
          throw error;
        });
  if (lease !== undefined) logger.info({ ttlMs: lease.ttlMs, retryMs: lease.retryMs }, "standby: waiting for the leader lease");
  // A deposed node stops serving at once; `release` exists only once everything started.
  const serving: { stop?: () => Promise<void> } = {};
  const stepDown = (error: StoreError<"FENCED" | "WRITE_FAILED">) => {
    logger.error({ err: error }, error.code === "FENCED" ? "lost the leader lease: stepping down" : "the store failed a write: stepping down");
    // On the next turn: the refusals (UNAVAILABLE) of the writes that failed go out first.
    void new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => serving.stop?.())
      .catch((stopError: unknown) => logger.warn({ err: stopError }, "stopping after the lost lease failed"))
      .finally(() => options.onSteppedDown?.(error));
  };
  // The store belongs to one chain (id, adjudicator, genesis hash): a restarted chain is another chain.
  const {
    store,
    probe: storeProbe,
    kind: storeKind,
    location: storeLocation,
    leaseEpoch,
  } = await openNodeStore(
    config,
    { chain: await chainBindingOf(chain), adoptLegacy: channelsOnChain(chain) },
    {
      onFenced: stepDown,
      onFailed: stepDown,
      onBatch: (ms) => metrics.storeBatchSeconds.observe(ms / 1000),
      ...(standby === undefined ? {} : { onWaiting: (held) => standby.waiting(held) }),
    },
  ).catch(async (error: unknown) => {
    await standby?.close();
    await chainFacts.stop();
    provider.destroy();
    throw error;
  });
  if (leaseEpoch !== null) standby?.leading(leaseEpoch);
  timer.end("store");

  // The compliance mirror, restored from the store when it was saved for this configuration
  // (compliance-mirror.ts); its watcher catches up from there.
  const compliance = await openComplianceMirror({
    provider,
    store,
    contracts: config.contracts,
    startBlock: config.startBlock,
    confirmations: config.confirmations,
    pollIntervalMs: config.pollIntervalMs,
    logger: logger.child({ component: "compliance" }),
    onEvent: (event) => metrics.chainEvents.inc({ event: event.name }),
  }).catch(async (error: unknown) => {
    await standby?.close();
    await store.close();
    await chainFacts.stop();
    provider.destroy();
    throw error;
  });
  const complianceWatcher = compliance.watcher;

  // Investors' updates being persisted: counted against their funds by the engine and the desk alike.
  const inFlight = new InFlightFunds();
  const engine: ChannelEngine = new ChannelEngine({
    store,
    signer,
    verifier,
    deployment,
    assets: [...config.contracts.securities.map((s) => s.token), ...config.contracts.cash],
    minChallengePeriod: BigInt(config.minChallengePeriod),
    maxChallengePeriod: BigInt(config.maxChallengePeriod),
    prices: config.prices,
    responseTimeoutMs: config.responseTimeoutMs,
    bounds: engineBoundsOf(config),
    onChain: async (channelId) => (await chain.channel(channelId)).phase !== "None",
    // The desk is opened below, before the transport takes any message.
    reservedOf: (investor, token) => desk?.reservedOf(investor, token) ?? 0n,
    inFlight,
    facts: () => compliance.facts(),
    now: () => chainFacts.clock.now(),
    logger: logger.child({ component: "engine" }),
    metrics,
  });
  await engine.load();
  timer.end("engine");
  // Counted once loaded: listing the store's channels for the log alone would sort them all again.
  logger.info({ store: storeKind, location: storeLocation, channels: engine.channelIds().length, role: lease === undefined ? undefined : "active" }, "channel store open");
  // A shard serves only its investors; those of its live channels stay here (shards/shard-map.ts).
  const abandonShard = async (error: unknown): Promise<never> => {
    await standby?.close();
    await store.close();
    await chainFacts.stop();
    provider.destroy();
    throw error;
  };
  const shardMap = await openShardMap(config).catch(abandonShard);
  if (shardMap !== undefined) {
    const live = engine.channelIds().map((id) => engine.record(id)!).filter((record) => record.status !== "concluded");
    await shardMap.claim([...new Set(live.map((record) => record.params.participants[1]))]).catch(async (error: unknown) => {
      await shardMap.close();
      return abandonShard(error);
    });
    logger.info({ shard: shardMap.self.id, url: shardMap.self.url }, "serving as a shard");
  }
  // Payments between investors of two shards go over a link between the shards (shards/remote-routes.ts).
  const shardLink =
    shardMap === undefined || config.shard === undefined
      ? undefined
      : interShard({
          engine,
          map: shardMap,
          config: config.shard,
          signer,
          deployment,
          responseTimeoutMs: config.responseTimeoutMs,
          maxMessageBytes: config.maxFrameBytes,
          handshakeTimeoutMs: config.handshakeTimeoutMs,
          logger: logger.child({ component: "shard-link" }),
          metrics,
        });

  const tradingLog = config.trading === undefined ? undefined : await LevelOrderLog.open(join(config.dataDir, "orders"));
  const desk =
    config.trading === undefined || tradingLog === undefined
      ? undefined
      : await TradingDesk.open({
          store: tradingLog,
          markets: marketsOf(config.trading),
          domain: ordersDomainOf(chainId, config.trading.orderLogAnchor),
          signer,
          verifier,
          facts: () => compliance.facts(),
          now: () => chainFacts.clock.now(),
          clock: Date.now,
          bounds: deskBoundsOf(config.trading),
          cancelOnDisconnect: config.trading.cancelOnDisconnect,
          matching: config.trading.matching,
          settlement: settlementOf(config.trading, join(config.dataDir, "settlements"), engine),
          fundsOf: (investor, token) => availableFundsOf(engine, inFlight, investor, token),
          holdingsOf: (investor, token) => onChainBalanceOf(compliance.facts(), token, investor) + channelFundsOf(engine, investor, token),
          logger: logger.child({ component: "trading" }),
          metrics,
        });
  let anchoring: Anchoring | undefined;
  let matchingEngine: EngineServer | undefined;

  timer.end("shardsAndTrading");
  const guard = new DisputeGuard({ chain, store, engine, logger: logger.child({ component: "watchtower" }), metrics });
  const adjudicatorEvents = applyAdjudicatorEvents({ engine, store, guard, venue: signer.address });

  const adjudicatorWatcher = new ChainWatcher({
    provider,
    contracts: { adjudicators: [config.contracts.adjudicator] },
    startBlock: config.startBlock,
    confirmations: config.confirmations,
    pollIntervalMs: config.pollIntervalMs,
    loadCursor: () => store.lastProcessedBlock(),
    saveCursor: async (block) => {
      await store.blockProcessed(block);
      metrics.lastBlock.set(block);
      await guard.afterPoll();
      // With a stale view of the chain no lock can be judged expired or claimable.
      if (chainFacts.clock.fresh) engine.sweepLocks();
      engine.pruneChannels().catch((error: unknown) => logger.warn({ err: error }, "forgetting stale registered channels failed"));
    },
    handler: async (event: ChainEvent) => {
      if (event.source !== "adjudicator") return;
      metrics.chainEvents.inc({ event: event.name });
      try {
        await adjudicatorEvents(event);
      } catch (error) {
        // A chain fact that contradicts the store (e.g. an event for a concluded channel) needs a
        // person, not a retry: re-throwing would stall the watcher on this event forever.
        if (!isStoreError(error, "INVALID_TRANSITION")) throw error;
        logger.error({ err: error, eventId: event.eventId, event: event.name }, "chain event contradicts the store; skipped");
      }
    },
    onError: (error) => logger.warn({ err: error }, "adjudicator watcher poll failed; retrying"),
  });

  await compliance.start();
  await adjudicatorWatcher.start();
  chainFacts.follow([complianceWatcher, adjudicatorWatcher]);
  timer.end("watchers");

  const webConsole = startWebConsole({
    config: consoleConfigOf(config),
    dataDir: config.dataDir,
    provider,
    assetBook: new AssetBook(provider),
    adjudicator: deployment.adjudicator,
    securities: config.contracts.securities.map((s) => s.token),
    startBlock: config.startBlock,
    sources: {
      venue: signer.address,
      chainId,
      channels: engine,
      assets: [...config.contracts.securities.map((s) => s.token), ...config.contracts.cash],
      chainTime: () => (chainFacts.clock.fresh ? chainFacts.clock.now() : undefined),
      lastProcessedBlock: () => adjudicatorWatcher.lastProcessedBlock,
      trading: desk === undefined || config.trading === undefined ? undefined : { desk, markets: marketsOf(config.trading) },
    },
    metrics,
    logger: logger.child({ component: "console" }),
  });

  // Log reads (proofs, entries, checkpoints) on their own budget, outside the desk's queue (trading/handler.ts).
  const tradingReads = tradingLog === undefined ? undefined : { log: tradingLog, rate: config.trading?.readRate ?? DEFAULT_READ_RATE, metrics, clock: Date.now };
  const tradingHandler = withTrading(engine, desk, tradingReads);
  const transport = new Transport({
    host: config.host,
    port: config.port,
    maxFrameBytes: config.maxFrameBytes,
    rateLimit: config.rateLimit,
    venue: signer.address,
    deployment,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    maxConnections: config.maxConnections,
    maxConnectionsPerAddress: config.maxConnectionsPerAddress,
    loginRate: config.loginRate,
    handler: shardMap === undefined ? tradingHandler : shardGate(tradingHandler, shardMap, { logger: logger.child({ component: "shard" }), metrics }),
    ...(shardLink === undefined ? {} : { upgrades: shardLink.upgrades }),
    logger: logger.child({ component: "transport" }),
    metrics,
    http: httpApi({
      venue: signer.address,
      health: new HealthMonitor({
        chainHead: () => provider.getBlockNumber(),
        watchers: () => ({ adjudicator: adjudicatorWatcher.lastProcessedBlock, compliance: complianceWatcher.lastProcessedBlock }),
        confirmations: config.confirmations,
        maxLagBlocks: config.maxWatcherLagBlocks,
        storeProbe,
        timeoutMs: config.healthTimeoutMs,
        cacheMs: config.healthCacheMs,
        metrics,
      }),
      facts: () => ({
        chainId: chainId.toString(),
        adjudicator: deployment.adjudicator,
        lastProcessedBlock: adjudicatorWatcher.lastProcessedBlock,
        channels: engine.channelIds().length,
        ...(lease === undefined ? {} : { role: "active", leaseEpoch }),
        ...(shardMap === undefined ? {} : { shard: shardMap.self.id }),
      }),
      metrics,
      logger: logger.child({ component: "http" }),
      adminToken: adminToken.token,
      admin: (request) => adminApi(request),
      console: webConsole?.handler,
    }),
  });

  const assetBook = new AssetBook(provider);
  registerVenueMetrics(metrics, {
    venue: signer.address,
    assets: [...config.contracts.securities.map((s) => s.token), ...config.contracts.cash],
    asset: (token) => assetBook.info(token),
    walletBalance: (token) => assetBook.balanceOf(token, signer.address),
    ethBalance: () => provider.getBalance(signer.address),
    chainHead: () => provider.getBlockNumber(),
    channels: () => engine.channelIds().map((id) => ({ record: engine.record(id)!, latest: engine.latest(id)!.state })),
    watchers: () => ({ adjudicator: adjudicatorWatcher.lastProcessedBlock, compliance: complianceWatcher.lastProcessedBlock }),
    backfilling: () => compliance.backfilling(),
    confirmations: config.confirmations,
    now: () => chainFacts.clock.now(),
    cacheMs: config.healthCacheMs,
  });
  const adminApi = adminRoutes({
    engine,
    store,
    actions: new AdminActions({ engine, chain, store, reservedOf: (investor, token) => desk?.reservedOf(investor, token) ?? 0n, logger: logger.child({ component: "admin" }) }),
    info: () =>
      nodeInfo({
        provider,
        book: assetBook,
        venue: signer.address,
        chainId,
        adjudicator: deployment.adjudicator,
        assets: [...config.contracts.securities.map((s) => s.token), ...config.contracts.cash],
        lastProcessedBlock: () => adjudicatorWatcher.lastProcessedBlock,
        channels: () => engine.channelIds().length,
      }),
    forceClose: (channelId) => guard.forceClose(channelId),
    deposit: (channelId, assetIndex, amount) => deposit(channelId, assetIndex, amount),
  });
  /**
   * Deposits on chain and resolves once the node counts the deposit (its watcher applied it, after
   * `confirmations`): from then on the venue's proposals may spend it, and the investor's client,
   * which counts what the node reported, agrees.
   */
  async function deposit(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<string> {
    const record = engine.record(channelId);
    if (record === undefined) throw new Error(`no channel ${channelId}`);
    const target = (record.deposits[assetIndex]?.[0] ?? 0n) + amount;
    const outcome = await chain.deposit(record.params, assetIndex, amount);
    logger.info({ channelId, assetIndex, amount: amount.toString(), tx: outcome.hash }, "venue deposited");
    await venueDepositCounted(() => engine.record(channelId), assetIndex, target, { timeoutMs: DEPOSIT_COUNT_TIMEOUT_MS });
    return outcome.hash;
  }

  async function release(): Promise<void> {
    await standby?.close();
    shardLink?.stop();
    await transport.stop();
    webConsole?.stop();
    await adjudicatorWatcher.stop();
    await compliance.stop();
    await chainFacts.stop();
    anchoring?.stop();
    await matchingEngine?.stop();
    await desk?.close();
    await store.close();
    await shardMap?.close();
    await tradingLog?.close();
    provider.destroy();
  }
  let stopped: Promise<void> | undefined;
  const stopServing = () => (stopped ??= release());
  serving.stop = stopServing;
  let port: number;
  try {
    // The standby's server hands the port over to the transport.
    await standby?.close();
    port = await transport.start();
    if (desk !== undefined && config.trading !== undefined) matchingEngine = await startEngineEndpoint(config.trading, config.dataDir, desk, metrics, logger.child({ component: "engine" }));
  } catch (error) {
    // e.g. the port is taken: leave nothing running behind (watchers, store, provider).
    await release();
    throw error;
  }
  if (desk !== undefined && config.trading !== undefined) {
    const log = () => ({ size: desk.size, root: desk.root });
    anchoring = await startAnchoring({ anchor: config.trading.orderLogAnchor, wallet, intervalMs: config.trading.anchorIntervalMs, log, logger: logger.child({ component: "anchor" }) });
  }
  shardLink?.start();
  const url = `ws://${config.host}:${port}`;
  timer.end("listen");
  // Milliseconds per phase of the start (start-phases.ts), for an operator whose restart is slow.
  logger.info({ url, startMs: timer.durations }, "channel node listening");

  return {
    url,
    port,
    venue: signer.address,
    deployment,
    engine,
    store,
    desk,
    metrics,
    logger,
    adminTokenFile: adminToken.file,
    forceClose: (channelId) => guard.forceClose(channelId),
    deposit,
    async stop() {
      await stopServing();
      logger.info("channel node stopped");
    },
  };
}
