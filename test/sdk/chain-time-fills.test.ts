// The SDK judges lock expiries by the chain's time, like the venue's node and the adjudicator
// (client/sdk/chain-time.ts): on a real Hardhat chain moved 31 days ahead of the host's clock
// (evm_increaseTime) — beyond MAX_LOCK_DURATION, so by the host's clock every lock the venue draws
// would lie too far ahead — a fill settles in both channels, and a failed fill's pair expires back
// to the seller as soon as the chain's time passes its expiry (the seller away when the fill failed:
// otherwise the venue cancels the pair at once). Real node process, real SDK clients.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_LOCK_DURATION } from "../../client/protocol/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT } from "../../devstack/stack.js";
import { eventually } from "../helpers/node-process.js";
import { startVenue, type Venue, type VenueInvestor as Investor } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;
const AHEAD = MAX_LOCK_DURATION + 86_400n;

describe("lock expiries by the chain's time (chain 31 days ahead of the host)", () => {
  let venue: Venue;

  beforeEach(async () => {
    venue = await startVenue();
    await venue.passTime(AHEAD);
    await venue.startNode({ trading: { orderRate: { perSecond: 1_000, burst: 1_000 }, cancelOnDisconnect: false, settlement: { lockSeconds: 60, timeoutMs: 3_000, intervalMs: 200 } } });
  });

  afterEach(async () => {
    await venue?.stop();
  });

  /** Alice with 10 securities and the venue's 1,000 cash, Bob with 1,000 cash and the venue's 10 securities. */
  async function investors(): Promise<[Investor, Investor]> {
    return [
      await venue.investor({ role: ROLES.alice, own: [{ assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }], venue: [{ assetIndex: CASH, amount: price(1_000n) }] }),
      await venue.investor({ role: ROLES.bob, own: [{ assetIndex: CASH, amount: price(1_000n) }], venue: [{ assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }] }),
    ];
  }

  const market = () => ({ security: venue.stack.addresses.token, cash: venue.stack.addresses.cash, lotSize: LOT });
  const balances = async (who: Investor): Promise<[bigint, bigint][]> => (await who.opened.client.balances(who.channelId)).map((b) => [b.venue, b.me]);
  const locksOf = async (who: Investor): Promise<number> => (await who.opened.client.channels()).find((c) => c.channelId === who.channelId)?.latest?.state.locks.length ?? 0;
  const fillStates = async (who: Investor): Promise<string[]> => (await who.trading.myTrading()).fills.map((f) => f.state);

  it("a fill's pairs, whose expiry lies beyond MAX_LOCK_DURATION by the host's clock, are agreed and the fill settles", async () => {
    const [alice, bob] = await investors();
    expect((await alice.opened.chain.chainTime()) - BigInt(Math.floor(Date.now() / 1_000))).toBeGreaterThan(MAX_LOCK_DURATION);

    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(100n), timeInForce: "IOC" });
    await eventually(() => fillStates(bob), (states) => states.join() === "settled", 30_000);
    await eventually(() => fillStates(alice), (states) => states.join() === "settled", 30_000);
    expect(await balances(alice)).toEqual([
      [2n * SECURITY_UNIT, 8n * SECURITY_UNIT],
      [price(800n), price(200n)],
    ]);
    expect(await balances(bob)).toEqual([
      [8n * SECURITY_UNIT, 2n * SECURITY_UNIT],
      [price(200n), price(800n)],
    ]);
  });

  it("a failed fill's pair expires back to the seller once the chain's time passes its expiry (no wait on the host's clock)", async () => {
    const [alice, bob] = await investors();
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    await bob.opened.client.disconnect();
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "IOC" });
    await eventually(() => locksOf(alice), (n) => n === 2, 20_000);
    // Alice is away when the fill fails, so the venue cannot cancel her pair before its expiry.
    await alice.opened.client.disconnect();

    // 60 s locks: two minutes of chain time later the fill fails and, Alice back, the venue expires the pair; her SDK agrees.
    await venue.passTime(120n);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await alice.opened.client.connect();
    await eventually(() => locksOf(alice), (n) => n === 0, 30_000);
    expect(await fillStates(alice)).toEqual(["failed"]);
    expect((await alice.opened.client.history(alice.channelId, 1))[0]!.update.kind).toBe("expireLock");
    expect(await balances(alice)).toEqual([
      [0n, 10n * SECURITY_UNIT],
      [price(1_000n), 0n],
    ]);
  });
});
