// The console's read-only data, as the pages show it: amounts as decimals with the token's symbol
// (the smallest units beside them), deadlines as time and seconds left, every list bounded by
// `maxRows` with the number there was.
import type { Address, Bytes32 } from "../../../client/protocol/types.js";
import type { ChannelRecord } from "../../../client/store/store.js";
import { formatAmount } from "../../../client/cli/amounts.js";
import type { Market } from "../../../client/protocol/trading/order.js";
import type { PriceLevel } from "../../../client/protocol/trading/book.js";
import type { FillEntry } from "../../../client/protocol/trading/log-entry.js";
import type { AssetInfo } from "../operator-info.js";
import type { NodeMetrics } from "../metrics.js";
import type { TradingDesk } from "../trading/desk.js";

export interface ConsoleSources {
  readonly venue: Address;
  readonly chainId: bigint;
  readonly version: string;
  readonly channels: {
    channelIds(): Bytes32[];
    record(channelId: Bytes32): ChannelRecord | undefined;
    balances(channelId: Bytes32): [bigint, bigint][];
  };
  /** Symbol and decimals of a token (read from chain once). */
  asset(address: Address): Promise<AssetInfo>;
  /** Every asset the venue's channels may hold. */
  readonly assets: readonly Address[];
  /** The chain's time in seconds, or undefined while the node's view of the chain is stale. */
  chainTime(): bigint | undefined;
  lastProcessedBlock(): number | null;
  readonly metrics: NodeMetrics;
  /** The trading desk and its markets, when the node takes orders. */
  readonly trading: { readonly desk: Pick<TradingDesk, "books" | "settlements">; readonly markets: readonly Market[] } | undefined;
  readonly maxRows: number;
}

const STATUS_ORDER: Record<string, number> = { disputed: 0, open: 1, proposed: 2, concluded: 3 };

/** `{ amount: "12.5", units: "12500000", symbol }`. */
const money = (value: bigint, info: AssetInfo) => ({ amount: formatAmount(value, info.decimals), units: value.toString(), symbol: info.symbol });

async function assetsOf(sources: ConsoleSources, addresses: readonly Address[]): Promise<Map<Address, AssetInfo>> {
  return new Map(await Promise.all(addresses.map(async (a) => [a, await sources.asset(a)] as const)));
}

function deadlineOf(deadline: bigint, now: bigint | undefined) {
  return { deadline: deadline.toString(), at: new Date(Number(deadline) * 1000).toISOString(), secondsLeft: now === undefined ? null : Number(deadline - now) };
}

/** Node facts, channel counts by status, and the value locked in channels per asset. */
export async function overviewView(sources: ConsoleSources) {
  const counts: Record<string, number> = { proposed: 0, open: 0, disputed: 0, concluded: 0 };
  const locked = new Map<Address, bigint>(sources.assets.map((a) => [a, 0n]));
  for (const id of sources.channels.channelIds()) {
    const record = sources.channels.record(id);
    if (record === undefined) continue;
    counts[record.status] = (counts[record.status] ?? 0) + 1;
    if (record.status !== "open" && record.status !== "disputed") continue;
    sources.channels.balances(id).forEach(([venue, investor], index) => {
      const asset = record.params.assets[index]!;
      locked.set(asset, (locked.get(asset) ?? 0n) + venue + investor);
    });
  }
  const infos = await assetsOf(sources, [...locked.keys()]);
  const now = sources.chainTime();
  return {
    version: sources.version,
    venue: sources.venue,
    chainId: sources.chainId.toString(),
    lastProcessedBlock: sources.lastProcessedBlock(),
    chainTime: now === undefined ? null : now.toString(),
    channels: counts,
    valueLocked: [...locked].map(([asset, value]) => ({ asset, ...money(value, infos.get(asset)!) })),
  };
}

/** Channels (disputed first, then open, proposed, concluded; newest first within), with balances in symbols. */
export async function channelsView(sources: ConsoleSources, only?: "disputed") {
  const records = sources.channels
    .channelIds()
    .map((id) => sources.channels.record(id))
    .filter((r): r is ChannelRecord => r !== undefined && (only === undefined || r.status === only))
    .sort((a, b) => (STATUS_ORDER[a.status]! - STATUS_ORDER[b.status]! || b.createdAt - a.createdAt));
  const shown = records.slice(0, sources.maxRows);
  const infos = await assetsOf(sources, [...new Set(shown.flatMap((r) => r.params.assets))]);
  const now = sources.chainTime();
  return {
    total: records.length,
    channels: shown.map((record) => ({
      channelId: record.channelId,
      investor: record.params.participants[1],
      status: record.status,
      nonce: (record.latest?.state.nonce ?? 0n).toString(),
      balances: sources.channels.balances(record.channelId).map(([venue, investor], index) => {
        const info = infos.get(record.params.assets[index]!)!;
        return { asset: info.address, symbol: info.symbol, venue: money(venue, info).amount, investor: money(investor, info).amount, venueUnits: venue.toString(), investorUnits: investor.toString() };
      }),
      dispute: record.dispute === null ? null : { nonce: record.dispute.nonce.toString(), ...deadlineOf(record.dispute.deadline, now) },
    })),
  };
}

