// A failed fill gives its lock slots back at once (channel-node/src/trading/settlement.ts): the taker
// refuses its lock pair, so the fill fails, and the venue cancels the maker's agreed pair
// (`cancelLockPair`) long before its expiry — the maker's channel holds no lock and exactly the
// balances it had before the fill. Also after the node restarts with the maker away at the failure,
// and never on an investor's own proposal. Real engine (MemoryStore), real desk with its LevelDB log
// and settlement store; each investor judges the venue's proposals with the core and the SDK's rule
// for what it countersigns unasked (client/sdk/venue-proposals.ts).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { NobleSigner, checkTransition, isProtocolError, nobleVerifier, stateDigest, stateFromJson, type Bytes32, type Channel, type StateJson } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, parseClientMessage, type ClientMessage, type NodeMessage, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { ordersDomainOf, type Market } from "../../client/protocol/trading/index.js";
import { checkVenueMayPropose } from "../../client/sdk/venue-proposals.js";
import { TradingClient } from "../../client/sdk/trading.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { ChannelEngine } from "../../channel-node/src/engine.js";
import { createMetrics, type NodeMetrics } from "../../channel-node/src/metrics.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import type { Session } from "../../channel-node/src/transport.js";
import { CASH, FakeSession, SECURITY, keyOf, makeEngine, openFunded, propose, venueSigner } from "../node/engine-harness.js";
import { deskOptions } from "./desk-options.js";

const LOT = 1_000n;
const MARKET: Market = { security: SECURITY, cash: CASH, lotSize: LOT };
const DOMAIN = ordersDomainOf(31_337n, "0x7000000000000000000000000000000000000007");
const ENOUGH = 1_000_000n;

/**
 * An investor's session: judges each venue proposal as its SDK does — the core recognises the update,
 * a lock pair is accepted, anything else by the SDK's unasked rule — and answers `accepted` or
 * `rejected`; it refuses the update kinds in `refuses`. `leaveAfterPair`: disconnects once it agreed a pair.
 */
class Investor extends FakeSession {
  channel: Channel | undefined;
  readonly refuses = new Set<string>();
  leaveAfterPair = false;
  readonly agreed: string[] = [];
  constructor(
    id: number,
    readonly signer: NobleSigner,
    private readonly engine: ChannelEngine,
    private readonly now: { value: bigint },
  ) {
    super(id, signer.address);
  }
  override send(message: NodeMessage): void {
    super.send(message);
    if (message.type === "propose") setImmediate(() => void this.answer(message));
  }
  private async answer(proposal: Extract<NodeMessage, { type: "propose" }>): Promise<void> {
    const channel = this.channel!;
    const state = stateFromJson(proposal.state as unknown as StateJson);
    const latest = this.engine.latest(channel.channelId)!.state;
    const reply = (body: object): Promise<void> => this.engine.onMessage(this, { v: PROTOCOL_VERSION, id: proposal.id, channelId: proposal.channelId, ...body } as ClientMessage);
    let kind: string;
    try {
      const update = checkTransition(channel, latest, state, { facts: { deposits: this.engine.record(channel.channelId)!.deposits, now: this.now.value } });
      kind = update.kind;
      if (this.refuses.has(update.kind)) throw Object.assign(new Error(`refuses ${update.kind}`), { code: "INVALID_UPDATE" });
      if (update.kind !== "addLockPair") checkVenueMayPropose(update, { latest, proposed: state, ownProposalInFlight: false });
    } catch (error) {
      if (!isProtocolError(error) && !(error instanceof Error && "code" in error)) throw error;
      return reply({ type: "rejected", code: (error as { code: string }).code, message: (error as Error).message });
    }
    await reply({ type: "accepted", nonce: state.nonce.toString(), signature: this.signer.sign(stateDigest(state, channel.domain)) });
    this.agreed.push(kind);
    if (kind === "addLockPair" && this.leaveAfterPair) this.engine.onClosed(this);
  }
}

