// A fill's lock pair goes to the taker's channel first, to the maker's only once the taker's is agreed
// (channel-node/src/trading/settlement.ts): a taker that never answers (offline, or a client that
// ignores the venue) cannot hold the maker's lock slots until the fill's timeout — the maker's channel
// receives no proposal for the fill and holds no lock at any time. A taker that agrees is followed by
// the maker's pair and the fill settles; a fill whose taker pair was agreed before a restart goes on
// with the maker's after it. Real engine (MemoryStore), real desk with its LevelDB log and settlement
// store; the investors countersign every venue proposal unless silent.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { NobleSigner, nobleVerifier, stateDigest, stateFromJson, type Bytes32, type Channel, type StateJson } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type NodeMessage, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { ordersDomainOf, type Market } from "../../client/protocol/trading/index.js";
import { TradingClient } from "../../client/sdk/trading.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { ChannelEngine } from "../../channel-node/src/engine.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import type { Session } from "../../channel-node/src/transport.js";
import { CASH, FakeSession, SECURITY, keyOf, makeEngine, openFunded, venueSigner } from "../node/engine-harness.js";
import { deskOptions } from "./desk-options.js";

const LOT = 1_000n;
const MARKET: Market = { security: SECURITY, cash: CASH, lotSize: LOT };
const DOMAIN = ordersDomainOf(31_337n, "0x7000000000000000000000000000000000000007");
const ENOUGH = 1_000_000n;
const TIMEOUT_MS = 1_500;

/** An investor's session: countersigns every venue proposal at once, or none while `silent`. */
class Investor extends FakeSession {
  channel: Channel | undefined;
  silent = false;
  /** Disconnects once it agreed a lock pair. */
  leaveAfterPair = false;
  /** Called as a lock pair is proposed to it. */
  onLockPair: () => void = () => undefined;
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
    if ((message.state as unknown as StateJson).locks.length > 0) this.onLockPair();
    if (this.silent) return;
    setImmediate(() => {
      const state = stateFromJson(message.state as unknown as StateJson);
      const signature = this.signer.sign(stateDigest(state, this.channel!.domain));
      const accepted = { v: PROTOCOL_VERSION, type: "accepted", id: message.id, channelId: message.channelId, nonce: state.nonce.toString(), signature } as ClientMessage;
      void this.engine.onMessage(this, accepted).then(() => {
        if (this.leaveAfterPair && state.locks.length > 0) this.engine.onClosed(this);
      });
    });
  }
}

