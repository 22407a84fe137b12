// What the operator's `getinfo` and `balances` show: the node's version, the venue's address, the
// chain and how far the watcher is behind it, and the venue wallet's gas (ETH) and token balances
// with each token's symbol and decimals, so the operator's CLI speaks decimals (docs/operations.md).
import { Contract, type JsonRpcProvider } from "ethers";
import { erc20Abi } from "../../client/chain/abi.js";
import type { Address } from "../../client/protocol/types.js";
import { packageVersionOf } from "../../client/package-version.js";

export interface AssetInfo {
  readonly address: Address;
  readonly symbol: string;
  readonly decimals: number;
}

/** The node's version: the repository's package.json. */
export const NODE_VERSION: string = packageVersionOf(import.meta.url);

/** Symbols and decimals of the venue's assets, read from chain once (both are immutable for a deployed ERC-20). */
export class AssetBook {
  private readonly known = new Map<string, Promise<AssetInfo>>();

  constructor(private readonly provider: JsonRpcProvider) {}

  info(address: Address): Promise<AssetInfo> {
    const key = address.toLowerCase();
    let entry = this.known.get(key);
    if (entry === undefined) {
      const token = this.token(address);
      entry = Promise.all([token.getFunction("symbol").staticCall() as Promise<string>, token.getFunction("decimals").staticCall() as Promise<bigint>]).then(
        ([symbol, decimals]) => ({ address, symbol, decimals: Number(decimals) }),
      );
      // A failed read is retried next time rather than cached.
      entry.catch(() => this.known.delete(key));
      this.known.set(key, entry);
    }
    return entry;
  }

  /** The venue wallet's balance of `address`, in smallest units. */
  balanceOf(address: Address, holder: Address): Promise<bigint> {
    return this.token(address).getFunction("balanceOf").staticCall(holder) as Promise<bigint>;
  }

  private token(address: Address): Contract {
    return new Contract(address, erc20Abi() as never, this.provider);
  }
}

export interface NodeInfoSources {
  readonly provider: JsonRpcProvider;
  readonly book: AssetBook;
  readonly venue: Address;
  readonly chainId: bigint;
  readonly adjudicator: Address;
  readonly assets: readonly Address[];
  readonly lastProcessedBlock: () => number | null;
  readonly channels: () => number;
}

/** The body of GET /admin/info. */
export async function nodeInfo(sources: NodeInfoSources) {
  const [block, gas, assets] = await Promise.all([
    sources.provider.getBlockNumber(),
    sources.provider.getBalance(sources.venue),
    Promise.all(
      sources.assets.map(async (address) => ({ ...(await sources.book.info(address)), wallet: await sources.book.balanceOf(address, sources.venue) })),
    ),
  ]);
  const processed = sources.lastProcessedBlock();
  return {
    version: NODE_VERSION,
    venue: sources.venue,
    chainId: sources.chainId,
    adjudicator: sources.adjudicator,
    block,
    lastProcessedBlock: processed,
    watcherLagBlocks: processed === null ? null : Math.max(0, block - processed),
    channels: sources.channels(),
    wallet: { ethWei: gas },
    assets,
  };
}
