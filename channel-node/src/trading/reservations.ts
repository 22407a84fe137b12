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