describe("a fill's lock pair is proposed to the taker first, to the maker once the taker's is agreed (real engine and desk)", () => {
  let dir: string | undefined;
  let log: LevelOrderLog | undefined;
  let desk: TradingDesk | undefined;
  let watch: NodeJS.Timeout | undefined;
  let n = 0;

  afterEach(async () => {
    clearInterval(watch);
    await desk?.close();
    await log?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    [dir, log, desk, watch] = [undefined, undefined, undefined, undefined];
  });

  async function market() {
    dir = mkdtempSync(join(tmpdir(), "clearline-settlement-taker-first-"));
    const store = new MemoryStore();
    const { engine, now } = makeEngine(store, { responseTimeoutMs: 1_000 });
    const maker = new Investor(1, new NobleSigner(keyOf(2)), engine);
    const taker = new Investor(2, new NobleSigner(keyOf(3)), engine);
    for (const investor of [maker, taker]) {
      engine.onAuthenticated(investor);
      investor.channel = await openFunded(engine, store, investor, [
        [ENOUGH, ENOUGH],
        [ENOUGH, ENOUGH],
      ]);
    }
    log = await LevelOrderLog.open(join(dir, "orders"));
    const settlementPath = join(dir, "settlements");
    const openDesk = async () => {
      desk = await TradingDesk.open(
        deskOptions(log!, {
          markets: [MARKET],
          signer: venueSigner,
          now: () => now.value,
          clock: () => Date.now(),
          fundsOf: () => ENOUGH,
          settlement: { channels: engine, bounds: { lockSeconds: 3_600n, timeoutMs: TIMEOUT_MS, intervalMs: 20 }, path: settlementPath },
        }),
      );
    };
    await openDesk();
    const trader = (investor: Investor) =>
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
            await desk!.onMessage(session, parseClientMessage(JSON.stringify(message)) as never);
            return JSON.parse(JSON.stringify(sent[0])) as NodeMessageParsed;
          },
        },
        DOMAIN,
      );
    /** The maker rests a sell of one lot, the taker buys it: one fill. */
    const trade = async (): Promise<bigint> => {
      const order = { ...MARKET, quantity: LOT, price: 100n };
      await trader(maker).placeOrder({ ...order, side: "sell", timeInForce: "GTC" });
      const { fills } = await trader(taker).placeOrder({ ...order, side: "buy", timeInForce: "IOC" });
      expect(fills).toHaveLength(1);
      return BigInt(fills[0]!.sequence);
    };
    const locksIn = (channelId: Bytes32) => engine.latest(channelId)!.state.locks.length;
    /** The most locks the channel's agreed state held at any check, every 5 ms from now on. */
    const mostLocks = (channelId: Bytes32) => {
      let most = locksIn(channelId);
      watch = setInterval(() => (most = Math.max(most, locksIn(channelId))), 5);
      return () => Math.max(most, locksIn(channelId));
    };
    const lockProposals = (investor: Investor) => investor.proposals().filter((p) => p.state.locks.length > 0);
    return { engine, maker, taker, trade, locksIn, mostLocks, lockProposals, openDesk, stageOf: (fill: bigint) => desk!.settlements!.stageOf(fill) };
  }

  it("a silent taker: the maker's channel never receives a proposal for the fill and holds no lock at any time", async () => {
    const { maker, taker, trade, mostLocks, lockProposals, stageOf } = await market();
    taker.silent = true;
    const most = mostLocks(maker.channel!.channelId);
    const fill = await trade();
    await vi.waitFor(() => expect(lockProposals(taker)).toHaveLength(1), { timeout: 3_000, interval: 20 });
    await vi.waitFor(() => expect(stageOf(fill)).toBe("failed"), { timeout: TIMEOUT_MS + 5_000, interval: 20 });
    // Ticks after the failure propose nothing to the maker either.
    await sleep(200);
    expect(maker.proposals()).toEqual([]);
    expect(most()).toBe(0);
  });

  it("a taker that agrees: the maker's pair follows and the fill settles", async () => {
    const { maker, taker, trade, locksIn, lockProposals, stageOf } = await market();
    // The taker's channel holds its agreed pair as the maker's is proposed.
    const takerLocksAtMakerPair: number[] = [];
    maker.onLockPair = () => takerLocksAtMakerPair.push(locksIn(taker.channel!.channelId));
    const fill = await trade();
    await vi.waitFor(() => expect(stageOf(fill)).toBe("settled"), { timeout: 5_000, interval: 20 });
    expect(lockProposals(taker)).toHaveLength(1);
    expect(lockProposals(maker)).toHaveLength(1);
    expect(takerLocksAtMakerPair).toEqual([2]);
    expect([locksIn(maker.channel!.channelId), locksIn(taker.channel!.channelId)]).toEqual([0, 0]);
  });

  it("after a restart, a fill whose taker pair was agreed goes on with the maker's", async () => {
    const { engine, maker, taker, trade, locksIn, lockProposals, openDesk, stageOf } = await market();
    taker.leaveAfterPair = true;
    engine.onClosed(maker);
    const fill = await trade();
    await vi.waitFor(() => expect(locksIn(taker.channel!.channelId)).toBe(2), { timeout: 3_000, interval: 20 });
    expect(stageOf(fill)).toBe("locking");
    await desk!.close();
    await openDesk();
    expect(stageOf(fill)).toBe("locking");
    engine.onAuthenticated(maker);
    await vi.waitFor(() => expect(lockProposals(maker)).toHaveLength(1), { timeout: 3_000, interval: 20 });
    await vi.waitFor(() => expect(locksIn(maker.channel!.channelId)).toBe(2), { timeout: 3_000, interval: 20 });
    // Both pairs agreed: the secret is used (the taker, away, resolves later).
    await vi.waitFor(() => expect(stageOf(fill)).toBe("revealed"), { timeout: 3_000, interval: 20 });
  });
});
