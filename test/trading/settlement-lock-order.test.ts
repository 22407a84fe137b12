// Fills of opposite directions between the same two channels (channel-node/src/trading/settlement.ts):
// a channel holds at most 4 lock pairs, and a fill holds its first pair while it waits for its second.
// Alice sells 4 lots to Bob (each fill proposed in her channel first) and buys 4 from him (each
// proposed in his first) while both are slow to answer: added in any order, her channel fills with
// the pairs of her sells, his with those of his, and all 8 fills wait for each other until the
// timeout. Each channel taking pairs in log order, the next fill in line proposing as soon as a pair
// is agreed, settles them all. Real engine (MemoryStore), real
// desk with its LevelDB log and settlement store; the investors countersign every venue proposal.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { NobleSigner, nobleVerifier, stateDigest, stateFromJson, type Channel, type StateJson } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type NodeMessage, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { ordersDomainOf, type Market } from "../../client/protocol/trading/index.js";
import { TradingClient } from "../../client/sdk/trading.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { ChannelEngine } from "../../channel-node/src/engine.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import type { Settlements } from "../../channel-node/src/trading/settlement.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import type { Session } from "../../channel-node/src/transport.js";
import { CASH, FakeSession, SECURITY, keyOf, makeEngine, openFunded, venueSigner } from "../node/engine-harness.js";
import { deskOptions } from "./desk-options.js";

const LOT = 1_000n;
const MARKET: Market = { security: SECURITY, cash: CASH, lotSize: LOT };
const DOMAIN = ordersDomainOf(31_337n, "0x7000000000000000000000000000000000000007");
const ENOUGH = 1_000_000n;

/** An investor's session with the engine: countersigns every venue proposal, but holds them while `slow`. */
class Countersigner extends FakeSession {
  readonly channels = new Map<string, Channel>();
  private held: Extract<NodeMessage, { type: "propose" }>[] = [];
  private slow = true;
  constructor(
    id: number,
    readonly signer: NobleSigner,
    private readonly engine: ChannelEngine,
  ) {
    super(id, signer.address);
  }
  override send(message: NodeMessage): void {
    super.send(message);
    if (message.type !== "propose") return;
    this.held.push(message);
    if (!this.slow) setImmediate(() => this.answerHeld());
  }
  /** Answers what is held, and from now on every proposal as it comes. */
  answerHeld(): void {
    this.slow = false;
    for (const proposal of this.held.splice(0)) {
      const state = stateFromJson(proposal.state as unknown as StateJson);
      const signature = this.signer.sign(stateDigest(state, this.channels.get(proposal.channelId)!.domain));
      const accepted = { v: PROTOCOL_VERSION, type: "accepted", id: proposal.id, channelId: proposal.channelId, nonce: state.nonce.toString(), signature } as ClientMessage;
      void this.engine.onMessage(this, accepted);
    }
  }
}

