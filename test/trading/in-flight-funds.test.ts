// A payment being persisted and an order being taken cannot both spend the same funds
// (channel-node/src/trading/reservations.ts, InFlightFunds; countersign.ts): the real engine on a
// store whose writes are held at will, the real desk on its LevelDB log, the node's accounting
// available = balance − reservations − in flight on both sides. While the investor's payment of 700
// of its 1,000 cash waits for its write, an order committing 500 is INSUFFICIENT_FUNDS; once it is
// agreed, an order of what is left passes. The other way round: an order resting leaves a payment
// only the rest, and two payments in two channels in flight at once cannot both take it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NobleSigner, genesisState, type SignedState } from "../../client/protocol/index.js";
import type { UpdateSummary } from "../../client/store/store.js";
import { PROTOCOL_VERSION, parseClientMessage, type NodeMessage } from "../../client/protocol/wire.js";
import { ordersDomainOf, signOrder, type Order } from "../../client/protocol/trading/order.js";
import { signedOrderToJson } from "../../client/protocol/trading/order-json.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import { InFlightFunds, availableFundsOf } from "../../channel-node/src/trading/reservations.js";
import type { Session } from "../../channel-node/src/transport.js";
import { CASH, FakeSession, SECURITY, START, keyOf, makeEngine, openFunded, paramsFor, pay, propose, type Harness } from "../node/engine-harness.js";
import { deskOptions } from "./desk-options.js";

const investor = new NobleSigner(keyOf(2));
const DOMAIN = ordersDomainOf(31337n, "0x7000000000000000000000000000000000000007");
const MARKET = { security: SECURITY, cash: CASH, lotSize: 1n };

/** A MemoryStore whose agreed states wait for `gate` while it is set (a slow fsync). */
class HeldStore extends MemoryStore {
  gate: Promise<void> | undefined;
  override async stateAgreed(channelId: string, signed: SignedState, update: UpdateSummary): Promise<void> {
    await this.gate;
    return super.stateAgreed(channelId, signed, update);
  }
}

describe("a payment in flight and an order's funds (real engine, real desk)", () => {
  let dir: string;
  let log: LevelOrderLog;
  let store: HeldStore;
  let harness: Harness;
  let desk: TradingDesk;
  let session: FakeSession;
  let nonce = 0n;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-in-flight-"));
    log = await LevelOrderLog.open(join(dir, "orders"));
    store = new HeldStore();
    const inFlight = new InFlightFunds();
    harness = makeEngine(store, { reservedOf: (who, token) => desk.reservedOf(who, token), inFlight });
    desk = await TradingDesk.open(
      deskOptions(log, {
        markets: [MARKET],
        signer: new NobleSigner(keyOf(1)),
        now: () => START,
        fundsOf: (who, token) => availableFundsOf(harness.engine, inFlight, who, token),
      }),
    );
    session = new FakeSession(1, investor.address);
    harness.engine.onAuthenticated(session);
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A buy of `quantity` security units at 1 cash each: it commits `quantity` cash. */
  async function buy(quantity: bigint): Promise<NodeMessage> {
    nonce += 1n;
    const order: Order = { investor: investor.address, ...MARKET, side: "buy", quantity, price: 1n, timeInForce: "GTC", expiresAt: 0n, clientOrderId: `0x${"00".repeat(32)}`, nonce };
    const sent: NodeMessage[] = [];
    const desks: Session = { id: 1, address: investor.address, send: (m) => void sent.push(m), close: () => undefined };
    await desk.onMessage(desks, parseClientMessage(JSON.stringify({ v: PROTOCOL_VERSION, type: "order", id: `o${nonce}`, signed: signedOrderToJson(signOrder(order, DOMAIN, investor)) })) as never);
    return sent[0]!;
  }

  const answerTo = (id: string): NodeMessage | undefined => session.sent.find((m) => "id" in m && m.id === id && (m.type === "accepted" || m.type === "rejected"));

  it("an order checked while a payment is being written sees the payment: INSUFFICIENT_FUNDS for what it spends, the rest passes", async () => {
    const channel = await openFunded(harness.engine, store, session, [[0n, 0n], [0n, 1_000n]]);
    let release!: () => void;
    store.gate = new Promise((resolve) => (release = resolve));
    const payment = harness.engine.onMessage(session, propose(channel, genesisState(channel).state, pay(1, 1, 700n), investor, "p1").message);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the payment is now waiting for its write
    expect(answerTo("p1")).toBeUndefined();
    expect(await buy(500n)).toMatchObject({ type: "order_refused", code: "INSUFFICIENT_FUNDS" });
    release();
    store.gate = undefined;
    await payment;
    expect(answerTo("p1")).toMatchObject({ type: "accepted" });
    expect(await buy(300n)).toMatchObject({ type: "order_accepted" });
    expect(await buy(1n)).toMatchObject({ type: "order_refused", code: "INSUFFICIENT_FUNDS" });
  });

  it("two payments in two channels in flight at once cannot both spend what is not reserved", async () => {
    const first = await openFunded(harness.engine, store, session, [[0n, 0n], [0n, 600n]]);
    const second = await openFunded(harness.engine, store, session, [[0n, 0n], [0n, 600n]], paramsFor(investor.address));
    expect(await buy(700n)).toMatchObject({ type: "order_accepted" }); // 500 of the 1,200 are free
    let release!: () => void;
    store.gate = new Promise((resolve) => (release = resolve));
    const one = harness.engine.onMessage(session, propose(first, genesisState(first).state, pay(1, 1, 400n), investor, "p1").message);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await harness.engine.onMessage(session, propose(second, genesisState(second).state, pay(1, 1, 400n), investor, "p2").message);
    expect(answerTo("p2")).toMatchObject({ type: "rejected", code: "FUNDS_RESERVED" });
    release();
    store.gate = undefined;
    await one;
    expect(answerTo("p1")).toMatchObject({ type: "accepted" });
  });
});
