// A channel's balances as the chain backs them.
import type { Address } from "../protocol/index.js";

/** One asset of a channel: what each side holds by the latest agreed state, never negative. */
export interface Balance {
  readonly asset: Address;
  readonly venue: bigint;
  readonly me: bigint;
  /**
   * How much less the chain holds than the agreed state assigns (0 normally). Above 0 the chain does
   * not back the state — e.g. a store of another chain, or deposits not yet visible — and the
   * balances are shown as what the chain could pay at most (never negative).
   */
  readonly shortfall: bigint;
}

/**
 * Balances the chain backs. A negative balance means the chain holds less than the state assigns
 * (a store of another chain, deposits not yet seen): the side in the red is shown at 0, the other
 * at most what the chain holds, and the difference is the shortfall.
 */
export function backed(asset: Address, venue: bigint, me: bigint): Balance {
  if (venue >= 0n && me >= 0n) return { asset, venue, me, shortfall: 0n };
  const held = venue + me > 0n ? venue + me : 0n;
  const shortfall = (venue < 0n ? -venue : 0n) + (me < 0n ? -me : 0n);
  return { asset, venue: venue < 0n ? 0n : held, me: me < 0n ? 0n : held, shortfall };
}
