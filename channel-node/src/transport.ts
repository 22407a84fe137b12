// The node's WebSocket adapter: a challenge–response handshake per connection within a time bound,
// bounded connections (all together and per remote address), a bounded frame size, a per-connection
// rate limit, bounded logins per remote address, schema validation of every message. Plain HTTP requests on the same port go to
// `http` (http.ts). It knows nothing of channels: authenticated, well-formed messages go to a
// `SessionHandler`.
import { createServer, type IncomingMessage, type RequestListener, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { randomBytes } from "node:crypto";
import { hexlify } from "ethers";
import { WebSocketServer, type WebSocket } from "ws";
import type { Logger } from "pino";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import type { SessionChallenge } from "../../client/protocol/session.js";
import { loadVerifier, type Verifier } from "../../client/protocol/signing.js";
import type { Address, Deployment } from "../../client/protocol/types.js";
import {
  PROTOCOL_VERSION,
  parseClientMessage,
  type ClientMessage,
  type NodeMessage,
  WireError,
} from "../../client/protocol/wire.js";
import { DEFAULT_LOGIN_RATE, KeyedTokenBuckets, TokenBucket, type KeyedRate } from "./rate-limit.js";
import { checkLogin, isLoginError } from "./login-check.js";
import { storeUnavailable } from "./store/store-unavailable.js";
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
  /** A connection must authenticate within this time; plain HTTP connections may idle this long. */
  handshakeTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerAddress: number;
  /** Logins (`auth` messages) per remote address, successful or not; default DEFAULT_LOGIN_RATE. */
  loginRate?: KeyedRate;
  venue: Address;
  deployment: Deployment;
  handler: SessionHandler;
  logger: Logger;
  metrics: NodeMetrics;
  /** Plain HTTP requests (/health, /metrics, /admin/*). */
  http: RequestListener;
  /** WebSocket upgrades to other paths than the investors' (the link between shards), by path. */
  upgrades?: Readonly<Record<string, (request: IncomingMessage, socket: Duplex, head: Buffer) => void>>;
}

/** The port is taken: another process (or another node) listens there. The start prints its message as is. */
export class PortInUseError extends CodedError<"PORT_IN_USE", { readonly host: string; readonly port: number }> {
  override readonly name: string = "PortInUseError";
  constructor(host: string, port: number) {
    super("PORT_IN_USE", `port ${port} on ${host} is already in use`, { host, port }, { codeSuffix: false });
  }
}

export function isPortInUseError(error: unknown): error is PortInUseError {
  return isCodedError(error, PortInUseError);
}

/** Close codes: 1008 policy violation (rate limit, failed or late handshake), 1013 try again later (capacity). */
const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;
/** A peer that does not answer our close frame within this time is cut off. */
const CLOSE_GRACE_MS = 2_000;
/**
 * TCP connections above the WebSocket bound that plain HTTP may use (/health, /metrics, the operator),
 * so that a full set of WebSocket connections does not lock the operator out.
 */
