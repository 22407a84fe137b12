// The SDK judges lock expiries by the chain's time, like the venue's node and the adjudicator
// (client/sdk/chain-time.ts): on a real Hardhat chain moved 31 days ahead of the host's clock
// (evm_increaseTime) — beyond MAX_LOCK_DURATION, so by the host's clock every lock the venue draws
// would lie too far ahead — a fill settles in both channels, and a failed fill's pair expires back
// to the seller as soon as the chain's time passes its expiry. Real node process, real SDK clients.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_LOCK_DURATION } from "../../client/protocol/index.js";
import { openClient, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminPost, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const SECURITY = 0;
const CASH = 1;
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;
const AHEAD = MAX_LOCK_DURATION + 86_400n;

interface Investor {
  readonly opened: OpenedClient;
  readonly trading: TradingClient;
  readonly channelId: string;
}

describe("lock expiries by the chain's time (chain 31 days ahead of the host)", () => {
  let stack: Stack;
  let dir: string;
  let provider: JsonRpcProvider;
  let node: NodeProcess;
  const clients: OpenedClient[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-chain-time-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob, securities: 0n }] });
    provider = new JsonRpcProvider(stack.chain.url);
    await passTime(AHEAD);
    node = await startNodeProcess(
      stack.nodeConfig({
        dataDir: join(dir, "node"),
        port: 0,
        trading: {
          orderLogAnchor: stack.addresses.orderLogAnchor,
          markets: [{ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT.toString() }],
          maxRestingOrdersPerInvestor: 10,
          orderRate: { perSecond: 1_000, burst: 1_000 },
          maxOrdersPerBook: 1_000,
          cancelOnDisconnect: false,
          anchorIntervalMs: 0,
          settlement: { lockSeconds: 60, timeoutMs: 3_000, intervalMs: 200 },
        },
      }),
      dir,
    );
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    await node.stop();
    provider.destroy();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function passTime(seconds: bigint): Promise<void> {
    await provider.send("evm_increaseTime", [Number(seconds)]);
    await provider.send("evm_mine", []);
  }

  async function investor(role: number, own: { assetIndex: number; amount: bigint }, venue: { assetIndex: number; amount: bigint }): Promise<Investor> {
    const opened = await openClient({
      nodeUrl: node.url,
      privateKey: devWallet(role).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, "client"),
      responseTimeoutMs: 5_000,
    });
    clients.push(opened);
    await opened.client.connect();
    const channelId = await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: own });
    await adminPost(node, `/channels/${channelId}/deposit?asset=${venue.assetIndex}&amount=${venue.amount}`);
    return { opened, trading: opened.client.trading(stack.addresses.orderLogAnchor), channelId };
  }

  const market = () => ({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT });
  const balances = async (who: Investor): Promise<[bigint, bigint][]> => (await who.opened.client.balances(who.channelId)).map((b) => [b.venue, b.me]);
  const locksOf = async (who: Investor): Promise<number> => (await who.opened.client.channels()).find((c) => c.channelId === who.channelId)?.latest?.state.locks.length ?? 0;
  const fillStates = async (who: Investor): Promise<string[]> => (await who.trading.myTrading()).fills.map((f) => f.state);

  it("a fill's pairs, whose expiry lies beyond MAX_LOCK_DURATION by the host's clock, are agreed and the fill settles", async () => {
    const alice = await investor(ROLES.alice, { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }, { assetIndex: CASH, amount: price(1_000n) });
    const bob = await investor(ROLES.bob, { assetIndex: CASH, amount: price(1_000n) }, { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT });
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
    const alice = await investor(ROLES.alice, { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT }, { assetIndex: CASH, amount: price(1_000n) });
    const bob = await investor(ROLES.bob, { assetIndex: CASH, amount: price(1_000n) }, { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT });
    await bob.trading.placeOrder({ ...market(), side: "buy", quantity: 2n * LOT, price: price(100n), timeInForce: "GTC" });
    await bob.opened.client.disconnect();
    await alice.trading.placeOrder({ ...market(), side: "sell", quantity: 2n * LOT, price: price(100n), timeInForce: "IOC" });
    await eventually(() => locksOf(alice), (n) => n === 2, 20_000);
    await eventually(() => fillStates(alice), (states) => states.join() === "failed", 20_000);

    // 60 s locks: two minutes of chain time later the venue expires the pair, and Alice's SDK agrees.
    await passTime(120n);
    await eventually(() => locksOf(alice), (n) => n === 0, 30_000);
    expect(await balances(alice)).toEqual([
      [0n, 10n * SECURITY_UNIT],
      [price(1_000n), 0n],
    ]);
  });
});
