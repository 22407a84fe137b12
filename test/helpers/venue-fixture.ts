// A venue for end-to-end tests: a local chain with the system deployed (devstack startStack), the
// venue's node as a child process in a temporary directory, and investors' SDK clients with their
// channels opened and funded. One `stop()` stops exactly what was started — clients, every node
// started here (by its process), the chain — whatever way the test ended; a setup that fails half-way
// stops what it had started before it throws.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { openClient, type ClientEvent, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { ROLES, demoTrading, devWallet, startStack, type InvestorSetup, type Stack } from "../../devstack/stack.js";
import type { NodeConfig } from "../../channel-node/src/config.js";
import { adminPost, startNodeProcess, type NodeProcess } from "./node-process.js";

type TradingConfig = NonNullable<NodeConfig["trading"]>;

/** The node's configuration over the stack's defaults; `trading` over the demo's trading (devstack demoTrading). Absent `trading`: a node without trading. */
export type NodeOverrides = Partial<Omit<NodeConfig, "trading">> & { trading?: Partial<TradingConfig> };

/** Overrides, or overrides that need the stack's addresses. */
export type NodeSettings = NodeOverrides | ((stack: Stack) => NodeOverrides);

export interface Deposit {
  readonly assetIndex: number;
  readonly amount: bigint;
}

export interface InvestorRequest {
  readonly role: number;
  /** The investor's deposits: the first opens the channel (of the security and cash), the others follow it. */
  readonly own: readonly [Deposit, ...Deposit[]];
  /** The venue's deposits into the channel (its admin API): its legs to the investor. */
  readonly venue?: readonly Deposit[];
}

export interface VenueInvestor {
  readonly role: number;
  readonly opened: OpenedClient;
  readonly trading: TradingClient;
  readonly channelId: string;
}

export interface VenueOptions {
  /** The investors the chain onboards (KYC, tokens); default alice, and bob without securities. */
  onboard?: InvestorSetup[];
  /** The node to start; absent: none (the test starts it with `startNode`). */
  node?: NodeSettings;
  /** Investors with channels opened at that node, in order (needs `node`). */
  investors?: readonly InvestorRequest[];
  /** The SDK clients' response timeout (default 5 s). */
  responseTimeoutMs?: number;
}

export interface Venue {
  readonly stack: Stack;
  /** The temporary directory of the nodes' and clients' data (removed at stop). */
  readonly dir: string;
  /** A provider of the chain without a cache (reads see every block at once). */
  readonly provider: JsonRpcProvider;
  /** The node started last. */
  readonly node: NodeProcess;
  /** The investors of `VenueOptions.investors`, in order. */
  readonly investors: readonly VenueInvestor[];
  /** Starts a node on `<dir>/node` (unless `dataDir` is given), on a free port unless `port` is given. */
  startNode(settings?: NodeSettings): Promise<NodeProcess>;
  /** An investor's SDK client on `<dir>/client`, connected to the last node unless `nodeUrl` is given. */
  connect(role: number, options?: { nodeUrl?: string; onEvent?: (event: ClientEvent) => void }): Promise<OpenedClient>;
  /** An investor connected to the last node, with a channel opened and funded as `request` asks. */
  investor(request: InvestorRequest): Promise<VenueInvestor>;
  /** Closes a client before the end (a restart of the investor's client); stop() does not close it again. */
  closeClient(opened: OpenedClient): Promise<void>;
  /** Moves the chain's time ahead and mines a block. */
  passTime(seconds: bigint): Promise<void>;
  /** Closes the clients, stops every node started here and the chain, removes the directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startVenue(options: VenueOptions = {}): Promise<Venue> {
  const dir = mkdtempSync(join(tmpdir(), "cl-venue-"));
  let stack: Stack;
  try {
    stack = await startStack({ investors: options.onboard ?? [{ index: ROLES.alice }, { index: ROLES.bob, securities: 0n }] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
  const nodes: NodeProcess[] = [];
  const clients: OpenedClient[] = [];
  const investors: VenueInvestor[] = [];
  let stopped = false;

  const lastNode = (): NodeProcess => {
    const node = nodes.at(-1);
    if (node === undefined) throw new Error("the venue has no node: start one (VenueOptions.node or startNode)");
    return node;
  };

  const venue: Venue = {
    stack,
    dir,
    provider,
    get node() {
      return lastNode();
    },
    investors,

    async startNode(settings = {}) {
      const { trading, ...overrides } = typeof settings === "function" ? settings(stack) : settings;
      const config = stack.nodeConfig({
        dataDir: join(dir, "node"),
        ...overrides,
        ...(trading === undefined ? {} : { trading: { ...demoTrading(stack), ...trading } }),
      });
      const node = await startNodeProcess(config, dir);
      nodes.push(node);
      return node;
    },

    async connect(role, { nodeUrl, onEvent } = {}) {
      const opened = await openClient({
        nodeUrl: nodeUrl ?? lastNode().url,
        privateKey: devWallet(role).privateKey,
        rpcUrl: stack.chain.url,
        adjudicator: stack.addresses.adjudicator,
        dataDir: join(dir, "client"),
        responseTimeoutMs: options.responseTimeoutMs ?? 5_000,
        ...(onEvent === undefined ? {} : { onEvent }),
      });
      clients.push(opened);
      await opened.client.connect();
      return opened;
    },

    async investor({ role, own: [opening, ...more], venue: venueDeposits = [] }) {
      const node = lastNode();
      const opened = await venue.connect(role, { nodeUrl: node.url });
      const channelId = await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: opening });
      for (const { assetIndex, amount } of more) await opened.client.deposit(channelId, assetIndex, amount);
      for (const { assetIndex, amount } of venueDeposits) await adminPost(node, `/channels/${channelId}/deposit?asset=${assetIndex}&amount=${amount}`);
      return { role, opened, trading: opened.client.trading(stack.addresses.orderLogAnchor), channelId };
    },

    async closeClient(opened) {
      const index = clients.indexOf(opened);
      if (index >= 0) clients.splice(index, 1);
      await opened.close();
    },

    async passTime(seconds) {
      await provider.send("evm_increaseTime", [Number(seconds)]);
      await provider.send("evm_mine", []);
    },

    async stop() {
      if (stopped) return;
      stopped = true;
      // Every step is tried: a failed one does not leave the processes behind it running.
      const errors: unknown[] = [];
      const attempt = async (step: () => Promise<void> | void) => {
        try {
          await step();
        } catch (error) {
          errors.push(error);
        }
      };
      for (const client of clients.splice(0)) await attempt(() => client.close());
      for (const node of nodes.splice(0)) await attempt(() => node.stop());
      await attempt(() => provider.destroy());
      await attempt(() => stack.stop());
      await attempt(() => rmSync(dir, { recursive: true, force: true }));
      if (errors.length > 0) throw errors.length === 1 ? errors[0] : new AggregateError(errors, "the venue did not stop cleanly");
    },
  };

  try {
    if (options.node !== undefined) await venue.startNode(options.node);
    for (const request of options.investors ?? []) investors.push(await venue.investor(request));
  } catch (error) {
    await venue.stop().catch(() => undefined);
    throw error;
  }
  return venue;
}
