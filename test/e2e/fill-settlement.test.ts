// Settlement of fills across two investors' channels with real processes: a Hardhat chain, the
// venue's node as a child process, the investors' SDK clients over WebSockets. A fill moves the
// security seller → venue → buyer and the cash buyer → venue → seller as one lock pair per channel
// under one secret: asserted on both channels, after an on-chain settlement, with the buyer away,
// with the node killed mid-way, when the buyer never comes back (both legs back), for two fills of
// one investor's two orders on one side (each pair names its fill), for an order placed before the
// seller's client restarted, and for a buyer made ineligible between its order and the match (no
// fill, no lock).
import { Contract } from "ethers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { ATTRIBUTE } from "../../devstack/system.js";
import { eventually, type NodeProcess } from "../helpers/node-process.js";
import { startVenue, type NodeOverrides, type Venue, type VenueInvestor as Investor } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;

describe("settlement of fills across two channels (real node process, real chain, two SDK clients)", () => {
  let venue: Venue;

  beforeEach(async () => {
    venue = await startVenue();
  });

  afterEach(async () => {
    await venue?.stop();
  });

  function tradingNode(settlement: { lockSeconds: number; timeoutMs: number }, port = 0): NodeOverrides {
    return {
      port,
      trading: {
        orderRate: { perSecond: 1_000, burst: 1_000 },
        // The buyer's resting order stays while it is away: its fill settles when it is back.
        cancelOnDisconnect: false,
        settlement: { ...settlement, intervalMs: 200 },
      },
    };
  }

  /** The node, and both investors with a channel of both assets: each its own deposit, and the venue's of the other asset (its legs to the investor). */
  async function startTrading(settlement: { lockSeconds: number; timeoutMs: number }): Promise<{ node: NodeProcess; alice: Investor; bob: Investor }> {
    const node = await venue.startNode(tradingNode(settlement));
    const alice = await venue.investor({ role: ROLES.alice, own: [{ assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }], venue: [{ assetIndex: CASH, amount: price(1_000n) }] });
    const bob = await venue.investor({ role: ROLES.bob, own: [{ assetIndex: CASH, amount: price(1_000n) }], venue: [{ assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }] });
    return { node, alice, bob };
  }

  const market = () => ({ security: venue.stack.addresses.token, cash: venue.stack.addresses.cash, lotSize: LOT });

  /** [venue, investor] per asset, as the investor's client sees its channel. */
  async function balances(who: Investor): Promise<[bigint, bigint][]> {
    return (await who.opened.client.balances(who.channelId)).map((b) => [b.venue, b.me]);
  }

  async function locksOf(who: Investor): Promise<number> {
    return (await who.opened.client.channels()).find((c) => c.channelId === who.channelId)?.latest?.state.locks.length ?? 0;
  }

  async function fillStates(who: Investor): Promise<string[]> {
    return (await who.trading.myTrading()).fills.map((f) => f.state);
  }

  const erc20 = (token: string) => new Contract(token, ["function balanceOf(address) view returns (uint256)"], venue.provider);

  it("settles a fill in both channels: each investor gets both legs, reservations are released, and the chain pays it out", async () => {
    const { node, alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 60_000 });

    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 5n * LOT, price: price(101n), timeInForce: "GTC" });
    const buy = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 3n * LOT, price: price(102n), timeInForce: "GTC" });
    expect(buy.fills).toHaveLength(1);

    await eventually(() => fillStates(bob), (states) => states.join() === "settled", 30_000);
    await eventually(() => fillStates(alice), (states) => states.join() === "settled", 30_000);
    // Alice sold 3 at 101: 3 securities to the venue, 303 cash from it; Bob the mirror image.
    expect(await balances(alice)).toEqual([
      [3n * SECURITY_UNIT, 7n * SECURITY_UNIT],
      [price(1_000n - 303n), price(303n)],
    ]);
    expect(await balances(bob)).toEqual([
      [7n * SECURITY_UNIT, 3n * SECURITY_UNIT],
      [price(303n), price(1_000n - 303n)],
    ]);
    expect(await locksOf(alice)).toBe(0);
    expect(await locksOf(bob)).toBe(0);
    // Released: Bob may pay away all his cash but nothing more; Alice has 2 of her 7 securities in her resting sell.
    await bob.opened.client.pay(bob.channelId, { assetIndex: CASH, amount: price(697n) });
    await expect(alice.opened.client.pay(alice.channelId, { assetIndex: SECURITY, amount: 6n * SECURITY_UNIT })).rejects.toMatchObject({ rejection: { code: "FUNDS_RESERVED" } });
    await alice.opened.client.pay(alice.channelId, { assetIndex: SECURITY, amount: 5n * SECURITY_UNIT });
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/clearline_fill_settlements_total\{outcome="settled"\} 1\n/);
    expect(metrics).toMatch(/clearline_fill_settlements_open 0\n/);

    // On chain: Alice force-closes with her latest state and is paid what the settled fill gave her.
    const aliceAddress = devWallet(ROLES.alice).address;
    const [securityBefore, cashBefore] = [await erc20(venue.stack.addresses.token).getFunction("balanceOf")(aliceAddress), await erc20(venue.stack.addresses.cash).getFunction("balanceOf")(aliceAddress)];
    await alice.opened.client.forceClose(alice.channelId);
    const { deadline } = await alice.opened.chain.channel(alice.channelId);
    await venue.passTime(deadline - (await alice.opened.chain.chainTime()) + 1n);
    await alice.opened.client.settle(alice.channelId);
    expect((await erc20(venue.stack.addresses.token).getFunction("balanceOf")(aliceAddress)) - securityBefore).toBe(2n * SECURITY_UNIT);
    expect((await erc20(venue.stack.addresses.cash).getFunction("balanceOf")(aliceAddress)) - cashBefore).toBe(price(303n));
  });

  it("two resting sells of one investor at different prices, both filled by one buy: each pair names its fill and both settle", async () => {
    const { alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 60_000 });

    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 3n * LOT, price: price(102n), timeInForce: "GTC" });
    const buy = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 5n * LOT, price: price(102n), timeInForce: "GTC" });
    expect(buy.fills.map((f) => [BigInt(f.quantity), BigInt(f.price)])).toEqual([
      [2n * LOT, price(100n)],
      [3n * LOT, price(102n)],
    ]);

    await eventually(() => fillStates(alice), (states) => states.join() === "settled,settled", 30_000);
    await eventually(() => fillStates(bob), (states) => states.join() === "settled,settled", 30_000);
    // 2 at 100 and 3 at 102: 506 cash for 5 securities.
    expect(await balances(alice)).toEqual([
      [5n * SECURITY_UNIT, 5n * SECURITY_UNIT],
      [price(1_000n - 506n), price(506n)],
    ]);
    expect(await balances(bob)).toEqual([
      [5n * SECURITY_UNIT, 5n * SECURITY_UNIT],
      [price(506n), price(1_000n - 506n)],
    ]);
    expect(await locksOf(alice)).toBe(0);
    expect(await locksOf(bob)).toBe(0);
  });

  it("a buyer away at the match and a node killed mid-settlement: after restart and resync both legs move", async () => {
    const { node: first, alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 120_000 });
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 4n * LOT, price: price(100n), timeInForce: "GTC" });
    await bob.opened.client.disconnect();

    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 4n * LOT, price: price(99n), timeInForce: "IOC" });
    // Alice's pair is agreed; Bob's cannot be proposed: nothing is revealed, nothing moves.
    await eventually(() => locksOf(alice), (n) => n === 2, 20_000);
    expect(await balances(alice)).toEqual([
      [0n, 6n * SECURITY_UNIT],
      [price(600n), 0n],
    ]);
    await first.kill();

    const second = await venue.startNode(tradingNode({ lockSeconds: 3_600, timeoutMs: 120_000 }, first.port));
    await eventually(async () => alice.opened.client.connected, (connected) => connected, 20_000);
    await bob.opened.client.connect();
    await eventually(() => fillStates(bob), (states) => states.join() === "settled", 30_000);
    await eventually(() => locksOf(alice), (n) => n === 0, 20_000);
    expect(await balances(alice)).toEqual([
      [4n * SECURITY_UNIT, 6n * SECURITY_UNIT],
      [price(600n), price(400n)],
    ]);
    expect(await balances(bob)).toEqual([
      [6n * SECURITY_UNIT, 4n * SECURITY_UNIT],
      [price(400n), price(600n)],
    ]);
    expect(second.output()).not.toMatch(/"level":50/);
  });

  it("a seller away when the secret is revealed and the node killed after the reveal: the buyer settles at once, the seller after restart and resync", async () => {
    const { node: first, alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 120_000 });
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(50n), timeInForce: "GTC" });
    await bob.opened.client.disconnect();
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(50n), timeInForce: "IOC" });
    await eventually(() => locksOf(alice), (n) => n === 2, 20_000);
    await alice.opened.client.disconnect();

    // Bob back: his pair is agreed, the secret revealed, his pair resolved; Alice's waits for her.
    await bob.opened.client.connect();
    const settledBob = [[8n * SECURITY_UNIT, 2n * SECURITY_UNIT], [price(100n), price(900n)]].flat().join();
    await eventually(async () => (await balances(bob)).flat().join(), (b) => b === settledBob, 20_000);
    expect(await locksOf(bob)).toBe(0);
    expect(await locksOf(alice)).toBe(2);
    expect(await fillStates(bob)).toEqual(["matched"]);
    await first.kill();

    const second = await venue.startNode(tradingNode({ lockSeconds: 3_600, timeoutMs: 120_000 }, first.port));
    await alice.opened.client.connect();
    await eventually(() => locksOf(alice), (n) => n === 0, 20_000);
    expect(await balances(alice)).toEqual([
      [2n * SECURITY_UNIT, 8n * SECURITY_UNIT],
      [price(900n), price(100n)],
    ]);
    await eventually(() => fillStates(alice), (states) => states.join() === "settled", 20_000);
    expect(second.output()).not.toMatch(/"level":50/);
  });

  it("a seller that goes to chain with its pair after the reveal: the venue reveals the secret on chain, and settlement pays both of its legs", async () => {
    const { alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 120_000 });
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(50n), timeInForce: "GTC" });
    await bob.opened.client.disconnect();
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(50n), timeInForce: "IOC" });
    await eventually(() => locksOf(alice), (n) => n === 2, 20_000);
    await alice.opened.client.disconnect();
    await bob.opened.client.connect();
    await eventually(async () => (await balances(bob)).flat().join(), (b) => b === [8n * SECURITY_UNIT, 2n * SECURITY_UNIT, price(100n), price(900n)].join(), 20_000);

    // Alice registers her latest state — her pair still locked — instead of resolving it off chain.
    const hashlock = (await alice.opened.client.channels()).find((c) => c.channelId === alice.channelId)!.latest!.state.locks[0]!.hashlock;
    const aliceAddress = devWallet(ROLES.alice).address;
    const [securityBefore, cashBefore] = [await erc20(venue.stack.addresses.token).getFunction("balanceOf")(aliceAddress), await erc20(venue.stack.addresses.cash).getFunction("balanceOf")(aliceAddress)];
    await alice.opened.client.forceClose(alice.channelId);
    await eventually(() => alice.opened.chain.secretRevealedAt(hashlock), (at) => at > 0n, 30_000);
    const { deadline } = await alice.opened.chain.channel(alice.channelId);
    await venue.passTime(deadline - (await alice.opened.chain.chainTime()) + 1n);
    await alice.opened.client.settle(alice.channelId).catch(() => undefined); // the venue's watchtower may settle first
    await eventually(async () => (await alice.opened.chain.channel(alice.channelId)).phase, (phase) => phase === "Concluded", 30_000);
    expect((await erc20(venue.stack.addresses.token).getFunction("balanceOf")(aliceAddress)) - securityBefore).toBe(8n * SECURITY_UNIT);
    expect((await erc20(venue.stack.addresses.cash).getFunction("balanceOf")(aliceAddress)) - cashBefore).toBe(price(100n));
  });

  it("a buyer that never comes back: the fill fails, nothing is revealed, and the venue cancels the seller's pair at once (not at its expiry)", async () => {
    const { node, alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 3_000 });
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    await bob.opened.client.disconnect();
    const before = await balances(alice);
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "IOC" });
    await eventually(() => locksOf(alice), (n) => n === 2, 10_000);
    await eventually(() => fillStates(alice), (states) => states.join() === "failed", 20_000);
    // Alice's client countersigns the venue's cancel of her pair, an hour before its expiry: both of her legs are back where they were.
    await eventually(() => locksOf(alice), (n) => n === 0, 10_000);
    expect(await balances(alice)).toEqual(before);
    expect(before).toEqual([
      [0n, 10n * SECURITY_UNIT],
      [price(1_000n), 0n],
    ]);
    // All of them free again: 9 of her 10 securities pay away.
    await alice.opened.client.pay(alice.channelId, { assetIndex: SECURITY, amount: 9n * SECURITY_UNIT });
    // Bob, back, got nothing either: no lock was ever proposed to him.
    await bob.opened.client.connect();
    expect(await fillStates(bob)).toEqual(["failed"]);
    expect(await locksOf(bob)).toBe(0);
    expect(await balances(bob)).toEqual([
      [10n * SECURITY_UNIT, 0n],
      [0n, price(1_000n)],
    ]);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/clearline_fill_settlements_total\{outcome="failed"\} 1\n/);
    expect(metrics).toMatch(/clearline_fill_lock_pair_cancels_total\{outcome="cancelled"\} 1\n/);
  }, 300_000);

  it("a fill of an order placed before the investor's client restarted settles on both channels (a new SDK instance on the same store)", async () => {
    const { node, alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 60_000 });
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    // Alice's client restarts: the order rests at the venue; the new client finds it in the log, signed by her key.
    await venue.closeClient(alice.opened);
    const restarted = await venue.connect(ROLES.alice, { nodeUrl: node.url });
    const alice2: Investor = { role: ROLES.alice, opened: restarted, trading: restarted.client.trading(venue.stack.addresses.orderLogAnchor), channelId: alice.channelId };

    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(100n), timeInForce: "IOC" });
    await eventually(() => fillStates(bob), (states) => states.join() === "settled", 30_000);
    await eventually(() => fillStates(alice2), (states) => states.join() === "settled", 30_000);
    expect(await balances(alice2)).toEqual([
      [2n * SECURITY_UNIT, 8n * SECURITY_UNIT],
      [price(800n), price(200n)],
    ]);
    expect(await balances(bob)).toEqual([
      [8n * SECURITY_UNIT, 2n * SECURITY_UNIT],
      [price(200n), price(800n)],
    ]);
    expect(await locksOf(alice2)).toBe(0);
    expect(await locksOf(bob)).toBe(0);
    // The charge is in Alice's store: a second pair for the fill would be refused after yet another restart.
    expect(await restarted.store.fillCharges(venue.stack.addresses.orderLogAnchor)).toHaveLength(1);
  });

  it("a buyer made ineligible between its order and the match: its order leaves the book, no fill, no lock", async () => {
    const { alice, bob } = await startTrading({ lockSeconds: 3_600, timeoutMs: 60_000 });
    const resting = await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    expect(resting.resting).toBe(2n * LOT);
    await (await venue.stack.system.jurisdiction.getFunction("revokeAttribute")(devWallet(ROLES.bob).address, ATTRIBUTE.KYC)).wait();
    // The node's compliance mirror follows the chain: wait until it refuses Bob's new buy.
    await eventually(
      () => bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(1n), timeInForce: "IOC" }).then(() => "accepted", (error: { rejection?: { code: string } }) => error.rejection?.code ?? "other"),
      (code) => code === "NOT_COMPLIANT",
      20_000,
    );

    const sell = await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    expect(sell.fills).toEqual([]);
    expect(sell.resting).toBe(2n * LOT);
    expect((await bob.trading.myTrading()).orders).toEqual([]);
    // The venue cancel precedes the sell in the log: reason 1, not compliant.
    const entries = await alice.trading.logEntries(0n);
    const venueCancel = entries.find((bytes) => bytes[0] === 0x04);
    expect(venueCancel?.[25]).toBe(1);
    expect(await locksOf(alice)).toBe(0);
    expect(await locksOf(bob)).toBe(0);
    expect(await fillStates(alice)).toEqual([]);
  });
});
