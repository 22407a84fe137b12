// The node's WebSocket and HTTP adapter: a challenge–response handshake per connection, a bounded
// frame size, a per-connection rate limit, schema validation of every message, /health and /metrics.
// It knows nothing of channels: authenticated, well-formed messages go to a `SessionHandler`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { randomBytes } from "node:crypto";
import { hexlify, recoverAddress } from "ethers";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { loginDigest, type SessionChallenge } from "../../client/protocol/session.js";
import type { Address, Deployment } from "../../client/protocol/types.js";
import {
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type NodeMessage,
  WireError,
} from "../../client/protocol/wire.js";
import { TokenBucket } from "./rate-limit.js";
import type { NodeMetrics } from "./metrics.js";

export interface Session {
  readonly id: number;
  /** The investor's address, proven by the handshake. */
  readonly address: Address;
  send(message: NodeMessage): void;
  close(code?: number, reason?: string): void;
}

export interface SessionHandler {
  /** Called once a connection has proven its address. */
  onAuthenticated(session: Session): void;
  /** A validated message from an authenticated session; errors thrown here are sent back typed. */
  onMessage(session: Session, message: ClientMessage): Promise<void>;
  onClosed(session: Session): void;
}

export interface TransportOptions {
  host: string;
  port: number;
  maxFrameBytes: number;
  rateLimit: { perSecond: number; burst: number };
  venue: Address;
  deployment: Deployment;
  handler: SessionHandler;
  logger: Logger;
  metrics: NodeMetrics;
  /** Extra facts for /health. */
  health: () => Record<string, unknown>;
  /** Operator requests under /admin/, answered only to loopback clients. */
  admin?: (request: { method: string; path: string }) => Promise<{ status: number; body: unknown }>;
}

const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** Close codes: 1008 policy violation (rate limit, failed handshake). */
const POLICY_VIOLATION = 1008;
/** A connection that keeps flooding after this many refusals is closed. */
const MAX_REFUSALS = 100;

/** The request id of a message that failed validation, when one can be read, so the answer can echo it. */
function requestIdOf(text: string): string | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "object" && value !== null && "id" in value && typeof value.id === "string" && value.id.length <= 64) return value.id;
  } catch {
    // not JSON: no id to echo
  }
  return undefined;
}

export class Transport {
  private http: Server | undefined;
  private wss: WebSocketServer | undefined;
  private nextSessionId = 1;
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly options: TransportOptions) {}

  async start(): Promise<number> {
    const { options } = this;
    this.http = createServer((req, res) => this.serveHttp(req, res));
    this.wss = new WebSocketServer({ server: this.http, maxPayload: options.maxFrameBytes });
    this.wss.on("connection", (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.http!.once("error", reject);
      this.http!.listen(options.port, options.host, () => resolve());
    });
    const address = this.http.address();
    return typeof address === "object" && address !== null ? address.port : options.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    await new Promise<void>((resolve) => (this.http ? this.http.close(() => resolve()) : resolve()));
  }

  private serveHttp(req: IncomingMessage, res: ServerResponse): void {
    if (req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok", venue: this.options.venue, ...this.options.health() }));
      return;
    }
    if (req.url === "/metrics") {
      this.options.metrics.registry
        .metrics()
        .then((text) => {
          res.writeHead(200, { "content-type": this.options.metrics.registry.contentType });
          res.end(text);
        })
        .catch((error: unknown) => {
          this.options.logger.error({ err: error }, "metrics failed");
          res.writeHead(500).end();
        });
      return;
    }
    const admin = this.options.admin;
    if (admin !== undefined && req.url?.startsWith("/admin/") && LOOPBACK.has(req.socket.remoteAddress ?? "")) {
      admin({ method: req.method ?? "GET", path: req.url.slice("/admin".length) })
        .then(({ status, body }) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
        })
        .catch((error: unknown) => {
          this.options.logger.error({ err: error }, "admin request failed");
          res.writeHead(500, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
        });
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  }

  private accept(socket: WebSocket): void {
    const { options } = this;
    const sessionId = this.nextSessionId++;
    const log = options.logger.child({ session: sessionId });
    const challenge: SessionChallenge = {
      venue: options.venue,
      deployment: options.deployment,
      nonce: hexlify(randomBytes(32)),
    };
    const bucket = new TokenBucket(options.rateLimit.perSecond, options.rateLimit.burst, Date.now());
    let session: Session | undefined;
    let refusals = 0;
    this.sockets.add(socket);
    options.metrics.connections.inc();

    const send = (message: NodeMessage) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const refuse = (error: WireError, id?: string) => {
      options.metrics.rejections.inc({ code: error.code });
      send({ v: PROTOCOL_VERSION, type: "error", id, code: error.code, message: error.message });
    };

    send({
      v: PROTOCOL_VERSION,
      type: "challenge",
      venue: challenge.venue,
      chainId: challenge.deployment.chainId.toString(),
      adjudicator: challenge.deployment.adjudicator,
      nonce: challenge.nonce,
    });

    socket.on("message", (data, isBinary) => {
      if (!bucket.take(Date.now())) {
        refusals += 1;
        refuse(new WireError("RATE_LIMITED", "too many messages; slow down"), isBinary ? undefined : requestIdOf(data.toString()));
        if (refusals > MAX_REFUSALS) socket.close(POLICY_VIOLATION, "rate limit");
        return;
      }
      let message: ClientMessage;
      const text = isBinary ? "" : data.toString();
      try {
        message = parseClientMessage(text);
      } catch (error) {
        refuse(error instanceof WireError ? error : new WireError("MALFORMED", "unreadable message"), requestIdOf(text));
        return;
      }
      if (session === undefined) {
        if (message.type !== "auth") {
          refuse(new WireError("NOT_AUTHENTICATED", "answer the challenge with an auth message first"), message.id);
          return;
        }
        let signer: Address;
        try {
          signer = recoverAddress(loginDigest(challenge), message.signature);
        } catch {
          signer = "";
        }
        if (signer !== message.address) {
          refuse(new WireError("BAD_AUTH", "the signature does not prove the claimed address"), message.id);
          socket.close(POLICY_VIOLATION, "handshake failed");
          return;
        }
        session = {
          id: sessionId,
          address: message.address,
          send,
          close: (code, reason) => socket.close(code, reason),
        };
        log.info({ address: message.address }, "investor authenticated");
        options.handler.onAuthenticated(session);
        return;
      }
      const current = session;
      options.handler.onMessage(current, message).catch((error: unknown) => {
        if (error instanceof WireError) {
          refuse(error, message.id);
          return;
        }
        log.error({ err: error }, "handler failed");
        refuse(new WireError("INTERNAL", "the node could not process the message"), message.id);
      });
    });

    socket.on("close", () => {
      this.sockets.delete(socket);
      options.metrics.connections.dec();
      if (session !== undefined) options.handler.onClosed(session);
    });
    socket.on("error", (error) => log.warn({ err: error }, "socket error"));
  }
}
