// Once connected, a message from the node that cannot be read, or whose handling fails, is told to
// the listener as `messageFailed` (its type, or "unreadable") and the connection stays up; during the
// connect, the same failure fails the connect. A server on 127.0.0.1 that speaks the handshake stands
// in for the node.
import { hexlify, randomBytes } from "ethers";
import { WebSocketServer, type WebSocket } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { Connection, type ConnectionEvent } from "../../client/sdk/connection.js";
import { isClientError } from "../../client/sdk/errors.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { eventually } from "../helpers/node-process.js";

const VENUE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const ADJUDICATOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const INVESTOR = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
const CHANNEL = `0x${"ab".repeat(32)}`;

let server: WebSocketServer | undefined;
let connection: Connection | undefined;

/** A node that answers `auth` with `welcome`, sending `beforeWelcome` first; `socket()` is the last connection. */
async function fakeNode(beforeWelcome?: string): Promise<{ url: string; socket: () => WebSocket }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  server = wss;
  await new Promise<void>((resolve) => wss.once("listening", () => resolve()));
  let last: WebSocket | undefined;
  wss.on("connection", (socket) => {
    last = socket;
    socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "challenge", venue: VENUE, chainId: "31337", adjudicator: ADJUDICATOR, nonce: hexlify(randomBytes(32)) }));
    socket.on("message", (data) => {
      if ((JSON.parse(data.toString()) as { type: string }).type !== "auth") return;
      if (beforeWelcome !== undefined) socket.send(beforeWelcome);
      socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "welcome", address: INVESTOR, channels: [] }));
    });
  });
  const address = wss.address();
  return { url: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`, socket: () => last! };
}

/** A connection whose handler of `deposits` notices fails. */
function connectionTo(url: string): { connection: Connection; events: ConnectionEvent[] } {
  const events: ConnectionEvent[] = [];
  const opened: Connection = new Connection({
    nodeUrl: url,
    reconnect: false,
    responseTimeoutMs: 2_000,
    onEvent: (event) => void events.push(event),
    onMessage: async (message) => {
      if (message.type === "challenge") opened.send({ v: PROTOCOL_VERSION, type: "auth", address: INVESTOR, signature: `0x${"11".repeat(65)}` });
      else if (message.type === "welcome") opened.established();
      else if (message.type === "deposits") throw new Error("the store could not record the deposits");
    },
  });
  connection = opened;
  return { connection: opened, events };
}

const deposits = JSON.stringify({ v: PROTOCOL_VERSION, type: "deposits", channelId: CHANNEL, status: "open", deposits: [["1", "0"]] });

afterEach(async () => {
  await connection?.disconnect();
  connection = undefined;
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

describe("the SDK connection and a message it cannot read or handle", () => {
  it("once connected: told as messageFailed with the message's type or 'unreadable', and the connection stays up", async () => {
    const node = await fakeNode();
    const { connection, events } = connectionTo(node.url);
    await connection.connect(async () => undefined);
    node.socket().send("{ not json");
    node.socket().send(deposits);
    const failed = await eventually(
      async () => events.filter((e) => e.type === "messageFailed"),
      (list) => list.length === 2,
      5_000,
    );
    expect(failed.map((e) => e.type === "messageFailed" && e.message).sort()).toEqual(["deposits", "unreadable"]);
    const unreadable = failed.find((e) => e.type === "messageFailed" && e.message === "unreadable");
    expect(unreadable?.type === "messageFailed" && isClientError(unreadable.error, "NODE_MISBEHAVED")).toBe(true);
    expect(connection.connected).toBe(true);
    expect(events.some((e) => e.type === "disconnected")).toBe(false);
  });

  it("during the connect: the same failure fails the connect, and nothing is told as messageFailed", async () => {
    const node = await fakeNode("{ not json");
    const { connection, events } = connectionTo(node.url);
    const error = await connection.connect(async () => undefined).catch((e: unknown) => e);
    expect(isClientError(error, "NODE_MISBEHAVED")).toBe(true);
    expect(events.some((e) => e.type === "messageFailed")).toBe(false);
  });
});
