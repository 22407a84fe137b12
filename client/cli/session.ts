// One CLI invocation's connections: the investor's store (the same directory layout as the SDK's
// `openClient`: <data-dir>/<address>), the chain through an AdjudicatorClient, and — only for the
// commands that need the venue — the WebSocket session with the node. On-chain dispute commands
// (force-close, challenge, settle, claim) and reads never touch the node: the investor can act
// when the venue has vanished (docs/cli.md).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Contract, JsonRpcProvider, Wallet, getAddress, isAddress } from "ethers";
import { createSigner, nobleVerifier, type Address, type Bytes32, type Signer } from "../protocol/index.js";
import { LevelStore } from "../store/level-store.js";
import { isStoreError, type ChainBinding, type ChannelRecord } from "../store/store.js";
import { AdjudicatorClient } from "../chain/adjudicator.js";
import { erc20Abi } from "../chain/abi.js";
import { toChainError } from "../chain/errors.js";
import { ClearlineClient } from "../sdk/client.js";
import { chainBindingOf, channelsOnChain } from "../chain/store-binding.js";
import { CliError } from "./errors.js";
import { formatAmount, parseAmount } from "./amounts.js";
import type { Output } from "./output.js";
import type { DeploymentFile, Settings } from "./settings.js";

export interface TokenInfo {
  readonly address: Address;
  readonly symbol: string;
  readonly decimals: number;
}

/**
 * Symbols and decimals of tokens, read from chain once and cached in <data-dir>/tokens.json (keyed
 * by chain id and address: both are immutable for a deployed ERC-20).
 */
export class TokenBook {
  private readonly cache = new Map<string, TokenInfo>();
  private readonly file: string;

  constructor(
    private readonly provider: JsonRpcProvider,
    private readonly chainId: bigint,
    dataDir: string,
  ) {
    this.file = join(dataDir, "tokens.json");
    try {
      const stored = JSON.parse(readFileSync(this.file, "utf8")) as Record<string, { symbol?: unknown; decimals?: unknown }>;
      for (const [key, value] of Object.entries(stored)) {
        const address = key.split(":")[1];
        if (typeof value.symbol === "string" && typeof value.decimals === "number" && address !== undefined && isAddress(address)) {
          this.cache.set(key, { address: getAddress(address), symbol: value.symbol, decimals: value.decimals });
        }
      }
    } catch {
      // No cache yet (or an unreadable one): it is rebuilt from chain.
    }
  }

  private key(address: Address): string {
    return `${this.chainId}:${address.toLowerCase()}`;
  }

  async info(address: Address): Promise<TokenInfo> {
    const known = this.cache.get(this.key(address));
    if (known !== undefined) return known;
    const erc20 = new Contract(address, erc20Abi() as never, this.provider);
    let symbol: string;
    let decimals: number;
    try {
      [symbol, decimals] = await Promise.all([
        erc20.getFunction("symbol").staticCall() as Promise<string>,
        erc20.getFunction("decimals").staticCall().then((d: bigint) => Number(d)),
      ]);
    } catch (error) {
      throw toChainError(error, `reading the symbol and decimals of ${address}`);
    }
    const info = { address: getAddress(address), symbol, decimals };
    this.cache.set(this.key(address), info);
    this.save();
    return info;
  }

  async format(address: Address, amount: bigint): Promise<string> {
    const info = await this.info(address);
    return `${formatAmount(amount, info.decimals)} ${info.symbol}`;
  }

  async parse(address: Address, text: string, options: { allowZero?: boolean } = {}): Promise<bigint> {
    const info = await this.info(address);
    return parseAmount(text, info.decimals, info.symbol, options);
  }

  /** `{ asset, symbol, decimals, [name]: "12.5", [name]Units: "12500000" }` for JSON output. */
  async json(address: Address, amounts: Record<string, bigint>): Promise<Record<string, unknown>> {
    const info = await this.info(address);
    const out: Record<string, unknown> = { asset: info.address, symbol: info.symbol, decimals: info.decimals };
    for (const [name, amount] of Object.entries(amounts)) {
      out[name] = formatAmount(amount, info.decimals);
      out[`${name}Units`] = amount.toString();
    }
    return out;
  }

