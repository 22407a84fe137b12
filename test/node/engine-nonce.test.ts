// The venue never signs two different states of one nonce in a channel: its unanswered proposal
// reserves the nonce until the investor countersigns it, whatever else the investor sends.
import { beforeEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, genesisState, hashlockOf, stateDigest, type Channel, type Update } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage } from "../../client/protocol/wire.js";
import { FakeSession, keyOf, makeEngine, openFunded, pay, propose, proposalTo, venueSigner, type Harness } from "./engine-harness.js";

const aliceSigner = new NobleSigner(keyOf(2));
const bobSigner = new NobleSigner(keyOf(3));
const malletSigner = new NobleSigner(keyOf(9));
const T1 = 1_000n + 3n * 3_600n;
const lock = (hashlock: string): Update => ({ kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock, expiry: T1 } });
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("ChannelEngine: one venue-signed state per nonce", () => {
  let store: MemoryStore;
  let h: Harness;
  let alice: FakeSession;
  let bob: FakeSession;
  let aliceChannel: Channel;
  let bobChannel: Channel;

  beforeEach(async () => {
    store = new MemoryStore();
    h = makeEngine(store, { responseTimeoutMs: 100 });
    alice = new FakeSession(1, aliceSigner.address);
    bob = new FakeSession(2, bobSigner.address);
    h.engine.onAuthenticated(alice);
    h.engine.onAuthenticated(bob);
    aliceChannel = await openFunded(h.engine, store, alice, [[0n, 0n], [100n, 50n]]);
    bobChannel = await openFunded(h.engine, store, bob, [[0n, 0n], [100n, 100n]]);
  });

  /** Bob pays Alice through the venue: the venue proposes its lock to Alice (nonce 1), which Alice leaves unanswered. */
  async function unansweredLockToAlice(): Promise<void> {
    const first = propose(bobChannel, genesisState(bobChannel).state, lock(hashlockOf(`0x${"01".repeat(32)}`)), bobSigner, "r1", { route: { to: alice.address } });
    await h.engine.onMessage(bob, first.message);
    expect(bob.last()).toMatchObject({ type: "accepted", id: "r1" });
    await proposalTo(alice, 1);
    await wait(150); // past the response timeout: the proposal stays pending
    expect(h.engine.record(aliceChannel.channelId)!.pending?.proposer).toBe(0);
  }

  async function secondRoutedLock(): Promise<void> {
    const base = h.engine.latest(bobChannel.channelId)!.state;
    await h.engine.onMessage(bob, propose(bobChannel, base, lock(hashlockOf(`0x${"02".repeat(32)}`)), bobSigner, "r2", { route: { to: alice.address } }).message);
  }

  function venueDigestsAtNonce1(): Set<string> {
    return new Set(alice.proposals().filter((p) => p.state.nonce === 1n).map((p) => stateDigest(p.state, aliceChannel.domain)));
  }

  it("keeps its unanswered proposal when a junk-signed proposal of the same nonce arrives, and refuses a second routed lock", async () => {
    await unansweredLockToAlice();
    const junk = propose(aliceChannel, genesisState(aliceChannel).state, pay(1, 1, 1n), malletSigner, "junk");
    await h.engine.onMessage(alice, junk.message);
    expect(alice.sent.find((m) => m.type === "rejected" && (m as { id: string }).id === "junk")).toBeDefined();
    expect(alice.sent.some((m) => m.type === "accepted")).toBe(false);
    expect(h.engine.record(aliceChannel.channelId)!.pending?.proposer).toBe(0);

    await secondRoutedLock();
    expect(bob.last()).toMatchObject({ type: "rejected", id: "r2", code: "BUSY" });
    expect(venueDigestsAtNonce1().size).toBe(1);
  });

  it("does not countersign even a valid proposal of the reserved nonce: it answers CONFLICT and offers its own again", async () => {
    await unansweredLockToAlice();
    const valid = propose(aliceChannel, genesisState(aliceChannel).state, pay(1, 1, 1n), aliceSigner, "p");
    await h.engine.onMessage(alice, valid.message);
    expect(alice.sent.find((m) => (m as { id?: string }).id === "p")).toMatchObject({ type: "rejected", code: "CONFLICT" });
    expect(alice.sent.some((m) => m.type === "accepted")).toBe(false);
    // The same state, offered again (new request id), and taken this time.
    const again = await proposalTo(alice, 2);
    expect(stateDigest(again.state, aliceChannel.domain)).toBe(stateDigest(alice.proposals()[0]!.state, aliceChannel.domain));
    const signature = aliceSigner.sign(stateDigest(again.state, aliceChannel.domain));
    await h.engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "accepted", id: again.id, channelId: aliceChannel.channelId, nonce: "1", signature } as ClientMessage);
    await expect.poll(() => h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(1n);
    expect(venueDigestsAtNonce1().size).toBe(1);
  });

  it("keeps the nonce reserved after an explicit rejection and after a resync without it, and offers it again on resync", async () => {
    await unansweredLockToAlice();
    await h.engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "resync", id: "rs", channels: [{ channelId: aliceChannel.channelId, latest: null }] } as ClientMessage);
    expect(h.engine.record(aliceChannel.channelId)!.pending?.proposer).toBe(0);
    const offered = await proposalTo(alice, 2);
    await h.engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "rejected", id: offered.id, channelId: aliceChannel.channelId, code: "INVALID_UPDATE", message: "no" } as ClientMessage);
    await wait(10);
    expect(h.engine.record(aliceChannel.channelId)!.pending?.proposer).toBe(0);
    await secondRoutedLock();
    expect(bob.last()).toMatchObject({ type: "rejected", id: "r2", code: "BUSY" });
    expect(venueDigestsAtNonce1().size).toBe(1);
    expect(venueSigner.address).toBe(h.engine.venue);
  });
});
