// The SDK's own reconnect against the node's real transport on 127.0.0.1 (its login and connection
// bounds as a node enforces them) and against a port that accepts and drops every connection (a
// node that is down): attempts are spaced by the back-off — counted over a window, where a fixed
// 500 ms retry would make several times as many —, a refusal for load (LOGIN_RATE_LIMITED,
// TOO_MANY_CONNECTIONS) waits longer, the count starts over only after a welcome that held, a failed
// connect leaves no retries behind and a disconnect ends the waiting.
import { createServer, type Server } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import WebSocket from "ws";
import { Transport, type Session } from "../../channel-node/src/transport.js";
import { createMetrics, type NodeMetrics } from "../../channel-node/src/metrics.js";
import type { KeyedRate } from "../../channel-node/src/rate-limit.js";
import { NobleSigner, nobleVerifier } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { ClearlineClient, isClientError, type ClientEvent, type ReconnectBackoff } from "../../client/sdk/index.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { deployment, keyOf, venueSigner } from "../node/engine-harness.js";

const alice = new NobleSigner(keyOf(2));

interface TestNode {
  readonly port: number;
  readonly metrics: NodeMetrics;
  readonly sessions: Set<Session>;
  /** Connections closed at a bound (`login_rate`, `max_connections_per_address`, …). */
  refusals(bound: string): Promise<number>;
  /** Closes every investor's session (the node let them go). */
  drop(): void;
  stop(): Promise<void>;
}

/** A port that accepts every TCP connection and drops it at once: the times of the attempts. */
interface DeadPort {
  readonly url: string;
  readonly attempts: number[];
  close(): Promise<void>;
}

const stoppers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const stop of stoppers.splice(0).reverse()) await stop();
});

/** The node's transport: welcome, then `resynced` with no channels. */
async function startNode(bounds: { port?: number; loginRate?: KeyedRate; maxConnectionsPerAddress?: number } = {}): Promise<TestNode> {
  const metrics = createMetrics();
  const sessions = new Set<Session>();
  const transport = new Transport({
    host: "127.0.0.1",
    port: bounds.port ?? 0,
    maxFrameBytes: 1 << 16,
    rateLimit: { perSecond: 1_000, burst: 1_000 },
    handshakeTimeoutMs: 60_000,
    maxConnections: 16,
    maxConnectionsPerAddress: bounds.maxConnectionsPerAddress ?? 16,
    ...(bounds.loginRate === undefined ? {} : { loginRate: bounds.loginRate }),
    venue: venueSigner.address,
    deployment,
    handler: {
      onAuthenticated: (session) => {
        sessions.add(session);
        session.send({ v: PROTOCOL_VERSION, type: "welcome", address: session.address, channels: [] });
      },
      onMessage: async (session, message) => {
        if (message.type === "resync") session.send({ v: PROTOCOL_VERSION, type: "resynced", id: message.id, channels: [] });
      },
      onClosed: (session) => void sessions.delete(session),
    },
    logger: pino({ level: "silent" }),
    metrics,
    http: (_request, response) => response.writeHead(404).end(),
  });
  const port = await transport.start();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (!stopped) await transport.stop();
    stopped = true;
  };
  stoppers.push(stop);
  return {
    port,
    metrics,
    sessions,
    refusals: async (bound) => (await metrics.connectionRefusals.get()).values.find((v) => v.labels.bound === bound)?.value ?? 0,
    drop: () => sessions.forEach((session) => session.close(1001, "going away")),
    stop,
  };
}

