// An external matching engine with real processes: a Hardhat chain, the venue's node as a child
// process configured with `matching: "external"`, two investors' SDK clients and the engine over
// real WebSockets (client/sdk/matching-engine.ts). Covered: the engine's own credential (no token,
// the admin token, an investor's client and a second engine are refused), the feed of the log in
// order with its sequence numbers and its resumption after a reconnect, a fill settled in both
// investors' channels, a restart that replays the engine's fills, every refusal code of a fill
// (each changing nothing), IOC refused at intake, malformed and oversized messages, the fill rate,
// and the heartbeat that closes a silent engine.
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import WebSocket from "ws";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  connectMatchingEngine,
  isClientError,
  openClient,
  type EngineEntry,
  type EngineFill,
  type FillResult,
  type MatchingEngine,
} from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, type Stack } from "../../devstack/stack.js";
import { ATTRIBUTE } from "../../devstack/system.js";
import { freePort } from "../../devstack/local-chain.js";
import { eventually } from "../helpers/node-process.js";
import { startVenue, type NodeOverrides, type Venue, type VenueInvestor as Investor } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;

describe("external matching engine (real node process, real chain, SDK clients and engine over WebSockets)", () => {
  let venue: Venue;
  let nodePort: number;
  let enginePort: number;
  let engineUrl: string;
  let alice: Investor;
  let bob: Investor;
  const engines: MatchingEngine[] = [];

  const market = () => ({ security: venue.stack.addresses.token, cash: venue.stack.addresses.cash, lotSize: LOT });
  const engineToken = () => readFileSync(join(venue.dir, "node", "engine-token"), "utf8").trim();
  const logSize = async () => (await alice.trading.checkpoint()).checkpoint.size;

  /** The node with an external engine; the same port across a restart. */
  function engineNode(stack: Stack): NodeOverrides {
    return {
      port: nodePort,
      trading: {
        markets: [
          { security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT.toString() },
          // A second book (cash against the security) for the WRONG_MARKET refusal.
          { security: stack.addresses.cash, cash: stack.addresses.token, lotSize: CASH_UNIT.toString() },
        ],
        maxRestingOrdersPerInvestor: 50,
        orderRate: { perSecond: 1_000, burst: 1_000 },
        cancelOnDisconnect: false,
        settlement: { lockSeconds: 3_600, timeoutMs: 60_000, intervalMs: 200 },
        matching: "external",
        engine: { host: "127.0.0.1", port: enginePort, maxMessageBytes: 1_024, fillRate: { perSecond: 1, burst: 30 }, heartbeatMs: 1_000, maxBufferedBytes: 65_536 },
      },
    };
  }

  /** An engine connected with the engine token, collecting the feed from `from`. */
  async function engine(from?: bigint, entries: EngineEntry[] = []): Promise<{ engine: MatchingEngine; entries: EngineEntry[] }> {
    const connected = await connectMatchingEngine({ url: engineUrl, token: engineToken(), ...(from === undefined ? {} : { from }), onEntry: (entry) => entries.push(entry) });
    engines.push(connected);
    return { engine: connected, entries };
  }

  async function closeEngines(): Promise<void> {
    for (const e of engines.splice(0)) await e.close();
  }

  /** The code of a refused engine connection (one that opens is closed again and fails the test). */
  async function connectRefusal(promise: Promise<MatchingEngine>): Promise<string> {
    try {
      await (await promise).close();
    } catch (error) {
      if (isClientError(error, "REJECTED")) return error.rejection!.code;
      throw error;
    }
    throw new Error("expected a refused connection");
  }

  async function metric(line: string): Promise<number> {
    const text = await (await fetch(`${venue.node.httpUrl}/metrics`)).text();
    const found = text.split("\n").find((l) => l.startsWith(`${line} `));
    return found === undefined ? 0 : Number(found.slice(line.length + 1));
  }

  beforeAll(async () => {
    nodePort = await freePort();
    enginePort = await freePort();
    engineUrl = `ws://127.0.0.1:${enginePort}`;
    venue = await startVenue({
      node: engineNode,
      investors: [
        { role: ROLES.alice, own: [{ assetIndex: SECURITY, amount: 20n * SECURITY_UNIT }], venue: [{ assetIndex: CASH, amount: price(5_000n) }] },
        { role: ROLES.bob, own: [{ assetIndex: CASH, amount: price(5_000n) }], venue: [{ assetIndex: SECURITY, amount: 20n * SECURITY_UNIT }] },
      ],
      responseTimeoutMs: 10_000,
    });
    [alice, bob] = venue.investors as [Investor, Investor];
  }, 240_000);

  // A failed case leaves no engine connected for the next (one engine at a time).
  afterEach(closeEngines);

  afterAll(async () => {
    await venue?.stop();
  });

  it("takes the engine token only: no token, the admin token, an investor's client and a second engine are refused", async () => {
    const refusalsBefore = await metric('clearline_engine_refusals_total{code="ENGINE_UNAUTHORIZED"}');
    expect(await connectRefusal(connectMatchingEngine({ url: engineUrl, token: "" }))).toBe("ENGINE_UNAUTHORIZED");
    expect(await connectRefusal(connectMatchingEngine({ url: engineUrl, token: venue.node.adminToken }))).toBe("ENGINE_UNAUTHORIZED");
    // An investor's client (its key, the challenge–response handshake) gets no further than the upgrade.
    const investorAtEngine = await openClient({ nodeUrl: engineUrl, privateKey: devWallet(ROLES.alice).privateKey, rpcUrl: venue.stack.chain.url, adjudicator: venue.stack.addresses.adjudicator, dataDir: join(venue.dir, "stray"), responseTimeoutMs: 3_000 });
    await expect(investorAtEngine.client.connect()).rejects.toThrow();
    await investorAtEngine.close();
    expect(await metric('clearline_engine_refusals_total{code="ENGINE_UNAUTHORIZED"}')).toBeGreaterThanOrEqual(refusalsBefore + 3);
    // The engine token opens nothing on the investors' port: it is not an investor session.
    const atInvestorPort = await connectRefusal(connectMatchingEngine({ url: venue.node.url, token: engineToken(), responseTimeoutMs: 2_000 })).catch((error: unknown) => (isClientError(error) ? error.code : "other"));
    expect(atInvestorPort).toBe("NODE_MISBEHAVED");
    // Plain HTTP to the engine port is told to upgrade.
    expect((await fetch(`http://127.0.0.1:${enginePort}/`)).status).toBe(426);

    // An upgrade with the token but no WebSocket key is refused by the handshake and holds no slot.
    const answer = await new Promise<string>((resolve, reject) => {
      const raw = connect(enginePort, "127.0.0.1", () => raw.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nAuthorization: Bearer ${engineToken()}\r\n\r\n`));
      let text = "";
      raw.on("data", (chunk: Buffer) => (text += chunk.toString()));
      raw.on("close", () => resolve(text));
      raw.on("error", reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);

    const { engine: first } = await engine();
    expect(await metric("clearline_engine_connected")).toBe(1);
    expect(await connectRefusal(connectMatchingEngine({ url: engineUrl, token: engineToken() }))).toBe("ENGINE_CONNECTED");
    await first.close();
    engines.splice(0);
    await eventually(() => metric("clearline_engine_connected"), (n) => n === 0, 5_000);
    // Free again once the first is gone.
    await engine();
    await closeEngines();
  });

  it("streams the log in order with sequence numbers, and resumes from a sequence number after a reconnect", async () => {
    const start = await logSize();
    const { engine: first, entries } = await engine(start);
    expect(first.logSize).toBe(start);
    expect(first.markets.map((m) => m.lotSize)).toEqual([LOT, CASH_UNIT]);
    const sell = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(101n), timeInForce: "GTC" });
    const buy = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(99n), timeInForce: "GTC" });
    // Orders rest on arrival: nothing matches without the engine.
    expect(sell.fills).toEqual([]);
    expect(buy.resting).toBe(LOT);
    await eventually(async () => entries.length, (n) => n === 2, 10_000);
    expect(entries[0]).toMatchObject({ kind: "order", sequence: start, side: "sell", quantity: 2n * LOT, price: price(101n), investor: devWallet(ROLES.alice).address });
    expect(entries[1]).toMatchObject({ kind: "order", sequence: start + 1n, side: "buy", quantity: LOT, price: price(99n) });

    await first.close();
    engines.splice(0);
    // While the engine is away: a cancel is logged.
    await bob.trading.cancel(buy.orderHash, buy.receipt.receipt.sequence);
    const resumed = await engine(entries[entries.length - 1]!.sequence + 1n);
    await eventually(async () => resumed.entries.length, (n) => n === 1, 10_000);
    expect(resumed.entries[0]).toMatchObject({ kind: "cancel", sequence: start + 2n, target: start + 1n });
    // Live entries follow on, exactly once.
    await alice.trading.cancel(sell.orderHash, sell.receipt.receipt.sequence);
    await eventually(async () => resumed.entries.map((e) => e.sequence), (s) => s.length === 2, 10_000);
    expect(resumed.entries.map((e) => e.sequence)).toEqual([start + 2n, start + 3n]);

    // From beyond the end of the log: BEYOND_LOG, nothing streamed.
    const errors: string[] = [];
    await closeEngines();
    const beyond = await connectMatchingEngine({ url: engineUrl, token: engineToken(), onError: (r) => errors.push(r.code) });
    engines.push(beyond);
    beyond.subscribe((await logSize()) + 5n);
    await eventually(async () => errors, (e) => e.length === 1, 5_000);
    expect(errors).toEqual(["BEYOND_LOG"]);
    await closeEngines();
  });

  it("logs an accepted fill and settles it in both investors' channels like a built-in fill; a restarted node replays it", async () => {
    const { engine: matcher, entries } = await engine(await logSize());
    const sell = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 3n * LOT, price: price(100n), timeInForce: "GTC" });
    const buy = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(102n), timeInForce: "GTC" });
    const before = await logSize();
    const result = await matcher.submitFill({ makerSequence: sell.receipt.receipt.sequence, takerSequence: buy.receipt.receipt.sequence, quantity: 2n * LOT, price: price(100n) });
    expect(result).toEqual({ accepted: true, sequence: before });
    expect(await logSize()).toBe(before + 1n);
    // The engine reads its own fill back on the feed.
    await eventually(async () => entries.filter((e) => e.kind === "fill"), (f) => f.length === 1, 10_000);
    expect(entries.find((e) => e.kind === "fill")).toMatchObject({ sequence: before, makerSequence: sell.receipt.receipt.sequence, takerSequence: buy.receipt.receipt.sequence, quantity: 2n * LOT, price: price(100n) });

    const settled = async (who: Investor) => (await who.trading.myTrading()).fills.filter((f) => BigInt(f.sequence) === before).map((f) => f.state);
    await eventually(() => settled(bob), (s) => s.join() === "settled", 40_000);
    await eventually(() => settled(alice), (s) => s.join() === "settled", 40_000);
    // 2 securities at 100 per lot: Alice −2 security +200 cash, Bob the mirror image.
    const balances = async (who: Investor) => (await who.opened.client.balances(who.channelId)).map((b) => b.me);
    expect(await balances(alice)).toEqual([18n * SECURITY_UNIT, price(200n)]);
    expect(await balances(bob)).toEqual([2n * SECURITY_UNIT, price(4_800n)]);
    // What is left of the sell rests: 1 lot.
    expect((await alice.trading.myTrading()).orders.find((o) => BigInt(o.sequence) === sell.receipt.receipt.sequence)?.remaining).toBe(LOT.toString());
    expect(await metric('clearline_engine_fills_total{outcome="accepted"}')).toBe(1);
    await closeEngines();

    // Killed and restarted: the log with the engine's fill replays (no REPLAY_MISMATCH), the remainder rests on.
    const size = await logSize();
    await venue.node.kill();
    await venue.startNode(engineNode);
    await eventually(async () => alice.opened.client.connected && bob.opened.client.connected, (ok) => ok, 20_000);
    expect(await logSize()).toBe(size);
    expect((await alice.trading.myTrading()).orders.find((o) => BigInt(o.sequence) === sell.receipt.receipt.sequence)?.remaining).toBe(LOT.toString());
    // The engine token survives the restart (the same file).
    const again = await engine(0n);
    await eventually(async () => again.entries.length, (n) => n === Number(size), 10_000);
    await closeEngines();
  });

  it("refuses every fill that does not fit the orders, with its code, and logs nothing for it", async () => {
    const { engine: matcher } = await engine();
    // IOC orders cannot wait for an engine: refused at intake.
    await expect(bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(100n), timeInForce: "IOC" })).rejects.toMatchObject({ rejection: { code: "IOC_NOT_SUPPORTED" } });

    const sellA = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(101n), timeInForce: "GTC" });
    const sellB = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(101n), timeInForce: "GTC" });
    const buy = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 3n * LOT, price: price(103n), timeInForce: "GTC" });
    const now = BigInt((await venue.provider.getBlock("latest"))!.timestamp);
    const expiring = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(101n), timeInForce: "GTC", expiresAt: now + 120n });
    const cancelled = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(101n), timeInForce: "GTC" });
    await alice.trading.cancel(cancelled.orderHash, cancelled.receipt.receipt.sequence);
    // Bob sells cash for the security on the second book.
    const otherBook = await bob.trading.placeOrder({ security: venue.stack.addresses.cash, cash: venue.stack.addresses.token, lotSize: CASH_UNIT, side: "sell", quantity: price(10n), price: 1n, timeInForce: "GTC" });
    const seq = (placed: { receipt: { receipt: { sequence: bigint } } }) => placed.receipt.receipt.sequence;
    const maker = seq(sellA);
    const taker = seq(buy);
    const fill = (over: Partial<EngineFill> = {}): Promise<FillResult> => matcher.submitFill({ makerSequence: maker, takerSequence: taker, quantity: LOT, price: price(101n), ...over });
    const code = async (over: Partial<EngineFill>) => {
      const result = await fill(over);
      return result.accepted ? "accepted" : result.code;
    };
    const size = await logSize();

    expect(await code({ makerSequence: 1_000_000n })).toBe("UNKNOWN_ORDER");
    expect(await code({ takerSequence: 1_000_000n })).toBe("UNKNOWN_ORDER");
    expect(await code({ makerSequence: seq(buy), takerSequence: seq(sellB) })).toBe("MAKER_NOT_EARLIER");
    expect(await code({ takerSequence: seq(otherBook) })).toBe("WRONG_MARKET");
    expect(await code({ takerSequence: seq(sellB) })).toBe("SAME_SIDE");
    expect(await code({ makerSequence: seq(buy), takerSequence: seq(cancelled) })).toBe("ORDER_CANCELLED");
    expect(await code({ quantity: LOT / 2n })).toBe("BAD_QUANTITY");
    expect(await code({ quantity: 0n })).toBe("BAD_QUANTITY");
    expect(await code({ quantity: 3n * LOT })).toBe("QUANTITY_ABOVE_REMAINING");
    expect(await code({ price: price(100n) })).toBe("PRICE_OUTSIDE_LIMIT"); // below the sell's limit
    expect(await code({ price: price(104n) })).toBe("PRICE_OUTSIDE_LIMIT"); // above the buy's limit
    expect(await code({ price: 0n })).toBe("PRICE_OUTSIDE_LIMIT");
    expect(await logSize()).toBe(size);

    // Filled: sellB in full, then once more.
    expect(await fill({ makerSequence: seq(sellB) })).toMatchObject({ accepted: true });
    expect(await code({ makerSequence: seq(sellB) })).toBe("ORDER_FILLED");
    // Expired by the chain's time, once the node's clock has passed the expiry.
    await venue.passTime(180n);
    await eventually(async () => (await alice.trading.bookDepth(venue.stack.addresses.token, venue.stack.addresses.cash, 1)).time, (time) => time >= now + 120n, 20_000);
    expect(await code({ makerSequence: seq(buy), takerSequence: seq(expiring) })).toBe("ORDER_EXPIRED");
    expect(await logSize()).toBe(size + 1n);

    // Not compliant: Bob loses his KYC; once the node's mirror knows, the movement to him is refused with the ERC-1404 rule.
    await (await venue.stack.system.jurisdiction.getFunction("revokeAttribute")(devWallet(ROLES.bob).address, ATTRIBUTE.KYC)).wait();
    await eventually(
      () => bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: 1n, timeInForce: "GTC" }).then(() => "accepted", (error: { rejection?: { code: string } }) => error.rejection?.code ?? "other"),
      (c) => c === "NOT_COMPLIANT",
      20_000,
    );
    const beforeRefusal = await logSize();
    const refused = await fill();
    expect(refused).toMatchObject({ accepted: false, code: "NOT_COMPLIANT", restriction: { rule: expect.any(String) as string } });
    expect(refused.accepted === false && refused.restriction!.code).toBeGreaterThan(0);
    expect(await logSize()).toBe(beforeRefusal);
    expect(await metric('clearline_engine_fills_total{outcome="PRICE_OUTSIDE_LIMIT"}')).toBe(3);
    await closeEngines();
  });

  it("answers a malformed message MALFORMED, closes a connection over the message size, and refuses fills beyond the rate", async () => {
    const raw = new WebSocket(engineUrl, { headers: { authorization: `Bearer ${engineToken()}` } });
    const answers: { type: string; code?: string; id?: string }[] = [];
    raw.on("message", (data: WebSocket.RawData) => answers.push(JSON.parse(String(data)) as { type: string }));
    await new Promise((resolve) => raw.once("open", resolve));
    raw.send("not json");
    raw.send(JSON.stringify({ type: "fill", id: "x1", makerSequence: "-1", takerSequence: "0", quantity: "1", price: "1" }));
    raw.send(JSON.stringify({ type: "fill", id: "x2", makerSequence: "0", takerSequence: "1", quantity: "1", price: "1", extra: true }));
    await eventually(async () => answers.filter((a) => a.type === "error"), (e) => e.length === 3, 5_000);
    expect(answers.filter((a) => a.type === "error").map((a) => [a.code, a.id])).toEqual([["MALFORMED", undefined], ["MALFORMED", "x1"], ["MALFORMED", "x2"]]);
    const closed = new Promise<number>((resolve) => raw.once("close", resolve));
    raw.send(JSON.stringify({ type: "subscribe", from: "0", pad: "x".repeat(2_000) }));
    expect(await closed).toBe(1009);

    const { engine: flooder } = await engine();
    const results = await Promise.all(Array.from({ length: 40 }, () => flooder.submitFill({ makerSequence: 1_000_000n, takerSequence: 1_000_001n, quantity: LOT, price: 1n })));
    const codes = results.map((r) => (r.accepted ? "accepted" : r.code));
    expect(codes).toContain("FILL_RATE_LIMITED");
    expect(codes).toContain("UNKNOWN_ORDER");
    expect(codes.every((c) => c === "FILL_RATE_LIMITED" || c === "UNKNOWN_ORDER")).toBe(true);
    expect(await metric('clearline_bound_refusals_total{reason="FILL_RATE_LIMITED"}')).toBeGreaterThan(0);
    await closeEngines();
  });

  it("closes an engine that answers no ping (heartbeat), which frees the one connection for the next engine", async () => {
    const silent = new WebSocket(engineUrl, { headers: { authorization: `Bearer ${engineToken()}` }, autoPong: false });
    await new Promise((resolve) => silent.once("open", resolve));
    expect(await connectRefusal(connectMatchingEngine({ url: engineUrl, token: engineToken() }))).toBe("ENGINE_CONNECTED");
    const started = Date.now();
    await new Promise((resolve) => silent.once("close", resolve));
    // Two heartbeats of 1 s: one ping unanswered, then cut.
    expect(Date.now() - started).toBeLessThan(5_000);
    await engine();
    expect(await metric("clearline_engine_connected")).toBe(1);
  });
});
