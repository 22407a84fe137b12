// The venue never signs two different states of one nonce in a channel: its unanswered proposal
// reserves the nonce until the investor countersigns it, refuses it or leaves it past the void bound;
// a void proposal's nonce is skipped, so the channel continues without a second state of it.
import { beforeEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_ENGINE_BOUNDS } from "../../channel-node/src/limits.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, genesisState, hashlockOf, stateDigest, type Channel, type SignedState, type State, type Update } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, WireError, type ClientMessage } from "../../client/protocol/wire.js";
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

  async function secondRoutedLock(to = alice.address): Promise<void> {
    const base = h.engine.latest(bobChannel.channelId)!.state;
    await h.engine.onMessage(bob, propose(bobChannel, base, lock(hashlockOf(`0x${"02".repeat(32)}`)), bobSigner, "r2", { route: { to } }).message);
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

  it("keeps the nonce reserved after a resync without it, and offers it again on resync", async () => {
    await unansweredLockToAlice();
    await h.engine.onMessage(alice, resync(null));
    expect(h.engine.record(aliceChannel.channelId)!.pending?.proposer).toBe(0);
    await proposalTo(alice, 2);
    await secondRoutedLock();
    expect(bob.last()).toMatchObject({ type: "rejected", id: "r2", code: "BUSY" });
    expect(venueDigestsAtNonce1().size).toBe(1);
    expect(venueSigner.address).toBe(h.engine.venue);
  });

  function resync(latest: SignedState | null): ClientMessage {
    return { v: PROTOCOL_VERSION, type: "resync", id: "rs", channels: [{ channelId: aliceChannel.channelId, latest }] } as ClientMessage;
  }

  /** Alice refuses the venue's lock (offered again after a resync) with a typed `rejected`. */
  async function refuseLockToAlice(): Promise<{ id: string; state: State; signature: string }> {
    await unansweredLockToAlice();
    await h.engine.onMessage(alice, resync(null));
    const offered = await proposalTo(alice, 2);
    await h.engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "rejected", id: offered.id, channelId: aliceChannel.channelId, code: "LOCK_EXPIRED", message: "no" } as ClientMessage);
    await vi.waitFor(() => expect(h.engine.record(aliceChannel.channelId)!.pending?.voided).toBe(true));
    return offered;
  }

  /** Alice's payment of 1 cash to the venue built on genesis with `nonce`. */
  function alicePays(nonce: bigint, id: string): ClientMessage {
    return propose(aliceChannel, { ...genesisState(aliceChannel).state, nonce: nonce - 1n }, pay(1, 1, 1n), aliceSigner, id).message;
  }

  const answerTo = (id: string) => alice.sent.find((m) => (m as { id?: string }).id === id);

  describe("a refused or expired proposal is void: the channel continues past its nonce", () => {
    it("a refusal voids it: never offered again, a state of its nonce is refused, the investor's next proposal skips it", async () => {
      await refuseLockToAlice();
      await h.engine.onMessage(alice, resync(null));
      await wait(20);
      expect(alice.proposals()).toHaveLength(2); // not offered again
      await h.engine.onMessage(alice, alicePays(1n, "same-nonce"));
      expect(answerTo("same-nonce")).toMatchObject({ type: "rejected", code: "BAD_NONCE" });
      await h.engine.onMessage(alice, alicePays(3n, "too-far"));
      expect(answerTo("too-far")).toMatchObject({ type: "rejected", code: "BAD_NONCE" });
      await h.engine.onMessage(alice, alicePays(2n, "skip"));
      expect(answerTo("skip")).toMatchObject({ type: "accepted", nonce: "2" });
      expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(2n);
      expect(h.engine.record(aliceChannel.channelId)!.pending).toBeNull();
      expect(venueDigestsAtNonce1().size).toBe(1);
    });

    it("a refusal of the last offer that arrives after the offer timed out voids it too; a refusal naming another offer changes nothing", async () => {
      const first = propose(bobChannel, genesisState(bobChannel).state, lock(hashlockOf(`0x${"01".repeat(32)}`)), bobSigner, "r1", { route: { to: alice.address } });
      await h.engine.onMessage(bob, first.message);
      const offered = await proposalTo(alice, 1);
      await wait(150); // past the response timeout: the proposal stays pending
      const refusal = (id: string) => ({ v: PROTOCOL_VERSION, type: "rejected", id, channelId: aliceChannel.channelId, code: "UNAVAILABLE", message: "could not judge it" }) as ClientMessage;
      await expect(h.engine.onMessage(alice, refusal("another"))).rejects.toMatchObject({ code: "MALFORMED" });
      expect(h.engine.record(aliceChannel.channelId)!.pending?.voided).not.toBe(true);
      await h.engine.onMessage(alice, refusal(offered.id));
      await vi.waitFor(() => expect(h.engine.record(aliceChannel.channelId)!.pending?.voided).toBe(true));
      // The channel continues past the void at once (no wait for venueProposalVoidMs).
      await h.engine.onMessage(alice, alicePays(2n, "skip"));
      expect(answerTo("skip")).toMatchObject({ type: "accepted", nonce: "2" });
      expect(venueDigestsAtNonce1().size).toBe(1);
    });

    it("after a refusal the venue's own next proposal skips the voided nonce, built on the last agreed state", async () => {
      await refuseLockToAlice();
      await secondRoutedLock();
      expect(bob.last()).toMatchObject({ type: "accepted", id: "r2" });
      const next = await proposalTo(alice, 3);
      expect(next.state.nonce).toBe(2n);
      expect(next.state.locks.map((l) => l.hashlock)).toEqual([hashlockOf(`0x${"02".repeat(32)}`)]);
      const signature = aliceSigner.sign(stateDigest(next.state, aliceChannel.domain));
      await h.engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "accepted", id: next.id, channelId: aliceChannel.channelId, nonce: "2", signature } as ClientMessage);
      await expect.poll(() => h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(2n);
      expect(venueDigestsAtNonce1().size).toBe(1);
    });

    it("a late countersignature of the voided proposal is adopted while nothing is signed above it (resync or answer)", async () => {
      const refused = await refuseLockToAlice();
      const countersigned = { state: refused.state, signatures: [refused.signature, aliceSigner.sign(stateDigest(refused.state, aliceChannel.domain))] } as SignedState;
      await h.engine.onMessage(alice, resync(countersigned));
      expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(1n);
      expect(stateDigest(h.engine.latest(aliceChannel.channelId)!.state, aliceChannel.domain)).toBe(stateDigest(refused.state, aliceChannel.domain));

      // The same by a late `accepted` in a second channel: a bad countersignature first changes nothing.
      const other = await refuseInNewChannel();
      const late = (signature: string) => ({ v: PROTOCOL_VERSION, type: "accepted", id: "late", channelId: other.channel.channelId, nonce: "1", signature }) as ClientMessage;
      await expect(h.engine.onMessage(other.session, late(malletSigner.sign(stateDigest(other.refused.state, other.channel.domain))))).rejects.toMatchObject({ code: "MALFORMED" });
      expect(h.engine.record(other.channel.channelId)!.pending?.voided).toBe(true);
      await h.engine.onMessage(other.session, late(other.signer.sign(stateDigest(other.refused.state, other.channel.domain))));
      expect(h.engine.latest(other.channel.channelId)!.state.nonce).toBe(1n);
      expect(h.engine.record(other.channel.channelId)!.pending).toBeNull();
    });

    /** Carol refuses a routed lock of Bob's in her own channel. */
    async function refuseInNewChannel() {
      const signer = new NobleSigner(keyOf(4));
      const session = new FakeSession(3, signer.address);
      h.engine.onAuthenticated(session);
      const channel = await openFunded(h.engine, store, session, [[0n, 0n], [100n, 0n]]);
      await secondRoutedLock(session.address);
      const offered = await proposalTo(session, 1);
      await h.engine.onMessage(session, { v: PROTOCOL_VERSION, type: "rejected", id: offered.id, channelId: channel.channelId, code: "LOCK_EXPIRED", message: "no" } as ClientMessage);
      await vi.waitFor(() => expect(h.engine.record(channel.channelId)!.pending?.voided).toBe(true));
      return { signer, session, channel, refused: offered };
    }

    it("once the venue signed above the void, the voided proposal countersigned is no longer adopted", async () => {
      const refused = await refuseLockToAlice();
      await secondRoutedLock();
      const above = await proposalTo(alice, 3);
      expect(above.state.nonce).toBe(2n);
      await wait(150); // the offer times out: the proposal at nonce 2 is pending
      const countersigned = { state: refused.state, signatures: [refused.signature, aliceSigner.sign(stateDigest(refused.state, aliceChannel.domain))] } as SignedState;
      await h.engine.onMessage(alice, resync(countersigned));
      expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(0n);
      await expect(h.engine.onMessage(alice, { v: PROTOCOL_VERSION, type: "accepted", id: refused.id, channelId: aliceChannel.channelId, nonce: "1", signature: countersigned.signatures[1] } as ClientMessage)).rejects.toMatchObject({ code: "MALFORMED" });
      expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(0n);
      expect(h.engine.record(aliceChannel.channelId)!.pending?.signed.state.nonce).toBe(2n);
    });

    it("an unanswered proposal is void once venueProposalVoidMs has passed since it was made", async () => {
      await unansweredLockToAlice();
      h.clock.value += DEFAULT_ENGINE_BOUNDS.venueProposalVoidMs - 1;
      await h.engine.onMessage(alice, alicePays(2n, "early"));
      expect(answerTo("early")).toMatchObject({ type: "rejected", code: "CONFLICT" });
      await wait(150); // the offer that followed the CONFLICT times out: an offer in progress is waited for
      h.clock.value += 1;
      await h.engine.onMessage(alice, alicePays(1n, "same-nonce"));
      expect(answerTo("same-nonce")).toMatchObject({ type: "rejected", code: "BAD_NONCE" });
      await h.engine.onMessage(alice, alicePays(2n, "skip"));
      expect(answerTo("skip")).toMatchObject({ type: "accepted", nonce: "2" });
      expect(venueDigestsAtNonce1().size).toBe(1);
    });

    it("a refusal sent from another investor's session voids nothing", async () => {
      await unansweredLockToAlice();
      const offered = alice.proposals()[0]!;
      await expect(
        h.engine.onMessage(bob, { v: PROTOCOL_VERSION, type: "rejected", id: offered.id, channelId: aliceChannel.channelId, code: "LOCK_EXPIRED", message: "no" } as ClientMessage),
      ).rejects.toBeInstanceOf(WireError);
      expect(h.engine.record(aliceChannel.channelId)!.pending?.voided).toBeUndefined();
      await h.engine.onMessage(alice, alicePays(2n, "skip"));
      expect(answerTo("skip")).toMatchObject({ type: "rejected", code: "CONFLICT" });
    });

    it("the void survives a restart: not offered again, the next state skips its nonce", async () => {
      await refuseLockToAlice();
      const restarted = makeEngine(store, { responseTimeoutMs: 100 });
      await restarted.engine.load();
      const back = new FakeSession(7, aliceSigner.address);
      restarted.engine.onAuthenticated(back);
      await restarted.engine.onMessage(back, resync(null));
      await wait(20);
      expect(back.proposals()).toHaveLength(0);
      await restarted.engine.onMessage(back, alicePays(2n, "skip"));
      expect(back.sent.find((m) => (m as { id?: string }).id === "skip")).toMatchObject({ type: "accepted", nonce: "2" });
    });
  });
});