async function deadPort(port = 0): Promise<DeadPort> {
  const attempts: number[] = [];
  const server: Server = createServer((socket) => {
    attempts.push(Date.now());
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  let closed = false;
  const close = async (): Promise<void> => {
    if (!closed) await new Promise<void>((resolve) => server.close(() => resolve()));
    closed = true;
  };
  stoppers.push(close);
  return { url: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`, attempts, close };
}

type Reconnecting = Extract<ClientEvent, { type: "reconnecting" }>;

function investor(url: string, reconnectBackoff?: Partial<ReconnectBackoff>): { client: ClearlineClient; events: ClientEvent[]; reconnecting: () => Reconnecting[] } {
  const events: ClientEvent[] = [];
  const client = new ClearlineClient({
    nodeUrl: url,
    signer: alice,
    verifier: nobleVerifier,
    store: new MemoryStore(),
    deployment,
    responseTimeoutMs: 5_000,
    ...(reconnectBackoff === undefined ? {} : { reconnectBackoff }),
    onEvent: (event) => void events.push(event),
  });
  stoppers.push(() => client.disconnect());
  return { client, events, reconnecting: () => events.filter((e): e is Reconnecting => e.type === "reconnecting") };
}

describe("the SDK's reconnect", () => {
  it("a node that refuses logins (LOGIN_RATE_LIMITED) is tried again only after the longer wait, not every half second", async () => {
    // One login per address, no refill within the test.
    const node = await startNode({ loginRate: { perSecond: 0.001, burst: 1, maxKeys: 100 } });
    const { client, reconnecting } = investor(`ws://127.0.0.1:${node.port}`);
    await client.connect();
    node.drop();
    await sleep(4_000);
    // The first attempt comes quickly and is refused; the next waits at least refusedDelayMs / 2 (5 s).
    expect(await node.refusals("login_rate")).toBe(1);
    expect(client.connected).toBe(false);
    expect(reconnecting().map((e) => e.attempt)).toEqual([1, 2]);
    expect(reconnecting()[0]!.delayMs).toBeLessThanOrEqual(250);
    expect(reconnecting()[1]).toMatchObject({ refusal: "LOGIN_RATE_LIMITED" });
    expect(reconnecting()[1]!.delayMs).toBeGreaterThanOrEqual(5_000);
  }, 20_000);

  it("TOO_MANY_CONNECTIONS: the refused attempt waits at least the ordinary back-off, the next comes after it, and once a slot is free the client is back", async () => {
    const node = await startNode({ maxConnectionsPerAddress: 1 });
    const backoff = { initialDelayMs: 1_000, maxDelayMs: 4_000, refusedDelayMs: 3_000 };
    const { client, reconnecting } = investor(`ws://127.0.0.1:${node.port}`, backoff);
    await client.connect();
    node.drop();
    // Another connection from the address takes the only slot while the client waits (500–1,000 ms).
    const blocker = await vi.waitFor(
      () =>
        new Promise<WebSocket>((resolve, reject) => {
          const socket = new WebSocket(`ws://127.0.0.1:${node.port}`);
          socket.once("message", (data) => ((JSON.parse(data.toString()) as { type: string }).type === "challenge" ? resolve(socket) : (socket.terminate(), reject(new Error("refused")))));
          socket.once("error", reject);
        }),
      { timeout: 400, interval: 20 },
    );
    stoppers.push(async () => void blocker.terminate());
    // The blocker's own tries before the slot was free are refused too.
    const before = await node.refusals("max_connections_per_address");
    await vi.waitFor(() => expect(reconnecting().length).toBe(2), { timeout: 3_000 });
    const refusedAt = Date.now();
    const refused = reconnecting()[1]!;
    expect(refused).toMatchObject({ attempt: 2, refusal: "TOO_MANY_CONNECTIONS" });
    // Attempt 2's ordinary ceiling is 2 s; refused, it is twice that (capped at 4 s): 2–4 s.
    expect(refused.delayMs).toBeGreaterThanOrEqual(2_000);
    expect(refused.delayMs).toBeLessThanOrEqual(4_000);
    await sleep(1_500);
    expect(await node.refusals("max_connections_per_address")).toBe(before + 1);
    blocker.terminate();
    await vi.waitFor(() => expect(client.connected).toBe(true), { timeout: 4_000 + 2_000 - (Date.now() - refusedAt) + 1_000, interval: 50 });
    expect(await node.refusals("max_connections_per_address")).toBe(before + 1);
  }, 20_000);

  it("a node that is down: attempts spaced by a doubling wait; back up, the count starts over after a welcome that held, not after one dropped at once", async () => {
    const node = await startNode();
    const { client, reconnecting } = investor(`ws://127.0.0.1:${node.port}`, { stableAfterMs: 300 });
    await client.connect();
    await node.stop();
    const droppedAt = Date.now();
    const down = await deadPort(node.port);
    await sleep(3_500 - (Date.now() - droppedAt));
    // 125–250, then 250–500, 500–1,000, 1,000–2,000 ms apart: 3 or 4 attempts in 3.5 s (a fixed 500 ms retry makes 7).
    const attempts = [...down.attempts];
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(4);
    for (let i = 1; i < attempts.length; i++) expect(attempts[i]! - attempts[i - 1]!).toBeGreaterThanOrEqual(0.9 * 125 * 2 ** i);

    await down.close();
    const back = await startNode({ port: node.port });
    await vi.waitFor(() => expect(client.connected).toBe(true), { timeout: 10_000, interval: 50 });
    const failed = reconnecting().length;
    expect(failed).toBeGreaterThanOrEqual(4);
    // Held past stableAfterMs, then dropped: attempt 1 again, after at most initialDelayMs.
    await sleep(400);
    back.drop();
    await vi.waitFor(() => expect(reconnecting().length).toBe(failed + 1));
    expect(reconnecting()[failed]).toMatchObject({ attempt: 1 });
    expect(reconnecting()[failed]!.delayMs).toBeLessThanOrEqual(250);
    await vi.waitFor(() => expect(client.connected).toBe(true), { timeout: 2_000, interval: 20 });
    // Dropped right after its welcome: the count goes on.
    back.drop();
    await vi.waitFor(() => expect(reconnecting().length).toBe(failed + 2));
    expect(reconnecting()[failed + 1]).toMatchObject({ attempt: 2 });
  }, 30_000);

  it("a failed connect leaves no retries behind; a disconnect ends a reconnect's wait", async () => {
    const down = await deadPort();
    const first = investor(down.url);
    const error = await first.client.connect().catch((e: unknown) => e);
    expect(isClientError(error, "NOT_CONNECTED")).toBe(true);
    await sleep(1_500);
    expect(down.attempts).toHaveLength(1);
    expect(first.reconnecting()).toEqual([]);

    const node = await startNode();
    const second = investor(`ws://127.0.0.1:${node.port}`);
    await second.client.connect();
    await node.stop();
    const dead = await deadPort(node.port);
    await vi.waitFor(() => expect(dead.attempts.length).toBe(2), { timeout: 2_000, interval: 10 });
    const started = Date.now();
    await second.client.disconnect();
    expect(Date.now() - started).toBeLessThan(200);
    // The third attempt was due 500–1,000 ms after the second.
    await sleep(1_500);
    expect(dead.attempts).toHaveLength(2);
  }, 20_000);
});
