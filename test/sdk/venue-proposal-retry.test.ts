// The investor's SDK never leaves a venue proposal unanswered because judging it failed
// (client/sdk/venue-countersign.ts, docs/sdk.md "A venue proposal that cannot be judged"): a store
// that fails for about a second is retried and the proposal countersigned long before the node's
// offer times out; one that keeps failing ends in `rejected` UNAVAILABLE within the retry budget,
// the venue voids its proposal and proposes again (not BUSY); a store that cannot record the agreed
// state never lets a countersignature out. Real SDK over a real WebSocket to the venue's engine (in
// process, its clock frozen so no proposal is voided by time); Alice's store is the real MemoryStore
// with its reads or writes failing on demand; Bob, the payer whose routed locks make the venue
// propose to Alice, drives the engine directly.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { Transport, type Session } from "../../channel-node/src/transport.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, channelOf, hashlockOf, nobleVerifier, stateToJson, type Bytes32, type Channel, type SignedState } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage } from "../../client/protocol/wire.js";
import type { ChannelRecord, UpdateSummary } from "../../client/store/store.js";
import { ClearlineClient, type ClientEvent } from "../../client/sdk/client.js";
import { VENUE_PROPOSAL_RETRY } from "../../client/sdk/venue-countersign.js";
import { FakeSession, LOOPBACK_TRANSPORT, deployment, keyOf, makeEngine, openFunded, paramsFor, propose, type Harness } from "../node/engine-harness.js";

const aliceSigner = new NobleSigner(keyOf(2));
const bobSigner = new NobleSigner(keyOf(3));
const HOUR = 3_600n;
/** The node waits this long for Alice's answer before its offer times out (the default). */
const NODE_RESPONSE_TIMEOUT_MS = 10_000;

/** The real memory store, whose channel reads or whose agreed-state writes fail while told to. */
class FailingStore extends MemoryStore {
  readsFailUntil = 0;
  /** How many agreed-state writes from now on fail. */
  writeFailures = 0;
  writes = 0;

  override async channel(channelId: Bytes32): Promise<ChannelRecord | undefined> {
    if (Date.now() < this.readsFailUntil) throw new Error("store read failed");
    return super.channel(channelId);
  }

  override async stateAgreed(channelId: Bytes32, signed: SignedState, update: UpdateSummary): Promise<void> {
    this.writes += 1;
    if (this.writeFailures > 0) {
      this.writeFailures -= 1;
      throw new Error("store write failed");
    }
    return super.stateAgreed(channelId, signed, update);
  }
}

