// Connection bounds of a node process over real WebSockets and TCP: a connection that does not
// authenticate in time is closed (HANDSHAKE_TIMEOUT, 1008), and so is a TCP connection that sends
// nothing; connections above the per-address and the total bound are refused (TOO_MANY_CONNECTIONS,
// 1013) while other addresses, /health and the admin API are still served; every refusal is counted
// in clearline_connection_refusals_total{bound}. Peers connect from distinct loopback addresses
// (127.0.0.x) so that the node sees distinct remote addresses.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { RawPeer, type Answer } from "../helpers/raw-peer.js";

const BOUNDS = { handshakeTimeoutMs: 3_000, maxConnections: 6, maxConnectionsPerAddress: 3 };

describe("connection bounds of a node process", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  const peers: RawPeer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-connections-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node"), ...BOUNDS }), dir);
  });

  afterAll(async () => {
    for (const peer of peers) await peer.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A connection from `localAddress` and the node's first message on it. */
  async function open(localAddress: string): Promise<{ peer: RawPeer; first: Answer }> {
    const opened = await RawPeer.open(node.url, 5_000, { localAddress });
    peers.push(opened.peer);
    return opened;
  }

  async function metric(name: string, labels: string): Promise<number> {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? 0 : Number(line.split(" ")[1]);
  }
  const refusals = (bound: string) => metric("clearline_connection_refusals_total", `{bound="${bound}"}`);

  /** A WebSocket upgrade by hand from `localAddress`; once refused, sends an unmasked frame (a protocol error). */
  async function refusedThenBrokenFrame(localAddress: string): Promise<string> {
    const socket = connect({ host: "127.0.0.1", port: node.port, localAddress });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    let received = "";
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => undefined);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      if (received.includes("TOO_MANY_CONNECTIONS")) socket.write(Buffer.from([0x81, 0x01, 0x41]));
    });
    const key = randomBytes(16).toString("base64");
    socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${node.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    await closed;
    return received;
  }

  /** Closes every peer and waits until the node has counted them all closed. */
  async function closeAll(): Promise<void> {
    for (const peer of peers.splice(0)) await peer.close();
    await eventually(() => metric("clearline_connections", ""), (open) => open === 0);
  }

  it("closes connections that do not authenticate within handshakeTimeoutMs (HANDSHAKE_TIMEOUT, 1008); an authenticated one stays", async () => {
    const before = await refusals("handshake_timeout");
    const started = Date.now();
    const idle = await Promise.all(["127.0.0.10", "127.0.0.10", "127.0.0.11"].map(async (address) => (await open(address)).peer));
    const { peer: investor, welcome } = await RawPeer.login(node.url, devWallet(ROLES.alice).privateKey);
    peers.push(investor);
    expect(welcome.type).toBe("welcome");

    for (const peer of idle) {
      const closed = await peer.waitClosed(BOUNDS.handshakeTimeoutMs + 5_000);
      expect(closed.code).toBe(1008);
      expect(peer.answers.map((a) => a.typed)).toContainEqual(expect.objectContaining({ type: "error", code: "HANDSHAKE_TIMEOUT" }));
    }
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(BOUNDS.handshakeTimeoutMs - 200);
    expect(elapsed).toBeLessThan(BOUNDS.handshakeTimeoutMs + 4_000);
    expect(investor.isOpen).toBe(true);
    expect(await refusals("handshake_timeout")).toBe(before + 3);
    await closeAll();
  });

  it("closes a TCP connection that sends nothing within the same bound", async () => {
    const started = Date.now();
    const socket = connect({ host: "127.0.0.1", port: node.port, localAddress: "127.0.0.12" });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the node kept a silent TCP connection open")), BOUNDS.handshakeTimeoutMs + 5_000);
      socket.once("close", () => (clearTimeout(timer), resolve()));
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(BOUNDS.handshakeTimeoutMs - 200);
  });

  it("drops TCP connections above maxConnections + 64 (the headroom of plain HTTP)", async () => {
    const before = await refusals("tcp_max_connections");
    const connectFrom = async (localAddress: string) => {
      const socket = connect({ host: "127.0.0.1", port: node.port, localAddress });
      await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
      return socket;
    };
    const held = await Promise.all(Array.from({ length: BOUNDS.maxConnections + 64 }, () => connectFrom("127.0.0.13")));
    let droppedAfterMs: number;
    try {
      const started = Date.now();
      const extra = await connectFrom("127.0.0.14");
      await new Promise<void>((resolve) => extra.once("close", () => resolve()));
      droppedAfterMs = Date.now() - started;
    } finally {
      for (const socket of held) socket.destroy();
    }
    expect(droppedAfterMs).toBeLessThan(BOUNDS.handshakeTimeoutMs - 1_000); // dropped, not closed for idling
    // /metrics itself needs a free TCP slot: read it once the held connections are gone (a read
    // attempted before the node saw them go is dropped, and counted, too).
    expect(await eventually(() => refusals("tcp_max_connections").catch(() => -1), (count) => count >= 0, 10_000)).toBeGreaterThanOrEqual(before + 1);
  });

  it("refuses a connection above maxConnectionsPerAddress (TOO_MANY_CONNECTIONS, 1013) and serves other addresses", async () => {
    const before = await refusals("max_connections_per_address");
    for (let i = 0; i < BOUNDS.maxConnectionsPerAddress; i++) expect((await open("127.0.0.20")).first.typed?.type).toBe("challenge");

    const refused = await open("127.0.0.20");
    expect(refused.first.typed).toMatchObject({ type: "error", code: "TOO_MANY_CONNECTIONS" });
    expect((await refused.peer.waitClosed()).code).toBe(1013);
    expect((await open("127.0.0.21")).first.typed?.type).toBe("challenge");
    // A refused peer that answers with a broken frame does not take the node down.
    expect(await refusedThenBrokenFrame("127.0.0.20")).toContain("TOO_MANY_CONNECTIONS");
    expect((await fetch(`${node.httpUrl}/health`)).status).toBe(200);
    expect(await refusals("max_connections_per_address")).toBe(before + 2);

    // A freed slot is served again.
    await peers[0]!.close();
    await eventually(() => metric("clearline_connections", ""), (open) => open === BOUNDS.maxConnectionsPerAddress);
    expect((await open("127.0.0.20")).first.typed?.type).toBe("challenge");
    await closeAll();
  });

  it("refuses a connection above maxConnections from any address; /health and the admin API still answer", async () => {
    const before = await refusals("max_connections");
    for (let i = 0; i < BOUNDS.maxConnections; i++) expect((await open(`127.0.0.${30 + (i % 3)}`)).first.typed?.type).toBe("challenge");

    const refused = await open("127.0.0.40");
    expect(refused.first.typed).toMatchObject({ type: "error", code: "TOO_MANY_CONNECTIONS" });
    expect((await refused.peer.waitClosed()).code).toBe(1013);
    expect(await refusals("max_connections")).toBe(before + 1);
    expect((await fetch(`${node.httpUrl}/health`)).status).toBe(200);
    expect(await adminGet<unknown[]>(node, "/channels")).toEqual([]);

    await peers[0]!.close();
    await eventually(() => metric("clearline_connections", ""), (open) => open === BOUNDS.maxConnections - 1);
    expect((await open("127.0.0.40")).first.typed?.type).toBe("challenge");
    await closeAll();
  });
});
