// The SDK's connection follows WRONG_SHARD: servers on 127.0.0.1 that speak the handshake (challenge,
// auth, then WRONG_SHARD or welcome) stand in for nodes whose shard maps we choose, including ones
// that disagree (a loop): the connection follows at most MAX_SHARD_REDIRECTS redirects in a row, a
// redirect without a URL is NODE_MISBEHAVED, and a reconnect after a drop is redirected too.
import { hexlify, randomBytes } from "ethers";
import { WebSocketServer, type WebSocket } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { Connection, MAX_SHARD_REDIRECTS } from "../../client/sdk/connection.js";
import { isClientError } from "../../client/sdk/errors.js";
import { DEFAULT_RECONNECT_BACKOFF } from "../../client/sdk/reconnect-backoff.js";
import { WRONG_SHARD, shardRedirectOf, wrongShardMessage } from "../../client/protocol/session.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";

const VENUE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ADJUDICATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const INVESTOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

/** What a fake node answers an `auth`: welcome, or WRONG_SHARD with this message. */
type Behaviour = { readonly kind: "welcome" } | { readonly kind: "redirect"; readonly message: () => string };

interface FakeNode {
  readonly url: string;
  /** Connections that sent `auth`. */
  auths: number;
  behaviour: Behaviour;
  /** Closes every open connection (a node that went away). */
  drop(): void;
  close(): Promise<void>;
}

const servers: FakeNode[] = [];
const connections: Connection[] = [];

async function fakeNode(behaviour: Behaviour): Promise<FakeNode> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  const address = wss.address();
  const sockets = new Set<WebSocket>();
  const node: FakeNode = {
    url: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`,
    auths: 0,
    behaviour,
    drop: () => sockets.forEach((s) => s.terminate()),
    close: () => new Promise<void>((resolve) => (node.drop(), wss.close(() => resolve()))),
  };
  wss.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "challenge", venue: VENUE, chainId: "31337", adjudicator: ADJUDICATOR, nonce: hexlify(randomBytes(32)) }));
    socket.on("message", (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type !== "auth") return;
      node.auths += 1;
      const current = node.behaviour;
      if (current.kind === "welcome") socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "welcome", address: INVESTOR, channels: [] }));
      else {
        socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "error", code: WRONG_SHARD, message: current.message() }));
        socket.close(4001, "wrong shard");
      }
    });
  });
  servers.push(node);
  return node;
}

const to = (shard: string, node: FakeNode): Behaviour => ({ kind: "redirect", message: () => wrongShardMessage({ shard, url: node.url }) });

/** A connection that answers every challenge with an auth and completes on welcome, as the SDK's client does. */
function connectionTo(urls: readonly string[], reconnect = false): { connection: Connection; events: string[] } {
  const events: string[] = [];
  const connection: Connection = new Connection({
    nodeUrl: urls[0]!,
    fallbackUrls: urls.slice(1),
    reconnect,
    // Short waits: a shard failing over takes many reconnect attempts here (the back-off itself: test/sdk/reconnect-backoff.test.ts).
    backoff: { ...DEFAULT_RECONNECT_BACKOFF, initialDelayMs: 50, maxDelayMs: 400 },
    responseTimeoutMs: 2_000,
    onEvent: (event) => void events.push(event.type),
    onMessage: async (message) => {
      if (message.type === "challenge") connection.send({ v: PROTOCOL_VERSION, type: "auth", address: INVESTOR, signature: `0x${"11".repeat(65)}` });
      else if (message.type === "welcome") connection.established();
      else connection.answered(message);
    },
  });
  connections.push(connection);
  return { connection, events };
}

afterEach(async () => {
  for (const connection of connections.splice(0)) await connection.disconnect();
  for (const server of servers.splice(0)) await server.close();
});

describe("WRONG_SHARD messages", () => {
  it("round-trip the shard and URL; anything else is not a redirect", () => {
    const redirect = { shard: "eu-2", url: "wss://eu-2.venue.example/ws" };
    expect(shardRedirectOf(wrongShardMessage(redirect))).toEqual(redirect);
    expect(shardRedirectOf("your channels are served by shard eu-2 at http://x")).toBeUndefined();
    expect(shardRedirectOf("your channels are served by shard EU at ws://x")).toBeUndefined();
    expect(shardRedirectOf(`your channels are served by shard a at ws://${"x".repeat(2_001)}`)).toBeUndefined();
    expect(shardRedirectOf("go away")).toBeUndefined();
  });
});

