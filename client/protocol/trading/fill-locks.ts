/**
 * What an investor may countersign when the venue proposes a fill's lock pair in its channel
 * (docs/protocol.md, "Settlement of a fill"): the proposal names the fill (its log sequence number),
 * and the pair must be exactly that fill's legs, the fill of one of the investor's own orders within
 * its limit and what is left of it. Pure: the caller keeps how much of each order it has committed
 * and which fills it has charged.
 */
import type { Address, Lock } from "../types.js";
import { TradingError } from "./errors.js";
import type { FillEntry } from "./log-entry.js";
import type { Order } from "./order.js";

const INVESTOR = 1;

/** One of the investor's own accepted orders, and how much of it lock pairs already took. */
export interface OwnOrder {
  readonly order: Order;
  /** Quantity of the order the investor already agreed lock pairs for. */
  readonly committed: bigint;
}

/** What a lock pair settles for the investor: `quantity` of the order's security at `price` per lot. */
export interface FillOfPair {
  /** Index of the order in the list given. */
  readonly index: number;
  readonly quantity: bigint;
  readonly price: bigint;
}

/** One of the investor's own orders by its sequence in the venue's log (from its receipt). */
export interface PlacedOrder extends OwnOrder {
  /** The order entry's sequence in the venue's log. */
  readonly sequence: bigint;
}

/**
 * Which of `orders` the lock pair `locks` (in a channel of `assets`) settles, when the venue names
 * the fill: `fill` is that log entry, which the caller has checked is in the venue's log. The pair
 * must be exactly the fill's legs for the investor — its quantity of the security, its quantity
 * times its price in cash, each the right way round — the fill must be of one of the investor's own
 * orders (its maker or its taker, not both: a self-trade moves nothing and has no locks), within the
 * order's limit and what is left of it, and not a fill already charged (`charged`, fill sequences).
 * Throws a TradingError: UNKNOWN_ORDER, FILL_CHARGED, FILL_MISMATCH. Pure.
 */
export function chargeOfNamedFill(assets: readonly Address[], locks: readonly [Lock, Lock], fill: FillEntry, orders: readonly PlacedOrder[], charged: ReadonlySet<bigint>): FillOfPair {
  const details = { fill: fill.sequence };
  if (charged.has(fill.sequence)) throw new TradingError("FILL_CHARGED", "a lock pair for this fill was agreed already", details);
  const ours = [...orders.entries()].filter(([, own]) => own.sequence === fill.makerSequence || own.sequence === fill.takerSequence);
  if (ours.length !== 1) {
    throw new TradingError(ours.length === 0 ? "UNKNOWN_ORDER" : "FILL_MISMATCH", ours.length === 0 ? "the fill is not of an order we placed" : "a self-trade is settled without locks", details);
  }
  const [index, { order, committed }] = ours[0]!;
  const mismatch = (why: string): TradingError => new TradingError("FILL_MISMATCH", `the lock pair is not the fill's legs: ${why}`, details);
  const sells = order.side === "sell";
  if (fill.quantity <= 0n || fill.quantity % order.lotSize !== 0n || fill.quantity > order.quantity - committed) throw mismatch("quantity beyond what is left of our order");
  if (sells ? fill.price < order.price : fill.price > order.price) throw mismatch("price beyond our order's limit");
  const [a, b] = locks;
  const security = [a, b].find((lock) => assets[lock.assetIndex] === order.security);
  const cash = [a, b].find((lock) => assets[lock.assetIndex] === order.cash);
  if (security === undefined || cash === undefined || security === cash) throw mismatch("not the order's market");
  // A sell gives the security and gets the cash; a buy the other way round.
  if ((security.sender === INVESTOR) !== sells || cash.sender === security.sender) throw mismatch("the legs go the wrong way");
  if (security.amount !== fill.quantity) throw mismatch("another quantity");
  if (cash.amount !== (fill.quantity / order.lotSize) * fill.price) throw mismatch("another cash amount");
  return { index, quantity: fill.quantity, price: fill.price };
}
