// The link between shards (channel-node/src/shards/link.ts) under attack: a real LinkServer behind a
// real http server on 127.0.0.1, a real LinkDialer, real signatures. A dialler or a server without
// the venue's key, replayed proofs, a peer that never authenticates, malformed and oversized
// messages, too many links, too many requests in flight, refusals and failures of `answer` (the
// server's seam: a stub here; the real one in test/node/remote-routes.test.ts and the e2e test),
// requests that are never answered, late answers, links that drop.
import { createServer, type Server } from "node:http";
import { connect } from "node:net";
import type { Duplex } from "node:stream";
import { hexlify, randomBytes } from "ethers";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { rejectionOrWire } from "../../channel-node/src/countersign.js";
import { isLinkError, type LinkError } from "../../channel-node/src/shards/link-errors.js";
import { LinkDialer, LinkServer, linkMetrics, type LinkMetrics, type LinkResult, type LinkSettings } from "../../channel-node/src/shards/link.js";
import { LINK_PATH, MAX_LINK_BATCH, MIN_LINK_MESSAGE_BYTES, linkProofDigest, linkUrlOf, type LinkRequest, type LinkRequestBody } from "../../channel-node/src/shards/link-wire.js";
import type { ShardEntry } from "../../channel-node/src/shards/shard-map.js";
import { NobleSigner, ProtocolError, type Bytes32, type Signer } from "../../client/protocol/index.js";
import { deployment, keyOf, venueSigner } from "./engine-harness.js";

const mallet = new NobleSigner(keyOf(9));
const logger = pino({ level: "silent" });
const SETTINGS: LinkSettings = { maxLinks: 8, maxPending: 8, maxPendingPerAddress: 8, handshakeTimeoutMs: 2_000, maxMessageBytes: 16 * 1024, maxInFlight: 4 };
const hashlock = (i: number): Bytes32 => `0x${i.toString(16).padStart(64, "0")}` as Bytes32;
const secrets = (...ids: number[]): LinkRequestBody => ({ type: "secrets", hashlocks: ids.map(hashlock) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Answer = (peer: string, request: LinkRequest) => Promise<LinkResult>;

interface Served {
  readonly entry: ShardEntry;
  readonly metrics: LinkMetrics;
  /** Every request `answer` was called with. */
  readonly calls: { peer: string; request: LinkRequest }[];
  /** Links accepted by the http server (before any check). */
  upgrades: number;
  answer: Answer;
  /** Cuts every link's TCP connection (the server keeps listening). */
  drop(): void;
  close(): Promise<void>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address !== "object") throw new Error("no port");
  return `ws://127.0.0.1:${address.port}`;
}

/** Shard `self` answering links with `signer`'s key. */
async function serve(options: { self?: string; signer?: Signer; settings?: Partial<LinkSettings>; answer?: Answer } = {}): Promise<Served> {
  const self = options.self ?? "a";
  const metrics = linkMetrics(createMetrics());
  const http = createServer((_request, response) => response.writeHead(404).end());
  const sockets = new Set<Duplex>();
  const served: Served = {
    entry: { id: self, url: "" },
    metrics,
    calls: [],
    upgrades: 0,
    answer: options.answer ?? (async () => ({ secrets: [{ hashlock: hashlock(1), secret: hashlock(2) }] })),
    drop: () => sockets.forEach((socket) => socket.destroy()),
    close: async () => {
      server.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
  const server = new LinkServer(
    {
      self,
      signer: options.signer ?? venueSigner,
      deployment,
      settings: { ...SETTINGS, ...options.settings },
      logger,
      answer: (peer, request) => {
        served.calls.push({ peer, request });
        return served.answer(peer, request);
      },
      refusalOf: rejectionOrWire,
    },
    metrics,
  );
  http.on("upgrade", (request, socket, head) => {
    if ((request.url ?? "").split("?")[0] !== LINK_PATH) return socket.destroy();
    served.upgrades += 1;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    server.handleUpgrade(request, socket, head);
  });
  (served.entry as { url: string }).url = await listen(http);
  cleanups.push(() => served.close());
  return served;
}

function dialer(options: { self?: string; signer?: Signer; settings?: Partial<LinkSettings> } = {}): { dialer: LinkDialer; metrics: LinkMetrics } {
  const metrics = linkMetrics(createMetrics());
  const d = new LinkDialer({ self: options.self ?? "b", signer: options.signer ?? venueSigner, deployment, settings: { ...SETTINGS, ...options.settings }, logger }, metrics);
  cleanups.push(() => d.close());
  return { dialer: d, metrics };
}

async function counted(counter: LinkMetrics["refusals"] | LinkMetrics["requests"], labels: Record<string, string>): Promise<number> {
  const { values } = await counter.get();
  return values.filter((v) => Object.entries(labels).every(([k, x]) => (v.labels as Record<string, string | number | undefined>)[k] === x)).reduce((sum, v) => sum + v.value, 0);
}

async function gauge(metrics: LinkMetrics, direction: "in" | "out"): Promise<number> {
  return (await metrics.links.get()).values.find((v) => v.labels.direction === direction)?.value ?? 0;
}

async function linkErrorOf(promise: Promise<unknown>): Promise<LinkError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isLinkError(error)) throw new Error(`expected a LinkError, got ${String(error)}`);
  return error;
}

/** A raw WebSocket to a link server: sends anything, keeps every message, reports the close. */
class RawLink {
  readonly messages: Record<string, unknown>[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data) => this.messages.push(JSON.parse(data.toString()) as Record<string, unknown>));
    socket.on("error", () => undefined);
    this.closed = new Promise((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(url: string): Promise<RawLink> {
    const socket = new WebSocket(linkUrlOf(url));
    cleanups.push(() => socket.terminate());
    const raw = new RawLink(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    return raw;
  }

  async challenge(): Promise<{ shard: string; nonce: Bytes32 }> {
    await waitFor(() => this.messages.length > 0);
    return this.messages[0] as unknown as { shard: string; nonce: Bytes32 };
  }

  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The honest handshake as shard `self` with `signer`'s key. */
  async authenticate(self = "b", signer: Signer = venueSigner): Promise<void> {
    const { shard, nonce } = await this.challenge();
    this.send({ type: "link_auth", shard: self, nonce: hexlify(randomBytes(32)), signature: signer.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: self, to: shard, nonce })) });
    await waitFor(() => this.messages.some((m) => m.type === "link_welcome"));
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await sleep(5);
  }
}

