// The venue countersigns the investor's proposal and proposes the next nonce at once, both answers
// arriving in one read (client/sdk/live-channels.ts `serializedOrNow`): the SDK handles the venue's
// proposal behind its own — once its own is recorded as agreed — and countersigns it, instead of
// checking it against the state before its own (BAD_NONCE, a void). Real SDK over a real WebSocket to
// the venue's engine (in process, memory stores); Alice's session holds the engine's `accepted` back
// until the engine proposes Bob's routed lock to her, then sends both, one right after the other.
// And the other half: the venue's proposal of the same nonce as her unanswered one (simultaneous
// proposals) is countersigned at once, not queued behind hers until it times out.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { Transport, type Session } from "../../channel-node/src/transport.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, channelOf, hashlockOf, nobleVerifier, type Channel } from "../../client/protocol/index.js";
import type { ClientMessage, NodeMessage } from "../../client/protocol/wire.js";
import { ClearlineClient } from "../../client/sdk/client.js";
import { FakeSession, LOOPBACK_TRANSPORT, deployment, keyOf, makeEngine, openFunded, paramsFor, propose, type Harness } from "../node/engine-harness.js";

const aliceSigner = new NobleSigner(keyOf(2));
const bobSigner = new NobleSigner(keyOf(3));
const HOUR = 3_600n;