describe("a failed fill's lock pairs are cancelled at once (real engine and desk)", () => {
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

  async function market() {
    dir = mkdtempSync(join(tmpdir(), "clearline-settlement-cancel-"));
    const store = new MemoryStore();
    const { engine, now } = makeEngine(store, { responseTimeoutMs: 2_000 });
    const maker = new Investor(1, new NobleSigner(keyOf(2)), engine, now);
    const taker = new Investor(2, new NobleSigner(keyOf(3)), engine, now);
    for (const investor of [maker, taker]) {
      engine.onAuthenticated(investor);
      investor.channel = await openFunded(engine, store, investor, [
        [ENOUGH, ENOUGH],
        [ENOUGH, ENOUGH],
      ]);
    }
    log = await LevelOrderLog.open(join(dir, "orders"));
    const settlementPath = join(dir, "settlements");
    const openDesk = async (metrics: NodeMetrics) => {
      desk = await TradingDesk.open(
        deskOptions(log!, {
          markets: [MARKET],
          signer: venueSigner,
          now: () => now.value,
          clock: () => Date.now(),
          fundsOf: () => ENOUGH,
          metrics,
          settlement: { channels: engine, bounds: { lockSeconds: 3_600n, timeoutMs: 30_000, intervalMs: 50 }, path: settlementPath },
        }),
      );
      return desk;
    };
    const metrics = createMetrics();
    await openDesk(metrics);
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
    /** The maker rests a sell of one lot, the taker buys it: one fill, settled in the maker's channel first. */
    const trade = async (): Promise<bigint> => {
      const order = { ...MARKET, quantity: LOT, price: 100n };
      await trader(maker).placeOrder({ ...order, side: "sell", timeInForce: "GTC" });
      const { fills } = await trader(taker).placeOrder({ ...order, side: "buy", timeInForce: "IOC" });
      expect(fills).toHaveLength(1);
      return BigInt(fills[0]!.sequence);
    };
    const makerChannel = maker.channel!.channelId;
    const view = (channelId: Bytes32) => ({ locks: engine.latest(channelId)!.state.locks.length, balances: engine.balances(channelId), nets: engine.latest(channelId)!.state.allocations.map((a) => a.net) });
    const cancels = async () => (await metrics.registry.getSingleMetric("clearline_fill_lock_pair_cancels_total")!.get()).values.map((v) => [v.labels.outcome, v.value]);
    return { engine, store, maker, taker, trade, makerChannel, view, cancels, openDesk, stageOf: (fill: bigint) => desk!.settlements!.stageOf(fill) };
  }

  it("the taker refuses its pair: the maker's channel gets its two lock slots back within seconds, balances exactly as before the fill", async () => {
    const { maker, taker, trade, makerChannel, view, cancels, stageOf } = await market();
    taker.refuses.add("addLockPair");
    const before = view(makerChannel);
    const fill = await trade();
    await vi.waitFor(() => expect(maker.agreed).toContain("addLockPair"), { timeout: 5_000, interval: 20 });
    await vi.waitFor(() => expect(stageOf(fill)).toBe("failed"), { timeout: 5_000, interval: 20 });
    await vi.waitFor(() => expect(view(makerChannel)).toEqual(before), { timeout: 3_000, interval: 20 });
    expect(maker.agreed).toEqual(["addLockPair", "cancelLockPair"]);
    expect(view(taker.channel!.channelId).locks).toBe(0);
    expect(await cancels()).toEqual([["cancelled", 1]]);
  });

  it("cancels after a restart a pair the maker, away when the fill failed, still holds", async () => {
    const { engine, maker, taker, trade, makerChannel, view, cancels, openDesk, stageOf } = await market();
    taker.refuses.add("addLockPair");
    maker.leaveAfterPair = true;
    const before = view(makerChannel);
    const fill = await trade();
    await vi.waitFor(() => expect(stageOf(fill)).toBe("failed"), { timeout: 5_000, interval: 20 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(view(makerChannel).locks).toBe(2);
    expect(await cancels()).toEqual([]);
    await desk!.close();
    const metrics = createMetrics();
    await openDesk(metrics);
    expect(stageOf(fill)).toBe("failed");
    engine.onAuthenticated(maker);
    await vi.waitFor(() => expect(view(makerChannel)).toEqual(before), { timeout: 3_000, interval: 20 });
    expect(maker.agreed).toEqual(["addLockPair", "cancelLockPair"]);
    expect((await metrics.registry.getSingleMetric("clearline_fill_lock_pair_cancels_total")!.get()).values.map((v) => [v.labels.outcome, v.value])).toEqual([["cancelled", 1]]);
  });

  it("proposes a cancel the maker refuses once: the pair stays until its expiry", async () => {
    const { maker, taker, trade, makerChannel, view, cancels, stageOf } = await market();
    taker.refuses.add("addLockPair");
    maker.refuses.add("cancelLockPair");
    const fill = await trade();
    await vi.waitFor(() => expect(stageOf(fill)).toBe("failed"), { timeout: 5_000, interval: 20 });
    await vi.waitFor(async () => expect(await cancels()).toEqual([["refused", 1]]), { timeout: 3_000, interval: 20 });
    // Ten ticks later: proposed no more.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(maker.proposals().filter((p) => p.state.locks.length === 0)).toHaveLength(1);
    expect(await cancels()).toEqual([["refused", 1]]);
    expect(view(makerChannel).locks).toBe(2);
  });

  it("refuses an investor's own cancel of its pair (LOCK_ACTIVE): only the venue cancels, a failed fill's", async () => {
    const { engine, maker, taker, trade, makerChannel, view, stageOf } = await market();
    taker.refuses.add("addLockPair");
    // The taker never answers: the fill stays locking (timeout 30 s) with the maker's pair agreed.
    taker.send = (message: NodeMessage) => void taker.sent.push(message);
    const fill = await trade();
    await vi.waitFor(() => expect(view(makerChannel).locks).toBe(2), { timeout: 5_000, interval: 20 });
    const latest = engine.latest(makerChannel)!.state;
    const hashlock = latest.locks[0]!.hashlock;
    const { message } = propose(maker.channel!, latest, { kind: "cancelLockPair", hashlock }, maker.signer, "c1");
    await engine.onMessage(maker, message);
    expect(maker.sent.filter((m) => m.type === "rejected").map((m) => (m as { code: string }).code)).toEqual(["LOCK_ACTIVE"]);
    expect(view(makerChannel).locks).toBe(2);
    expect(stageOf(fill)).toBe("locking");
  });
});
