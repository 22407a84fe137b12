// The venue's channel engine with an in-memory store and in-process sessions: the ordering rules
// (persist before countersigning, strictly sequential updates, simultaneous proposals), routing,
// prices, resync, and that refusals change nothing.
import { beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { HDNodeWallet, Mnemonic, getAddress, hexlify, randomBytes } from "ethers";
import { ChannelEngine } from "../../channel-node/src/engine.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import type { Session } from "../../channel-node/src/transport.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { ChannelStore } from "../../client/store/store.js";
import {
  NobleSigner,
  applyUpdate,
  channelOf,
  emptyComplianceFacts,
  genesisState,
  nobleVerifier,
  stateDigest,
  type Channel,
  stateFromJson,
  type Params,
  type State,
  type StateJson,
  type Update,
} from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage, type NodeMessage } from "../../client/protocol/wire.js";

const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const key = (i: number) => HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${i}`).privateKey;
const venueSigner = new NobleSigner(key(1));
const aliceSigner = new NobleSigner(key(2));
const bobSigner = new NobleSigner(key(3));
const deployment = { chainId: 31337n, adjudicator: getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3") };
const SECURITY = getAddress("0x8a791620dd6260079bf849dc5567adc3f2fdc318");
const CASH = getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");

/** A session whose sent messages are collected; `reply` lets the test answer venue proposals. */
class FakeSession implements Session {
  readonly sent: NodeMessage[] = [];
  private waiters: ((m: NodeMessage) => void)[] = [];
  constructor(
    readonly id: number,
    readonly address: string,
    private readonly log: string[],
  ) {}
  send(message: NodeMessage): void {
    this.log.push(`send:${message.type}`);
    this.sent.push(message);
    for (const waiter of this.waiters.splice(0)) waiter(message);
  }
  close(): void {}
  next(type: NodeMessage["type"]): Promise<NodeMessage> {
    const found = this.sent.find((m) => m.type === type);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const wait = (m: NodeMessage) => (m.type === type ? resolve(m) : this.waiters.push(wait));
      this.waiters.push(wait);
    });
  }
}

/** A store that logs when each agreed state is durable, to check the order against sends. */
function loggingStore(inner: ChannelStore, log: string[]): ChannelStore {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (property === "stateAgreed" && typeof value === "function") {
        return async (...args: unknown[]) => {
          await (value as (...a: unknown[]) => Promise<void>).apply(target, args);
          log.push("stored:agreed");
        };
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

describe("ChannelEngine", () => {
  let store: MemoryStore;
  let engine: ChannelEngine;
  let log: string[];
  let alice: FakeSession;
  let bob: FakeSession;

  beforeEach(() => {
    log = [];
    store = new MemoryStore();
    engine = new ChannelEngine({
      store: loggingStore(store, log),
      signer: venueSigner,
      verifier: nobleVerifier,
      deployment,
      assets: [SECURITY, CASH],
      minChallengePeriod: 60n,
      maxChallengePeriod: 86_400n,
      prices: [{ security: SECURITY, cash: CASH, price: "100/1", toleranceBps: 0 }],
      responseTimeoutMs: 2_000,
      facts: () => emptyComplianceFacts(),
      now: () => 1_000n,
      logger: pino({ level: "silent" }),
      metrics: createMetrics(),
    });
    alice = new FakeSession(1, aliceSigner.address, log);
    bob = new FakeSession(2, bobSigner.address, log);
    engine.onAuthenticated(alice);
    engine.onAuthenticated(bob);
  });

  function paramsFor(investor: string): Params {
    return { participants: [venueSigner.address, investor], assets: [SECURITY, CASH], challengePeriod: 3_600n, salt: hexlify(randomBytes(32)) };
  }

  /** Opens a channel for `session`, marks it open on chain and credits deposits [security, cash] per side. */
  async function openFunded(session: FakeSession, deposits: [[bigint, bigint], [bigint, bigint]]): Promise<Channel> {
    const params = paramsFor(session.address);
    await engine.onMessage(session, { v: PROTOCOL_VERSION, type: "open", id: "o1", params } as ClientMessage);
    const channel = channelOf(params, deployment);
    await store.channelOpened(channel.channelId, `open-${channel.channelId}`);
    for (const [assetIndex, perParticipant] of deposits.entries()) {
      for (const [participant, amount] of perParticipant.entries()) {
        if (amount > 0n) {
          await store.depositConfirmed(channel.channelId, { assetIndex, participant: participant as 0 | 1, amount }, `dep-${channel.channelId}-${assetIndex}-${participant}`);
        }
      }
    }
    await engine.refresh(channel.channelId);
    return channel;
  }

  function propose(channel: Channel, base: State, update: Update, signer: NobleSigner, id: string, extra: object = {}) {
    const state = applyUpdate(channel, base, update);
    const signature = signer.sign(stateDigest(state, channel.domain));
    const message = { v: PROTOCOL_VERSION, type: "propose", id, channelId: channel.channelId, state, signature, ...extra } as ClientMessage;
    return { state, message };
  }

  const pay = (from: 0 | 1, assetIndex: number, amount: bigint): Update => ({ kind: "payment", leg: { from, assetIndex, amount } });

  it("persists an agreed state before its countersignature leaves, and rejects refusals without a change", async () => {
    const channel = await openFunded(alice, [[0n, 0n], [0n, 1_000n]]);
    const { message } = propose(channel, genesisState(channel).state, pay(1, 1, 10n), aliceSigner, "p1");
    log.length = 0;
    await engine.onMessage(alice, message);
    expect(log).toEqual(["stored:agreed", "send:accepted"]);
    expect((await store.channel(channel.channelId))!.latest!.signatures.every((s) => s !== null)).toBe(true);

    // overspending: 1,000 more than Alice has
    const latest = (await store.channel(channel.channelId))!.latest!.state;
    const overspend = propose(channel, latest, pay(1, 1, 1_000n), aliceSigner, "p2").message;
    await engine.onMessage(alice, overspend);
    const rejection = alice.sent.at(-1) as { type: string; code: string };
    expect(rejection).toMatchObject({ type: "rejected", code: "INSUFFICIENT_BALANCE" });
    expect((await store.channel(channel.channelId))!.latest!.state.nonce).toBe(1n);
  });

  it("handles one channel's updates strictly in order, whatever order the answers arrive in", async () => {
    const channel = await openFunded(alice, [[0n, 0n], [0n, 1_000n]]);
    let base = genesisState(channel).state;
    const messages: ClientMessage[] = [];
    for (let i = 1; i <= 20; i++) {
      const { state, message } = propose(channel, base, pay(1, 1, 1n), aliceSigner, `p${i}`);
      messages.push(message);
      base = state;
    }
    await Promise.all(messages.map((m) => engine.onMessage(alice, m)));
    const answers = alice.sent.filter((m) => m.type === "accepted" || m.type === "rejected") as { type: string; id: string }[];
    expect(answers.map((a) => a.id)).toEqual(messages.map((m) => (m as { id: string }).id));
    expect(answers.every((a) => a.type === "accepted")).toBe(true);
    expect((await store.channel(channel.channelId))!.latest!.state.nonce).toBe(20n);
    expect(engine.balances(channel.channelId)[1]).toEqual([20n, 980n]);
  });

  it("routes a payment: the receiver is paid first, and the venue's proposal wins a simultaneous one (CONFLICT)", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 50n]]);
    const routed = propose(aliceChannel, genesisState(aliceChannel).state, pay(1, 1, 40n), aliceSigner, "route1", { route: { to: bob.address } }).message;
    const handling = engine.onMessage(alice, routed);

    // The venue proposes 40 cash to Bob; while it is unanswered, Bob proposes his own update.
    const venueProposal = (await bob.next("propose")) as unknown as { id: string; state: StateJson };
    const bobOwn = propose(bobChannel, genesisState(bobChannel).state, pay(1, 1, 5n), bobSigner, "b1").message;
    await engine.onMessage(bob, bobOwn);
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "b1", code: "CONFLICT" });
    // Alice is not countersigned before Bob has signed.
    expect(alice.sent.some((m) => m.type === "accepted")).toBe(false);

    const bobSignature = bobSigner.sign(stateDigest(stateFromJson(venueProposal.state), bobChannel.domain));
    await engine.onMessage(bob, { v: PROTOCOL_VERSION, type: "accepted", id: venueProposal.id, channelId: bobChannel.channelId, nonce: "1", signature: bobSignature } as ClientMessage);
    await handling;
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "route1" });
    expect(engine.balances(aliceChannel.channelId)[1]).toEqual([40n, 460n]);
    expect(engine.balances(bobChannel.channelId)[1]).toEqual([260n, 90n]);
  });

  it("refuses a routed payment when the receiver rejects it, and Alice's state stays unsigned by the venue", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    const handling = engine.onMessage(alice, propose(aliceChannel, genesisState(aliceChannel).state, pay(1, 1, 40n), aliceSigner, "r", { route: { to: bob.address } }).message);
    const venueProposal = (await bob.next("propose")) as { id: string };
    await engine.onMessage(bob, { v: PROTOCOL_VERSION, type: "rejected", id: venueProposal.id, channelId: bobChannel.channelId, code: "INVALID_UPDATE", message: "no thanks" } as ClientMessage);
    await handling;
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "r" });
    expect((await store.channel(aliceChannel.channelId))!.latest).toBeNull();
    expect((await store.channel(bobChannel.channelId))!.pending).toBeNull();
  });

  it("trades delivery versus payment only at the venue's price", async () => {
    const channel = await openFunded(alice, [[100n, 0n], [0n, 10_000n]]);
    const trade = (cash: bigint): Update => ({ kind: "trade", legs: [{ assetIndex: 0, from: 0, amount: 10n }, { assetIndex: 1, from: 1, amount: cash }] });
    await engine.onMessage(alice, propose(channel, genesisState(channel).state, trade(999n), aliceSigner, "cheap").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "cheap" });
    await engine.onMessage(alice, propose(channel, genesisState(channel).state, trade(1_000n), aliceSigner, "fair").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "fair" });
    expect(engine.balances(channel.channelId)).toEqual([
      [90n, 10n],
      [1_000n, 9_000n],
    ]);
  });

  it("refuses channels it does not serve and proposals on channels that are not the investor's", async () => {
    const bad = { ...paramsFor(alice.address), participants: [bobSigner.address, alice.address] };
    await expect(engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "open", id: "x", params: bad } as ClientMessage)).rejects.toMatchObject({ code: "NOT_PARTICIPANT" });
    const foreignAsset = { ...paramsFor(alice.address), assets: [getAddress("0x" + "12".repeat(20))] };
    await expect(engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "open", id: "y", params: foreignAsset } as ClientMessage)).rejects.toMatchObject({ code: "MALFORMED" });
    const bobChannel = await openFunded(bob, [[0n, 0n], [0n, 10n]]);
    const stolen = propose(bobChannel, genesisState(bobChannel).state, pay(1, 1, 1n), aliceSigner, "s").message;
    await engine.onMessage(alice, stolen);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "s", code: "NOT_PARTICIPANT" });
    expect((await store.channel(bobChannel.channelId))!.latest).toBeNull();
  });

  it("refuses an investor's proposal that moves the venue's funds without a priced trade", async () => {
    const channel = await openFunded(alice, [[100n, 0n], [500n, 500n]]);
    const genesis = genesisState(channel).state;
    await engine.onMessage(alice, propose(channel, genesis, pay(0, 0, 1n), aliceSigner, "gift").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "gift", code: "INVALID_UPDATE" });
    const venueWithdrawal: Update = { kind: "withdrawal", withdrawals: [{ assetIndex: 1, participant: 0, amount: 5n }] };
    await engine.onMessage(alice, propose(channel, genesis, venueWithdrawal, aliceSigner, "w").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "w", code: "INVALID_UPDATE" });
    expect((await store.channel(channel.channelId))!.latest).toBeNull();
  });

  it("keeps an unanswered proposal pending and adopts it on resync when the investor had signed it", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [100n, 0n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [100n, 100n]]);
    // The venue's proposal to Alice (Bob's routed payment) goes unanswered: Alice's answer is lost.
    const handling = engine.onMessage(bob, propose(bobChannel, genesisState(bobChannel).state, pay(1, 1, 7n), bobSigner, "r", { route: { to: alice.address } }).message);
    const proposal = stateFromJson(((await alice.next("propose")) as unknown as { state: StateJson }).state);
    await handling;
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "r" });
    expect((await store.channel(aliceChannel.channelId))!.pending?.proposer).toBe(0);

    // Alice had signed it; on reconnect she resyncs with the agreed state and the venue adopts it.
    const digest = stateDigest(proposal, aliceChannel.domain);
    await engine.onMessage(alice, {
      v: PROTOCOL_VERSION,
      type: "resync",
      id: "rs",
      channels: [{ channelId: aliceChannel.channelId, latest: { state: proposal, signatures: [venueSigner.sign(digest), aliceSigner.sign(digest)] } }],
    } as ClientMessage);
    const record = (await store.channel(aliceChannel.channelId))!;
    expect(record.latest?.state.nonce).toBe(1n);
    expect(record.pending).toBeNull();
    expect(alice.sent.at(-1)).toMatchObject({ type: "resynced", id: "rs" });
  });

  it("drops an unanswered proposal when the investor resyncs without it, and never signs two states of one nonce", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [100n, 0n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [100n, 100n]]);
    await engine.onMessage(bob, propose(bobChannel, genesisState(bobChannel).state, pay(1, 1, 7n), bobSigner, "r1", { route: { to: alice.address } }).message);
    // While the first is unresolved, a second routed payment to Alice is refused (BUSY).
    const bobLatest = (await store.channel(bobChannel.channelId))!.latest;
    const base = bobLatest?.state ?? genesisState(bobChannel).state;
    await engine.onMessage(bob, propose(bobChannel, base, pay(1, 1, 3n), bobSigner, "r2", { route: { to: alice.address } }).message);
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "r2", code: "BUSY" });
    expect(alice.sent.filter((m) => m.type === "propose")).toHaveLength(1);

    await engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "resync", id: "rs", channels: [{ channelId: aliceChannel.channelId, latest: null }] } as ClientMessage);
    expect((await store.channel(aliceChannel.channelId))!.pending).toBeNull();
  });
});
