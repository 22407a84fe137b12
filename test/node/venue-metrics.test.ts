// The venue's gauges (channel-node/src/venue-metrics.ts) on a real prom-client registry: figures from
// the channels as the engine holds them, and the bound on what the public /metrics costs the chain —
// any number of scrapes within `cacheMs` share one round of chain reads; a chain that does not answer
// leaves its figures absent and the scrape served.
import { ZeroHash, getAddress } from "ethers";
import { describe, expect, it } from "vitest";
import { applyUpdate, channelOf, genesisState, hashlockOf, type Channel, type State } from "../../client/protocol/index.js";
import type { ChannelRecord, ChannelStatus } from "../../client/store/store.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { registerVenueMetrics, type VenueMetricsSources } from "../../channel-node/src/venue-metrics.js";

const venue = getAddress("0x" + "11".repeat(20));
const investor = getAddress("0x" + "22".repeat(20));
const cash = getAddress("0x" + "bb".repeat(20));
const sec = getAddress("0x" + "aa".repeat(20));
const deployment = { chainId: 31337n, adjudicator: getAddress("0x" + "cc".repeat(20)) };
const NOW = 1_000_000n;

function channel(salt: number): Channel {
  return channelOf({ participants: [venue, investor], assets: [cash, sec], challengePeriod: 3_600n, salt: `0x${salt.toString(16).padStart(64, "0")}` }, deployment);
}

function record(c: Channel, status: ChannelStatus, latest: State, deposits: [bigint, bigint][], dispute: ChannelRecord["dispute"] = null): { record: ChannelRecord; latest: State } {
  return {
    record: { channelId: c.channelId, params: c.params, deployment, me: 0, createdAt: 0, status, latest: null, pending: null, deposits, checkpointNonce: 0n, dispute, concludedNonce: null },
    latest,
  };
}

