// `clearline order place|cancel` and `clearline receipts verify` (docs/cli.md, "Trading"): orders at
// the venue's book of the deployment's security against its cash token, signed under the venue's
// "Clearline Orders" domain (its OrderLogAnchor). Every receipt the SDK returns is already checked
// against an inclusion proof; the CLI also keeps it in the investor's data dir (receipts.ts).
import { readFileSync } from "node:fs";
import { encodeBytes32String, getAddress, isAddress } from "ethers";
import type { Address, Bytes32 } from "../protocol/index.js";
import { ordersDomainOf, type Side } from "../protocol/trading/index.js";
import type { DepthLevel, FillView, TradingClient } from "../sdk/trading.js";
import { auditLog } from "./audit.js";
import { CliError, EXIT } from "./errors.js";
import type { Output } from "./output.js";
import { findOrderReceipt, loadReceipt, saveReceipt, verifyStoredReceipt } from "./receipts.js";
import type { Session } from "./session.js";
import type { DeploymentFile } from "./settings.js";

/** How a fill's settlement state reads (docs/trading.md, "Settlement"). */
const FILL_STATES = { matched: "matched, not yet settled in the channels", settled: "settled in both channels", failed: "settlement failed: nothing moved" } as const;

export interface TradingOptions {
  /** The venue's OrderLogAnchor; default: contracts.orderLogAnchor of the deployment file. */
  readonly anchor?: string;
}

export interface PlaceOptions extends TradingOptions {
  readonly side: string;
  readonly quantity: string;
  readonly price: string;
  /** Security units per lot, as a decimal of the security token (default 1). */
  readonly lot?: string;
  /** Seconds from now after which the order no longer trades. */
  readonly expiry?: string;
  readonly clientId?: string;
  readonly ioc?: boolean;
}

/** Checks the options that need no chain or node (USAGE before anything is opened). */
export function checkPlaceOptions(options: PlaceOptions): void {
  sideOf(options.side);
  if (options.expiry !== undefined) expiryOf(options.expiry, options.ioc === true);
  if (options.clientId !== undefined) clientIdOf(options.clientId);
}

function sideOf(text: string): Side {
  if (text !== "buy" && text !== "sell") throw new CliError("USAGE", `--side must be buy or sell, not "${text}"`);
  return text;
}

function expiryOf(text: string, ioc: boolean): bigint {
  if (ioc) throw new CliError("USAGE", "--expiry is for resting orders: an --ioc order never rests");
  if (!/^\d{1,10}$/.test(text) || BigInt(text) === 0n) throw new CliError("USAGE", `--expiry must be a whole number of seconds ≥ 1, not "${text}"`);
  return BigInt(Math.floor(Date.now() / 1000)) + BigInt(text);
}

/** 0x and 64 hex digits, or a text of at most 31 bytes (stored as a bytes32 string). */
function clientIdOf(text: string): Bytes32 {
  if (/^0x[0-9a-fA-F]{64}$/.test(text)) return text.toLowerCase() as Bytes32;
  try {
    return encodeBytes32String(text) as Bytes32;
  } catch {
    throw new CliError("USAGE", `--client-id must be a text of at most 31 bytes or 0x and 64 hex digits, not "${text}"`);
  }
}

/** The venue's OrderLogAnchor: --anchor, or contracts.orderLogAnchor of the deployment file. */
export function anchorOf(options: TradingOptions, deployment: DeploymentFile | undefined): Address {
  const given = options.anchor ?? anchorInDeployment(deployment);
  if (given === undefined) throw new CliError("MISSING_SETTING", "the venue's order log anchor is not set: pass --anchor <address> or a deployment file with contracts.orderLogAnchor");
  if (!isAddress(given)) throw new CliError("USAGE", `--anchor must be an address, not "${given}"`);
  return getAddress(given);
}

