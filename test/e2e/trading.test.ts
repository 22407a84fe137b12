// Trading at the node with real processes: a Hardhat chain, the venue's node as a child process and
// two investors' SDK clients over WebSockets. Orders are checked (funds, reservations, nonces,
// bounds, compliance with the ERC-1404 rule), logged, matched with price–time priority and answered
// with receipts the SDK verifies against inclusion proofs; the node is killed and restarted and the
// books, fills and log are the same.
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isClientError, type ClientEvent, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { RESTRICTION_CODES } from "../../client/protocol/restriction-codes.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { adminGet, eventually, type NodeProcess } from "../helpers/node-process.js";
import { startVenue, type Venue } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;

async function refusal(promise: Promise<unknown>): Promise<{ code: string; restriction?: { code: number; rule: string } }> {
  try {
    await promise;
  } catch (error) {
    if (isClientError(error, "REJECTED") && error.rejection !== undefined) return error.rejection;
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("trading at the node (real node process, two SDK clients)", () => {
  let venue: Venue;
  let anchor: string;

  beforeEach(async () => {
    venue = await startVenue({ responseTimeoutMs: 10_000 });
    anchor = venue.stack.addresses.orderLogAnchor;
  });

  afterEach(async () => {
    await venue?.stop();
  });

  function startNode(port = 0, orderRate = { perSecond: 1_000, burst: 1_000 }, cancelOnDisconnect = true, anchorIntervalMs = 0, readRate = { perSecond: 1_000, burst: 1_000 }): Promise<NodeProcess> {
    return venue.startNode({
      port,
      trading: { maxRestingOrdersPerInvestor: 3, orderRate, readRate, cancelOnDisconnect, anchorIntervalMs, settlement: { lockSeconds: 3_600, timeoutMs: 20_000, intervalMs: 200 } },
    });
  }

  async function investor(nodeUrl: string, role: number, events: ClientEvent[] = []): Promise<{ opened: OpenedClient; trading: TradingClient }> {
    const opened = await venue.connect(role, { nodeUrl, onEvent: (event) => events.push(event) });
    return { opened, trading: opened.client.trading(anchor) };
  }

  /** Both investors' channels open and funded as the node sees them. */
  async function funded(node: NodeProcess): Promise<void> {
    await eventually(
      () => adminGet<{ status: string; balances: { investor: string }[] }[]>(node, "/channels"),
      (channels) => channels.length === 2 && channels.every((c) => c.status === "open" && c.balances.some((b) => BigInt(b.investor) > 0n)),
      20_000,
    );
  }

  const market = () => ({ security: venue.stack.addresses.token, cash: venue.stack.addresses.cash, lotSize: LOT });

  it("checks, logs, matches and receipts orders; a killed and restarted node replays the same books and fills", async () => {
    const first = await startNode();
    const aliceEvents: ClientEvent[] = [];
    const alice = await investor(first.url, ROLES.alice, aliceEvents);
    const bob = await investor(first.url, ROLES.bob);
    const assets = [venue.stack.addresses.token, venue.stack.addresses.cash];
    const aliceChannel = await alice.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT } });
    const bobChannel = await bob.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: price(1_000n) } });
    await funded(first);

    // A resting sell, then a buy that crosses it: one fill at the maker's price.
    const sell = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 5n * LOT, price: price(101n), timeInForce: "GTC" });
    expect(sell.receipt.receipt.sequence).toBe(0n);
    expect(sell.resting).toBe(5n * LOT);
    const buy = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 3n * LOT, price: price(102n), timeInForce: "GTC" });
    expect(buy.receipt.receipt.sequence).toBe(1n);
    expect(buy.receipt.receipt.logSize).toBe(3n);
    expect(buy.fills).toEqual([{ sequence: "2", makerSequence: "0", takerSequence: "1", quantity: (3n * LOT).toString(), price: price(101n).toString(), state: "matched" }]);
    expect(buy.resting).toBe(0n);
    await eventually(async () => aliceEvents.filter((e) => e.type === "orderFilled").length, (n) => n === 1, 10_000);

    // The venue holds nothing in either channel, so it cannot deliver its legs: the fill fails
    // (VENUE_FUNDS), nothing moves, and its reservations are released; the log keeps the fill.
    await eventually(async () => (await bob.trading.myTrading()).fills.map((f) => f.state), (states) => states.length === 1 && states[0] === "failed", 10_000);
    expect((await alice.trading.myTrading()).fills.map((f) => f.state)).toEqual(["failed"]);
    expect(await (await fetch(`${first.httpUrl}/metrics`)).text()).toMatch(/clearline_fill_settlements_total\{outcome="failed"\} 1\n/);
    // Reservations: Alice's 10 tokens hold her 2 resting (the 3 of the failed fill are free again).
    expect((await refusal(alice.trading.placeOrder({ ...market(), side: "sell", quantity: 9n * LOT, price: price(200n), timeInForce: "GTC" }))).code).toBe("INSUFFICIENT_FUNDS");
    expect((await refusal(bob.trading.placeOrder({ ...market(), side: "buy", quantity: 10n * LOT, price: price(101n), timeInForce: "GTC" }))).code).toBe("INSUFFICIENT_FUNDS");
    // The investors' own updates respect the reservations: Alice may pay 6 of her 10 tokens (5 were
    // free while the fill was reserved) but then not 3 of the 4 left; Bob may pay 100 of his 1000 cash.
    await alice.opened.client.pay(aliceChannel, { assetIndex: SECURITY, amount: 6n * SECURITY_UNIT });
    expect((await refusal(alice.opened.client.pay(aliceChannel, { assetIndex: SECURITY, amount: 3n * SECURITY_UNIT }))).code).toBe("FUNDS_RESERVED");
    await bob.opened.client.pay(bobChannel, { assetIndex: CASH, amount: price(100n) });
    // The same signed order again: its nonce is spent.
    expect((await refusal(bob.trading.placeOrder({ ...buy.signed.order }))).code).toBe("STALE_NONCE");
    // Not the market's lot size (the core's code), and no market for the pair.
    expect((await refusal(bob.trading.placeOrder({ ...market(), lotSize: LOT / 2n, side: "buy", quantity: LOT, price: price(1n), timeInForce: "GTC" }))).code).toBe("WRONG_MARKET");

    // Bound on resting orders per investor (3 here), then a cancel frees a place.
    const resting = [];
    for (let i = 0; i < 2; i++) resting.push(await bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(90n - BigInt(i)), timeInForce: "GTC" }));
    const third = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(80n), timeInForce: "GTC" });
    expect((await refusal(bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(70n), timeInForce: "GTC" }))).code).toBe("TOO_MANY_ORDERS");
    const cancelled = await bob.trading.cancel(third.orderHash, third.receipt.receipt.sequence);
    expect(cancelled.receipt.sequence).toBe(third.receipt.receipt.sequence + 1n);
    expect((await refusal(bob.trading.cancel(third.orderHash))).code).toBe("NOT_RESTING");
    expect((await refusal(alice.trading.cancel(resting[0]!.orderHash))).code).toBe("UNKNOWN_ORDER");
    const metrics = await (await fetch(`${first.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/clearline_bound_refusals_total\{reason="TOO_MANY_ORDERS"\} 1\n/);
    expect(metrics).toMatch(/clearline_order_log_entries 7\n/);
    expect(metrics).toMatch(/clearline_resting_orders 3\n/);

    // The log grew only by accepted entries; a checkpoint extends every receipt's log.
    const before = await alice.trading.checkpoint();
    expect(before.checkpoint.size).toBe(7n);
    expect(await alice.trading.isExtendedBy(sell.receipt.receipt.logSize, sell.receipt.receipt.logRoot, before.checkpoint)).toBe(true);
    expect(await alice.trading.isExtendedBy(sell.receipt.receipt.logSize, buy.receipt.receipt.logRoot, before.checkpoint)).toBe(false);

    // Crash and restart on the same data: the same log, books and reservations; the restarted node
    // anchors its root on chain (Ignition deployed the venue's OrderLogAnchor).
    await first.kill();
    const second = await startNode(first.port, undefined, true, 500);
    await eventually(async () => alice.opened.client.connected && bob.opened.client.connected, (ok) => ok, 20_000);
    const after = await alice.trading.checkpoint();
    expect(after.checkpoint.size).toBe(before.checkpoint.size);
    expect(after.checkpoint.root).toBe(before.checkpoint.root);
    expect((await refusal(alice.trading.placeOrder({ ...market(), side: "sell", quantity: 3n * LOT, price: price(200n), timeInForce: "GTC" }))).code).toBe("INSUFFICIENT_FUNDS");
    expect((await alice.trading.myTrading()).fills.map((f) => f.state)).toEqual(["failed"]);
    expect((await refusal(bob.trading.placeOrder({ ...buy.signed.order }))).code).toBe("STALE_NONCE");
    // Alice's remaining 2 at 101 still rest first; Bob's bids at 90 and 89 still rest behind them.
    const sweep = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(89n), timeInForce: "IOC" });
    expect(sweep.fills.map((f) => [f.makerSequence, f.price])).toEqual([
      [resting[0]!.receipt.receipt.sequence.toString(), price(90n).toString()],
      [resting[1]!.receipt.receipt.sequence.toString(), price(89n).toString()],
    ]);
    const take = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(101n), timeInForce: "IOC" });
    expect(take.fills.map((f) => [f.makerSequence, f.quantity])).toEqual([["0", (2n * LOT).toString()]]);
    expect(second.output()).not.toMatch(/REPLAY_MISMATCH/);
    const final = await alice.trading.checkpoint();
    const anchored = await eventually(
      async () => (await venue.stack.system.orderLogAnchor.getFunction("latestCheckpoint")()) as [bigint, string, bigint],
      ([size]) => size === final.checkpoint.size,
      15_000,
    );
    expect(anchored[1]).toBe(final.checkpoint.root);
  });

  it("refuses what breaks a transfer rule with its ERC-1404 code: a buy over the maximum balance (resting buys counted), a frozen seller", async () => {
    const node = await startNode();
    const alice = await investor(node.url, ROLES.alice);
    const bob = await investor(node.url, ROLES.bob);
    const assets = [venue.stack.addresses.token, venue.stack.addresses.cash];
    await alice.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT } });
    await bob.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: price(1_000n) } });
    await funded(node);
    await (await venue.stack.system.rules.getFunction("setMaxBalance")(4n * SECURITY_UNIT)).wait();

    // Once the node's mirror has the new maximum, 5 is too many for Bob, who holds none.
    const tooMany = await eventually(
      () => refusal(bob.trading.placeOrder({ ...market(), side: "buy", quantity: 5n * LOT, price: price(50n), timeInForce: "IOC" })).catch(() => ({ code: "accepted" }) as { code: string; restriction?: { code: number; rule: string } }),
      (r) => r.code === "NOT_COMPLIANT",
      10_000,
    );
    expect(tooMany.restriction?.code).toBe(RESTRICTION_CODES.MAX_BALANCE_EXCEEDED);
    // A resting buy of 3 counts towards his balance, so 2 more would exceed 4; 1 more does not.
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 3n * LOT, price: price(50n), timeInForce: "GTC" });
    const overMax = await refusal(bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(50n), timeInForce: "GTC" }));
    expect(overMax.code).toBe("NOT_COMPLIANT");
    expect(overMax.restriction?.code).toBe(RESTRICTION_CODES.MAX_BALANCE_EXCEEDED);
    expect(overMax.restriction?.rule).toBe("MAX_BALANCE_EXCEEDED");
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(50n), timeInForce: "GTC" });

    await (await venue.stack.system.token.getFunction("freeze")(devWallet(ROLES.alice).address)).wait();
    const frozen = await eventually(
      () => refusal(alice.trading.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(500n), timeInForce: "IOC" })).catch(() => ({ code: "accepted" }) as { code: string; restriction?: { code: number } }),
      (r) => r.code === "NOT_COMPLIANT",
      15_000,
    );
    expect(frozen.restriction?.code).toBe(RESTRICTION_CODES.SENDER_FROZEN);
  });

  for (const cancelOnDisconnect of [true, false]) {
    it(`${cancelOnDisconnect ? "cancels" : "keeps"} a disconnected investor's resting orders (cancelOnDisconnect: ${cancelOnDisconnect})`, async () => {
      const node = await startNode(0, undefined, cancelOnDisconnect);
      const alice = await investor(node.url, ROLES.alice);
      const bob = await investor(node.url, ROLES.bob);
      const assets = [venue.stack.addresses.token, venue.stack.addresses.cash];
      await alice.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT } });
      await bob.opened.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: price(1_000n) } });
      await funded(node);
      await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
      await alice.trading.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(101n), timeInForce: "GTC" });
      await alice.opened.client.disconnect();
      // Two venue cancels follow the two orders in the log, or nothing.
      const expected = cancelOnDisconnect ? 4n : 2n;
      await eventually(async () => (await bob.trading.checkpoint()).checkpoint.size, (size) => size === expected, 10_000);
      const take = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 3n * LOT, price: price(101n), timeInForce: "IOC" });
      expect(take.fills).toHaveLength(cancelOnDisconnect ? 0 : 2);
    });
  }

  it("bounds orders and reads per investor, each on its own budget (ORDER_RATE_LIMITED, READ_RATE_LIMITED), and refuses trading messages at a node without trading", async () => {
    const node = await startNode(0, { perSecond: 0.001, burst: 5 }, true, 0, { perSecond: 0.001, burst: 5 });
    const alice = await investor(node.url, ROLES.alice);
    const codeOf = (e: unknown) => (isClientError(e) ? e.rejection?.code : String(e));
    // Book depth and the investor's own trading are reads: a burst of them is bounded by readRate…
    const reads = await Promise.all(
      Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? alice.trading.myTrading() : alice.trading.bookDepth(venue.stack.addresses.token, venue.stack.addresses.cash)).then(() => "ok", codeOf)),
    );
    expect(reads.filter((o) => o === "ok")).toHaveLength(5);
    expect(reads.filter((o) => o === "READ_RATE_LIMITED")).toHaveLength(3);
    expect((await refusal(alice.trading.checkpoint())).code).toBe("READ_RATE_LIMITED");
    // …and leaves the order budget whole: five cancels reach the desk (none names an order), the sixth is over the bound.
    const cancels = await Promise.all(Array.from({ length: 6 }, (_, i) => alice.trading.cancel(`0x${(i + 1).toString(16).padStart(64, "0")}`).then(() => "ok", codeOf)));
    expect(cancels.filter((o) => o === "UNKNOWN_ORDER")).toHaveLength(5);
    expect(cancels.filter((o) => o === "ORDER_RATE_LIMITED")).toHaveLength(1);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/clearline_bound_refusals_total\{reason="ORDER_RATE_LIMITED"\} 1\n/);
    // The SDK asks a refused read four more times before it gives up: 4 refused reads, 5 times each.
    expect(metrics).toMatch(/clearline_bound_refusals_total\{reason="READ_RATE_LIMITED"\} 20\n/);

    await node.stop();
    const plain = await venue.startNode({ dataDir: join(venue.dir, "plain") });
    const bob = await investor(plain.url, ROLES.bob);
    expect((await refusal(bob.trading.checkpoint())).code).toBe("TRADING_DISABLED");
  });
});
