// What an investor's orders commit (docs/trading.md, "At the node"): a sell commits the security it
// offers, a buy the cash at its limit price; a fill keeps both legs committed until it is settled in
// the channels. The committed amounts are reserved: a new order, payment or withdrawal may only use
// what the investor's channels hold beyond them.
import { notionalOf, type Order } from "../../../client/protocol/trading/order.js";
import type { Address } from "../../../client/protocol/types.js";

/** The token and amount `remaining` of `order` commits. */
export function commitmentOf(order: Order, remaining: bigint): { token: Address; amount: bigint } {
  return order.side === "sell"
    ? { token: order.security, amount: remaining }
    : { token: order.cash, amount: notionalOf(remaining, order.price, order.lotSize) };
}

/** Amounts of matched, not yet settled fills, per investor and token. */
export class MatchedFunds {
  private readonly held = new Map<Address, Map<Address, bigint>>();

  add(investor: Address, token: Address, amount: bigint): void {
    let tokens = this.held.get(investor);
    if (tokens === undefined) this.held.set(investor, (tokens = new Map()));
    tokens.set(token, (tokens.get(token) ?? 0n) + amount);
  }

  of(investor: Address, token: Address): bigint {
    return this.held.get(investor)?.get(token) ?? 0n;
  }
}

/**
 * What investors' own channel updates are taking away while they are being persisted: validated
 * against the reservations, countersigned, not yet durable — so the channels' latest states do not
 * show them yet. Counted until the update is agreed (or refused), so that an order checked meanwhile
 * cannot reserve what the update spends, nor another channel's update spend it twice.
 */
export class InFlightFunds {
  private readonly held = new MatchedFunds();

  /** Holds `amounts` (per token) of `investor` until the returned release is called (once). */
  hold(investor: Address, amounts: ReadonlyMap<Address, bigint>): () => void {
    for (const [token, amount] of amounts) this.held.add(investor, token, amount);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const [token, amount] of amounts) this.held.add(investor, token, -amount);
    };
  }

  of(investor: Address, token: Address): bigint {
    return this.held.of(investor, token);
  }
}

/** What an engine shows of an investor's open channels: channel ids, records and balances. */
export interface ChannelBalances {
  channelIds(): readonly string[];
  record(channelId: string): { readonly params: { readonly participants: readonly Address[]; readonly assets: readonly Address[] }; readonly status: string } | undefined;
  /** [venue, investor] per asset of the latest agreed state. */
  balances(channelId: string): readonly (readonly [bigint, bigint])[];
}

/** What `investor`'s open channels hold of `token` on its side, by their latest agreed states. */
export function channelFundsOf(engine: ChannelBalances, investor: Address, token: Address): bigint {
  let total = 0n;
  for (const channelId of engine.channelIds()) {
    const record = engine.record(channelId)!;
    const assetIndex = record.params.assets.indexOf(token);
    if (record.params.participants[1] !== investor || record.status !== "open" || assetIndex < 0) continue;
    total += engine.balances(channelId)[assetIndex]![1];
  }
  return total;
}

/**
 * What an order may commit of `token` before the reservations (intake.ts): the channels' funds less
 * what the investor's updates in flight take — one accounting with the engine's FUNDS_RESERVED
 * check, which counts the same in-flight amounts: available = balance − reservations − in flight.
 */
export function availableFundsOf(engine: ChannelBalances, inFlight: InFlightFunds, investor: Address, token: Address): bigint {
  return channelFundsOf(engine, investor, token) - inFlight.of(investor, token);
}