/** Every refusal counter of the node (…_rejections_total, …_refusals_total) by its label, largest first. */
export async function refusalsView(metrics: NodeMetrics) {
  const all = await metrics.registry.getMetricsAsJSON();
  const rows: { metric: string; help: string; reason: string; count: number }[] = [];
  for (const metric of all) {
    if (!/^clearline_\w*(rejections|refusals)_total$/.test(metric.name)) continue;
    for (const value of metric.values) {
      if (value.value === 0) continue;
      const labels = Object.values(value.labels ?? {}).map(String);
      rows.push({ metric: metric.name, help: metric.help, reason: labels.join(" ") || "—", count: value.value });
    }
  }
  return { refusals: rows.sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)) };
}

/** The resting quantity per price level, best first, of orders not expired by `now`. */
function depth(levels: readonly PriceLevel[], now: bigint | undefined, max: number) {
  return levels
    .map((level) => {
      const live = level.orders.filter((o) => o.expiresAt === 0n || now === undefined || o.expiresAt > now);
      return { price: level.price, quantity: live.reduce((sum, o) => sum + o.remaining, 0n), orders: live.length };
    })
    .filter((level) => level.orders > 0)
    .slice(0, max);
}

const marketKey = (security: Address, cash: Address): string => `${security}/${cash}`;

/**
 * The latest `max` fills of each market, newest first, found by walking the log back from its end;
 * at most 64 × `max` entries per market are looked at, however long the log is.
 */
function latestFills(books: TradingDesk["books"], markets: readonly Market[], max: number): Map<string, FillEntry[]> {
  const found = new Map(markets.map((m) => [marketKey(m.security, m.cash), [] as FillEntry[]]));
  let budget = 64 * max * markets.length;
  let missing = markets.length;
  for (let sequence = books.nextSequence - 1n; sequence >= 0n && budget > 0 && missing > 0; sequence--, budget--) {
    const fill = books.fillBySequence(sequence);
    const order = fill === undefined ? undefined : books.orderBySequence(fill.takerSequence)?.signed.order;
    const list = order === undefined ? undefined : found.get(marketKey(order.security, order.cash));
    if (list === undefined || list.length >= max) continue;
    list.push(fill!);
    if (list.length === max) missing--;
  }
  return found;
}

/** Per market: the book's depth (prices in cash per lot, quantities in the security) and the latest fills, newest first, with their settlement state. */
export async function tradingView(sources: ConsoleSources) {
  if (sources.trading === undefined) return { enabled: false as const, markets: [] };
  const { desk, markets } = sources.trading;
  const books = desk.books;
  const now = sources.chainTime();
  const fills = latestFills(books, markets, sources.maxRows);
  const stage = (sequence: bigint): string => {
    const reached = desk.settlements?.stageOf(sequence);
    return reached === "settled" || reached === "failed" ? reached : "matched";
  };
  return {
    enabled: true as const,
    markets: await Promise.all(
      markets.map(async (market) => {
        const [security, cash] = await Promise.all([sources.asset(market.security), sources.asset(market.cash)]);
        const book = books.bookOf(market.security, market.cash);
        const level = (l: { price: bigint; quantity: bigint; orders: number }) => ({ price: money(l.price, cash).amount, quantity: money(l.quantity, security).amount, orders: l.orders });
        return {
          security: market.security,
          cash: market.cash,
          securitySymbol: security.symbol,
          cashSymbol: cash.symbol,
          lot: money(market.lotSize, security).amount,
          bids: book === undefined ? [] : depth(book.bids, now, sources.maxRows).map(level),
          asks: book === undefined ? [] : depth(book.asks, now, sources.maxRows).map(level),
          fills: (fills.get(marketKey(market.security, market.cash)) ?? []).map((fill) => {
            const taker = books.orderBySequence(fill.takerSequence)!;
            return {
              sequence: fill.sequence.toString(),
              takerSide: taker.signed.order.side,
              price: money(fill.price, cash).amount,
              quantity: money(fill.quantity, security).amount,
              maker: books.orderBySequence(fill.makerSequence)?.signed.order.investor ?? null,
              taker: taker.signed.order.investor,
              state: stage(fill.sequence),
              at: new Date(Number(taker.receivedAt) * 1000).toISOString(),
            };
          }),
        };
      }),
    ),
  };
}