describe("the SDK connection and WRONG_SHARD", () => {
  it("a connect to the wrong shard goes on to the shard named, and stays there", async () => {
    const home = await fakeNode({ kind: "welcome" });
    const other = await fakeNode(to("home", home));
    const { connection } = connectionTo([other.url]);
    await connection.connect(async () => undefined);
    expect(connection.connected).toBe(true);
    expect(connection.nodeUrl).toBe(home.url);
    expect([other.auths, home.auths]).toEqual([1, 1]);
  });

  it("nodes that send the client round in a loop: TOO_MANY_REDIRECTS after MAX_SHARD_REDIRECTS redirects, and the connect tries no further node", async () => {
    const a = await fakeNode({ kind: "welcome" });
    const b = await fakeNode(to("a", a));
    a.behaviour = to("b", b);
    const { connection } = connectionTo([a.url, b.url]);
    const error = await connection.connect(async () => undefined).catch((e: unknown) => e);
    expect(isClientError(error, "TOO_MANY_REDIRECTS")).toBe(true);
    expect(a.auths + b.auths).toBe(MAX_SHARD_REDIRECTS + 1);
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    expect(a.auths + b.auths).toBe(MAX_SHARD_REDIRECTS + 1);
  });

  it("a WRONG_SHARD without a usable URL fails the connect (NODE_MISBEHAVED) and is not followed", async () => {
    const fallback = await fakeNode({ kind: "welcome" });
    const bad = await fakeNode({ kind: "redirect", message: () => "your channels are served by shard a at http://127.0.0.1:1" });
    const { connection } = connectionTo([bad.url, fallback.url]);
    const error = await connection.connect(async () => undefined).catch((e: unknown) => e);
    expect(isClientError(error, "NODE_MISBEHAVED")).toBe(true);
    expect(fallback.auths).toBe(0);
  });

  it("reconnecting while the map still names a dead node (a shard failing over): redirects to it count afresh after each failed try, and once the map names the new node the client gets there", async () => {
    const standby = await fakeNode({ kind: "welcome" });
    const other = await fakeNode({ kind: "welcome" });
    const { connection } = connectionTo([other.url], true);
    await connection.connect(async () => undefined);
    const dead = await fakeNode({ kind: "welcome" });
    const deadUrl = dead.url;
    await dead.close();
    servers.splice(servers.indexOf(dead), 1);
    // The other shard names the dead node for more redirects than a row allows, then the standby.
    other.behaviour = { kind: "redirect", message: () => wrongShardMessage({ shard: "a", url: other.auths <= 2 * MAX_SHARD_REDIRECTS + 1 ? deadUrl : standby.url }) };
    other.drop();
    const deadline = Date.now() + 20_000;
    while (!(connection.connected && connection.nodeUrl === standby.url)) {
      if (Date.now() > deadline) throw new Error(`never reached the standby; ${other.auths} redirects`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(other.auths).toBeGreaterThan(2 * MAX_SHARD_REDIRECTS);
  }, 30_000);

  it("after a drop the reconnect is redirected too, and the redirect count starts again after each completed connect", async () => {
    const home = await fakeNode({ kind: "welcome" });
    const other = await fakeNode({ kind: "welcome" });
    const { connection, events } = connectionTo([other.url, home.url], true);
    await connection.connect(async () => undefined);
    expect(connection.nodeUrl).toBe(other.url);
    // The venue moved this investor to `home`: the node it knew now redirects, then goes away.
    other.behaviour = to("home", home);
    for (let round = 0; round < MAX_SHARD_REDIRECTS + 1; round++) {
      const before = home.auths;
      home.drop();
      other.drop();
      const deadline = Date.now() + 10_000;
      while (home.auths === before || !connection.connected) {
        if (Date.now() > deadline) throw new Error(`no reconnect to home in round ${round}: ${events.join(",")}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(connection.nodeUrl).toBe(home.url);
    }
  }, 60_000);
});
