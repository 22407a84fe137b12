// What one investor may consume of the venue: registrations (eligibility, per-investor bound,
// forgetting those never opened on chain, also across a restart on LevelDB), relayed invoice
// requests (open and funded channels only, a rate per payer), locks and value in flight. Each
// refusal has its own code, changes nothing and is counted by reason.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../client/store/memory-store.js";
import { LevelStore } from "../../client/store/level-store.js";
import type { ChannelStore } from "../../client/store/store.js";
import {
  NobleSigner,
  applyEvents,
  channelOf,
  hashlockOf,
  trackToken,
  type Channel,
  type ComplianceEvent,
  type ComplianceFacts,
  type Update,
} from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage } from "../../client/protocol/wire.js";
import { DEFAULT_ENGINE_BOUNDS, type EngineBounds } from "../../channel-node/src/limits.js";
import type { NodeMetrics } from "../../channel-node/src/metrics.js";
import { RULES, attributeEvents, baseFacts } from "../protocol/fixtures.js";
import { CASH, FakeSession, SECURITY, deployment, keyOf, makeEngine, openFunded, paramsFor, propose, type Harness } from "./engine-harness.js";

const aliceSigner = new NobleSigner(keyOf(2));
const bobSigner = new NobleSigner(keyOf(3));
const carolSigner = new NobleSigner(keyOf(4));
const T1 = 1_000n + 3n * 3_600n;

