// Many concurrent orders from four investors through the venue's book, every fill settled in the
// channels (real node process, real chain, real SDK clients): afterwards each investor's holdings in
// its channel are exactly its starting holdings plus its fills, and the venue's holdings over all
// channels are unchanged — nothing created, nothing lost, no leg without the other.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openClient, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminPost, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const START = { security: 20n * SECURITY_UNIT, cash: 5_000n * CASH_UNIT };
/** The venue's deposit in each channel: enough to pass on every leg (24 securities is the most one investor can buy here). */
const VENUE = { security: 30n * SECURITY_UNIT, cash: 5_000n * CASH_UNIT };

interface Investor {
  readonly opened: OpenedClient;
  readonly trading: TradingClient;
  readonly channelId: string;
}

/** A deterministic pseudo-random sequence (the test must be repeatable). */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    return x / 2_147_483_648;
  };
}

describe("settlement under concurrent orders (real node process, four SDK clients)", () => {
  let stack: Stack;
  let dir: string;
  let node: NodeProcess;
  const clients: OpenedClient[] = [];
  const roles = [ROLES.alice, ROLES.bob, ROLES.carol, ROLES.dave];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-fill-load-"));
    stack = await startStack({ investors: roles.map((index) => ({ index })) });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await node?.stop();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function investor(role: number): Promise<Investor> {
    const opened = await openClient({
      nodeUrl: node.url,
      privateKey: devWallet(role).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, "client"),
      responseTimeoutMs: 10_000,
    });
    clients.push(opened);
    await opened.client.connect();
    const channelId = await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: START.security } });
    await opened.client.deposit(channelId, CASH, START.cash);
    // The venue's legs: security to a buyer, cash to a seller.
    await adminPost(node, `/channels/${channelId}/deposit?asset=${SECURITY}&amount=${VENUE.security}`);
    await adminPost(node, `/channels/${channelId}/deposit?asset=${CASH}&amount=${VENUE.cash}`);
    return { opened, trading: opened.client.trading(stack.addresses.orderLogAnchor), channelId };
  }

  it("conserves every party's holdings except the fills, and settles every fill", async () => {
    const config = stack.nodeConfig({
      dataDir: join(dir, "node"),
      port: 0,
      trading: {
        orderLogAnchor: stack.addresses.orderLogAnchor,
        markets: [{ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT.toString() }],
        maxRestingOrdersPerInvestor: 100,
        orderRate: { perSecond: 1_000, burst: 1_000 },
        maxOrdersPerBook: 1_000,
        cancelOnDisconnect: true,
        anchorIntervalMs: 0,
        settlement: { lockSeconds: 3_600, timeoutMs: 120_000, intervalMs: 200 },
      },
    });
    node = await startNodeProcess(config, dir);
    const investors: Investor[] = [];
    for (const role of roles) investors.push(await investor(role));

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
    ).catch((error: unknown) => {
      console.log(node.output().split("\n").filter((line) => /settlement|"level":[45]0/.test(line)).join("\n").slice(-8_000));
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
