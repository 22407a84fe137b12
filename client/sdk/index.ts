// Builds a ready ClearlineClient from plain settings: its own LevelDB store, the investor's key
// (the reference @noble/secp256k1 signer by default), and a chain connection for on-chain steps.
import { join } from "node:path";
import { mkdirSync } from "node:fs";
import { JsonRpcProvider, Wallet } from "ethers";
import { createSigner, nobleVerifier, type Address, type SignerImplementation } from "../protocol/index.js";
import { LevelStore } from "../store/level-store.js";
import { AdjudicatorClient, type TxProgress } from "../chain/adjudicator.js";
import { ClearlineClient, type ClientEvent, type InvoiceLimits } from "./client.js";
import { reconnectBackoffOf, type ReconnectBackoff } from "./reconnect-backoff.js";
import { chainBindingOf, channelsOnChain } from "../chain/store-binding.js";

export * from "./client.js";
export { chainBindingOf, channelsOnChain } from "../chain/store-binding.js";
// What an SDK user names: ids, on-chain outcomes and progress, and every typed error the client throws.
export type { Address, Bytes32, SignerImplementation } from "../protocol/index.js";
export { PROTOCOL_ERROR_CODES, ProtocolError, ComplianceError, isProtocolError, type ProtocolErrorCode } from "../protocol/errors.js";
export { CHAIN_ERROR_CODES, ChainError, isChainError, isRevert, type ChainErrorCode, type RevertInfo } from "../chain/errors.js";
export type { TxOutcome, TxProgress } from "../chain/adjudicator.js";

export interface ClientSettings {
  nodeUrl: string;
  /** The venue's standby nodes: tried after `nodeUrl`, and in turn when the connection drops (ClientOptions.fallbackUrls). */
  fallbackUrls?: readonly string[];
  privateKey: string;
  rpcUrl: string;
  adjudicator: Address;
  /**
   * Where the client keeps its agreed states (one LevelDB per investor key). The store belongs to
   * the chain it was first used with: another chain (a restarted local chain too) is WRONG_CHAIN;
   * use one data directory per chain.
   */
  dataDir: string;
  signer?: SignerImplementation;
  responseTimeoutMs?: number;
  reconnect?: boolean;
  /** The waits between reconnect attempts (ClientOptions.reconnectBackoff; defaults: DEFAULT_RECONNECT_BACKOFF). */
  reconnectBackoff?: Partial<ReconnectBackoff>;
  /** Bounds of the invoices the client issues (defaults: DEFAULT_INVOICE_LIMITS). */
  invoices?: Partial<InvoiceLimits>;
  onEvent?: (event: ClientEvent) => void;
  onProgress?: (progress: TxProgress) => void;
  pollIntervalMs?: number;
  /**
   * The adjudicator's deployment block: where the rare event search starts (a checkpoint or a
   * registered state the store does not hold; docs/chain.md). Without it such a search is refused.
   */
  startBlock?: number;
  /** Most blocks per `eth_getLogs` of such a search (default 5,000). */
  maxLogRange?: number;
}

export interface OpenedClient {
  client: ClearlineClient;
  chain: AdjudicatorClient;
  store: LevelStore;
  /** Disconnects and closes the store and the provider. */
  close(): Promise<void>;
}

export async function openClient(settings: ClientSettings): Promise<OpenedClient> {
  reconnectBackoffOf(settings.reconnectBackoff); // INVALID_ARGUMENT before anything is opened
  const provider = new JsonRpcProvider(settings.rpcUrl, undefined, { polling: true, pollingInterval: settings.pollIntervalMs ?? 250, cacheTimeout: -1 });
  let chain: AdjudicatorClient;
  let signer: Awaited<ReturnType<typeof createSigner>>;
  let store: LevelStore;
  try {
    const wallet = new Wallet(settings.privateKey, provider);
    chain = await AdjudicatorClient.connect(wallet, settings.adjudicator, {
      pollIntervalMs: settings.pollIntervalMs ?? 250,
      ...(settings.onProgress ? { onProgress: settings.onProgress } : {}),
      ...(settings.startBlock === undefined ? {} : { startBlock: settings.startBlock }),
      ...(settings.maxLogRange === undefined ? {} : { maxLogRange: settings.maxLogRange }),
    });
    signer = await createSigner(settings.privateKey, settings.signer ?? "noble");
    const directory = join(settings.dataDir, signer.address.toLowerCase());
    mkdirSync(directory, { recursive: true });
    store = await LevelStore.open(directory, { chain: await chainBindingOf(chain), adoptLegacy: channelsOnChain(chain) });
  } catch (error) {
    provider.destroy();
    throw error;
  }
  const client = new ClearlineClient({
    nodeUrl: settings.nodeUrl,
    ...(settings.fallbackUrls === undefined ? {} : { fallbackUrls: settings.fallbackUrls }),
    signer,
    verifier: nobleVerifier,
    store,
    deployment: chain.deployment,
    chain,
    ...(settings.responseTimeoutMs === undefined ? {} : { responseTimeoutMs: settings.responseTimeoutMs }),
    ...(settings.reconnect === undefined ? {} : { reconnect: settings.reconnect }),
    ...(settings.reconnectBackoff === undefined ? {} : { reconnectBackoff: settings.reconnectBackoff }),
    ...(settings.invoices === undefined ? {} : { invoices: settings.invoices }),
    ...(settings.onEvent ? { onEvent: settings.onEvent } : {}),
  });
  return {
    client,
    chain,
    store,
    async close() {
      await client.disconnect();
      await store.close();
      provider.destroy();
    },
  };
}
export * from "./trading.js";
export * from "./matching-engine.js";
