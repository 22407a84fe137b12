// The venue's channel engine with an in-memory store and in-process sessions: the ordering rules
// (persist before countersigning, strictly sequential updates, simultaneous proposals), routing,
// prices, resync, and that refusals change nothing.
import { beforeEach, describe, expect, it, vi } from "vitest";
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
  applyEvents,
  emptyComplianceFacts,
  trackToken,
  type ComplianceFacts,
  genesisState,
  nobleVerifier,
  hashlockOf,
  stateDigest,
  type Channel,
  stateFromJson,
  type Params,
  type State,
  type StateJson,
  type Update,
} from "../../client/protocol/index.js";
import { RULES, attributeEvents, baseFacts } from "../protocol/fixtures.js";
import { PROTOCOL_VERSION, type ClientMessage, type NodeMessage } from "../../client/protocol/wire.js";
import { ProtocolError } from "../../client/protocol/errors.js";

const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const key = (i: number) => HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${i}`).privateKey;
const venueSigner = new NobleSigner(key(1));
const aliceSigner = new NobleSigner(key(2));
const bobSigner = new NobleSigner(key(3));
const deployment = { chainId: 31337n, adjudicator: getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3") };
const SECURITY = getAddress("0x8a791620dd6260079bf849dc5567adc3f2fdc318");
const CASH = getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");
const SECRET = `0x${"5e".repeat(32)}`;
const HASHLOCK = hashlockOf(SECRET);
const OTHER_HASHLOCK = hashlockOf(`0x${"77".repeat(32)}`);
/** The payer's lock expiry: three challenge periods (3,600 s) after the engine's start time. */
const T1 = 1_000n + 3n * 3_600n;

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
  /** The compliance mirror the engine sees (untracked tokens: nothing is checked). */
  let facts: ComplianceFacts;
  let engine: ChannelEngine;
  let log: string[];
  let alice: FakeSession;
  let bob: FakeSession;
  let now: bigint;
  /** The node's view of the chain is stale: asking for the chain's time throws, as ChainClock does. */
  let chainTimeUnknown: boolean;

  beforeEach(() => {
    chainTimeUnknown = false;
    facts = emptyComplianceFacts();
    log = [];
    now = 1_000n;
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
      facts: () => facts,
      now: () => {
        if (chainTimeUnknown) throw new ProtocolError("COMPLIANCE_UNKNOWN", "the node's view of the chain is stale");
        return now;
      },
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

  /** A routed payment's first half: Alice's lock of `amount` cash to the venue under `hashlock`, expiring at T1. */
  const lockOf = (amount: bigint, hashlock: string, expiry = T1): Update => ({ kind: "addLock", lock: { assetIndex: 1, sender: 1, amount, hashlock, expiry } });

  /** Answers the venue's latest proposal in `channel` with `signer`'s countersignature; returns the proposed state. */
  async function countersignVenue(session: FakeSession, channel: Channel, signer: NobleSigner): Promise<State> {
    const proposal = session.sent.filter((m) => m.type === "propose").at(-1) as unknown as { id: string; state: StateJson };
    const state = stateFromJson(proposal.state);
    const signature = signer.sign(stateDigest(state, channel.domain));
    await engine.onMessage(session, { v: PROTOCOL_VERSION, type: "accepted", id: proposal.id, channelId: channel.channelId, nonce: state.nonce.toString(), signature } as ClientMessage);
    return state;
  }

  async function proposalTo(session: FakeSession, count: number): Promise<{ state: State; secrets?: { hashlock: string; secret: string }[] }> {
    await vi.waitFor(() => expect(session.sent.filter((m) => m.type === "propose").length).toBe(count));
    const message = session.sent.filter((m) => m.type === "propose").at(-1) as unknown as { state: StateJson; secrets?: { hashlock: string; secret: string }[] };
    return { ...message, state: stateFromJson(message.state) };
  }

  it("relays an invoice request to the receiver and its invoice back to the payer", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    await engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "invoice_request", id: "q", channelId: aliceChannel.channelId, to: bob.address, token: CASH, amount: "40" } as ClientMessage);
    const relayed = (await bob.next("invoice_request")) as { id: string; from: string; amount: string };
    expect(relayed).toMatchObject({ from: alice.address, amount: "40" });
    await engine.onMessage(bob, { v: PROTOCOL_VERSION, type: "invoice", id: relayed.id, hashlock: HASHLOCK } as ClientMessage);
    expect(alice.sent.at(-1)).toEqual({ v: PROTOCOL_VERSION, type: "invoice", id: "q", hashlock: HASHLOCK, to: bob.address, token: CASH, amount: "40" });
    // Only the asked receiver answers, once.
    await expect(engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "invoice", id: relayed.id, hashlock: HASHLOCK } as ClientMessage)).rejects.toMatchObject({ code: "MALFORMED" });
  });

  it("routes a payment with hashlocks: the payer's lock first, then the receiver's; the receiver's secret claims both", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 50n]]);
    const aliceLock = propose(aliceChannel, genesisState(aliceChannel).state, lockOf(40n, HASHLOCK), aliceSigner, "route1", { route: { to: bob.address } });
    await engine.onMessage(alice, aliceLock.message);
    // Alice's lock moves nothing: the venue countersigns it at once.
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "route1" });

    // The venue locks the same to Bob, a challenge period earlier; while it is unanswered, Bob's own proposal gets CONFLICT.
    const bobLock = await proposalTo(bob, 1);
    expect(bobLock.state.locks).toEqual([{ assetIndex: 1, sender: 0, amount: 40n, hashlock: HASHLOCK, expiry: T1 - 3_600n }]);
    await engine.onMessage(bob, propose(bobChannel, genesisState(bobChannel).state, pay(1, 1, 5n), bobSigner, "b1").message);
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "b1", code: "CONFLICT" });
    await countersignVenue(bob, bobChannel, bobSigner);

    // Bob claims his lock with the secret; the venue learns it and claims Alice's.
    const resolve: Update = { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET };
    await engine.onMessage(bob, propose(bobChannel, bobLock.state, resolve, bobSigner, "claim", { secrets: [{ hashlock: HASHLOCK, secret: SECRET }] }).message);
    expect(bob.sent.at(-1)).toMatchObject({ type: "accepted", id: "claim" });
    expect((await store.secrets()).get(HASHLOCK)).toBe(SECRET);
    const aliceResolve = await proposalTo(alice, 1);
    expect(aliceResolve.secrets).toEqual([{ hashlock: HASHLOCK, secret: SECRET }]);
    expect(aliceResolve.state.locks).toEqual([]);
    await countersignVenue(alice, aliceChannel, aliceSigner);
    await vi.waitFor(() => expect(engine.balances(aliceChannel.channelId)[1]).toEqual([40n, 460n]));
    expect(engine.balances(bobChannel.channelId)[1]).toEqual([260n, 90n]);
  });

  it("defers lock settlement while the chain's time is unknown: a resync is answered, nothing is proposed", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    await engine.onMessage(alice, propose(aliceChannel, genesisState(aliceChannel).state, lockOf(40n, HASHLOCK), aliceSigner, "r", { route: { to: bob.address } }).message);
    await proposalTo(bob, 1);
    chainTimeUnknown = true;
    expect(() => engine.sweepLocks()).not.toThrow();
    const sentBefore = alice.sent.length;
    await engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "resync", id: "rs", channels: [] } as ClientMessage);
    expect(alice.sent.slice(sentBefore).map((m) => m.type)).toEqual(["resynced"]);
    expect(engine.latest(bobChannel.channelId)!.state.nonce).toBe(0n);
  });

  it("is atomic when the receiver's countersignature is lost: Alice's lock stays, Bob's lock pays only for the secret", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    await engine.onMessage(alice, propose(aliceChannel, genesisState(aliceChannel).state, lockOf(40n, HASHLOCK), aliceSigner, "r", { route: { to: bob.address } }).message);
    // Bob signs the venue's lock but his answer is lost: the proposal stays pending until his resync.
    const bobLock = (await proposalTo(bob, 1)).state;
    expect(engine.record(bobChannel.channelId)!.pending?.proposer).toBe(0);
    const digest = stateDigest(bobLock, bobChannel.domain);
    await engine.onMessage(bob, { v: PROTOCOL_VERSION, type: "resync", id: "rs", channels: [{ channelId: bobChannel.channelId, latest: { state: bobLock, signatures: [venueSigner.sign(digest), bobSigner.sign(digest)] } }] } as ClientMessage);
    expect(engine.latest(bobChannel.channelId)!.state.nonce).toBe(1n);
    // Alice's lock is still there and claimable by the venue; nothing moved in either channel.
    expect(engine.latest(aliceChannel.channelId)!.state.locks.map((l) => l.hashlock)).toEqual([HASHLOCK]);
    expect(engine.balances(bobChannel.channelId)[1]).toEqual([260n, 0n]);

    // Without the secret, or with a wrong one, Bob's lock does not pay.
    const withoutSecret = propose(bobChannel, bobLock, { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }, bobSigner, "x").message;
    await engine.onMessage(bob, withoutSecret);
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "x", code: "BAD_SECRET" });
    await engine.onMessage(bob, { ...withoutSecret, id: "y", secrets: [{ hashlock: HASHLOCK, secret: `0x${"99".repeat(32)}` }] } as ClientMessage);
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "y", code: "BAD_SECRET" });
    expect(alice.sent.filter((m) => m.type === "propose")).toHaveLength(0);

    // With it, both are paid.
    await engine.onMessage(bob, { ...withoutSecret, id: "z", secrets: [{ hashlock: HASHLOCK, secret: SECRET }] } as ClientMessage);
    expect(bob.sent.at(-1)).toMatchObject({ type: "accepted", id: "z" });
    await proposalTo(alice, 1);
    await countersignVenue(alice, aliceChannel, aliceSigner);
    await vi.waitFor(() => expect(engine.balances(aliceChannel.channelId)[1]).toEqual([40n, 460n]));
    expect(engine.balances(bobChannel.channelId)[1]).toEqual([260n, 40n]);
  });

  it("expires locks: the payer's after T1 (unless the venue holds the secret), the venue's own after T2", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    // Bob refuses the venue's lock: Alice's lock stays until its expiry.
    const first = propose(aliceChannel, genesisState(aliceChannel).state, lockOf(40n, HASHLOCK), aliceSigner, "r1", { route: { to: bob.address } });
    await engine.onMessage(alice, first.message);
    const refused = (await bob.next("propose")) as { id: string };
    await engine.onMessage(bob, { v: PROTOCOL_VERSION, type: "rejected", id: refused.id, channelId: bobChannel.channelId, code: "INVALID_UPDATE", message: "no thanks" } as ClientMessage);
    const early = propose(aliceChannel, first.state, { kind: "expireLock", hashlock: HASHLOCK }, aliceSigner, "e1").message;
    await engine.onMessage(alice, early);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "e1", code: "LOCK_ACTIVE" });
    now = T1 + 1n;
    await engine.onMessage(alice, { ...early, id: "e2" } as ClientMessage);
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "e2" });
    expect(engine.balances(aliceChannel.channelId)[1]).toEqual([0n, 500n]);

    // Bob's refusal voided the venue's lock at nonce 1: a second routed payment to Bob is proposed
    // at nonce 2, on the genesis state (docs/protocol.md, off-chain protocol 7).
    now = 1_000n;
    expect(engine.record(bobChannel.channelId)!.pending?.voided).toBe(true);
    const second = propose(aliceChannel, engine.latest(aliceChannel.channelId)!.state, lockOf(30n, OTHER_HASHLOCK), aliceSigner, "r2", { route: { to: bob.address } });
    await engine.onMessage(alice, second.message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "r2" });
    expect((await proposalTo(bob, 2)).state.nonce).toBe(2n);
    await countersignVenue(bob, bobChannel, bobSigner);
    await vi.waitFor(() => expect(engine.latest(bobChannel.channelId)!.state.locks).toHaveLength(1));
    // Bob never claims it; after T2 the venue expires it.
    now = T1 - 3_600n + 1n;
    engine.sweepLocks();
    const expiry = await proposalTo(bob, 3);
    expect(expiry.state.locks).toEqual([]);
    await countersignVenue(bob, bobChannel, bobSigner);
    await vi.waitFor(() => expect(engine.balances(bobChannel.channelId)[1]).toEqual([300n, 0n]));
  });

  it("refuses to expire a payer's lock whose secret the venue learnt", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    const aliceLock = propose(aliceChannel, genesisState(aliceChannel).state, lockOf(40n, HASHLOCK), aliceSigner, "r", { route: { to: bob.address } });
    await engine.onMessage(alice, aliceLock.message);
    const bobLock = await proposalTo(bob, 1);
    await countersignVenue(bob, bobChannel, bobSigner);
    await vi.waitFor(() => expect(engine.latest(bobChannel.channelId)!.state.nonce).toBe(1n));
    engine.onClosed(alice); // Alice is away when Bob claims
    await engine.onMessage(bob, propose(bobChannel, bobLock.state, { kind: "resolveLock", hashlock: HASHLOCK, secret: SECRET }, bobSigner, "c", { secrets: [{ hashlock: HASHLOCK, secret: SECRET }] }).message);
    expect(bob.sent.at(-1)).toMatchObject({ type: "accepted", id: "c" });
    now = T1 + 1n;
    await engine.onMessage(alice, propose(aliceChannel, aliceLock.state, { kind: "expireLock", hashlock: HASHLOCK }, aliceSigner, "e").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "e", code: "LOCK_ACTIVE" });
    expect(engine.secrets.get(HASHLOCK)).toBe(SECRET);
  });

  it("refuses a routed plain payment and a routed lock that expires too soon", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [0n, 500n]]);
    await openFunded(bob, [[0n, 0n], [300n, 0n]]);
    const genesis = genesisState(aliceChannel).state;
    await engine.onMessage(alice, propose(aliceChannel, genesis, pay(1, 1, 40n), aliceSigner, "p", { route: { to: bob.address } }).message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "p", code: "INVALID_UPDATE" });
    await engine.onMessage(alice, propose(aliceChannel, genesis, lockOf(40n, HASHLOCK, 1_000n + 7_000n), aliceSigner, "soon", { route: { to: bob.address } }).message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "soon", code: "BAD_LOCK" });
    expect(engine.latest(aliceChannel.channelId)!.state.nonce).toBe(0n);
    expect(bob.sent.filter((m) => m.type === "propose")).toHaveLength(0);
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
    // The venue's lock to Alice (Bob's routed payment) goes unanswered: Alice's answer is lost.
    const bobLock: Update = { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 7n, hashlock: HASHLOCK, expiry: T1 } };
    await engine.onMessage(bob, propose(bobChannel, genesisState(bobChannel).state, bobLock, bobSigner, "r", { route: { to: alice.address } }).message);
    expect(bob.sent.at(-1)).toMatchObject({ type: "accepted", id: "r" });
    const proposal = (await proposalTo(alice, 1)).state;
    expect(engine.record(aliceChannel.channelId)!.pending?.proposer).toBe(0);

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
    expect(alice.sent.filter((m) => m.type === "resynced")).toHaveLength(1);
  });

  it("keeps an unanswered proposal when the investor resyncs without it, offers it again, and never signs two states of one nonce", async () => {
    const aliceChannel = await openFunded(alice, [[0n, 0n], [100n, 0n]]);
    const bobChannel = await openFunded(bob, [[0n, 0n], [100n, 100n]]);
    const lock = (hashlock: string): Update => ({ kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock, expiry: T1 } });
    const first = propose(bobChannel, genesisState(bobChannel).state, lock(HASHLOCK), bobSigner, "r1", { route: { to: alice.address } });
    await engine.onMessage(bob, first.message);
    const offered = await proposalTo(alice, 1);
    // While the venue's lock to Alice is unresolved, a second routed payment to Alice is refused (BUSY).
    await engine.onMessage(bob, propose(bobChannel, first.state, lock(OTHER_HASHLOCK), bobSigner, "r2", { route: { to: alice.address } }).message);
    expect(bob.sent.at(-1)).toMatchObject({ type: "rejected", id: "r2", code: "BUSY" });
    expect(alice.sent.filter((m) => m.type === "propose")).toHaveLength(1);

    await new Promise((resolve) => setTimeout(resolve, 2_100)); // Alice stays silent past the timeout
    await engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "resync", id: "rs", channels: [{ channelId: aliceChannel.channelId, latest: null }] } as ClientMessage);
    expect((await store.channel(aliceChannel.channelId))!.pending?.proposer).toBe(0);
    const again = await proposalTo(alice, 2);
    expect(stateDigest(again.state, aliceChannel.domain)).toBe(stateDigest(offered.state, aliceChannel.domain));
  });

  it("counts an investor's other channels as its holdings for the maximum-balance rule", async () => {
    facts = applyEvents(trackToken(baseFacts(), SECURITY), [
      { name: "RulesReplaced", emitter: SECURITY, newRules: RULES },
      ...attributeEvents(venueSigner.address),
      ...attributeEvents(aliceSigner.address),
      { name: "MaxBalanceChanged", emitter: RULES, maxBalance: 100n },
    ]);
    const first = await openFunded(alice, [[200n, 0n], [0n, 20_000n]]);
    const second = await openFunded(alice, [[200n, 0n], [0n, 20_000n]]);
    const buy = (amount: bigint): Update => ({ kind: "trade", legs: [{ assetIndex: 0, from: 0, amount }, { assetIndex: 1, from: 1, amount: amount * 100n }] });
    await engine.onMessage(alice, propose(first, genesisState(first).state, buy(60n), aliceSigner, "t1").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "t1" });
    // 60 in the first channel + 60 more here = 120 > 100, although this channel alone holds 60.
    await engine.onMessage(alice, propose(second, genesisState(second).state, buy(60n), aliceSigner, "t2").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "rejected", id: "t2", code: "NON_COMPLIANT", restriction: { code: 0xa4, rule: "MAX_BALANCE_EXCEEDED" } });
    expect((await store.channel(second.channelId))!.latest).toBeNull();
    await engine.onMessage(alice, propose(second, genesisState(second).state, buy(40n), aliceSigner, "t3").message);
    expect(alice.sent.at(-1)).toMatchObject({ type: "accepted", id: "t3" });
  });
});
