// The investor's SDK after refusing a venue proposal (docs/protocol.md, off-chain protocol 7): the SDK
// records the refused proposal as void before its refusal leaves, proposes over it (nonce above the
// voided one), accepts the venue's proposal over it, keeps the void across a restart, and learns at
// resync of a proposal that expired while it was away. Real SDK
// over a real WebSocket to the venue's engine (in process, memory stores); Bob, the payer whose
// routed locks make the venue propose to Alice, drives the engine directly.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { DEFAULT_ENGINE_BOUNDS } from "../../channel-node/src/limits.js";
import { Transport, type Session } from "../../channel-node/src/transport.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, channelOf, hashlockOf, nobleVerifier, stateDigest, stateToJson, type Channel } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage } from "../../client/protocol/wire.js";
import { ClearlineClient } from "../../client/sdk/client.js";
import { FakeSession, LOOPBACK_TRANSPORT, deployment, keyOf, makeEngine, openFunded, paramsFor, propose, venueSigner, type Harness } from "../node/engine-harness.js";

const aliceSigner = new NobleSigner(keyOf(2));
const bobSigner = new NobleSigner(keyOf(3));
const HOUR = 3_600n;
const realNow = (): bigint => BigInt(Math.floor(Date.now() / 1000));

describe("SDK: a refused venue proposal is void and the channel continues past its nonce", () => {
  let h: Harness;
  let transport: Transport;
  let port: number;
  let aliceStore: MemoryStore;
  let aliceChannel: Channel;
  let bob: FakeSession;
  let bobChannel: Channel;
  let secrets = 0;
  const clients: ClearlineClient[] = [];
  /** The transport's sessions by address, and every message the investors sent. */
  const sessions = new Map<string, Session>();
  const answers: ClientMessage[] = [];

  function client(): ClearlineClient {
    const c = new ClearlineClient({ nodeUrl: `ws://127.0.0.1:${port}`, signer: aliceSigner, verifier: nobleVerifier, store: aliceStore, deployment, responseTimeoutMs: 5_000, reconnect: false });
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    const nodeStore = new MemoryStore();
    h = makeEngine(nodeStore, { responseTimeoutMs: 2_000 });
    transport = new Transport({
      ...LOOPBACK_TRANSPORT,
      handler: {
        onAuthenticated: (session) => {
          sessions.set(session.address, session);
          h.engine.onAuthenticated(session);
        },
        onMessage: (session, message) => {
          answers.push(message);
          return h.engine.onMessage(session, message).catch(() => undefined); // a stray answer is MALFORMED
        },
        onClosed: (session) => h.engine.onClosed(session),
      },
      logger: pino({ level: "silent" }),
      metrics: h.options.metrics,
      http: (_request, response) => response.writeHead(404).end(),
    });
    port = await transport.start();
    // Alice's channel, known to both sides; Bob's, known to the venue.
    const params = paramsFor(aliceSigner.address);
    aliceChannel = channelOf(params, deployment);
    sessions.clear();
    answers.length = 0;
    await openFunded(h.engine, nodeStore, new FakeSession(90, aliceSigner.address), [[0n, 0n], [100n, 50n]], params);
    aliceStore = new MemoryStore();
    await aliceStore.channelCreated({ channelId: aliceChannel.channelId, params, deployment, me: 1, createdAt: Date.now() });
    await aliceStore.channelOpened(aliceChannel.channelId, "open");
    bob = new FakeSession(91, bobSigner.address);
    h.engine.onAuthenticated(bob);
    bobChannel = await openFunded(h.engine, nodeStore, bob, [[0n, 0n], [100n, 100n]]);
  });

  afterEach(async () => {
    for (const c of clients.splice(0)) await c.disconnect();
    await transport.stop();
  });

  /** Bob pays Alice 3 through the venue with a lock expiring three hours after the engine's `now`: the venue offers Alice its lock. */
  async function routeToAlice(): Promise<void> {
    const hashlock = hashlockOf(`0x${(++secrets).toString(16).padStart(64, "0")}`);
    const base = h.engine.latest(bobChannel.channelId)!.state;
    const lock = { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock, expiry: h.now.value + 3n * HOUR } } as const;
    await h.engine.onMessage(bob, propose(bobChannel, base, lock, bobSigner, `r${secrets}`, { route: { to: aliceSigner.address } }).message);
    expect(bob.last()).toMatchObject({ type: "accepted" });
  }

  /** A routed lock whose expiry, by the real clock the SDK reads, has passed: the SDK refuses it. */
  async function refusedLockToAlice(nonce: bigint): Promise<void> {
    h.now.value = realNow() - 5n * HOUR;
    await routeToAlice();
    await vi.waitFor(async () => {
      expect(h.engine.record(aliceChannel.channelId)!.pending).toMatchObject({ voided: true, signed: { state: { nonce } } });
      expect((await aliceStore.channel(aliceChannel.channelId))!.pending).toMatchObject({ proposer: 0, voided: true, signed: { state: { nonce } } });
    });
  }

  it("refuses, pays over the void, survives a restart with the void, then accepts the venue's proposal over a second void", async () => {
    let alice = client();
    await alice.connect();
    await refusedLockToAlice(1n);
    const paid = await alice.pay(aliceChannel.channelId, { assetIndex: 1, amount: 1n });
    expect(paid.state.nonce).toBe(2n);
    expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(2n);
    expect((await aliceStore.channel(aliceChannel.channelId))!.pending).toBeNull();

    await refusedLockToAlice(3n);
    await alice.disconnect();
    alice = client();
    await alice.connect(); // the resync keeps the void
    expect((await aliceStore.channel(aliceChannel.channelId))!.pending).toMatchObject({ voided: true });
    h.now.value = realNow();
    await routeToAlice();
    await vi.waitFor(() => expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(4n));
    const agreed = (await aliceStore.channel(aliceChannel.channelId))!;
    expect(agreed.latest!.state.nonce).toBe(4n);
    expect(agreed.latest!.state.locks).toHaveLength(1);
    expect(agreed.pending).toBeNull();
  });

  it("learns at resync of a venue proposal that expired unanswered while it was away, and pays over it", async () => {
    const away = new FakeSession(92, aliceSigner.address); // Alice's old connection, which never answered
    h.engine.onAuthenticated(away);
    h.now.value = realNow();
    await routeToAlice();
    await vi.waitFor(() => expect(away.proposals()).toHaveLength(1));
    h.engine.onClosed(away);
    h.clock.value += DEFAULT_ENGINE_BOUNDS.venueProposalVoidMs;
    const alice = client();
    await alice.connect();
    expect((await aliceStore.channel(aliceChannel.channelId))!.pending).toMatchObject({ proposer: 0, voided: true, signed: { state: { nonce: 1n } } });
    expect((await alice.pay(aliceChannel.channelId, { assetIndex: 1, amount: 1n })).state.nonce).toBe(2n);
  });

  it("records no void for a refused proposal that is not the venue's state of the next nonce", async () => {
    const alice = client();
    await alice.connect();
    const session = sessions.get(aliceSigner.address)!;
    const far = { ...h.engine.latest(aliceChannel.channelId)!.state, nonce: 5n };
    session.send({ v: PROTOCOL_VERSION, type: "propose", id: "far", channelId: aliceChannel.channelId, state: stateToJson(far), signature: venueSigner.sign(stateDigest(far, aliceChannel.domain)) });
    await vi.waitFor(() => expect(answers).toContainEqual(expect.objectContaining({ type: "rejected", id: "far", code: "BAD_NONCE" })));
    expect((await aliceStore.channel(aliceChannel.channelId))!.pending).toBeNull();
    expect((await alice.pay(aliceChannel.channelId, { assetIndex: 1, amount: 1n })).state.nonce).toBe(1n);
  });
});
