// Many concurrent orders from four investors through the venue's book, every fill settled in the
// channels (real node process, real chain, real SDK clients): afterwards each investor's holdings in
// its channel are exactly its starting holdings plus its fills, and the venue's holdings over all
// channels are unchanged — nothing created, nothing lost, no leg without the other.
import { afterEach, describe, expect, it } from "vitest";
import { CASH_UNIT, ROLES, SECURITY_UNIT } from "../../devstack/stack.js";
import { eventually } from "../helpers/node-process.js";
import { startVenue, type Venue, type VenueInvestor as Investor } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const START = { security: 20n * SECURITY_UNIT, cash: 5_000n * CASH_UNIT };
/** The venue's deposit in each channel: enough to pass on every leg (24 securities is the most one investor can buy here). */
const VENUE = { security: 30n * SECURITY_UNIT, cash: 5_000n * CASH_UNIT };

/** A deterministic pseudo-random sequence (the test must be repeatable). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

describe("settlement under concurrent orders (real node process, four SDK clients)", () => {
  let venue: Venue;
  const roles = [ROLES.alice, ROLES.bob, ROLES.carol, ROLES.dave];

  afterEach(async () => {
    await venue?.stop();
  });

  it("conserves every party's holdings except the fills, and settles every fill", async () => {
    venue = await startVenue({
      onboard: roles.map((index) => ({ index })),
      node: { trading: { maxRestingOrdersPerInvestor: 100, orderRate: { perSecond: 1_000, burst: 1_000 }, settlement: { lockSeconds: 3_600, timeoutMs: 120_000, intervalMs: 200 } } },
      // Each channel: the investor's own holdings, and the venue's legs (security to a buyer, cash to a seller).
      investors: roles.map((role) => ({
        role,
        own: [
          { assetIndex: SECURITY, amount: START.security },
          { assetIndex: CASH, amount: START.cash },
        ],
        venue: [
          { assetIndex: SECURITY, amount: VENUE.security },
          { assetIndex: CASH, amount: VENUE.cash },
        ],
      })),
      responseTimeoutMs: 10_000,
    });
    const { stack, node, investors } = venue;

    // Each investor sends 12 orders as fast as it can, all four at once: buys and sells of 1–2 lots
    // around 100 (GTC and IOC); a refusal (funds reserved by its own earlier orders) is fine.
    const outcomes = await Promise.all(
      investors.map(async (who, i) => {
        const next = random(i + 1);
        let accepted = 0;
        for (let k = 0; k < 12; k++) {
          const side = next() < 0.5 ? "buy" : "sell";
          const quantity = BigInt(1 + Math.floor(next() * 2)) * LOT;
          const price = BigInt(97 + Math.floor(next() * 7)) * CASH_UNIT;
          const timeInForce = next() < 0.3 ? "IOC" : "GTC";
          try {
            await who.trading.placeOrder({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT, side, quantity, price, timeInForce });
            accepted++;
          } catch (error) {
            if ((error as { rejection?: { code: string } }).rejection?.code !== "INSUFFICIENT_FUNDS") throw error;
          }
        }
        return accepted;
      }),
    );
    expect(outcomes.reduce((a, b) => a + b, 0)).toBeGreaterThan(20);

    // Every fill settles (none fails), and no lock is left in any channel.
    const fillsOf = async (who: Investor) => (await who.trading.myTrading(1_000)).fills;
    await eventually(
      async () => (await Promise.all(investors.map(fillsOf))).flat().map((f) => f.state),
      (states) => states.length > 0 && states.every((state) => state === "settled"),
      90_000,
    ).catch(async (error: unknown) => {
      console.log(node.output().split("\n").filter((line) => /settlement|"level":[45]0/.test(line)).join("\n").slice(-8_000));
      // Locks per channel and how many channels hold each hashlock: pairs waiting for their other leg show as 1.
      const locks = await Promise.all(investors.map(async (who) => (await who.opened.client.channels()).find((c) => c.channelId === who.channelId)?.latest?.state.locks ?? []));
      const legs = new Map<string, number>();
      for (const hashlock of locks.flatMap((held) => [...new Set(held.map((lock) => lock.hashlock))])) legs.set(hashlock, (legs.get(hashlock) ?? 0) + 1);
      console.log(`locks per channel: ${locks.map((held) => held.length).join(", ")}; channels per hashlock: ${[...legs.values()].join(", ")}`);
      throw error;
    });
    const total = (await Promise.all(investors.map(fillsOf))).flat().length;
    expect(total).toBeGreaterThan(4);

    let venueSecurity = 0n;
    let venueCash = 0n;
    for (const who of investors) {
      await eventually(
        async () => (await who.opened.client.channels()).find((c) => c.channelId === who.channelId)?.latest?.state.locks.length ?? 0,
        (locks) => locks === 0,
        30_000,
      );
      // What its fills say it must hold: a buy brings the security and costs the notional, a sell the reverse.
      let security = START.security;
      let cash = START.cash;
      for (const fill of await fillsOf(who)) {
        const quantity = BigInt(fill.quantity);
        const notional = (quantity / LOT) * BigInt(fill.price);
        security += fill.side === "buy" ? quantity : -quantity;
        cash += fill.side === "buy" ? -notional : notional;
      }
      const [sec, csh] = await who.opened.client.balances(who.channelId);
      expect([sec!.me, csh!.me]).toEqual([security, cash]);
      // The channel holds what was deposited: the venue's side is the rest.
      expect([sec!.venue + sec!.me, csh!.venue + csh!.me]).toEqual([START.security + VENUE.security, START.cash + VENUE.cash]);
      venueSecurity += sec!.venue;
      venueCash += csh!.venue;
    }
    // The venue passes every leg on: over all channels it holds what it deposited.
    expect([venueSecurity, venueCash]).toEqual([4n * VENUE.security, 4n * VENUE.cash]);
  }, 300_000);
});
