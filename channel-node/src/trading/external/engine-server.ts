// The external matching engine's endpoint (docs/trading.md, "External matching engine"): its own
// listener (host, port) with its own credential — the bearer token in `<dataDir>/engine-token`,
// neither the admin token nor an investor's key — one connection at a time. The engine subscribes
// to the log from a sequence number (the feed: every entry in log order, resumable after a
// reconnect) and submits fills, which the desk checks, logs and settles; each is answered with its
// log sequence number or a refusal code. Bounded: message size, fills per second, unsent feed bytes,
// a heartbeat. Metrics: clearline_engine_*.
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { Counter, Gauge } from "prom-client";
import type { Logger } from "pino";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { decodeEntry } from "../../../../client/protocol/trading/log-entry.js";
import type { Market } from "../../../../client/protocol/trading/order.js";
import type { NodeMetrics } from "../../metrics.js";
import { PortInUseError } from "../../transport.js";
import { TokenBucket } from "../../rate-limit.js";
import type { TradingDesk } from "../desk.js";
import { refusalOf } from "../errors.js";
import { EngineRefusal, isEngineRefusal } from "./errors.js";
import { engineMessageSchema, entryJson, type EngineMessage } from "./engine-wire.js";

/** The token file's name inside the node's data directory. */
export const ENGINE_TOKEN_FILE = "engine-token";
/** Entries read from the log per page of the feed. */
const FEED_PAGE = 256;

export interface EngineServerSettings {
  readonly host: string;
  readonly port: number;
  readonly maxMessageBytes: number;
  readonly fillRate: { readonly perSecond: number; readonly burst: number };
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
}

export interface EngineServerOptions {
  readonly settings: EngineServerSettings;
  /** The engine's credential (engine-token). */
  readonly token: string;
  readonly desk: TradingDesk;
  readonly markets: readonly Market[];
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** Wall-clock milliseconds, for the fill rate. */
  readonly clock: () => number;
}