const HTTP_HEADROOM = 64;
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
  /** Open WebSocket connections by remote address. */
  private readonly perAddress = new Map<string, number>();
  /** Logins per remote address. */
  private readonly logins: KeyedTokenBuckets;

  constructor(private readonly options: TransportOptions) {
    this.logins = new KeyedTokenBuckets(options.loginRate ?? DEFAULT_LOGIN_RATE);
  }

  async start(): Promise<number> {
    const { options } = this;
    // Checks login signatures: libsecp256k1 when its binding loads (login-check.ts).
    const verifier = await loadVerifier();
    const http = createServer(
      {
        // A request's headers (incl. a WebSocket upgrade) must arrive within the handshake bound.
        headersTimeout: options.handshakeTimeoutMs,
        requestTimeout: options.handshakeTimeoutMs,
        connectionsCheckingInterval: Math.min(1_000, options.handshakeTimeoutMs),
      },
      options.http,
    );
    this.http = http;
    // A TCP connection that sends nothing is closed after the same time (upgraded sockets are exempt).
    http.timeout = options.handshakeTimeoutMs;
    http.maxConnections = options.maxConnections + HTTP_HEADROOM;
    http.on("drop", () => options.metrics.connectionRefusals.inc({ bound: "tcp_max_connections" }));
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(options.host, options.port) : error);
      http.once("error", failed);
      http.listen(options.port, options.host, () => {
        http.off("error", failed);
        resolve();
      });
    });
    // Attached only once listening: ws re-emits the server's errors, and a failed listen is reported above.
    const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxFrameBytes });
    this.wss = wss;
    wss.on("connection", (socket, request) => this.accept(socket, request.socket.remoteAddress ?? "unknown", verifier));
    wss.on("error", (error) => options.logger.error({ err: error }, "server error"));
    http.on("error", (error) => options.logger.error({ err: error }, "server error"));
    http.on("upgrade", (request, socket, head) => {
      const path = (request.url ?? "/").split("?")[0]!;
      const other = options.upgrades?.[path];
      if (other !== undefined) other(request, socket, head);
      else wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
    });
    const address = http.address();
    return typeof address === "object" && address !== null ? address.port : options.port;
  }

  async stop(): Promise<void> {
    for (const socket of this.wss?.clients ?? []) socket.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
    this.http?.closeAllConnections();
    await new Promise<void>((resolve) => (this.http?.listening ? this.http.close(() => resolve()) : resolve()));
  }

  /** Closes with `code`, and cuts the connection off if the peer does not complete the close in time. */
  private static closeSoon(socket: WebSocket, code: number, reason: string): void {
    socket.close(code, reason);
    setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** The bound a new connection from `remote` would exceed, if any. */
  private exceededBound(remote: string): "max_connections" | "max_connections_per_address" | undefined {
    if (this.sockets.size >= this.options.maxConnections) return "max_connections";
    if ((this.perAddress.get(remote) ?? 0) >= this.options.maxConnectionsPerAddress) return "max_connections_per_address";
    return undefined;
  }

  private accept(socket: WebSocket, remote: string, verifier: Verifier): void {
    const { options } = this;
    const bound = this.exceededBound(remote);
    if (bound !== undefined) {
      socket.on("error", (error) => options.logger.debug({ err: error, remote }, "refused connection failed"));
      options.metrics.connectionRefusals.inc({ bound });
      options.metrics.rejections.inc({ code: "TOO_MANY_CONNECTIONS" });
      const message = bound === "max_connections" ? "the node serves its maximum number of connections" : "too many connections from your address";
      socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "error", code: "TOO_MANY_CONNECTIONS", message: `${message}; try again later` } satisfies NodeMessage));
      Transport.closeSoon(socket, TRY_AGAIN_LATER, "too many connections");
      return;
    }
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
    this.perAddress.set(remote, (this.perAddress.get(remote) ?? 0) + 1);
    options.metrics.connections.inc();

    const send = (message: NodeMessage) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };
    const refuse = (error: WireError, id?: string) => {
      options.metrics.rejections.inc({ code: error.code });
      send({ v: PROTOCOL_VERSION, type: "error", id, code: error.code, message: error.message });
    };

    const handshakeTimer = setTimeout(() => {
      options.metrics.connectionRefusals.inc({ bound: "handshake_timeout" });
      refuse(new WireError("HANDSHAKE_TIMEOUT", `no valid auth within ${options.handshakeTimeoutMs} ms`));
      Transport.closeSoon(socket, POLICY_VIOLATION, "handshake timeout");
    }, options.handshakeTimeoutMs);

    send({
      v: PROTOCOL_VERSION,
      type: "challenge",
      venue: challenge.venue,
      chainId: challenge.deployment.chainId.toString(),
      adjudicator: challenge.deployment.adjudicator,
      nonce: challenge.nonce,
    });

    socket.on("message", (data, isBinary) => {
      if (socket.readyState !== socket.OPEN) return; // closing: a late auth must not open a session
      if (!bucket.take(Date.now())) {
        refusals += 1;
        refuse(new WireError("RATE_LIMITED", "too many messages; slow down"), isBinary ? undefined : requestIdOf(data.toString()));
        if (refusals > MAX_REFUSALS) Transport.closeSoon(socket, POLICY_VIOLATION, "rate limit");
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
        if (!this.logins.take(remote, Date.now())) {
          options.metrics.connectionRefusals.inc({ bound: "login_rate" });
          refuse(new WireError("LOGIN_RATE_LIMITED", "too many logins from your address; try again later"), message.id);
          Transport.closeSoon(socket, TRY_AGAIN_LATER, "too many logins");
          return;
        }
        try {
          checkLogin(verifier, challenge, message.address, message.signature);
        } catch (error) {
          // The short message: the peer gets the code in its own field (BAD_AUTH), not in the text.
          const reason = isLoginError(error) ? error.shortMessage : "the signature does not prove the claimed address";
          refuse(new WireError("BAD_AUTH", reason), message.id);
          Transport.closeSoon(socket, POLICY_VIOLATION, "handshake failed");
          return;
        }
        clearTimeout(handshakeTimer);
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
        if (storeUnavailable(error)) {
          log.warn({ err: error }, "the store refused a write; update not countersigned");
          refuse(new WireError("UNAVAILABLE", "the node cannot commit right now; nothing was countersigned"), message.id);
          return;
        }
        log.error({ err: error }, "handler failed");
        refuse(new WireError("INTERNAL", "the node could not process the message"), message.id);
      });
    });

    socket.on("close", () => {
      clearTimeout(handshakeTimer);
      this.sockets.delete(socket);
      const left = (this.perAddress.get(remote) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(remote);
      else this.perAddress.set(remote, left);
      options.metrics.connections.dec();
      if (session !== undefined) options.handler.onClosed(session);
    });
    socket.on("error", (error) => log.warn({ err: error }, "socket error"));
  }
}
