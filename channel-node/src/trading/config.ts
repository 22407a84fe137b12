// The node's trading settings (docs/trading.md, "At the node"): the venue's OrderLogAnchor (the
// orders' EIP-712 domain), its markets, what one investor may consume, and who matches: the
// built-in book or an external engine over its own connection (external/). Absent: no trading.
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import type { Market } from "../../../client/protocol/trading/order.js";
import type { Address } from "../../../client/protocol/types.js";
import { DEFAULT_DESK_BOUNDS, type DeskBounds } from "./desk.js";
import type { EngineServerSettings } from "./external/engine-server.js";
import { DEFAULT_SETTLEMENT_BOUNDS, type SettlementBounds, type SettlementChannels } from "./settlement.js";

const address = z.string().refine(isAddress, "not an address").transform((a) => getAddress(a) as Address);
// Kept a string in the parsed config (which is written back as JSON); marketsOf makes it a bigint.
const positive = z.string().regex(/^[1-9][0-9]{0,37}$/, "a positive decimal integer (uint128)");

/** The external matching engine's endpoint and bounds (external/engine-server.ts). */
const engineSchema = z.strictObject({
  host: z.string().min(1).default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65_535).default(7_546),
  /** Largest message the engine may send (the connection is closed beyond it). */
  maxMessageBytes: z.coerce.number().int().min(256).max(1_048_576).default(16_384),
  /** Fill submissions: sustained per second and burst (FILL_RATE_LIMITED). */
  fillRate: z.strictObject({ perSecond: z.number().positive().default(200), burst: z.number().min(1).default(400) }).prefault({}),
  /** A connection that answers no ping within this time is closed. */
  heartbeatMs: z.coerce.number().int().min(100).default(15_000),
  /** The feed pauses while this much is unsent to the engine. */
  maxBufferedBytes: z.coerce.number().int().min(65_536).default(4_194_304),
});

export const tradingConfigSchema = z.strictObject({
  /** The venue's OrderLogAnchor: verifying contract of its orders, receipts and checkpoints, and where roots are anchored. */
  orderLogAnchor: address,
  /** One book per pair; `lotSize` in raw units of the security (prices are cash raw units per lot). */
  markets: z.array(z.strictObject({ security: address, cash: address, lotSize: positive })).min(1).max(64),
  maxRestingOrdersPerInvestor: z.coerce.number().int().min(1).default(DEFAULT_DESK_BOUNDS.maxRestingOrdersPerInvestor),
  orderRate: z
    .strictObject({ perSecond: z.number().positive().default(DEFAULT_DESK_BOUNDS.orderRate.perSecond), burst: z.number().min(1).default(DEFAULT_DESK_BOUNDS.orderRate.burst) })
    .default(DEFAULT_DESK_BOUNDS.orderRate),
  maxOrdersPerBook: z.coerce.number().int().min(1).default(DEFAULT_DESK_BOUNDS.maxOrdersPerBook),
  /** Reads (proofs, entries, checkpoints, book depth, own trading) per investor, a budget apart from orders (handler.ts); absent: DEFAULT_READ_RATE. */
  readRate: z.strictObject({ perSecond: z.number().positive(), burst: z.number().min(1) }).optional(),
  /** Whether an investor's resting orders are cancelled (a venue cancel entry each) when its session closes. */
  cancelOnDisconnect: z.boolean().default(true),
  /** How often the log's root is anchored on chain when it grew; 0: never. */
  anchorIntervalMs: z.coerce.number().int().min(0).default(60_000),
  /** Settlement of fills in the investors' channels (settlement.ts); always on, each key defaulted. */
  settlement: z
    .strictObject({
      /** The four locks of a fill expire this long after the secret is drawn (chain seconds; at most 30 days). */
      lockSeconds: z.coerce.number().int().min(60).max(30 * 86_400).default(Number(DEFAULT_SETTLEMENT_BOUNDS.lockSeconds)),
      /** How long the venue waits for both lock pairs to be agreed before it gives up. */
      timeoutMs: z.coerce.number().int().min(100).default(DEFAULT_SETTLEMENT_BOUNDS.timeoutMs),
      /** How often open settlements are driven. */
      intervalMs: z.coerce.number().int().min(10).default(DEFAULT_SETTLEMENT_BOUNDS.intervalMs),
    })
    .prefault({}),
  /** Who matches, for every market of the node: the built-in price–time book (absent), or an external engine (`engine`). */
  matching: z.enum(["builtIn", "external"]).optional(),
  /** The external engine's endpoint, each key defaulted (used with `matching: "external"`); its credential is `<dataDir>/engine-token`. */
  engine: engineSchema.optional(),
});

export type TradingConfig = z.output<typeof tradingConfigSchema>;

export function marketsOf(config: TradingConfig): Market[] {
  return config.markets.map(({ security, cash, lotSize }) => ({ security, cash, lotSize: BigInt(lotSize) }));
}

export function deskBoundsOf(config: TradingConfig): DeskBounds {
  return { maxRestingOrdersPerInvestor: config.maxRestingOrdersPerInvestor, orderRate: config.orderRate, maxOrdersPerBook: config.maxOrdersPerBook };
}

/** Where and how fills are settled (the desk opens the store). */
export function settlementOf(config: TradingConfig, path: string, channels: SettlementChannels): { path: string; channels: SettlementChannels; bounds: SettlementBounds } {
  const settlement = config.settlement;
  return { path, channels, bounds: { lockSeconds: BigInt(settlement.lockSeconds), timeoutMs: settlement.timeoutMs, intervalMs: settlement.intervalMs } };
}

/** The external engine's endpoint and bounds (only with `matching: "external"`). */
export function engineSettingsOf(config: TradingConfig): EngineServerSettings | undefined {
  return config.matching === "external" ? (config.engine ?? engineSchema.parse({})) : undefined;
}