  private save(): void {
    const data: Record<string, { symbol: string; decimals: number }> = {};
    for (const [key, info] of this.cache) data[key] = { symbol: info.symbol, decimals: info.decimals };
    try {
      const temporary = `${this.file}.${process.pid}.tmp`;
      writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`);
      renameSync(temporary, this.file);
    } catch {
      // A cache that cannot be written is read from chain next time.
    }
  }
}

/**
 * Opens the investor's LevelDB store, bound to the chain (WRONG_CHAIN for a store of another chain,
 * unless `archiveOldStore`: then that store is moved aside and an empty one started), waiting up
 * to `waitMs` for another clearline process to release it.
 */
export async function openStore(ctx: ChainContext, waitMs = 10_000, options: { archiveOldStore?: boolean; output?: Output } = {}): Promise<LevelStore> {
  const directory = ctx.storeDir;
  mkdirSync(directory, { recursive: true });
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await LevelStore.open(directory, { chain: ctx.binding, adoptLegacy: channelsOnChain(ctx.chain) });
    } catch (error) {
      if (isStoreError(error, "WRONG_CHAIN")) {
        if (options.archiveOldStore !== true) {
          throw new CliError("WRONG_CHAIN", `${error.shortMessage}. Pass --data-dir <a directory for this chain>, or --archive-old-store to move this store aside and start an empty one`, {
            store: directory,
          });
        }
        const aside = archiveName(directory, error.details);
        renameSync(directory, aside);
        options.output?.note(`the store ${directory} belongs to another chain: moved it to ${aside}; starting an empty store for ${ctx.chain.deployment.chainId}`, { archived: aside });
        mkdirSync(directory, { recursive: true });
        continue;
      }
      const locked = (error as { cause?: { code?: string } }).cause?.code === "LEVEL_LOCKED";
      if (!locked) throw error;
      if (Date.now() >= deadline) {
        throw new CliError("STORE_BUSY", `another clearline process is using ${directory}; try again when it has finished`);
      }
      await sleep(100);
    }
  }
}

/** `<store>.chain-<id>-<genesis prefix>[-n]`: a free name next to the store for the store of another chain. */
function archiveName(directory: string, details: Readonly<Record<string, unknown>>): string {
  const chainId = typeof details.storedChainId === "bigint" ? details.storedChainId.toString() : "unknown";
  const genesis = typeof details.storedGenesisHash === "string" ? details.storedGenesisHash.slice(2, 12) : "legacy";
  const base = `${directory}.chain-${chainId}-${genesis}`;
  let name = base;
  for (let n = 2; existsSync(name); n++) name = `${base}-${n}`;
  return name;
}

export interface ChainContext {
  readonly provider: JsonRpcProvider;
  readonly chain: AdjudicatorClient;
  /** The chain the investor's store must belong to. */
  readonly binding: ChainBinding;
  readonly tokens: TokenBook;
  readonly signer: Signer;
  readonly address: Address;
  /** <data-dir>/<address>: this investor's store. */
  readonly storeDir: string;
  close(): void;
}

/** The chain side: provider, wallet, AdjudicatorClient (progress to stderr), token book. */
export async function connectChain(settings: Settings, output: Output): Promise<ChainContext> {
  const privateKey = settings.privateKey();
  const rpcUrl = settings.rpcUrl();
  const adjudicator = settings.adjudicator();
  const provider = new JsonRpcProvider(rpcUrl, undefined, { polling: true, pollingInterval: 250, cacheTimeout: -1, staticNetwork: false });
  try {
    const wallet = new Wallet(privateKey, provider);
    const chain = await AdjudicatorClient.connect(wallet, adjudicator, {
      pollIntervalMs: 250,
      confirmations: settings.confirmations,
      ...(settings.deployment?.startBlock === undefined ? {} : { startBlock: settings.deployment.startBlock }),
      onProgress: (progress) => output.progress(progress),
    }).catch((error: unknown) => {
      throw new CliError("CHAIN_UNREACHABLE", `cannot reach the chain at ${rpcUrl}: ${toChainError(error).shortMessage.replace(/^getNetwork: /, "")}`);
    });
    const expected = settings.deployment?.chainId;
    if (expected !== undefined && settings.deployment?.adjudicator === adjudicator && expected !== chain.deployment.chainId) {
      throw new CliError("WRONG_CHAIN", `${rpcUrl} serves chain ${chain.deployment.chainId}, but ${settings.deployment.path} is for chain ${expected}`);
    }
    const signer = await createSigner(privateKey, "noble");
    const storeDir = join(settings.dataDir, signer.address.toLowerCase());
    mkdirSync(storeDir, { recursive: true });
    const tokens = new TokenBook(provider, chain.deployment.chainId, settings.dataDir);
    const binding = await chainBindingOf(chain);
    return { provider, chain, binding, tokens, signer, address: signer.address, storeDir, close: () => provider.destroy() };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}

export interface Session extends ChainContext {
  readonly client: ClearlineClient;
  readonly store: LevelStore;
  readonly deployment: DeploymentFile | undefined;
  /** The command runs inside `clearline daemon`: its connection to the node outlives the command. */
  readonly inDaemon: boolean;
}

/**
 * Opens everything a command needs; `node: true` also connects (authenticates and resyncs) to the
 * venue's node. Runs `work` and always closes what it opened.
 */
export async function withSession<T>(settings: Settings, output: Output, options: { node: boolean }, work: (session: Session) => Promise<T>): Promise<T> {
  const chainContext = await connectChain(settings, output);
  let store: LevelStore | undefined;
  let client: ClearlineClient | undefined;
  try {
    store = await openStore(chainContext, 10_000, { archiveOldStore: settings.archiveOldStore, output });
    // Commands without the node never call connect(): the URL is then never dialled.
    const nodeUrl = options.node ? settings.nodeUrl() : "ws://127.0.0.1:0/not-connected";
    client = new ClearlineClient({
      nodeUrl,
      ...(options.node ? { fallbackUrls: settings.fallbackNodeUrls() } : {}),
      signer: chainContext.signer,
      verifier: nobleVerifier,
      store,
      deployment: chainContext.chain.deployment,
      chain: chainContext.chain,
      reconnect: false,
      invoices: settings.invoices,
      onEvent: (event) => {
        if (event.type === "abandoned") output.note(`removed channel ${event.channelId} from your store: its open never reached the chain`, { abandoned: event.channelId });
        if (event.type === "invoiceRefused") output.note(`refused an invoice request from ${event.from}: ${event.code}`, { invoiceRefused: event.code, from: event.from });
      },
    });
    if (options.node) await client.connect();
    return await work({ ...chainContext, client, store, deployment: settings.deployment, inDaemon: false });
  } finally {
    if (client !== undefined) await client.disconnect().catch(() => undefined);
    if (store !== undefined) await store.close().catch(() => undefined);
    chainContext.close();
  }
}

// ------------------------------------------------------------------------------ name resolution

/**
 * An asset named on the command line: an address, `security`/`cash` (from the deployment file), or
 * the symbol of one of `candidates` (e.g. the channel's assets).
 */
export async function resolveAsset(spec: string, deployment: DeploymentFile | undefined, tokens: TokenBook, candidates: readonly Address[] = []): Promise<Address> {
  const name = spec.trim();
  if (looksLikeAddress(name)) return getAddress(name);
  const lower = name.toLowerCase();
  if (lower === "security" || lower === "cash") {
    const address = lower === "security" ? deployment?.security : deployment?.cash;
    if (address === undefined) throw new CliError("UNKNOWN_ASSET", `"${name}" needs a deployment file naming the ${lower} token; pass the token's address instead`);
    return address;
  }
  const pool = candidates.length > 0 ? candidates : [deployment?.security, deployment?.cash].filter((a): a is Address => a !== undefined);
  const matches: Address[] = [];
  for (const address of pool) if ((await tokens.info(address)).symbol.toLowerCase() === lower) matches.push(address);
  if (matches.length === 1) return matches[0]!;
  const known = await Promise.all(pool.map(async (a) => (await tokens.info(a)).symbol));
  throw new CliError(
    "UNKNOWN_ASSET",
    matches.length > 1 ? `"${name}" names several assets; use an address` : `unknown asset "${name}": use an address, security, cash${known.length > 0 ? ` or ${known.join(", ")}` : ""}`,
  );
}

/** The index of `asset` in the channel's assets (UNKNOWN_ASSET if the channel does not hold it). */
export async function assetIndexOf(record: ChannelRecord, asset: Address, tokens: TokenBook): Promise<number> {
  const index = record.params.assets.findIndex((a) => a.toLowerCase() === asset.toLowerCase());
  if (index >= 0) return index;
  const symbols = await Promise.all(record.params.assets.map(async (a) => (await tokens.info(a)).symbol));
  throw new CliError("UNKNOWN_ASSET", `the channel does not hold ${(await tokens.info(asset).catch(() => undefined))?.symbol ?? asset}; it holds ${symbols.join(", ")}`);
}

/** A channel id, or a unique prefix of one (at least 6 hex digits), from this investor's store. */
export async function resolveChannel(spec: string, store: LevelStore): Promise<ChannelRecord> {
  const text = spec.trim().toLowerCase();
  const hex = text.startsWith("0x") ? text : `0x${text}`;
  if (!/^0x[0-9a-f]{1,64}$/.test(hex)) throw new CliError("USAGE", `"${spec}" is not a channel id (0x and 64 hex digits, or a unique prefix)`);
  if (hex.length === 66) {
    const record = await store.channel(hex as Bytes32);
    if (record === undefined) throw new CliError("UNKNOWN_CHANNEL", `no channel ${hex} in this investor's store`);
    return record;
  }
  if (hex.length < 8) throw new CliError("USAGE", `"${spec}" is too short a prefix: give at least 6 hex digits of the channel id`);
  const matches = (await store.channels()).filter((r) => r.channelId.startsWith(hex));
  if (matches.length === 1) return matches[0]!;
  throw new CliError("UNKNOWN_CHANNEL", matches.length === 0 ? `no channel starting with ${hex} in this investor's store` : `${hex} is the prefix of ${matches.length} channels; give more digits`);
}

/** An investor named on the command line: an address or a name from the deployment's accounts. */
export function resolveAccount(spec: string, deployment: DeploymentFile | undefined): Address {
  const name = spec.trim();
  if (looksLikeAddress(name)) return getAddress(name);
  const address = deployment?.accounts[name.toLowerCase()];
  if (address !== undefined) return address;
  const names = Object.keys(deployment?.accounts ?? {});
  throw new CliError("USAGE", `"${name}" is neither an address nor an account of the deployment file${names.length > 0 ? ` (${names.join(", ")})` : ""}`);
}

/** ethers' `isAddress` without its type narrowing (which makes the string `never` when false). */
const looksLikeAddress = (text: string): boolean => isAddress(text);

/** "0x1234…abcd" */
export const short = (hex: string): string => (hex.length > 14 ? `${hex.slice(0, 8)}…${hex.slice(-4)}` : hex);

export { formatAmount };