async function refusals(metrics: NodeMetrics, reason: string): Promise<number> {
  const values = (await metrics.boundRefusals.get()).values;
  return values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

function openMessage(session: FakeSession, id = "o") {
  const params = paramsFor(session.address);
  return { params, message: { v: PROTOCOL_VERSION, type: "open", id, params } as ClientMessage, channelId: channelOf(params, deployment).channelId };
}

function withBounds(bounds: Partial<EngineBounds>): EngineBounds {
  return { ...DEFAULT_ENGINE_BOUNDS, ...bounds };
}

describe("engine bounds: registering channels", () => {
  let store: MemoryStore;
  let alice: FakeSession;
  let bob: FakeSession;

  beforeEach(() => {
    store = new MemoryStore();
    alice = new FakeSession(1, aliceSigner.address);
    bob = new FakeSession(2, bobSigner.address);
  });

  /** The security restricted by RULES; alice eligible, carol without KYC, bob frozen. */
  function securityFacts(extra: ComplianceEvent[] = []): ComplianceFacts {
    return applyEvents(trackToken(baseFacts(), SECURITY), [
      { name: "RulesReplaced", emitter: SECURITY, newRules: RULES },
      ...attributeEvents(aliceSigner.address),
      ...attributeEvents(bobSigner.address),
      ...attributeEvents(carolSigner.address, { kyc: false }),
      { name: "AddressFrozen", emitter: SECURITY, account: bobSigner.address },
      ...extra,
    ]);
  }

  it("refuses `open` from an investor who may hold none of the venue's restricted assets, naming the rule and its ERC-1404 code", async () => {
    let facts = securityFacts();
    const h = makeEngine(store, { facts: () => facts });
    const carol = new FakeSession(3, carolSigner.address);
    for (const s of [alice, bob, carol]) h.engine.onAuthenticated(s);

    const fromCarol = openMessage(carol);
    await expect(h.engine.onMessage(carol, fromCarol.message)).rejects.toMatchObject({ code: "NOT_ELIGIBLE", message: expect.stringMatching(/RECEIVER_NOT_ELIGIBLE \(ERC-1404 0x57/) });
    const fromBob = openMessage(bob);
    await expect(h.engine.onMessage(bob, fromBob.message)).rejects.toMatchObject({ code: "NOT_ELIGIBLE", message: expect.stringMatching(/RECEIVER_FROZEN \(ERC-1404 0xa1/) });
    expect(await store.channel(fromCarol.channelId)).toBeUndefined();
    expect(await store.channel(fromBob.channelId)).toBeUndefined();
    expect(await refusals(h.options.metrics, "NOT_ELIGIBLE")).toBe(2);

    // Alice may; a paused token says nothing about her.
    facts = securityFacts([{ name: "Paused", emitter: SECURITY }]);
    await h.engine.onMessage(alice, openMessage(alice).message);
    expect(alice.last()).toMatchObject({ type: "opened" });
  });

  it("bounds the channels an investor registered but did not open on chain", async () => {
    const h = makeEngine(store, { bounds: withBounds({ maxProposedChannelsPerInvestor: 2 }) });
    h.engine.onAuthenticated(alice);
    h.engine.onAuthenticated(bob);
    const first = openMessage(alice, "a");
    await h.engine.onMessage(alice, first.message);
    await h.engine.onMessage(alice, openMessage(alice, "b").message);
    const third = openMessage(alice, "c");
    await expect(h.engine.onMessage(alice, third.message)).rejects.toMatchObject({ code: "TOO_MANY_PROPOSED_CHANNELS" });
    expect(await store.channel(third.channelId)).toBeUndefined();
    expect(await refusals(h.options.metrics, "TOO_MANY_PROPOSED_CHANNELS")).toBe(1);
    // Registering one again is no new channel; another investor has its own bound.
    await h.engine.onMessage(alice, first.message);
    expect(alice.last()).toMatchObject({ type: "opened", id: "a" });
    await h.engine.onMessage(bob, openMessage(bob).message);
    expect(bob.last()).toMatchObject({ type: "opened" });
    // Once one is open on chain, there is room again.
    await store.channelOpened(first.channelId, "ev-open");
    await h.engine.refresh(first.channelId);
    await h.engine.onMessage(alice, third.message);
    expect(alice.last()).toMatchObject({ type: "opened" });
  });

  it("holds the bound against registrations sent all at once", async () => {
    const h = makeEngine(store, { bounds: withBounds({ maxProposedChannelsPerInvestor: 3 }) });
    h.engine.onAuthenticated(alice);
    const opens = Array.from({ length: 10 }, (_, i) => openMessage(alice, `o${i}`));
    const outcomes = await Promise.allSettled([...opens, opens[0]!].map((o) => h.engine.onMessage(alice, o.message)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(4); // three channels, one of them registered twice
    expect(outcomes.filter((o) => o.status === "rejected").map((o) => (o as PromiseRejectedResult).reason.code)).toEqual(Array(7).fill("TOO_MANY_PROPOSED_CHANNELS"));
    expect(await store.channels()).toHaveLength(3);
  });

  it("forgets a registration not opened on chain in time (store and memory), and keeps channels on chain", async () => {
    const h = makeEngine(store, { bounds: withBounds({ maxProposedChannelsPerInvestor: 1, proposedChannelTtlMs: 60_000 }) });
    h.engine.onAuthenticated(alice);
    const stale = openMessage(alice, "s");
    await h.engine.onMessage(alice, stale.message);
    h.engine.onAuthenticated(bob);
    const opened = await openFunded(h.engine, store, bob, [[0n, 0n], [0n, 10n]]);
    h.clock.value += 60_000 - 1;
    expect(await h.engine.pruneChannels()).toBe(0);
    // At the bound: the next registration is refused until the stale one is forgotten.
    await expect(h.engine.onMessage(alice, openMessage(alice, "x").message)).rejects.toMatchObject({ code: "TOO_MANY_PROPOSED_CHANNELS" });
    h.clock.value += 1;
    expect(await h.engine.pruneChannels()).toBe(1);
    expect(await store.channel(stale.channelId)).toBeUndefined();
    expect(h.engine.record(stale.channelId)).toBeUndefined();
    expect(h.engine.record(opened.channelId)?.status).toBe("open");
    expect((await h.options.metrics.proposedChannelsPruned.get()).values[0]?.value).toBe(1);
    await h.engine.onMessage(alice, openMessage(alice, "y").message);
    expect(alice.last()).toMatchObject({ type: "opened", id: "y" });
  });

  it("keeps a stale registration the adjudicator knows (its opening not yet delivered), and all while the chain cannot be asked", async () => {
    let onChain: (channelId: string) => Promise<boolean> = async () => true;
    const h = makeEngine(store, { bounds: withBounds({ proposedChannelTtlMs: 60_000 }), onChain: (channelId) => onChain(channelId) });
    h.engine.onAuthenticated(alice);
    const stale = openMessage(alice, "s");
    await h.engine.onMessage(alice, stale.message);
    h.clock.value += 60_000;
    expect(await h.engine.pruneChannels()).toBe(0);
    onChain = async () => {
      throw new Error("the RPC endpoint is down");
    };
    expect(await h.engine.pruneChannels()).toBe(0);
    expect((await store.channel(stale.channelId))?.status).toBe("proposed");
    onChain = async () => false;
    expect(await h.engine.pruneChannels()).toBe(1);
    expect(await store.channel(stale.channelId)).toBeUndefined();
  });

  it("forgets stale registrations when an investor registers again (the bound counts only live ones)", async () => {
    const h = makeEngine(store, { bounds: withBounds({ maxProposedChannelsPerInvestor: 1, proposedChannelTtlMs: 60_000 }) });
    h.engine.onAuthenticated(alice);
    const stale = openMessage(alice, "s");
    await h.engine.onMessage(alice, stale.message);
    h.clock.value += 60_000;
    // The node's own prune after a chain poll runs at the same time.
    const [, pruned] = await Promise.all([h.engine.onMessage(alice, openMessage(alice, "n").message), h.engine.pruneChannels()]);
    expect(alice.last()).toMatchObject({ type: "opened", id: "n" });
    expect(pruned).toBeLessThanOrEqual(1);
    expect(await store.channel(stale.channelId)).toBeUndefined();
  });

  describe("on LevelDB across a restart", () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), "clearline-bounds-"));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("forgets after a restart what expired while the node was down", async () => {
      let level: ChannelStore = await LevelStore.open(join(dir, "channels"));
      let h: Harness = makeEngine(level, { bounds: withBounds({ proposedChannelTtlMs: 60_000 }) });
      h.engine.onAuthenticated(alice);
      const stale = openMessage(alice, "s");
      await h.engine.onMessage(alice, stale.message);
      const registeredAt = h.clock.value;
      await level.close();

      level = await LevelStore.open(join(dir, "channels"));
      h = makeEngine(level, { bounds: withBounds({ proposedChannelTtlMs: 60_000 }) });
      h.clock.value = registeredAt + 30_000;
      await h.engine.load();
      expect(await h.engine.pruneChannels()).toBe(0);
      expect(h.engine.record(stale.channelId)?.status).toBe("proposed");
      await level.close();

      level = await LevelStore.open(join(dir, "channels"));
      h = makeEngine(level, { bounds: withBounds({ proposedChannelTtlMs: 60_000 }) });
      h.clock.value = registeredAt + 60_000;
      await h.engine.load();
      expect(h.engine.record(stale.channelId)?.status).toBe("proposed");
      const [first, joined] = await Promise.all([h.engine.pruneChannels(), h.engine.pruneChannels()]);
      expect([first, joined]).toEqual([1, 1]); // the second call joined the first
      expect(h.engine.record(stale.channelId)).toBeUndefined();
      await level.close();
      level = await LevelStore.open(join(dir, "channels"));
      expect(await level.channel(stale.channelId)).toBeUndefined();
      await level.close();
    });
  });
});

describe("engine bounds: invoice requests", () => {
  let store: MemoryStore;
  let h: Harness;
  let alice: FakeSession;
  let bob: FakeSession;

  beforeEach(async () => {
    store = new MemoryStore();
    h = makeEngine(store, { bounds: withBounds({ invoiceRequests: { perSecond: 1, burst: 2 } }) });
    alice = new FakeSession(1, aliceSigner.address);
    bob = new FakeSession(2, bobSigner.address);
    h.engine.onAuthenticated(alice);
    h.engine.onAuthenticated(bob);
    await openFunded(h.engine, store, bob, [[0n, 0n], [100n, 0n]]);
  });

  const request = (channelId: string, id: string, amount = "40") =>
    ({ v: PROTOCOL_VERSION, type: "invoice_request", id, channelId, to: bobSigner.address, token: CASH, amount }) as ClientMessage;
  const relayedToBob = () => bob.sent.filter((m) => m.type === "invoice_request").length;

  it("relays nothing from a channel that is not open on chain, or that does not hold the amount", async () => {
    const registered = openMessage(alice);
    await h.engine.onMessage(alice, registered.message);
    await h.engine.onMessage(alice, request(registered.channelId, "q1"));
    expect(alice.last()).toMatchObject({ type: "rejected", id: "q1", code: "CHANNEL_NOT_OPEN" });

    const funded = await openFunded(h.engine, store, alice, [[0n, 0n], [0n, 39n]]);
    await h.engine.onMessage(alice, request(funded.channelId, "q2"));
    expect(alice.last()).toMatchObject({ type: "rejected", id: "q2", code: "CHANNEL_NOT_FUNDED" });
    expect(relayedToBob()).toBe(0);
    expect(await refusals(h.options.metrics, "CHANNEL_NOT_FUNDED")).toBe(1);
    await h.engine.onMessage(alice, request(funded.channelId, "q3", "39"));
    expect(relayedToBob()).toBe(1);
  });

  it("relays at most the configured rate per payer", async () => {
    const channel = await openFunded(h.engine, store, alice, [[0n, 0n], [0n, 100n]]);
    await h.engine.onMessage(alice, request(channel.channelId, "q1"));
    await h.engine.onMessage(alice, request(channel.channelId, "q2"));
    await h.engine.onMessage(alice, request(channel.channelId, "q3"));
    expect(alice.last()).toMatchObject({ type: "rejected", id: "q3", code: "INVOICE_RATE_LIMITED" });
    expect(relayedToBob()).toBe(2);
    expect(await refusals(h.options.metrics, "INVOICE_RATE_LIMITED")).toBe(1);
    h.clock.value += 1_000;
    await h.engine.onMessage(alice, request(channel.channelId, "q4"));
    expect(relayedToBob()).toBe(3);
  });
});

describe("engine bounds: locks and value in flight", () => {
  let store: MemoryStore;
  let alice: FakeSession;
  let bob: FakeSession;

  beforeEach(() => {
    store = new MemoryStore();
    alice = new FakeSession(1, aliceSigner.address);
    bob = new FakeSession(2, bobSigner.address);
  });

  const lockOf = (amount: bigint, n: number): Update => ({ kind: "addLock", lock: { assetIndex: 1, sender: 1, amount, hashlock: hashlockOf(`0x${n.toString(16).padStart(64, "0")}`), expiry: T1 } });

  async function setUp(bounds: Partial<EngineBounds>) {
    const h = makeEngine(store, { bounds: withBounds(bounds) });
    h.engine.onAuthenticated(alice);
    h.engine.onAuthenticated(bob);
    const aliceChannel = await openFunded(h.engine, store, alice, [[0n, 0n], [100n, 500n]]);
    const bobChannel = await openFunded(h.engine, store, bob, [[0n, 0n], [100n, 500n]]);
    return { h, aliceChannel, bobChannel };
  }

  async function lock(h: Harness, session: FakeSession, channel: Channel, update: Update, id: string, extra: object = {}) {
    const base = h.engine.latest(channel.channelId)!.state;
    await h.engine.onMessage(session, propose(channel, base, update, session === alice ? aliceSigner : bobSigner, id, extra).message);
    return session.sent.filter((m) => (m as { id?: string }).id === id).at(-1);
  }

  it("refuses an investor's lock beyond its number of unresolved locks", async () => {
    const { h, aliceChannel } = await setUp({ maxLocksPerInvestor: 2 });
    expect(await lock(h, alice, aliceChannel, lockOf(1n, 1), "l1")).toMatchObject({ type: "accepted" });
    expect(await lock(h, alice, aliceChannel, lockOf(1n, 2), "l2")).toMatchObject({ type: "accepted" });
    expect(await lock(h, alice, aliceChannel, lockOf(1n, 3), "l3")).toMatchObject({ type: "rejected", code: "TOO_MANY_LOCKS" });
    expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(2n);
    expect(await refusals(h.options.metrics, "TOO_MANY_LOCKS")).toBe(1);
  });

  it("refuses an investor's lock beyond its value in flight per token, with per-token overrides", async () => {
    const { h, aliceChannel } = await setUp({ maxValueInFlightPerInvestor: 50n });
    expect(await lock(h, alice, aliceChannel, lockOf(40n, 1), "l1")).toMatchObject({ type: "accepted" });
    expect(await lock(h, alice, aliceChannel, lockOf(11n, 2), "l2")).toMatchObject({ type: "rejected", code: "IN_FLIGHT_LIMIT" });
    expect(await lock(h, alice, aliceChannel, lockOf(10n, 3), "l3")).toMatchObject({ type: "accepted" });
    expect(await refusals(h.options.metrics, "IN_FLIGHT_LIMIT")).toBe(1);

    const other = await setUp({ maxValueInFlightPerInvestor: 50n, maxValueInFlightByToken: new Map([[CASH, 200n]]) });
    expect(await lock(other.h, alice, other.aliceChannel, lockOf(150n, 1), "big")).toMatchObject({ type: "accepted" });
  });

  it("counts the venue's locks to the receiver: a routed payment to an investor at its bound is refused before the payer's lock is signed", async () => {
    const { h, aliceChannel, bobChannel } = await setUp({ maxLocksPerInvestor: 1 });
    // Bob holds one lock already (his own, unresolved).
    expect(await lock(h, bob, bobChannel, lockOf(1n, 1), "b1")).toMatchObject({ type: "accepted" });
    const routed = await lock(h, alice, aliceChannel, lockOf(5n, 2), "r", { route: { to: bobSigner.address } });
    expect(routed).toMatchObject({ type: "rejected", code: "TOO_MANY_LOCKS" });
    expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(0n);
    expect(bob.sent.filter((m) => m.type === "propose")).toHaveLength(0);
  });
});