const digest = (text: string) => createHash("sha256").update(text).digest();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class EngineServer {
  private current: WebSocket | undefined;
  private claimed = false;
  private readonly connected: Gauge;
  private readonly fills: Counter<"outcome">;
  private readonly refusals: Counter<"code">;
  private readonly fed: Counter;

  private constructor(
    private readonly options: EngineServerOptions,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
    readonly port: number,
  ) {
    const registers = [options.metrics.registry];
    this.connected = new Gauge({ name: "clearline_engine_connected", help: "Whether the external matching engine is connected (0 or 1)", registers });
    this.fills = new Counter({ name: "clearline_engine_fills_total", help: "External engine fills by outcome (accepted or the refusal code)", labelNames: ["outcome"], registers });
    this.refusals = new Counter({ name: "clearline_engine_refusals_total", help: "Refused engine connections and messages by code", labelNames: ["code"], registers });
    this.fed = new Counter({ name: "clearline_engine_feed_entries_total", help: "Log entries streamed to the external engine", registers });
  }

  static async start(options: EngineServerOptions): Promise<EngineServer> {
    const { host, port, maxMessageBytes } = options.settings;
    const http = createServer((_req, res) => {
      res.writeHead(426, { "content-type": "application/json" }).end(JSON.stringify({ code: "UPGRADE_REQUIRED", error: "the matching engine endpoint speaks WebSocket only" }));
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(host, port) : error);
      http.once("error", failed);
      http.listen(port, host, () => {
        http.off("error", failed);
        resolve();
      });
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes });
    const address = http.address();
    const server = new EngineServer(options, http, wss, typeof address === "object" && address !== null ? address.port : port);
    http.on("upgrade", (req, socket, head) => server.upgrade(req, socket, head));
    options.logger.info({ url: `ws://${host}:${server.port}` }, "matching engine endpoint listening");
    return server;
  }

  async stop(): Promise<void> {
    this.current?.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => (this.http.listening ? this.http.close(() => resolve()) : resolve()));
  }

  private refuseUpgrade(socket: Duplex, status: 401 | 409, code: string, error: string): void {
    this.refusals.inc({ code });
    const body = JSON.stringify({ code, error });
    const reason = status === 401 ? "Unauthorized" : "Conflict";
    socket.end(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const header = req.headers.authorization ?? "";
    const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
    // Compared as digests: equal length, constant time.
    if (presented === "" || !timingSafeEqual(digest(presented), digest(this.options.token))) {
      this.options.logger.warn({ remote: req.socket.remoteAddress }, "matching engine connection refused: no or a wrong token");
      return this.refuseUpgrade(socket, 401, "ENGINE_UNAUTHORIZED", 'send the engine token (<dataDir>/engine-token) as "Authorization: Bearer <token>"');
    }
    if (this.claimed) return this.refuseUpgrade(socket, 409, "ENGINE_CONNECTED", "a matching engine is connected already (one at a time)");
    this.claimed = true;
    // A handshake that ws refuses (a bad upgrade request) never reaches accept: free the slot.
    socket.once("close", () => {
      if (this.current === undefined) this.claimed = false;
    });
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws));
  }

  private accept(socket: WebSocket): void {
    const { options } = this;
    const { settings, desk } = options;
    this.current = socket;
    this.connected.set(1);
    options.logger.info("matching engine connected");
    const bucket = new TokenBucket(settings.fillRate.perSecond, settings.fillRate.burst, options.clock());
    const feed = { next: undefined as bigint | undefined, pumping: false, again: false };
    const send = (message: unknown): void => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };

    const pump = async (): Promise<void> => {
      if (feed.pumping) {
        feed.again = true;
        return;
      }
      feed.pumping = true;
      try {
        do {
          feed.again = false;
          while (feed.next !== undefined && feed.next < BigInt(desk.size) && socket.readyState === socket.OPEN) {
            if (socket.bufferedAmount > settings.maxBufferedBytes) {
              await sleep(20);
              continue;
            }
            const from = feed.next;
            const page = await desk.segment(from, FEED_PAGE);
            if (page.length === 0 || feed.next !== from) break;
            for (const bytes of page) {
              const entry = decodeEntry(bytes);
              send({ type: "entry", entry: entryJson(entry) });
              feed.next = entry.sequence + 1n;
            }
            this.fed.inc(page.length);
          }
        } while (feed.again);
      } finally {
        feed.pumping = false;
      }
    };
    const pumpLogged = () => pump().catch((error: unknown) => options.logger.error({ err: error }, "the matching engine's feed failed"));
    const unsubscribe = desk.onAppend(pumpLogged);

    let alive = true;
    socket.on("pong", () => (alive = true));
    const heartbeat = setInterval(() => {
      if (!alive) {
        options.logger.warn("matching engine answered no ping: closing its connection");
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, settings.heartbeatMs);

    socket.on("error", (error: Error & { code?: string }) => {
      this.refusals.inc({ code: error.code === "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH" ? "MESSAGE_TOO_LARGE" : "SOCKET_ERROR" });
      options.logger.warn({ err: error }, "matching engine connection error");
    });
    socket.on("close", () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.current = undefined;
      this.claimed = false;
      this.connected.set(0);
      options.logger.info("matching engine disconnected");
    });

    socket.on("message", (data: RawData) => {
      const message = this.parse(data);
      if (!("type" in message)) return send(message.error);
      if (message.type === "subscribe") {
        if (message.from > BigInt(desk.size)) {
          this.refusals.inc({ code: "BEYOND_LOG" });
          return send({ type: "error", code: "BEYOND_LOG", message: `the log has ${desk.size} entries; cannot stream from ${message.from}` });
        }
        feed.next = message.from;
        return void pumpLogged();
      }
      void this.fill(message, bucket, send);
    });

    send({ type: "hello", logSize: desk.size.toString(), markets: options.markets.map((m) => ({ security: m.security, cash: m.cash, lotSize: m.lotSize.toString() })) });
  }

  private parse(data: RawData): EngineMessage | { error: { type: "error"; id?: string; code: "MALFORMED"; message: string } } {
    const text = Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.refusals.inc({ code: "MALFORMED" });
      return { error: { type: "error", code: "MALFORMED", message: "not JSON" } };
    }
    const parsed = engineMessageSchema.safeParse(json);
    if (parsed.success) return parsed.data;
    this.refusals.inc({ code: "MALFORMED" });
    const id = typeof json === "object" && json !== null && "id" in json && typeof json.id === "string" && json.id.length <= 64 ? json.id : undefined;
    return { error: { type: "error", ...(id === undefined ? {} : { id }), code: "MALFORMED", message: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") } };
  }

  private async fill(message: Extract<EngineMessage, { type: "fill" }>, bucket: TokenBucket, send: (message: unknown) => void): Promise<void> {
    const { id } = message;
    try {
      if (!bucket.take(this.options.clock())) {
        this.options.metrics.boundRefusals.inc({ reason: "FILL_RATE_LIMITED" });
        const { perSecond, burst } = this.options.settings.fillRate;
        throw new EngineRefusal("FILL_RATE_LIMITED", `more than ${perSecond} fills per second (burst ${burst})`);
      }
      const fill = await this.options.desk.submitFill(message);
      this.fills.inc({ outcome: "accepted" });
      send({ type: "fill_accepted", id, sequence: fill.sequence.toString() });
    } catch (error) {
      const refusal = isEngineRefusal(error)
        ? { code: error.code, message: error.shortMessage, ...(error.restriction === undefined ? {} : { restriction: error.restriction }) }
        : this.unexpected(error);
      this.fills.inc({ outcome: refusal.code });
      send({ type: "fill_refused", id, ...refusal });
    }
  }

  /** A core or chain refusal (e.g. COMPLIANCE_UNKNOWN while the chain view is stale); anything else is logged as a bug. */
  private unexpected(error: unknown): { code: string; message: string } {
    try {
      return refusalOf(error);
    } catch {
      this.options.logger.error({ err: error }, "an engine fill failed");
      return { code: "INTERNAL", message: "the node failed to log the fill" };
    }
  }
}
