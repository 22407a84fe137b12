// A fill's lock pair proposed while the investor's chain RPC is down (client/sdk/venue-countersign.ts,
// docs/sdk.md "A venue proposal that cannot be judged"): Bob's SDK reads its channel's deposits from
// the chain to judge the pair, through a proxy on 127.0.0.1 that drops every request while "down".
// Down for about a second: the SDK judges the pair again, countersigns it and the fill settles long
// before the settlement's timeout. Down for good: the SDK refuses the pair UNAVAILABLE within its
// retry budget, the fill fails at once (not at the timeout), and with the chain back the next trade
// in the same channel settles (the venue is not left BUSY). Real chain, real node process, real SDK
// clients (LevelDB stores).
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openClient, type ClientEvent, type OpenedClient } from "../../client/sdk/index.js";
import { VENUE_PROPOSAL_RETRY } from "../../client/sdk/venue-countersign.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { adminPost, eventually } from "../helpers/node-process.js";
import { startVenue, type Venue, type VenueInvestor } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;
/** A fill whose pairs are not agreed by then fails. */
const SETTLEMENT_TIMEOUT_MS = 15_000;

/** An HTTP proxy to the chain's RPC that, while `down`, drops every request unanswered. */
async function chainProxy(target: string): Promise<{ url: string; down: boolean; server: Server }> {
  const proxy = { url: "", down: false, server: undefined as unknown as Server };
  proxy.server = createServer((request, response) => {
    if (proxy.down) {
      request.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) })
        .then(async (answer) => response.writeHead(answer.status, { "content-type": "application/json" }).end(await answer.text()))
        .catch(() => request.socket.destroy());
    });
  });
  await new Promise<void>((resolve) => proxy.server.listen(0, "127.0.0.1", resolve));
  const address = proxy.server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no port");
  proxy.url = `http://127.0.0.1:${address.port}`;
  return proxy;
}

describe("a fill's lock pair proposed while the investor's chain RPC is down", () => {
  let venue: Venue;
  let proxy: Awaited<ReturnType<typeof chainProxy>>;
  let bobOpened: OpenedClient | undefined;
  const bobEvents: ClientEvent[] = [];

  beforeEach(async () => {
    bobEvents.length = 0;
    venue = await startVenue();
    await venue.startNode({ trading: { orderRate: { perSecond: 1_000, burst: 1_000 }, cancelOnDisconnect: false, settlement: { lockSeconds: 3_600, timeoutMs: SETTLEMENT_TIMEOUT_MS, intervalMs: 200 } } });
    proxy = await chainProxy(venue.stack.chain.url);
  });

  afterEach(async () => {
    await bobOpened?.close();
    bobOpened = undefined;
    await new Promise((resolve) => proxy?.server.close(resolve));
    await venue?.stop();
  });

  /** Alice (fixture client) with 10 securities and the venue's 1,000 cash; Bob, whose SDK reads the chain through the proxy, with 1,000 cash and the venue's 10 securities. */
  async function investors(): Promise<[VenueInvestor, VenueInvestor]> {
    const alice = await venue.investor({ role: ROLES.alice, own: [{ assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }], venue: [{ assetIndex: CASH, amount: price(1_000n) }] });
    const opened = await openClient({
      nodeUrl: venue.node.url,
      privateKey: devWallet(ROLES.bob).privateKey,
      rpcUrl: proxy.url,
      adjudicator: venue.stack.addresses.adjudicator,
      dataDir: join(venue.dir, "bob"),
      responseTimeoutMs: 5_000,
      onEvent: (event) => bobEvents.push(event),
    });
    bobOpened = opened;
    await opened.client.connect();
    const channelId = await opened.client.openChannel({ assets: [venue.stack.addresses.token, venue.stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: price(1_000n) } });
    await adminPost(venue.node, `/channels/${channelId}/deposit?asset=${SECURITY}&amount=${10n * SECURITY_UNIT}`);
    return [alice, { role: ROLES.bob, opened, trading: opened.client.trading(venue.stack.addresses.orderLogAnchor), channelId }];
  }

  const market = () => ({ security: venue.stack.addresses.token, cash: venue.stack.addresses.cash, lotSize: LOT });
  const fillStates = async (who: VenueInvestor): Promise<string[]> => (await who.trading.myTrading()).fills.map((f) => f.state);

  /** Bob's resting buy of one lot, then (the proxy down for `outageMs`, or for good) Alice's sell that fills it: the venue proposes both their pairs. */
  async function trade(alice: VenueInvestor, bob: VenueInvestor, outageMs: number | "forever"): Promise<number> {
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(100n), timeInForce: "GTC" });
    proxy.down = outageMs !== 0;
    const started = Date.now();
    if (outageMs !== "forever") setTimeout(() => (proxy.down = false), outageMs);
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(100n), timeInForce: "IOC" });
    return started;
  }

  it("down for about a second: the pair is judged again and countersigned, the fill settles well before its timeout", async () => {
    const [alice, bob] = await investors();
    const started = await trade(alice, bob, 1_000);
    await eventually(() => fillStates(bob), (states) => states.length > 0 && !states.includes("matched"), SETTLEMENT_TIMEOUT_MS + 10_000);
    expect(await fillStates(bob)).toEqual(["settled"]);
    expect(Date.now() - started).toBeLessThan(SETTLEMENT_TIMEOUT_MS / 2);
    await eventually(() => fillStates(alice), (states) => states.join() === "settled", 10_000);
    expect(bobEvents.some((e) => e.type === "venueProposalRetry" && e.channelId === bob.channelId)).toBe(true);
    expect(bobEvents.some((e) => e.type === "venueProposalRefused")).toBe(false);
    expect((await bob.opened.client.balances(bob.channelId)).map((b) => b.me)).toEqual([LOT, price(900n)]);
  });

  it("down for good: refused UNAVAILABLE within the retry budget, the fill fails at once, and with the chain back the next trade settles", async () => {
    const [alice, bob] = await investors();
    const started = await trade(alice, bob, "forever");
    await eventually(() => fillStates(bob), (states) => states.length > 0 && !states.includes("matched"), SETTLEMENT_TIMEOUT_MS + 10_000);
    expect(await fillStates(bob)).toEqual(["failed"]);
    expect(Date.now() - started).toBeLessThan(VENUE_PROPOSAL_RETRY.budgetMs + 4_000);
    expect(bobEvents.find((e) => e.type === "venueProposalRefused")).toMatchObject({ channelId: bob.channelId, code: "UNAVAILABLE" });

    proxy.down = false;
    await trade(alice, bob, 0);
    await eventually(() => fillStates(bob), (states) => states.includes("settled"), 20_000);
    expect((await fillStates(bob)).sort()).toEqual(["failed", "settled"]);
  });
});