function anchorInDeployment(deployment: DeploymentFile | undefined): string | undefined {
  if (deployment === undefined) return undefined;
  try {
    const value = (JSON.parse(readFileSync(deployment.path, "utf8")) as { contracts?: { orderLogAnchor?: unknown } }).contracts?.orderLogAnchor;
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

function market(s: Session): { security: Address; cash: Address } {
  const security = s.deployment?.security;
  const cash = s.deployment?.cash;
  if (security === undefined || cash === undefined) throw new CliError("MISSING_SETTING", "trading needs a deployment file naming the security (contracts.token) and cash (contracts.cash) tokens");
  return { security, cash };
}

export async function orderPlaceCommand(s: Session, output: Output, options: PlaceOptions): Promise<void> {
  checkPlaceOptions(options);
  const anchor = anchorOf(options, s.deployment);
  const { security, cash } = market(s);
  const side = sideOf(options.side);
  const lotSize = await s.tokens.parse(security, options.lot ?? "1");
  const quantity = await s.tokens.parse(security, options.quantity);
  if (quantity % lotSize !== 0n) {
    throw new CliError("INVALID_AMOUNT", `--quantity ${options.quantity} is not a whole number of lots of ${await s.tokens.format(security, lotSize)}`);
  }
  const price = await s.tokens.parse(cash, options.price);
  const ioc = options.ioc === true;
  const trading = s.client.trading(anchor);
  const placed = await trading.placeOrder({
    security,
    cash,
    side,
    quantity,
    price,
    lotSize,
    timeInForce: ioc ? "IOC" : "GTC",
    ...(options.expiry === undefined ? {} : { expiresAt: expiryOf(options.expiry, ioc) }),
    ...(options.clientId === undefined ? {} : { clientOrderId: clientIdOf(options.clientId) }),
  });
  const file = saveReceipt(s.storeDir, { chainId: trading.domain.chainId, anchor, receipt: placed.receipt, signed: placed.signed });
  const { receipt } = placed.receipt;
  const order = placed.signed.order;
  const fills = await Promise.all(placed.fills.map((fill) => fillJson(s, security, cash, fill)));
  const lines = [
    `order ${placed.orderHash}`,
    `  ${side} ${await s.tokens.format(security, quantity)} at ${await s.tokens.format(cash, price)} per ${await s.tokens.format(security, lotSize)} (${order.timeInForce}${order.expiresAt === 0n ? "" : `, expires ${new Date(Number(order.expiresAt) * 1000).toISOString()}`})`,
    `  receipt #${receipt.sequence} in the venue's log of ${receipt.logSize} entries: signed by the venue, inclusion proof checked; saved to ${file}`,
    ...(await Promise.all(placed.fills.map(async (fill) => `  filled ${await s.tokens.format(security, BigInt(fill.quantity))} at ${await s.tokens.format(cash, BigInt(fill.price))} per lot (fill #${fill.sequence}, ${FILL_STATES[fill.state]})`))),
    placed.resting === 0n
      ? "  nothing rests on the book"
      : `  resting ${await s.tokens.format(security, placed.resting)} on the book ${s.inDaemon ? "while the daemon stays connected" : "until this command disconnects"}: the venue cancels a disconnected investor's resting orders (cancel on disconnect, its default)`,
  ];
  output.result(lines, {
    orderHash: placed.orderHash,
    side,
    timeInForce: order.timeInForce,
    expiresAt: order.expiresAt,
    clientOrderId: order.clientOrderId,
    nonce: order.nonce,
    quantity: await s.tokens.json(security, { quantity }),
    price: await s.tokens.json(cash, { price }),
    lotSize: await s.tokens.json(security, { lotSize }),
    receipt: { ...receipt, signature: placed.receipt.signature, file },
    fills,
    resting: await s.tokens.json(security, { resting: placed.resting }),
    cancelledOnDisconnect: placed.resting > 0n,
  });
}

async function fillJson(s: Session, security: Address, cash: Address, fill: FillView): Promise<Record<string, unknown>> {
  return {
    sequence: fill.sequence,
    makerSequence: fill.makerSequence,
    takerSequence: fill.takerSequence,
    state: fill.state,
    quantity: await s.tokens.json(security, { quantity: BigInt(fill.quantity) }),
    price: await s.tokens.json(cash, { price: BigInt(fill.price) }),
  };
}

const wholeIn = (name: string, text: string | undefined, max: number): number | undefined => {
  if (text === undefined) return undefined;
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1 || Number(text) > max) throw new CliError("USAGE", `${name} must be a whole number from 1 to ${max}, not "${text}"`);
  return Number(text);
};

export async function bookCommand(s: Session, output: Output, options: TradingOptions & { levels?: string }): Promise<void> {
  const levels = wholeIn("--levels", options.levels, 100);
  const anchor = anchorOf(options, s.deployment);
  const { security, cash } = market(s);
  const depth = await s.client.trading(anchor).bookDepth(security, cash, levels);
  const lot = await s.tokens.format(security, depth.lotSize);
  const line = async (level: DepthLevel) => `  ${await s.tokens.format(cash, level.price)} per ${lot}: ${await s.tokens.format(security, level.quantity)} (${level.orders} order${level.orders === 1 ? "" : "s"})`;
  const json = async (level: DepthLevel) => ({ ...(await s.tokens.json(cash, { price: level.price })), quantity: await s.tokens.json(security, { quantity: level.quantity }), orders: level.orders });
  output.result(
    [
      "asks (sell orders), best first:",
      ...(depth.asks.length === 0 ? ["  none"] : await Promise.all(depth.asks.map(line))),
      "bids (buy orders), best first:",
      ...(depth.bids.length === 0 ? ["  none"] : await Promise.all(depth.bids.map(line))),
    ],
    { lotSize: await s.tokens.json(security, { lotSize: depth.lotSize }), time: depth.time, asks: await Promise.all(depth.asks.map(json)), bids: await Promise.all(depth.bids.map(json)) },
  );
}

export async function orderListCommand(s: Session, output: Output, options: TradingOptions): Promise<void> {
  const { security, cash } = market(s);
  // The answer carries fills too: ask for as few as the node gives.
  const { orders } = await s.client.trading(anchorOf(options, s.deployment)).myTrading(1);
  const lines = await Promise.all(
    orders.map(async (o) => `${o.orderHash}  #${o.sequence} ${o.side} ${await s.tokens.format(security, BigInt(o.remaining))} of ${await s.tokens.format(security, BigInt(o.quantity))} at ${await s.tokens.format(cash, BigInt(o.price))} per lot`),
  );
  const json = await Promise.all(
    orders.map(async (o) => ({ ...o, price: await s.tokens.json(cash, { price: BigInt(o.price) }), amounts: await s.tokens.json(security, { quantity: BigInt(o.quantity), remaining: BigInt(o.remaining) }) })),
  );
  output.result(lines.length === 0 ? ["no resting orders (the venue cancels them when their session disconnects)"] : lines, { orders: json });
}

export async function fillsCommand(s: Session, output: Output, options: TradingOptions & { limit?: string }): Promise<void> {
  const limit = wholeIn("--limit", options.limit, 1_000);
  const { security, cash } = market(s);
  const { fills } = await s.client.trading(anchorOf(options, s.deployment)).myTrading(limit);
  const lines = await Promise.all(
    fills.map(async (f) => `fill #${f.sequence}: ${f.side === "buy" ? "bought" : "sold"} ${await s.tokens.format(security, BigInt(f.quantity))} at ${await s.tokens.format(cash, BigInt(f.price))} per lot as ${f.role} (${FILL_STATES[f.state]})`),
  );
  const json = await Promise.all(fills.map(async (f) => ({ ...f, quantity: await s.tokens.json(security, { quantity: BigInt(f.quantity) }), price: await s.tokens.json(cash, { price: BigInt(f.price) }) })));
  output.result(lines.length === 0 ? ["no fills"] : lines, { fills: json });
}

export async function orderCancelCommand(s: Session, output: Output, orderSpec: string, options: TradingOptions): Promise<void> {
  if (!/^0x[0-9a-fA-F]{64}$/.test(orderSpec)) throw new CliError("USAGE", `"${orderSpec}" is not an order hash (0x and 64 hex digits)`);
  const orderHash = orderSpec.toLowerCase() as Bytes32;
  const anchor = anchorOf(options, s.deployment);
  const trading: TradingClient = s.client.trading(anchor);
  // With the order's own receipt the cancel entry is known in full, so its receipt is proven too.
  const target = findOrderReceipt(s.storeDir, orderHash)?.receipt.receipt.sequence;
  const receipt = await trading.cancel(orderHash, target);
  const cancelEntry = receipt.receipt;
  output.result(
    [
      `cancelled order ${orderHash}`,
      `  receipt #${cancelEntry.sequence} in the venue's log of ${cancelEntry.logSize} entries: signed by the venue${target === undefined ? " (no receipt of the order here: inclusion not checked)" : ", inclusion proof checked"}`,
    ],
    { orderHash, receipt: { ...cancelEntry, signature: receipt.signature }, target, inclusionChecked: target !== undefined },
  );
}

export async function receiptsVerifyCommand(s: Session, output: Output, spec: string, options: TradingOptions): Promise<void> {
  const { file, stored } = loadReceipt(s.storeDir, spec);
  // The venue the receipt is checked against: --anchor or the deployment's, else the receipt's own.
  const anchor = options.anchor === undefined && anchorInDeployment(s.deployment) === undefined ? stored.anchor : anchorOf(options, s.deployment);
  const checked = await verifyStoredReceipt(stored, s.client.trading(anchor), ordersDomainOf(s.chain.deployment.chainId, anchor));
  const now = checked.checkpoint.checkpoint;
  output.result(
    [
      `receipt #${checked.sequence} (order ${checked.orderHash}) checks out`,
      `  signed by the venue; in its log of ${checked.receiptLog.size} entries (inclusion proof)`,
      `  that log is a prefix of the venue's log now: ${now.size} entries, root ${now.root} (consistency proof)`,
    ],
    {
      file,
      sequence: checked.sequence,
      orderHash: checked.orderHash,
      receiptLog: checked.receiptLog,
      checkpoint: { ...now, signature: checked.checkpoint.signature },
      verified: true,
    },
  );
}

/** Exit code 1 when the log holds a violation. */
export async function receiptsAuditCommand(s: Session, output: Output, options: TradingOptions & { maxEntries?: string; matching?: string }): Promise<number> {
  const maxEntries = wholeIn("--max-entries", options.maxEntries, 10_000_000) ?? 100_000;
  const { matching } = options;
  if (matching !== undefined && matching !== "builtIn" && matching !== "external") throw new CliError("USAGE", `--matching must be builtIn or external, not "${matching}"`);
  const { security, cash } = market(s);
  const trading = s.client.trading(anchorOf(options, s.deployment));
  const { lotSize } = await trading.bookDepth(security, cash, 1);
  const audit = await auditLog(trading, { security, cash, lotSize }, maxEntries, matching);
  const kinds = audit.violations.map((v) => `  ${v.kind} at entry ${v.sequence}: taker #${v.takerSequence}${v.makerSequence === null ? "" : `, maker #${v.makerSequence}`}${v.overtakenSequence === null ? "" : `, should have traded first: #${v.overtakenSequence}`}`);
  output.result(
    [
      `the venue's log of ${audit.size} entries matches its signed checkpoint (root ${audit.root}); ${audit.entries} are of this book`,
      `audited as matched ${audit.matching === "external" ? "by an external engine" : "by the built-in book"}, as the venue signed in its checkpoint (${audit.matching})`,
      audit.violations.length === 0 ? "no price–time priority violation" : `${audit.violations.length} price–time priority violation${audit.violations.length === 1 ? "" : "s"}:`,
      ...kinds,
    ],
    { size: audit.size, root: audit.root, matching: audit.matching, entries: audit.entries, violations: audit.violations },
  );
  return audit.violations.length > 0 ? EXIT.FAILED : EXIT.OK;
}