/** How `raw` was closed; fails the test if it is still open after `ms`. */
function closeOf(raw: RawLink, ms = 3_000): Promise<{ code: number; reason: string }> {
  return Promise.race([raw.closed, sleep(ms).then(() => Promise.reject(new Error(`the link is still open after ${ms} ms`)))]);
}

/** A promise resolved from outside: an `answer` that hangs until told. */
function gate<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("the link between shards: handshake", () => {
  it("an honest dialler and server: a request and its answer, both links counted", async () => {
    const a = await serve();
    const { dialer: b, metrics } = dialer();
    const answer = await b.request(a.entry, secrets(1), 2_000);
    expect(answer).toEqual({ secrets: [{ hashlock: hashlock(1), secret: hashlock(2) }] });
    expect(a.calls).toEqual([{ peer: "b", request: { type: "secrets", id: "l1", hashlocks: [hashlock(1)] } }]);
    expect(await gauge(a.metrics, "in")).toBe(1);
    expect(await gauge(metrics, "out")).toBe(1);
    expect(await counted(a.metrics.requests, { direction: "in", type: "secrets", outcome: "ok" })).toBe(1);
    expect(await counted(metrics.requests, { direction: "out", type: "secrets", outcome: "ok" })).toBe(1);
    // The next request goes over the same link.
    await b.request(a.entry, secrets(3), 2_000);
    expect(a.upgrades).toBe(1);
  });

  it("refuses a dialler holding another key than the venue's, and never asks `answer`", async () => {
    const a = await serve();
    const { dialer: b } = dialer({ signer: mallet });
    const error = await linkErrorOf(b.request(a.entry, secrets(1), 2_000));
    expect(error.code).toBe("LINK_AUTH_FAILED");
    expect(error.message).toContain("1008");
    expect(await counted(a.metrics.refusals, { reason: "bad_auth" })).toBe(1);
    expect(await gauge(a.metrics, "in")).toBe(0);
    expect(a.calls).toEqual([]);
  });

  it("a link_auth that failed, followed at once by a request, gets the request nowhere", async () => {
    const a = await serve();
    const raw = await RawLink.open(a.entry.url);
    const { nonce } = await raw.challenge();
    raw.send({ type: "link_auth", shard: "b", nonce: hashlock(7), signature: mallet.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "b", to: "a", nonce })) });
    raw.send({ type: "link_auth", shard: "b", nonce: hashlock(7), signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "b", to: "a", nonce })) });
    raw.send({ type: "secrets", id: "x", hashlocks: [hashlock(1)] });
    expect((await closeOf(raw)).code).toBe(1008);
    expect(raw.messages.map((m) => m.type)).toEqual(["link_challenge"]);
    expect(a.calls).toEqual([]);
    expect(await gauge(a.metrics, "in")).toBe(0);
  });

  it("a dialler rejects a server holding another key (LINK_AUTH_FAILED) and sends it no request", async () => {
    // A server that accepts any link_auth and welcomes with mallet's key.
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => resolve()))));
    const received: Record<string, unknown>[] = [];
    const welcomeFor = (nonce: Bytes32) => linkProofDigest({ venue: venueSigner.address, deployment, from: "a", to: "b", nonce });
    let welcome = (nonce: Bytes32) => mallet.sign(welcomeFor(nonce));
    wss.on("connection", (socket) => {
      socket.send(JSON.stringify({ type: "link_challenge", shard: "a", nonce: hexlify(randomBytes(32)) }));
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as { type: string; nonce: Bytes32 };
        received.push(message);
        if (message.type === "link_auth") {
          socket.send(JSON.stringify({ type: "link_welcome", signature: welcome(message.nonce) }));
        }
      });
    });
    const address = wss.address();
    const entry = { id: "a", url: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}` };
    const { dialer: b, metrics } = dialer();
    const error = await linkErrorOf(b.request(entry, secrets(1), 2_000));
    expect(error.code).toBe("LINK_AUTH_FAILED");
    expect(error.details).toEqual({ shard: "a" });
    await sleep(100);
    expect(received.map((m) => m.type)).toEqual(["link_auth"]);
    expect(await gauge(metrics, "out")).toBe(0);

    // The venue's key over another challenge than the dialler's (a welcome replayed from another link) fails too.
    welcome = () => venueSigner.sign(welcomeFor(hashlock(5)));
    expect((await linkErrorOf(b.request(entry, secrets(1), 2_000))).code).toBe("LINK_AUTH_FAILED");
    // And the honest welcome opens it: the two failures above are the signatures', not the server's.
    welcome = (nonce) => venueSigner.sign(welcomeFor(nonce));
    const sent = b.request(entry, secrets(1), 300);
    await waitFor(() => received.some((m) => m.type === "secrets"));
    expect((await linkErrorOf(sent)).code).toBe("LINK_UNAVAILABLE"); // this server never answers
  });

  it("a dialler rejects a server that calls itself another shard (LINK_AUTH_FAILED)", async () => {
    const c = await serve({ self: "c" });
    const { dialer: b } = dialer();
    const error = await linkErrorOf(b.request({ id: "a", url: c.entry.url }, secrets(1), 2_000));
    expect(error.code).toBe("LINK_AUTH_FAILED");
    expect(c.calls).toEqual([]);
  });

  describe("a replayed or misdirected link_auth is refused", () => {
    const cases: { name: string; auth: (challenge: Bytes32, old: Bytes32) => object }[] = [
      {
        name: "a signature over another challenge (an earlier link's)",
        auth: (_challenge, old) => ({ shard: "b", signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "b", to: "a", nonce: old })) }),
      },
      {
        name: "a signature of shard c claimed by shard b",
        auth: (challenge) => ({ shard: "b", signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "c", to: "a", nonce: challenge })) }),
      },
      {
        name: "a signature for shard c's link presented to shard a",
        auth: (challenge) => ({ shard: "b", signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "b", to: "c", nonce: challenge })) }),
      },
      {
        name: "the server's own id (its own welcome's proof turned round)",
        auth: (challenge) => ({ shard: "a", signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "a", to: "a", nonce: challenge })) }),
      },
      {
        name: "a signature for another chain",
        auth: (challenge) => ({ shard: "b", signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment: { ...deployment, chainId: 1n }, from: "b", to: "a", nonce: challenge })) }),
      },
    ];
    for (const { name, auth } of cases) {
      it(name, async () => {
        const a = await serve();
        const earlier = await RawLink.open(a.entry.url);
        const old = (await earlier.challenge()).nonce;
        earlier.socket.terminate();
        const raw = await RawLink.open(a.entry.url);
        const { nonce } = await raw.challenge();
        expect(nonce).not.toBe(old);
        raw.send({ type: "link_auth", nonce: hashlock(9), ...auth(nonce, old) });
        expect((await closeOf(raw)).code).toBe(1008);
        expect(raw.messages.map((m) => m.type)).toEqual(["link_challenge"]);
        expect(await counted(a.metrics.refusals, { reason: "bad_auth" })).toBe(1);
      });
    }
  });

  it("closes a link that sends no link_auth within handshakeTimeoutMs", async () => {
    const a = await serve({ settings: { handshakeTimeoutMs: 200 } });
    const raw = await RawLink.open(a.entry.url);
    const started = Date.now();
    expect((await closeOf(raw)).code).toBe(1008);
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(await counted(a.metrics.refusals, { reason: "handshake_timeout" })).toBe(1);
    // An authenticated link is not closed by the timer.
    const honest = await RawLink.open(a.entry.url);
    await honest.authenticate();
    await sleep(400);
    expect(honest.socket.readyState).toBe(WebSocket.OPEN);
    expect(await counted(a.metrics.refusals, { reason: "handshake_timeout" })).toBe(1);
  });
});

describe("the link between shards: messages and bounds", () => {
  it("cuts off a refused link that never completes the close, freeing its slot", async () => {
    const a = await serve({ settings: { maxLinks: 1, handshakeTimeoutMs: 100 } });
    // A raw TCP client that upgrades, then reads everything and answers nothing (not even the close).
    const tcp = connect(Number(new URL(a.entry.url).port), "127.0.0.1");
    cleanups.push(() => void tcp.destroy());
    const cut = new Promise<void>((resolve) => tcp.on("close", () => resolve()));
    tcp.on("error", () => undefined);
    const key = Buffer.from(randomBytes(16)).toString("base64");
    tcp.write(`GET ${LINK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    tcp.resume();
    const started = Date.now();
    await Promise.race([cut, sleep(6_000).then(() => Promise.reject(new Error("the refused link still holds its connection")))]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500); // a grace to complete the close
    expect(await counted(a.metrics.refusals, { reason: "handshake_timeout" })).toBe(1);
    const { dialer: b } = dialer();
    expect(await b.request(a.entry, secrets(1), 2_000)).toHaveProperty("secrets");
  });

  it("closes a link that sends a malformed request, and answers nothing sent after it", async () => {
    const a = await serve();
    const raw = await RawLink.open(a.entry.url);
    await raw.authenticate();
    raw.send({ type: "secrets", id: "bad", hashlocks: [] }); // at least one hashlock
    raw.send({ type: "secrets", id: "after", hashlocks: [hashlock(1)] });
    expect((await closeOf(raw)).code).toBe(1008);
    expect(await counted(a.metrics.refusals, { reason: "malformed" })).toBe(1);
    expect(a.calls).toEqual([]);
    expect(raw.messages.map((m) => m.type)).toEqual(["link_challenge", "link_welcome"]);
  });

  it("refuses a message beyond maxMessageBytes, before and after the handshake", async () => {
    const bound = 2 * MIN_LINK_MESSAGE_BYTES;
    const a = await serve({ settings: { maxMessageBytes: bound } });
    const early = await RawLink.open(a.entry.url);
    early.send("x".repeat(bound + 1));
    expect((await closeOf(early)).code).toBe(1009);
    const raw = await RawLink.open(a.entry.url);
    await raw.authenticate();
    raw.send({ type: "secrets", id: "big", hashlocks: Array.from({ length: Math.ceil(bound / 60) }, (_, i) => hashlock(i + 1)) });
    expect((await closeOf(raw)).code).toBe(1009);
    expect(a.calls).toEqual([]);
  });

  it("MIN_LINK_MESSAGE_BYTES holds the largest message the link's schemas allow", () => {
    const pairs = Array.from({ length: MAX_LINK_BATCH }, (_, i) => ({ hashlock: hashlock(i), secret: hashlock(i) }));
    const id = "l".repeat(64);
    const worst = "\u0000"; // JSON escapes a control character to six bytes
    const largest = [
      { type: "ok", id, secrets: pairs },
      { type: "secrets_learned", id, secrets: pairs },
      { type: "refused", id, code: "C".repeat(64), message: worst.repeat(2_000), restriction: { code: 2 ** 53 - 1, rule: worst.repeat(200), message: worst.repeat(1_000) } },
    ];
    for (const message of largest) expect(Buffer.byteLength(JSON.stringify(message))).toBeLessThan(MIN_LINK_MESSAGE_BYTES);
  });

  it("carries the largest messages its schema allows even when maxMessageBytes is set lower", async () => {
    const full = Array.from({ length: MAX_LINK_BATCH }, (_, i) => hashlock(i + 1));
    const a = await serve({ settings: { maxMessageBytes: 8 * 1024 }, answer: async () => ({ secrets: full.map((h) => ({ hashlock: h, secret: h })) }) });
    const { dialer: b } = dialer({ settings: { maxMessageBytes: 8 * 1024 } });
    const answer = await b.request(a.entry, { type: "secrets", hashlocks: full }, 2_000);
    expect(answer.secrets).toHaveLength(MAX_LINK_BATCH);
    expect(await b.request(a.entry, { type: "secrets_learned", secrets: full.map((h) => ({ hashlock: h, secret: h })) }, 2_000)).toHaveProperty("secrets");
    expect(a.upgrades).toBe(1);
  });

  it("bounds handshakes in progress, per address (max_pending), apart from authenticated links (max_links); accepts again once one closed", async () => {
    const a = await serve({ settings: { maxLinks: 1, maxPending: 2, maxPendingPerAddress: 1 } });
    // An outsider's handshake holds this address's one pending slot: a second one is refused at once.
    const first = await RawLink.open(a.entry.url);
    await first.challenge();
    const second = await RawLink.open(a.entry.url);
    expect((await closeOf(second)).code).toBe(1013);
    expect(second.messages).toEqual([]);
    expect(await counted(a.metrics.refusals, { reason: "max_pending" })).toBe(1);
    const { dialer: b } = dialer();
    expect((await linkErrorOf(b.request(a.entry, secrets(1), 2_000))).code).toBe("LINK_UNAVAILABLE");
    first.socket.close();
    await first.closed;
    await sleep(50);
    // Authenticated, the link no longer counts as pending: the one authenticated slot is b's.
    expect(await b.request(a.entry, secrets(1), 2_000)).toHaveProperty("secrets");
    expect(await gauge(a.metrics, "in")).toBe(1);
    const { dialer: c } = dialer({ self: "c" });
    expect((await linkErrorOf(c.request(a.entry, secrets(1), 2_000))).code).toBe("LINK_UNAVAILABLE");
    expect(await counted(a.metrics.refusals, { reason: "max_links" })).toBe(1);
    // b's link stays up and answers.
    expect(await b.request(a.entry, secrets(2), 2_000)).toHaveProperty("secrets");
  });

  it("answers requests beyond maxInFlight LINK_BUSY at once, and takes them again once answered", async () => {
    const a = await serve({ settings: { maxInFlight: 2 } });
    const held = gate<LinkResult>();
    a.answer = () => held.promise;
    const { dialer: b, metrics } = dialer();
    const first = b.request(a.entry, secrets(1), 5_000);
    const second = b.request(a.entry, secrets(2), 5_000);
    const busy = await linkErrorOf(b.request(a.entry, secrets(3), 5_000));
    expect(busy.code).toBe("LINK_REFUSED");
    expect(busy.rejection?.code).toBe("LINK_BUSY");
    expect(a.calls).toHaveLength(2);
    expect(await counted(a.metrics.requests, { direction: "in", outcome: "LINK_BUSY" })).toBe(1);
    expect(await counted(metrics.requests, { direction: "out", outcome: "LINK_BUSY" })).toBe(1);
    held.resolve({});
    expect(await Promise.all([first, second])).toEqual([{}, {}]);
    expect(await b.request(a.entry, secrets(4), 5_000)).toEqual({});
    expect(a.calls).toHaveLength(3);
    expect(a.upgrades).toBe(1);
  });

  it("passes `answer`'s refusal on with its code (LINK_REFUSED) and a failure that is no refusal as INTERNAL", async () => {
    const a = await serve();
    const { dialer: b } = dialer();
    a.answer = () => Promise.reject(new ProtocolError("BAD_LOCK", "the venue already routed a lock under this hashlock"));
    const refused = await linkErrorOf(b.request(a.entry, secrets(1), 2_000));
    expect(refused.code).toBe("LINK_REFUSED");
    expect(refused.rejection).toEqual({ code: "BAD_LOCK", message: "the venue already routed a lock under this hashlock" });
    a.answer = () => Promise.reject(new Error("disk on fire at /var/secret/path"));
    const failed = await linkErrorOf(b.request(a.entry, secrets(1), 2_000));
    expect(failed.code).toBe("LINK_REFUSED");
    expect(failed.rejection).toEqual({ code: "INTERNAL", message: "the shard could not process the request" });
    // The link stays up after both.
    a.answer = async () => ({});
    expect(await b.request(a.entry, secrets(1), 2_000)).toEqual({});
    expect(a.upgrades).toBe(1);
  });

  it("a request not answered in time fails LINK_UNAVAILABLE; its late answer does not take the link down", async () => {
    const a = await serve();
    const slow = gate<LinkResult>();
    a.answer = (_peer, request) => (request.type === "secrets" && request.hashlocks[0] === hashlock(1) ? slow.promise : Promise.resolve({}));
    const { dialer: b, metrics } = dialer();
    const late = await linkErrorOf(b.request(a.entry, secrets(1), 200));
    expect(late.code).toBe("LINK_UNAVAILABLE");
    expect(late.message).toContain("did not answer secrets within 200 ms");
    expect(await counted(metrics.requests, { direction: "out", outcome: "timeout" })).toBe(1);
    const held = gate<LinkResult>();
    a.answer = () => held.promise;
    const waiting = b.request(a.entry, secrets(2), 5_000);
    await waitFor(() => a.calls.length === 2);
    slow.resolve({}); // the answer to the request that timed out arrives now
    await sleep(100);
    held.resolve({});
    expect(await waiting).toEqual({});
    expect(a.upgrades).toBe(1);
  });

  it("an answer to a request nobody sent drops the link, failing what was pending", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => (wss.clients.forEach((c) => c.terminate()), wss.close(() => resolve()))));
    let links = 0;
    wss.on("connection", (socket) => {
      links += 1;
      socket.send(JSON.stringify({ type: "link_challenge", shard: "a", nonce: hexlify(randomBytes(32)) }));
      socket.on("message", (data) => {
        const message = JSON.parse(data.toString()) as { type: string; nonce: Bytes32; id: string };
        if (message.type === "link_auth") {
          socket.send(JSON.stringify({ type: "link_welcome", signature: venueSigner.sign(linkProofDigest({ venue: venueSigner.address, deployment, from: "a", to: "b", nonce: message.nonce })) }));
        } else if (message.id === "l1") socket.send(JSON.stringify({ type: "ok", id: "l99" }));
      });
    });
    const address = wss.address();
    const entry = { id: "a", url: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}` };
    const { dialer: b } = dialer();
    const error = await linkErrorOf(b.request(entry, secrets(1), 5_000));
    expect(error.code).toBe("LINK_UNAVAILABLE");
    expect(error.message).toContain("closed before it answered");
    expect(links).toBe(1);
  });

  it("a link that drops fails its pending requests, and the next request opens a new link", async () => {
    const a = await serve();
    const held = gate<LinkResult>();
    a.answer = () => held.promise;
    const { dialer: b, metrics } = dialer();
    const pending = b.request(a.entry, secrets(1), 5_000);
    await waitFor(() => a.calls.length === 1);
    expect(await gauge(metrics, "out")).toBe(1);
    a.drop(); // the link's connection is cut
    const error = await linkErrorOf(pending);
    expect(error.code).toBe("LINK_UNAVAILABLE");
    expect(error.message).toContain("closed before it answered");
    expect(await gauge(metrics, "out")).toBe(0);
    a.answer = async () => ({});
    expect(await b.request(a.entry, secrets(1), 2_000)).toEqual({});
    expect(a.upgrades).toBe(2);
    await a.close(); // the shard stops: nobody listens
    expect((await linkErrorOf(b.request(a.entry, secrets(1), 2_000))).code).toBe("LINK_UNAVAILABLE");
    expect(await gauge(metrics, "out")).toBe(0);
  });
});