describe("SDK: a venue proposal it cannot judge is retried, then refused UNAVAILABLE", () => {
  let h: Harness;
  let transport: Transport;
  let port: number;
  let aliceStore: FailingStore;
  let aliceChannel: Channel;
  let bob: FakeSession;
  let bobChannel: Channel;
  let secrets = 0;
  let alice: ClearlineClient;
  const events: ClientEvent[] = [];
  /** Every message Alice sent the node. */
  const answers: ClientMessage[] = [];
  /** Alice's session at the node. */
  let aliceSession: Session | undefined;

  beforeEach(async () => {
    const nodeStore = new MemoryStore();
    h = makeEngine(nodeStore, { responseTimeoutMs: NODE_RESPONSE_TIMEOUT_MS });
    answers.length = 0;
    events.length = 0;
    transport = new Transport({
      ...LOOPBACK_TRANSPORT,
      handler: {
        onAuthenticated: (session) => {
          if (session.address === aliceSigner.address) aliceSession = session;
          h.engine.onAuthenticated(session);
        },
        onMessage: (session, message) => {
          answers.push(message);
          return h.engine.onMessage(session, message);
        },
        onClosed: (session) => h.engine.onClosed(session),
      },
      logger: pino({ level: "silent" }),
      metrics: h.options.metrics,
      http: (_request, response) => response.writeHead(404).end(),
    });
    port = await transport.start();
    const params = paramsFor(aliceSigner.address);
    aliceChannel = channelOf(params, deployment);
    await openFunded(h.engine, nodeStore, new FakeSession(90, aliceSigner.address), [[0n, 0n], [100n, 50n]], params);
    aliceStore = new FailingStore();
    await aliceStore.channelCreated({ channelId: aliceChannel.channelId, params, deployment, me: 1, createdAt: Date.now() });
    await aliceStore.channelOpened(aliceChannel.channelId, "open");
    bob = new FakeSession(91, bobSigner.address);
    h.engine.onAuthenticated(bob);
    bobChannel = await openFunded(h.engine, nodeStore, bob, [[0n, 0n], [100n, 100n]]);
    alice = new ClearlineClient({
      nodeUrl: `ws://127.0.0.1:${port}`,
      signer: aliceSigner,
      verifier: nobleVerifier,
      store: aliceStore,
      deployment,
      responseTimeoutMs: 5_000,
      reconnect: false,
      onEvent: (event) => events.push(event),
    });
    await alice.connect();
  });

  afterEach(async () => {
    await alice.disconnect();
    await transport.stop();
  });

  /** Bob pays Alice 3 through the venue: the venue proposes Alice its lock; resolves when it did. */
  async function routeToAlice(): Promise<void> {
    const hashlock = hashlockOf(`0x${(++secrets).toString(16).padStart(64, "0")}`);
    const base = h.engine.latest(bobChannel.channelId)!.state;
    const lock = { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock, expiry: BigInt(Math.floor(Date.now() / 1_000)) + 3n * HOUR } } as const;
    h.now.value = BigInt(Math.floor(Date.now() / 1_000));
    await h.engine.onMessage(bob, propose(bobChannel, base, lock, bobSigner, `r${secrets}`, { route: { to: aliceSigner.address } }).message);
    expect(bob.last()).toMatchObject({ type: "accepted" });
  }

  const aliceAnswers = () => answers.filter((m) => (m.type === "accepted" || m.type === "rejected") && m.channelId === aliceChannel.channelId);
  const venueNonce = () => h.engine.latest(aliceChannel.channelId)!.state.nonce;

  it("a store failing for about a second: retried, countersigned once, the lock agreed well before the node's offer times out", async () => {
    const started = Date.now();
    aliceStore.readsFailUntil = started + 1_000;
    await routeToAlice();
    await vi.waitFor(() => expect(venueNonce()).toBe(1n), { timeout: NODE_RESPONSE_TIMEOUT_MS / 2, interval: 50 });
    expect(Date.now() - started).toBeLessThan(NODE_RESPONSE_TIMEOUT_MS / 2);
    expect(aliceAnswers().map((m) => m.type)).toEqual(["accepted"]);
    expect(h.engine.record(aliceChannel.channelId)!.pending).toBeNull();
    expect(h.engine.latest(aliceChannel.channelId)!.state.locks).toHaveLength(1);
    expect((await alice.channels())[0]!.latest!.state.nonce).toBe(1n);
    const retries = events.filter((e) => e.type === "venueProposalRetry");
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ channelId: aliceChannel.channelId, nonce: 1n, attempt: 1 });
    expect(events.some((e) => e.type === "venueProposalRefused")).toBe(false);
  });

  it("a store that keeps failing: refused UNAVAILABLE within the retry budget, the venue voids the proposal and proposes again", async () => {
    const started = Date.now();
    aliceStore.readsFailUntil = Number.MAX_SAFE_INTEGER;
    await routeToAlice();
    await vi.waitFor(() => expect(aliceAnswers()).toHaveLength(1), { timeout: VENUE_PROPOSAL_RETRY.budgetMs + 2_000, interval: 50 });
    expect(Date.now() - started).toBeLessThan(VENUE_PROPOSAL_RETRY.budgetMs + 1_000);
    expect(aliceAnswers()[0]).toMatchObject({ type: "rejected", code: "UNAVAILABLE" });
    expect(events.filter((e) => e.type === "venueProposalRetry")).toHaveLength(VENUE_PROPOSAL_RETRY.delaysMs.length);
    expect(events.find((e) => e.type === "venueProposalRefused")).toMatchObject({ channelId: aliceChannel.channelId, nonce: 1n, code: "UNAVAILABLE" });
    await vi.waitFor(() => expect(h.engine.record(aliceChannel.channelId)!.pending).toMatchObject({ voided: true }));

    // Not BUSY: the store back, the venue's next proposal (over the void) is countersigned.
    aliceStore.readsFailUntil = 0;
    await routeToAlice();
    await vi.waitFor(() => expect(venueNonce()).toBe(2n), { timeout: 5_000, interval: 50 });
    expect(aliceAnswers().map((m) => m.type)).toEqual(["rejected", "accepted"]);
  });

  it("a void the store could not record when it refused is recorded before its own next proposal too: that skips the voided nonce", async () => {
    aliceStore.readsFailUntil = Number.MAX_SAFE_INTEGER;
    await routeToAlice();
    await vi.waitFor(() => expect(h.engine.record(aliceChannel.channelId)!.pending).toMatchObject({ voided: true }), { timeout: VENUE_PROPOSAL_RETRY.budgetMs + 3_000, interval: 50 });
    aliceStore.readsFailUntil = 0;
    const paid = await alice.pay(aliceChannel.channelId, { assetIndex: 1, amount: 1n });
    expect(paid.state.nonce).toBe(2n);
    expect(venueNonce()).toBe(2n);
  });

  it("a newer offer of the proposal supersedes the one being retried: only the newer is answered", async () => {
    aliceStore.readsFailUntil = Date.now() + 1_500;
    await routeToAlice();
    await vi.waitFor(() => expect(events.some((e) => e.type === "venueProposalRetry")).toBe(true));
    // The venue offers its pending proposal again (as after a resync), under a new request id.
    const pending = h.engine.record(aliceChannel.channelId)!.pending!;
    aliceSession!.send({ v: PROTOCOL_VERSION, type: "propose", id: "again", channelId: aliceChannel.channelId, state: stateToJson(pending.signed.state), signature: pending.signed.signatures[0]! });
    await vi.waitFor(() => expect(aliceAnswers()).toHaveLength(1), { timeout: VENUE_PROPOSAL_RETRY.budgetMs + 2_000, interval: 50 });
    // Answered in the channel's queue behind the superseded one, which therefore ended unanswered.
    expect(aliceAnswers()).toEqual([expect.objectContaining({ type: "accepted", id: "again" })]);
    expect((await alice.channels())[0]!.latest!.state.nonce).toBe(1n);
  });

  it("a store that cannot record the agreed state: no countersignature ever leaves, the proposal is refused UNAVAILABLE", async () => {
    aliceStore.writeFailures = Number.MAX_SAFE_INTEGER;
    await routeToAlice();
    await vi.waitFor(() => expect(aliceAnswers()).toHaveLength(1), { timeout: VENUE_PROPOSAL_RETRY.budgetMs + 2_000, interval: 50 });
    expect(aliceAnswers()[0]).toMatchObject({ type: "rejected", code: "UNAVAILABLE" });
    expect(aliceStore.writes).toBe(VENUE_PROPOSAL_RETRY.delaysMs.length + 1);
    expect(venueNonce()).toBe(0n);
    expect((await alice.channels())[0]!.latest ?? null).toBeNull();
    await vi.waitFor(() => expect(h.engine.record(aliceChannel.channelId)!.pending).toMatchObject({ voided: true }));
  });

  it("a store write failing once: retried, recorded, then countersigned", async () => {
    aliceStore.writeFailures = 1;
    await routeToAlice();
    await vi.waitFor(() => expect(venueNonce()).toBe(1n), { timeout: 5_000, interval: 50 });
    expect(aliceAnswers().map((m) => m.type)).toEqual(["accepted"]);
    expect(aliceStore.writes).toBe(2);
    expect((await alice.channels())[0]!.latest!.state.nonce).toBe(1n);
  });
});
