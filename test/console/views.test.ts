// The console's data views over fake sources: value locked per asset (open and disputed channels
// only), channels sorted and cut at maxRows with the total, dispute deadlines by the chain's time,
// the latest fills per market newest first (a bounded walk back along the log), settlement states.
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { channelsView, overviewView, tradingView, type ConsoleSources } from "../../channel-node/src/console/views.js";
import type { AssetInfo } from "../../channel-node/src/operator-info.js";
import type { ChannelRecord } from "../../client/store/store.js";
import type { Address, Bytes32 } from "../../client/protocol/types.js";
import type { FillEntry, OrderEntry } from "../../client/protocol/trading/log-entry.js";

const A = "0x00000000000000000000000000000000000000aa" as Address;
const B = "0x00000000000000000000000000000000000000bb" as Address;
const C = "0x00000000000000000000000000000000000000cc" as Address;
const INFO: Record<string, AssetInfo> = { [A]: { address: A, symbol: "CLS", decimals: 18 }, [B]: { address: B, symbol: "cUSD", decimals: 6 }, [C]: { address: C, symbol: "BND", decimals: 0 } };
const id = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Bytes32;

function channel(n: number, status: ChannelRecord["status"], balances: [bigint, bigint][], dispute: ChannelRecord["dispute"] = null) {
  const record = { channelId: id(n), status, createdAt: n, params: { assets: [A, B], participants: ["0x0000000000000000000000000000000000000001", `0x${n.toString(16).padStart(40, "0")}`] }, latest: null, dispute } as unknown as ChannelRecord;
  return { record, balances };
}

function sources(channels: ReturnType<typeof channel>[], extra: Partial<ConsoleSources> = {}): ConsoleSources {
  const byId = new Map(channels.map((c) => [c.record.channelId, c]));
  return {
    venue: "0x0000000000000000000000000000000000000001" as Address,
    chainId: 31337n,
    version: "0.0.0",
    channels: { channelIds: () => [...byId.keys()], record: (i) => byId.get(i)?.record, balances: (i) => byId.get(i)!.balances },
    asset: async (address) => INFO[address]!,
    assets: [A, B],
    chainTime: () => 1_000n,
    lastProcessedBlock: () => 7,
    metrics: createMetrics(),
    trading: undefined,
    maxRows: 2,
    ...extra,
  };
}

describe("console views", () => {
  it("value locked counts open and disputed channels, in decimals with symbols", async () => {
    const overview = await overviewView(
      sources([channel(1, "open", [[1n * 10n ** 18n, 2n * 10n ** 18n], [0n, 5_500_000n]]), channel(2, "disputed", [[0n, 10n ** 17n], [1_000_000n, 0n]]), channel(3, "concluded", [[9n, 9n], [9n, 9n]]), channel(4, "proposed", [[0n, 0n], [0n, 0n]])]),
    );
    expect(overview.valueLocked).toEqual([
      { asset: A, amount: "3.1", units: (31n * 10n ** 17n).toString(), symbol: "CLS" },
      { asset: B, amount: "6.5", units: "6500000", symbol: "cUSD" },
    ]);
    expect(overview.channels).toEqual({ proposed: 1, open: 1, disputed: 1, concluded: 1 });
  });

  it("channels: disputed first, then open (newest first), cut at maxRows with the total; deadlines by the chain's time", async () => {
    const view = await channelsView(
      sources([channel(1, "open", [[0n, 0n], [0n, 0n]]), channel(2, "concluded", [[0n, 0n], [0n, 0n]]), channel(3, "open", [[0n, 0n], [0n, 0n]]), channel(4, "disputed", [[0n, 0n], [0n, 1_250_000n]], { nonce: 5n, deadline: 1_090n })]),
    );
    expect(view.total).toBe(4);
    expect(view.channels.map((c) => c.channelId)).toEqual([id(4), id(3)]);
    expect(view.channels[0]!.dispute).toEqual({ nonce: "5", deadline: "1090", at: new Date(1_090_000).toISOString(), secondsLeft: 90 });
    expect(view.channels[0]!.balances[1]).toMatchObject({ symbol: "cUSD", venue: "0", investor: "1.25" });
    const disputes = await channelsView(sources([channel(1, "open", [[0n, 0n], [0n, 0n]]), channel(4, "disputed", [[0n, 0n], [0n, 0n]], { nonce: 0n, deadline: 900n })]), "disputed");
    expect(disputes.channels.map((c) => [c.channelId, c.dispute?.secondsLeft])).toEqual([[id(4), -100]]);
  });

  it("trading: the latest fills of each market, newest first, at most maxRows each, with their settlement state", async () => {
    // Log: orders at even sequences, a fill after each; the first in C/B, the nine later ones in A/B.
    const orders = new Map<bigint, OrderEntry>();
    const fills = new Map<bigint, FillEntry>();
    for (let i = 0n; i < 10n; i++) {
      const sequence = i * 2n;
      const security = i === 0n ? C : A;
      orders.set(sequence, { kind: "order", sequence, receivedAt: 100n + i, signed: { order: { investor: B, security, cash: B, side: "buy" } } } as unknown as OrderEntry);
      fills.set(sequence + 1n, { kind: "fill", sequence: sequence + 1n, makerSequence: sequence, takerSequence: sequence, quantity: 3n, price: 2_000_000n });
    }
    const books = {
      nextSequence: 20n,
      fillBySequence: (s: bigint) => fills.get(s),
      orderBySequence: (s: bigint) => orders.get(s),
      bookOf: () => undefined,
    };
    const settlements = { stageOf: (s: bigint) => (s === 19n ? "settled" : s === 17n ? "failed" : "locking") };
    const markets = [
      { security: A, cash: B, lotSize: 10n ** 18n },
      { security: C, cash: B, lotSize: 1n },
    ];
    const view = await tradingView(sources([], { trading: { desk: { books, settlements } as never, markets } }));
    expect(view.markets.map((m) => m.fills.map((f) => f.sequence))).toEqual([["19", "17"], ["1"]]);
    expect(view.markets[0]!.fills.map((f) => f.state)).toEqual(["settled", "failed"]);
    expect(view.markets[1]!.fills[0]).toMatchObject({ state: "matched", price: "2", quantity: "3", takerSide: "buy" });
    expect(await tradingView(sources([]))).toEqual({ enabled: false, markets: [] });
  });
});
