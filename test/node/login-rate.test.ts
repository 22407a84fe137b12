// Logins over a real WebSocket to the real transport: the native check still logs the SDK's signatures
// in, a refused one gets BAD_AUTH with the login check's short message as its text (no ` (code=…)`: the
// code travels in its own field), and logins per remote address — failed ones too — are bounded
// (LOGIN_RATE_LIMITED, close 1013, clearline_connection_refusals_total{bound="login_rate"}).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Transport } from "../../channel-node/src/transport.js";
import { createMetrics, type NodeMetrics } from "../../channel-node/src/metrics.js";
import { NobleSigner } from "../../client/protocol/signing.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { RawPeer } from "../helpers/raw-peer.js";
import { deployment, keyOf, venueSigner } from "./engine-harness.js";

const BURST = 3;

describe("logins at the transport", () => {
  let transport: Transport;
  let metrics: NodeMetrics;
  let url: string;
  const peers: RawPeer[] = [];

  beforeEach(async () => {
    metrics = createMetrics();
    transport = new Transport({
      host: "127.0.0.1",
      port: 0,
      maxFrameBytes: 1 << 16,
      rateLimit: { perSecond: 1_000, burst: 1_000 },
      handshakeTimeoutMs: 5_000,
      maxConnections: 16,
      maxConnectionsPerAddress: 16,
      // No refill within a test: the burst is all an address gets.
      loginRate: { perSecond: 0.001, burst: BURST, maxKeys: 100 },
      venue: venueSigner.address,
      deployment,
      handler: {
        onAuthenticated: (session) => session.send({ v: PROTOCOL_VERSION, type: "welcome", address: session.address, channels: [] }),
        onMessage: async () => undefined,
        onClosed: () => undefined,
      },
      logger: pino({ level: "silent" }),
      metrics,
      http: (_request, response) => response.writeHead(404).end(),
    });
    url = `ws://127.0.0.1:${await transport.start()}`;
  });

  afterEach(async () => {
    await Promise.all(peers.splice(0).map((peer) => peer.close()));
    await transport.stop();
  });

  async function connect(from: string): Promise<RawPeer> {
    const peer = await RawPeer.connect(url, undefined, { localAddress: from });
    peers.push(peer);
    return peer;
  }

  const loginRefusals = async (): Promise<number> => (await metrics.connectionRefusals.get()).values.find((v) => v.labels.bound === "login_rate")?.value ?? 0;

  it("logs an honest signature in and refuses v 0/1 with BAD_AUTH and the short message, no code in it, closing 1008", async () => {
    expect((await (await connect("127.0.0.40")).authenticate(keyOf(2))).typed?.type).toBe("welcome");
    const peer = await connect("127.0.0.40");
    const signer = new NobleSigner(keyOf(3));
    const canonical = peer.loginSignature(signer);
    const v01 = `${canonical.slice(0, 130)}0${Number.parseInt(canonical.slice(130), 16) - 27}`;
    peer.send({ v: PROTOCOL_VERSION, type: "auth", id: "a", address: signer.address, signature: v01 });
    const answer = await peer.next((a) => a.raw.type === "error");
    expect(answer.typed).toMatchObject({ type: "error", code: "BAD_AUTH", id: "a" });
    expect(answer.raw.message).toBe("not a canonical secp256k1 signature (65 bytes, v 27 or 28, low s)");
    expect((await peer.waitClosed()).code).toBe(1008);
  });

  it("counts failed and successful logins per remote address and refuses past the bound, other addresses unaffected", async () => {
    // Two failed logins (another key's signature) and one good one use up 127.0.0.41's burst.
    for (let i = 0; i < BURST - 1; i++) {
      const answer = await (await connect("127.0.0.41")).authenticate(keyOf(2), new NobleSigner(keyOf(3)).address);
      expect(answer.typed).toMatchObject({ type: "error", code: "BAD_AUTH" });
      expect(answer.raw.message).toBe("the signature does not prove the claimed address");
    }
    expect((await (await connect("127.0.0.41")).authenticate(keyOf(2))).typed?.type).toBe("welcome");
    expect(await loginRefusals()).toBe(0);

    const refused = await connect("127.0.0.41");
    expect((await refused.authenticate(keyOf(2))).typed).toMatchObject({ type: "error", code: "LOGIN_RATE_LIMITED" });
    expect((await refused.waitClosed()).code).toBe(1013);
    expect(await loginRefusals()).toBe(1);

    expect((await (await connect("127.0.0.42")).authenticate(keyOf(2))).typed?.type).toBe("welcome");
  });
});
