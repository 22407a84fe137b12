// A store that cannot commit (database down or timed out, store closing, lease lost) reaches the
// investor as the wire code UNAVAILABLE, through the real transport over a real WebSocket; any other
// failure stays INTERNAL.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Transport } from "../../channel-node/src/transport.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { StoreError, type StoreErrorCode } from "../../client/store/errors.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { RawPeer } from "../helpers/raw-peer.js";
import { deployment, keyOf, venueSigner } from "./engine-harness.js";

describe("store failures on the wire", () => {
  let transport: Transport;
  let port: number;
  let peer: RawPeer | undefined;
  /** What the handler throws for the next message. */
  let failure: Error;

  beforeEach(async () => {
    transport = new Transport({
      host: "127.0.0.1",
      port: 0,
      maxFrameBytes: 1 << 16,
      rateLimit: { perSecond: 1_000, burst: 1_000 },
      handshakeTimeoutMs: 5_000,
      maxConnections: 4,
      maxConnectionsPerAddress: 4,
      venue: venueSigner.address,
      deployment,
      handler: {
        onAuthenticated: (session) => session.send({ v: PROTOCOL_VERSION, type: "welcome", address: session.address, channels: [] }),
        onMessage: async () => {
          throw failure;
        },
        onClosed: () => undefined,
      },
      logger: pino({ level: "silent" }),
      metrics: createMetrics(),
      http: (_request, response) => response.writeHead(404).end(),
    });
    port = await transport.start();
  });

  afterEach(async () => {
    await peer?.close();
    await transport.stop();
  });

  it("answers UNAVAILABLE for WRITE_FAILED, UNAVAILABLE, CLOSED and FENCED, INTERNAL for anything else; the session stays open", async () => {
    ({ peer } = await RawPeer.login(`ws://127.0.0.1:${port}`, keyOf(2)));
    const cases: [Error, string][] = [
      ...(["WRITE_FAILED", "UNAVAILABLE", "CLOSED", "FENCED"] as StoreErrorCode[]).map((code): [Error, string] => [new StoreError(code, "the database went away"), "UNAVAILABLE"]),
      [new StoreError("STALE_STATE", "a bug, not an outage"), "INTERNAL"],
      [new Error("boom"), "INTERNAL"],
    ];
    for (const [error, expected] of cases) {
      failure = error;
      const id = peer.newId();
      const answer = await peer.request({ v: PROTOCOL_VERSION, type: "log_checkpoint", id });
      expect(answer.typed, `${error.message} (${(error as StoreError).code ?? "plain"})`).toMatchObject({ type: "error", id, code: expected });
    }
    expect(peer.isOpen).toBe(true);
  });
});