describe("venue metrics", () => {
  const a = channel(1);
  const b = channel(2);
  const c = channel(3);
  // a: the venue withdrew 5 cUSD (6 decimals) and holds a lock to the investor; b: disputed; c: concluded (not counted).
  const withdrawn = applyUpdate(a, genesisState(a).state, { kind: "withdrawal", withdrawals: [{ assetIndex: 0, participant: 0, amount: 5_000_000n }] });
  const locked = applyUpdate(a, withdrawn, { kind: "addLock", lock: { assetIndex: 0, sender: 0, amount: 1_000_000n, hashlock: hashlockOf(ZeroHash.replace(/0$/, "1")), expiry: NOW + 60n } });
  const channels = [
    record(a, "open", locked, [[20_000_000n, 100_000_000n], [0n, 0n]]),
    record(b, "disputed", genesisState(b).state, [[0n, 50_000_000n], [0n, 3n * 10n ** 18n]], { nonce: 0n, deadline: NOW + 120n }),
    record(c, "concluded", genesisState(c).state, [[0n, 999_000_000n], [0n, 0n]]),
  ];

  function setup(overrides: Partial<VenueMetricsSources> = {}) {
    const metrics = createMetrics();
    const calls = { head: 0 };
    let clock = 0;
    registerVenueMetrics(metrics, {
      venue,
      assets: [sec, cash],
      asset: async (token) => (token === cash ? { address: cash, symbol: "cUSD", decimals: 6 } : { address: sec, symbol: "CLS", decimals: 18 }),
      walletBalance: async (token) => (token === cash ? 2_500_000n : 7n * 10n ** 18n),
      ethBalance: async () => 10n ** 18n / 2n,
      chainHead: async () => {
        calls.head++;
        return 100;
      },
      channels: () => channels,
      watchers: () => ({ adjudicator: 97, compliance: null }),
      backfilling: () => [],
      confirmations: 2,
      now: () => NOW,
      cacheMs: 1_000,
      clockMs: () => clock,
      ...overrides,
    });
    return { metrics, calls, advance: (ms: number) => (clock += ms) };
  }

  const lineOf = (text: string, start: string) => text.split("\n").find((l) => l.startsWith(start));

  it("value locked per asset, pending locks, disputes with the seconds to the nearest deadline, the wallet and the watchers' lag", async () => {
    const { metrics } = setup();
    const text = await metrics.registry.metrics();
    expect(lineOf(text, 'clearline_value_locked{asset="cUSD"')).toBe(`clearline_value_locked{asset="cUSD",token="${cash}"} 165`);
    expect(lineOf(text, 'clearline_value_locked{asset="CLS"')).toBe(`clearline_value_locked{asset="CLS",token="${sec}"} 3`);
    expect(lineOf(text, "clearline_pending_locks ")).toBe("clearline_pending_locks 1");
    expect(lineOf(text, "clearline_disputes ")).toBe("clearline_disputes 1");
    expect(lineOf(text, "clearline_dispute_deadline_seconds{")).toBe(`clearline_dispute_deadline_seconds{channel="${b.channelId}"} 120`);
    expect(lineOf(text, 'clearline_venue_wallet_balance{asset="cUSD"')).toBe(`clearline_venue_wallet_balance{asset="cUSD",token="${cash}"} 2.5`);
    expect(lineOf(text, "clearline_venue_wallet_eth{")).toBe(`clearline_venue_wallet_eth{venue="${venue}"} 0.5`);
    expect(lineOf(text, "clearline_chain_head_block ")).toBe("clearline_chain_head_block 100");
    // 100 − 2 confirmations − 97; the compliance watcher has not polled yet: no figure.
    expect(lineOf(text, "clearline_watcher_lag_blocks{")).toBe('clearline_watcher_lag_blocks{watcher="adjudicator"} 1');
    expect(text).not.toContain('watcher="compliance"');
    expect(lineOf(text, "clearline_compliance_backfills ")).toBe("clearline_compliance_backfills 0");
  });

  it("counts the rules contracts and registries the compliance mirror is still backfilling", async () => {
    const pending = ["0x1000000000000000000000000000000000000001", "0x2000000000000000000000000000000000000002"];
    const { metrics } = setup({ backfilling: () => pending });
    expect(lineOf(await metrics.registry.metrics(), "clearline_compliance_backfills ")).toBe("clearline_compliance_backfills 2");
    pending.pop();
    expect(lineOf(await metrics.registry.metrics(), "clearline_compliance_backfills ")).toBe("clearline_compliance_backfills 1");
  });

  it("a flood of scrapes within cacheMs costs the chain one round of reads", async () => {
    const { metrics, calls, advance } = setup();
    await Promise.all(Array.from({ length: 50 }, () => metrics.registry.metrics()));
    expect(calls.head).toBe(1);
    advance(999);
    await metrics.registry.metrics();
    expect(calls.head).toBe(1);
    advance(1);
    await metrics.registry.metrics();
    expect(calls.head).toBe(2);
  });

  it("a chain that does not answer: the wallet and lag figures are absent, the channel figures and the scrape are served", async () => {
    const { metrics } = setup({
      chainHead: () => Promise.reject(new Error("connection refused")),
    });
    const text = await metrics.registry.metrics();
    expect(lineOf(text, "clearline_venue_wallet_balance{")).toBeUndefined();
    expect(lineOf(text, "clearline_venue_wallet_eth{")).toBeUndefined();
    expect(lineOf(text, "clearline_watcher_lag_blocks{")).toBeUndefined();
    expect(lineOf(text, "clearline_pending_locks ")).toBe("clearline_pending_locks 1");
  });

  it("the dispute deadline is absent while the chain's time is unknown (a stale view), and without disputes", async () => {
    const stale = setup({
      now: () => {
        throw new Error("stale");
      },
    });
    expect(lineOf(await stale.metrics.registry.metrics(), "clearline_dispute_deadline_seconds{")).toBeUndefined();
    const calm = setup({ channels: () => channels.filter((x) => x.record.status !== "disputed") });
    const text = await calm.metrics.registry.metrics();
    expect(lineOf(text, "clearline_dispute_deadline_seconds{")).toBeUndefined();
    expect(lineOf(text, "clearline_disputes ")).toBe("clearline_disputes 0");
  });
});
