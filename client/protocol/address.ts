/**
 * Checksummed addresses, memoised. `getAddress` hashes the address with keccak in JavaScript
 * (tens of µs); a venue parses the same few addresses in every message, and this was the largest
 * cost of parsing a proposal (docs/performance.md). The cache is bounded: when full it starts over.
 */
import { getAddress } from "ethers";
import type { Address } from "./types.js";

const MAX_ENTRIES = 10_000;
const cache = new Map<string, Address | null>();

/** The EIP-55 checksummed form of `text`, or null when it is not an address (or its checksum is wrong). */
export function checksumAddress(text: string): Address | null {
  let known = cache.get(text);
  if (known === undefined) {
    try {
      known = getAddress(text);
    } catch {
      known = null;
    }
    if (cache.size >= MAX_ENTRIES) cache.clear();
    cache.set(text, known);
  }
  return known;
}