describe("SDK: the venue's proposal of the next nonce, in the same read as its acceptance of ours", () => {
  let h: Harness;
  let transport: Transport;
  let port: number;
  let aliceStore: MemoryStore;
  let aliceChannel: Channel;
  let bob: FakeSession;
  let bobChannel: Channel;
  let client: ClearlineClient | undefined;
  /** Every message Alice's SDK sent, and every message the node sent her. */
  const fromAlice: ClientMessage[] = [];
  const toAlice: NodeMessage[] = [];
  /** Set while the engine's next `accepted` to Alice is to be held back until its next proposal to her. */
  let holdNextAccepted = false;
  /** Set while Alice's next proposal is to reach the engine only after the venue proposed the same nonce and she answered. */
  let holdNextProposal = false;
  const wrapped = new Map<Session, Session>();

  /** Bob pays Alice 3 through the venue: the engine proposes its lock to Alice. */
  async function routeToAlice(): Promise<void> {
    const base = h.engine.latest(bobChannel.channelId)!.state;
    const lock = { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 3n, hashlock: hashlockOf(`0x${"07".repeat(32)}`), expiry: h.now.value + 3n * HOUR } } as const;
    await h.engine.onMessage(bob, propose(bobChannel, base, lock, bobSigner, "route", { route: { to: aliceSigner.address } }).message);
    expect(bob.last()).toMatchObject({ type: "accepted" });
  }

  /** Alice's session as the engine sees it: sends through the transport, but may hold an `accepted` back. */
  function wrap(session: Session): Session {
    let held: NodeMessage | undefined;
    const send = (message: NodeMessage) => {
      toAlice.push(message);
      session.send(message);
    };
    const view: Session = {
      id: session.id,
      address: session.address,
      close: (code, reason) => session.close(code, reason),
      send: (message) => {
        if (holdNextAccepted && message.type === "accepted") {
          holdNextAccepted = false;
          held = message;
          void routeToAlice();
          return;
        }
        if (held !== undefined && message.type === "propose") {
          // Both in one tick: the SDK reads them together.
          send(held);
          send(message);
          held = undefined;
          return;
        }
        send(message);
      },
    };
    wrapped.set(session, view);
    return view;
  }

  beforeEach(async () => {
    const nodeStore = new MemoryStore();
    h = makeEngine(nodeStore, { responseTimeoutMs: 2_000 });
    h.now.value = BigInt(Math.floor(Date.now() / 1000)); // the SDK judges the lock's expiry by the host's clock
    fromAlice.length = 0;
    toAlice.length = 0;
    holdNextAccepted = false;
    holdNextProposal = false;
    wrapped.clear();
    transport = new Transport({
      ...LOOPBACK_TRANSPORT,
      handler: {
        onAuthenticated: (session) => h.engine.onAuthenticated(wrap(session)),
        onMessage: (session, message) => {
          fromAlice.push(message);
          const view = wrapped.get(session)!;
          if (holdNextProposal && message.type === "propose") {
            holdNextProposal = false;
            void (async () => {
              await routeToAlice();
              await vi.waitFor(() => expect(fromAlice.some((m) => m.type === "accepted")).toBe(true), { timeout: 10_000 });
              await h.engine.onMessage(view, message);
            })().catch(() => undefined); // a failure shows in the test's own assertions
            return Promise.resolve();
          }
          return h.engine.onMessage(view, message);
        },
        onClosed: (session) => h.engine.onClosed(wrapped.get(session)!),
      },
      logger: pino({ level: "silent" }),
      metrics: h.options.metrics,
      http: (_request, response) => response.writeHead(404).end(),
    });
    port = await transport.start();
    const params = paramsFor(aliceSigner.address);
    aliceChannel = channelOf(params, deployment);
    await openFunded(h.engine, nodeStore, new FakeSession(90, aliceSigner.address), [[0n, 0n], [100n, 50n]], params);
    aliceStore = new MemoryStore();
    await aliceStore.channelCreated({ channelId: aliceChannel.channelId, params, deployment, me: 1, createdAt: Date.now() });
    await aliceStore.channelOpened(aliceChannel.channelId, "open");
    bob = new FakeSession(91, bobSigner.address);
    h.engine.onAuthenticated(bob);
    bobChannel = await openFunded(h.engine, nodeStore, bob, [[0n, 0n], [100n, 100n]]);
  });

  afterEach(async () => {
    await client?.disconnect();
    client = undefined;
    await transport.stop();
  });

  it("countersigns the venue's proposal once its own is agreed", async () => {
    client = new ClearlineClient({ nodeUrl: `ws://127.0.0.1:${port}`, signer: aliceSigner, verifier: nobleVerifier, store: aliceStore, deployment, responseTimeoutMs: 5_000, reconnect: false });
    await client.connect();
    toAlice.length = 0;
    fromAlice.length = 0;
    holdNextAccepted = true;
    const paid = await client.pay(aliceChannel.channelId, { assetIndex: 1, amount: 1n });
    expect(paid.state.nonce).toBe(1n);
    // The node did send both answers back to back.
    expect(toAlice.map((m) => m.type)).toEqual(["accepted", "propose"]);

    // Alice's answer to the venue's proposal: countersigned (the old order refused it BAD_NONCE).
    await vi.waitFor(() => expect(fromAlice).toHaveLength(2));
    expect(fromAlice[1]).toMatchObject({ type: "accepted", channelId: aliceChannel.channelId, nonce: "2" });
    await vi.waitFor(() => expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(2n));
    const record = (await aliceStore.channel(aliceChannel.channelId))!;
    expect(record.latest!.state.nonce).toBe(2n);
    expect(record.latest!.state.locks).toHaveLength(1);
    expect(record.pending).toBeNull();
  });

  it("countersigns the venue's proposal of the same nonce as ours at once (simultaneous proposals): the venue's takes precedence", async () => {
    client = new ClearlineClient({ nodeUrl: `ws://127.0.0.1:${port}`, signer: aliceSigner, verifier: nobleVerifier, store: aliceStore, deployment, responseTimeoutMs: 4_000, reconnect: false });
    await client.connect();
    fromAlice.length = 0;
    holdNextProposal = true;
    const paying = client.pay(aliceChannel.channelId, { assetIndex: 1, amount: 1n });
    const outcome = paying.then(
      () => "agreed",
      (error: unknown) => error,
    );
    // Answered while her own proposal is unanswered: well before it could time out.
    await vi.waitFor(() => expect(fromAlice).toHaveLength(2), { timeout: 2_000 });
    expect(fromAlice[1]).toMatchObject({ type: "accepted", channelId: aliceChannel.channelId, nonce: "1" });
    // The engine reads hers only now, after its own was agreed.
    expect(await outcome).toMatchObject({ code: "REJECTED", rejection: { code: "BAD_NONCE" } });
    expect(h.engine.latest(aliceChannel.channelId)!.state.nonce).toBe(1n);
    const record = (await aliceStore.channel(aliceChannel.channelId))!;
    expect(record.latest!.state.nonce).toBe(1n);
    expect(record.latest!.state.locks).toHaveLength(1);
    expect(record.pending).toBeNull();
  });
});