describe("settlement of fills in both directions between two channels (real engine and desk)", () => {
  let dir: string | undefined;
  let log: LevelOrderLog | undefined;
  let desk: TradingDesk | undefined;
  let n = 0;

  afterEach(async () => {
    await desk?.close();
    await log?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    [dir, log, desk] = [undefined, undefined, undefined];
  });

  /**
   * Two funded channels at the engine and the desk settling fills in them, driven every `intervalMs`;
   * Alice has 4 sells at 100 and 4 buys at 90 resting, and Bob takes them all while neither answers
   * the venue yet: 8 fills, 4 each way. Returns the fills' stages, and lets both investors answer.
   */
  async function crossedFills(intervalMs: number): Promise<{ stages: () => (string | undefined)[]; answer: () => void; settlements: Settlements }> {
    dir = mkdtempSync(join(tmpdir(), "clearline-settlement-order-"));
    const store = new MemoryStore();
    const { engine, now } = makeEngine(store, { responseTimeoutMs: 5_000 });
    const alice = new Countersigner(1, new NobleSigner(keyOf(2)), engine);
    const bob = new Countersigner(2, new NobleSigner(keyOf(3)), engine);
    for (const investor of [alice, bob]) {
      engine.onAuthenticated(investor);
      const channel = await openFunded(engine, store, investor, [
        [ENOUGH, ENOUGH],
        [ENOUGH, ENOUGH],
      ]);
      investor.channels.set(channel.channelId, channel);
    }
    log = await LevelOrderLog.open(join(dir, "orders"));
    const opened = await TradingDesk.open(
      deskOptions(log, {
        markets: [MARKET],
        signer: venueSigner,
        now: () => now.value,
        clock: () => Date.now(),
        fundsOf: () => ENOUGH,
        settlement: { channels: engine, bounds: { lockSeconds: 3_600n, timeoutMs: 10_000, intervalMs }, path: join(dir, "settlements") },
      }),
    );
    desk = opened;
    const trader = (investor: Countersigner) =>
      new TradingClient(
        {
          signer: investor.signer,
          verifier: nobleVerifier,
          venue: () => venueSigner.address,
          newId: () => `r${++n}`,
          approveFills: () => undefined,
          async request(message) {
            const sent: NodeMessage[] = [];
            const session: Session = { id: investor.id, address: investor.address, send: (m) => void sent.push(m), close: () => undefined };
            await opened.onMessage(session, parseClientMessage(JSON.stringify(message)) as never);
            return JSON.parse(JSON.stringify(sent[0])) as NodeMessageParsed;
          },
        },
        DOMAIN,
      );
    const order = { ...MARKET, quantity: LOT };
    for (let i = 0; i < 4; i++) {
      await trader(alice).placeOrder({ ...order, side: "sell", price: 100n, timeInForce: "GTC" });
      await trader(alice).placeOrder({ ...order, side: "buy", price: 90n, timeInForce: "GTC" });
    }
    const bought = await trader(bob).placeOrder({ ...order, quantity: 4n * LOT, side: "buy", price: 100n, timeInForce: "IOC" });
    const sold = await trader(bob).placeOrder({ ...order, quantity: 4n * LOT, side: "sell", price: 90n, timeInForce: "IOC" });
    const fills = [...bought.fills, ...sold.fills].map((fill) => BigInt(fill.sequence));
    expect(fills).toHaveLength(8);
    const settlements = opened.settlements!;
    const stages = () => fills.map((fill) => settlements.stageOf(fill));
    await vi.waitFor(() => expect(stages()).toEqual(fills.map(() => "locking")));
    // Every fill's first drive has begun (a fill whose secret a tick drew is driven at the next tick).
    if (intervalMs < 1_000) await sleep(3 * intervalMs);
    return {
      stages,
      settlements,
      answer: () => {
        alice.answerHeld();
        bob.answerHeld();
      },
    };
  }

  it("settles every fill well within the timeout: each channel takes the lock pairs in log order", async () => {
    const { stages, answer } = await crossedFills(50);
    answer();
    // In any order, Alice's channel fills with her sells' pairs and Bob's with his: every fill stays "locking" until the timeout (10 s).
    await vi.waitFor(() => expect(stages()).toEqual(stages().map(() => "settled")), { timeout: 5_000, interval: 50 });
  });

  it("agrees every pair without waiting for the drive interval: a pair agreed lets the next fill in line propose", async () => {
    const { stages, answer, settlements } = await crossedFills(60_000);
    answer();
    await vi.waitFor(() => expect(stages().filter((stage) => stage !== "revealed" && stage !== "settled")).toEqual([]), { timeout: 5_000, interval: 50 });
    // Drives that see the resolved pairs gone are the interval's.
    await vi.waitFor(
      () => {
        settlements.tick();
        expect(stages()).toEqual(stages().map(() => "settled"));
      },
      { timeout: 5_000, interval: 50 },
    );
  });
});
