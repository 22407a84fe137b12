/**
 * The chain a store belongs to. Agreed states are worth something only on the chain whose
 * adjudicator holds the channel: a local chain restarted with the same chain id and the same
 * (deterministic) adjudicator address is another chain, told apart by its genesis block. A bound
 * store refuses to be opened against another chain (WRONG_CHAIN) and refuses channels of another
 * deployment, so channels of a vanished chain never show up as "not on chain yet" with balances
 * the chain does not back.
 */
import { checksumAddress } from "../protocol/address.js";
import type { Address, Bytes32, Deployment } from "../protocol/types.js";
import { StoreError } from "./errors.js";
import type { ChannelRecord } from "./store.js";

export interface ChainBinding {
  readonly chainId: bigint;
  readonly adjudicator: Address;
  /** The hash of block 0 (lowercase 0x-hex). */
  readonly genesisHash: Bytes32;
}

const BYTES32 = /^0x[0-9a-f]{64}$/;

/** INVALID_ARGUMENT unless `binding` is a well-formed ChainBinding (a checksummed adjudicator). */
export function checkChainBinding(binding: unknown): asserts binding is ChainBinding {
  const b = binding as Partial<ChainBinding> | null;
  if (
    b === null ||
    typeof b !== "object" ||
    typeof b.chainId !== "bigint" ||
    b.chainId < 0n ||
    typeof b.adjudicator !== "string" ||
    checksumAddress(b.adjudicator) !== b.adjudicator ||
    typeof b.genesisHash !== "string" ||
    !BYTES32.test(b.genesisHash)
  ) {
    throw new StoreError("INVALID_ARGUMENT", "a chain binding is { chainId: bigint, adjudicator: checksummed address, genesisHash: 32 bytes of lowercase 0x-hex }");
  }
}

export function encodeChainBinding(binding: ChainBinding): string {
  return JSON.stringify({ chainId: binding.chainId.toString(), adjudicator: binding.adjudicator, genesisHash: binding.genesisHash });
}

/** CORRUPT unless `text` is what encodeChainBinding wrote. */
export function decodeChainBinding(text: string, key: string): ChainBinding {
  try {
    const json = JSON.parse(text) as { chainId?: unknown; adjudicator?: unknown; genesisHash?: unknown };
    if (typeof json.chainId !== "string" || !/^(0|[1-9][0-9]{0,77})$/.test(json.chainId)) throw new Error("chainId");
    const binding = { chainId: BigInt(json.chainId), adjudicator: json.adjudicator, genesisHash: json.genesisHash };
    checkChainBinding(binding);
    return binding;
  } catch (cause) {
    throw new StoreError("CORRUPT", `${key} does not hold a chain binding`, { key }, { cause });
  }
}

export function sameChain(a: ChainBinding, b: ChainBinding): boolean {
  return a.chainId === b.chainId && a.adjudicator === b.adjudicator && a.genesisHash === b.genesisHash;
}

export function describeChain(binding: ChainBinding): string {
  return `chain ${binding.chainId} (adjudicator ${binding.adjudicator}, genesis block ${binding.genesisHash})`;
}

/** WRONG_CHAIN: the store at `location` belongs to `stored`, not to `actual`; says what to do. */
export function wrongChain(location: string, stored: ChainBinding, actual: ChainBinding): StoreError<"WRONG_CHAIN"> {
  const restarted = stored.chainId === actual.chainId && stored.adjudicator === actual.adjudicator;
  return new StoreError(
    "WRONG_CHAIN",
    `the store ${location} belongs to ${describeChain(stored)}, not to ${describeChain(actual)}` +
      `${restarted ? ": the chain was restarted or replaced (same chain id and adjudicator, another genesis block)" : ""}. ` +
      "Use a separate data directory per chain; keep this one while its chain exists (its signed states are what you dispute with there), " +
      "move it away once that chain is gone for good",
    {
      location,
      storedChainId: stored.chainId,
      storedAdjudicator: stored.adjudicator,
      storedGenesisHash: stored.genesisHash,
      chainId: actual.chainId,
      adjudicator: actual.adjudicator,
      genesisHash: actual.genesisHash,
    },
  );
}

/** WRONG_CHAIN unless a channel of `deployment` belongs on the bound chain. */
export function checkDeploymentOn(binding: ChainBinding | null, deployment: Deployment, channelId: Bytes32): void {
  if (binding === null) return;
  if (deployment.chainId !== binding.chainId || deployment.adjudicator !== binding.adjudicator) {
    throw new StoreError(
      "WRONG_CHAIN",
      `channel ${channelId} is of chain ${deployment.chainId} (adjudicator ${deployment.adjudicator}); this store belongs to ${describeChain(binding)}`,
      { channelId, chainId: deployment.chainId, adjudicator: deployment.adjudicator },
    );
  }
}

/**
 * The binding of a store opened with `options`: the stored one (checked against `options.chain`),
 * or `options.chain` for an unbound store (`bindNow`: the caller writes it), unless the store holds
 * channels of another deployment or `adoptLegacy` declines them (WRONG_CHAIN; `separate` names
 * what to keep one of per chain).
 */
export async function resolveChainBinding(
  location: string,
  stored: ChainBinding | null,
  records: ReadonlyMap<Bytes32, ChannelRecord>,
  options: { readonly chain?: ChainBinding; readonly adoptLegacy?: (channels: readonly ChannelRecord[]) => Promise<boolean> },
  separate: string,
): Promise<{ readonly binding: ChainBinding; readonly bindNow: true } | { readonly binding: ChainBinding | null; readonly bindNow: false }> {
  const wanted = options.chain;
  if (wanted === undefined) return { binding: stored, bindNow: false };
  checkChainBinding(wanted);
  if (stored !== null) {
    if (!sameChain(stored, wanted)) throw wrongChain(location, stored, wanted);
    return { binding: stored, bindNow: false };
  }
  const channels = [...records.values()];
  const foreign = channels.find((r) => r.deployment.chainId !== wanted.chainId || r.deployment.adjudicator !== wanted.adjudicator);
  const adopt = foreign === undefined && channels.length > 0 && options.adoptLegacy !== undefined ? await options.adoptLegacy(channels) : true;
  if (foreign !== undefined || !adopt) {
    const which = foreign === undefined ? "channels the chain does not know" : `channel ${foreign.channelId} of chain ${foreign.deployment.chainId} (adjudicator ${foreign.deployment.adjudicator})`;
    throw new StoreError(
      "WRONG_CHAIN",
      `the store ${location} holds ${which}, so it does not belong to ${describeChain(wanted)} (a restarted chain is another chain). ` +
        `Use a separate ${separate} per chain; keep this one while its chain exists, move it away once that chain is gone for good`,
      { location, chainId: wanted.chainId, adjudicator: wanted.adjudicator, genesisHash: wanted.genesisHash },
    );
  }
  return { binding: wanted, bindNow: true };
}
