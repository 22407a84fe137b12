// Reads have their own budget (channel-node/src/trading/handler.ts): the real desk on its LevelDB
// log behind the real handler, the SDK's TradingClient sending through it. Proofs, entries,
// checkpoints, book depth and the investor's own trading take tokens from the investor's read
// bucket, never from its order bucket, are answered while an order is still being written, and are
// bounded: beyond the burst READ_RATE_LIMITED, counted.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nobleVerifier } from "../../client/protocol/index.js";
import { parseClientMessage, type NodeMessage, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { signOrder } from "../../client/protocol/trading/order.js";
import { signedOrderToJson } from "../../client/protocol/trading/order-json.js";
import { TradingClient } from "../../client/sdk/trading.js";
import { createMetrics, type NodeMetrics } from "../../channel-node/src/metrics.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { tradingConfigSchema } from "../../channel-node/src/trading/config.js";
import { withTrading } from "../../channel-node/src/trading/handler.js";
import { LevelOrderLog, type OrderLogStore } from "../../channel-node/src/trading/log-store.js";
import type { Session, SessionHandler } from "../../channel-node/src/transport.js";
import { DOMAIN, MARKET, alice, order, venue } from "./fixtures.js";
import { deskOptions } from "./desk-options.js";

const ORDER_BURST = 3;
const READ_BURST = 20;

describe("log reads on their own budget (real desk, real handler, real LevelDB log)", () => {
  let dir: string;
  let log: LevelOrderLog;
  let desk: TradingDesk;
  let metrics: NodeMetrics;
  let handler: SessionHandler;
  /** Holds the desk's appends while set: an order in the middle of being written. */
  let gate: Promise<void> | undefined;
  let n = 0;
  /** The handler's clock: the read bucket refills one token a second. */
  let clockMs = 0;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-read-budget-"));
    log = await LevelOrderLog.open(join(dir, "orders"));
    metrics = createMetrics();
    const gated: OrderLogStore = {
      entries: () => log.entries(),
      segment: (from, count) => log.segment(from, count),
      append: async (entries) => {
        await gate;
        return log.append(entries);
      },
      get tree() {
        return log.tree;
      },
      close: () => log.close(),
    };
    desk = await TradingDesk.open(
      deskOptions(gated, {
        // No refill at clock 0: each bucket holds its burst.
        bounds: { maxRestingOrdersPerInvestor: 100, orderRate: { perSecond: 1, burst: ORDER_BURST }, maxOrdersPerBook: 1_000 },
        metrics,
      }),
    );
    const engine: SessionHandler = {
      onAuthenticated: () => undefined,
      onClosed: () => undefined,
      onMessage: () => Promise.reject(new Error("no channel messages in this test")),
    };
    clockMs = 0;
    handler = withTrading(engine, desk, { log, rate: { perSecond: 1, burst: READ_BURST }, metrics, clock: () => clockMs });
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(message: object): Promise<NodeMessageParsed> {
    const sent: NodeMessage[] = [];
    const session: Session = { id: 1, address: alice.address, send: (m) => void sent.push(m), close: () => undefined };
    await handler.onMessage(session, parseClientMessage(JSON.stringify(message)));
    return JSON.parse(JSON.stringify(sent[0])) as NodeMessageParsed;
  }

  /** The SDK's TradingClient through the handler; no retries of refused reads unless `readRetry`. */
  const trading = (readRetry = { attempts: 0, firstDelayMs: 0 }): TradingClient =>
    new TradingClient({ signer: alice, verifier: nobleVerifier, venue: () => venue.address, newId: () => `r${++n}`, approveFills: () => undefined, request: send }, DOMAIN, readRetry);

  /** An order sent as it is (no receipt check, so no read); nonces above the TradingClient's (clock-based). */
  const rawOrder = (nonce: bigint) => ({ v: 1, type: "order", id: `o${nonce}`, signed: signedOrderToJson(signOrder(order({ nonce: 10n ** 18n + nonce, side: "sell" }), DOMAIN, alice)) });
  const refusals = async (reason: string): Promise<number> => (await metrics.boundRefusals.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

  it("a burst of proof requests uses the read budget only: orders still get their whole budget, and reads beyond the burst are refused", async () => {
    const client = trading();
    await client.placeOrder({ ...MARKET, side: "sell", quantity: 1_000n, price: 100n, timeInForce: "GTC" }); // one order, one read (its inclusion proof)
    const { checkpoint } = await client.checkpoint(); // a second read
    for (let i = 0; i < READ_BURST - 2; i += 1) await client.inclusionProof(0n, checkpoint.size);
    await expect(client.inclusionProof(0n, checkpoint.size)).rejects.toMatchObject({ code: "REJECTED", rejection: { code: "READ_RATE_LIMITED" } });
    await expect(client.logEntries(0n)).rejects.toMatchObject({ rejection: { code: "READ_RATE_LIMITED" } });
    expect(await refusals("READ_RATE_LIMITED")).toBe(2);
    // The order budget (3) is untouched by the reads: two more orders, then the order bound.
    expect((await send(rawOrder(10n))).type).toBe("order_accepted");
    expect((await send(rawOrder(11n))).type).toBe("order_accepted");
    expect(await send(rawOrder(12n))).toMatchObject({ type: "order_refused", code: "ORDER_RATE_LIMITED" });
  });

  it("book depth and the investor's own trading use the read budget too: a burst of them leaves the orders' budget whole, and is bounded", async () => {
    const client = trading();
    for (let i = 0; i < READ_BURST; i += 1) {
      if (i % 2 === 0) expect((await client.bookDepth(MARKET.security, MARKET.cash)).lotSize).toBe(MARKET.lotSize);
      else expect((await client.myTrading()).orders).toEqual([]);
    }
    await expect(client.bookDepth(MARKET.security, MARKET.cash)).rejects.toMatchObject({ rejection: { code: "READ_RATE_LIMITED" } });
    await expect(client.myTrading()).rejects.toMatchObject({ rejection: { code: "READ_RATE_LIMITED" } });
    expect(await refusals("READ_RATE_LIMITED")).toBe(2);
    // A wrong pair is still WRONG_MARKET (a read refused by the desk, after its token).
    clockMs += 1_000;
    await expect(client.bookDepth(MARKET.cash, MARKET.security)).rejects.toMatchObject({ rejection: { code: "WRONG_MARKET" } });
    // Every order token is left: three orders, then the order bound.
    for (const nonce of [30n, 31n, 32n]) expect((await send(rawOrder(nonce))).type).toBe("order_accepted");
    expect(await send(rawOrder(33n))).toMatchObject({ type: "order_refused", code: "ORDER_RATE_LIMITED" });
    expect(await refusals("ORDER_RATE_LIMITED")).toBe(1);
    // What the reads show follows the orders: three resting sells of alice's.
    clockMs += 2_000;
    expect((await client.myTrading()).orders).toHaveLength(3);
    expect((await client.bookDepth(MARKET.security, MARKET.cash)).asks).toEqual([{ price: 1_250_000n, quantity: 15_000n, orders: 3 }]);
  });

  it("the SDK asks a refused read again once the budget has refilled (a fill's check survives a burst)", async () => {
    const client = trading({ attempts: 2, firstDelayMs: 20 });
    await client.placeOrder({ ...MARKET, side: "sell", quantity: 1_000n, price: 100n, timeInForce: "GTC" });
    for (let i = 0; i < READ_BURST - 1; i += 1) await client.inclusionProof(0n, 1n);
    setTimeout(() => (clockMs += 1_000), 5); // one token back before the retry
    const { checkpoint } = await client.checkpoint();
    expect(checkpoint.size).toBe(1n);
    expect(await refusals("READ_RATE_LIMITED")).toBe(1);
    // With the clock standing still the retries run out: REJECTED.
    await expect(client.checkpoint()).rejects.toMatchObject({ rejection: { code: "READ_RATE_LIMITED" } });
    expect(await refusals("READ_RATE_LIMITED")).toBe(4);
  });

  it("answers proofs and checkpoints of the log while an order is being written (reads do not queue behind orders)", async () => {
    const client = trading();
    await client.placeOrder({ ...MARKET, side: "sell", quantity: 1_000n, price: 100n, timeInForce: "GTC" });
    let release!: () => void;
    gate = new Promise((resolve) => (release = resolve));
    const writing = send(rawOrder(20n));
    const { checkpoint } = await client.checkpoint();
    expect(checkpoint.size).toBe(1n);
    expect(await client.provenEntry(0n, checkpoint)).toMatchObject({ kind: "order", sequence: 0n });
    release();
    expect((await writing).type).toBe("order_accepted");
    expect((await client.checkpoint()).checkpoint.size).toBe(2n);
  });

  it("the node's trading.readRate: optional (the default then), a positive rate and a burst of at least 1", () => {
    const base = { orderLogAnchor: "0x7000000000000000000000000000000000000007", markets: [{ security: MARKET.security, cash: MARKET.cash, lotSize: "1000" }] };
    expect(tradingConfigSchema.parse(base).readRate).toBeUndefined();
    expect(tradingConfigSchema.parse({ ...base, readRate: { perSecond: 5, burst: 10 } }).readRate).toEqual({ perSecond: 5, burst: 10 });
    for (const readRate of [{ perSecond: 0, burst: 10 }, { perSecond: 5, burst: 0 }, { perSecond: 5 }, { perSecond: 5, burst: 10, extra: 1 }]) {
      expect(tradingConfigSchema.safeParse({ ...base, readRate }).success).toBe(false);
    }
  });
});
