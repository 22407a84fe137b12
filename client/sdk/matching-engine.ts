// The SDK side of an external matching engine (docs/trading.md, "External matching engine"): connect
// to the node's engine endpoint with the engine token, read the log's entries in order (from a
// sequence number: resume after a reconnect where the last one ended), submit fills and get each
// answered — accepted with its log sequence number, or refused with the node's code.
//
//   const engine = await connectMatchingEngine({ url, token, from: 0n, onEntry: (e) => book.apply(e) });
//   const result = await engine.submitFill({ makerSequence: 0n, takerSequence: 2n, quantity, price });
import WebSocket from "ws";
import { z } from "zod";
import { ClientError, type Rejection } from "./errors.js";

const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]{0,77})$/)
  .transform((text) => BigInt(text));
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);

const entrySchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("order"),
    sequence: decimal,
    receivedAt: decimal,
    investor: address,
    security: address,
    cash: address,
    side: z.enum(["buy", "sell"]),
    quantity: decimal,
    price: decimal,
    lotSize: decimal,
    timeInForce: z.enum(["GTC", "IOC"]),
    expiresAt: decimal,
  }),
  z.object({ kind: z.literal("cancel"), sequence: decimal, receivedAt: decimal, target: decimal }),
  z.object({ kind: z.literal("venueCancel"), sequence: decimal, receivedAt: decimal, target: decimal, reason: z.enum(["disconnected", "notCompliant"]) }),
  z.object({ kind: z.literal("fill"), sequence: decimal, makerSequence: decimal, takerSequence: decimal, quantity: decimal, price: decimal }),
]);
const restriction = z.object({ code: z.number(), rule: z.string(), message: z.string() });
const nodeMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("hello"), logSize: decimal, markets: z.array(z.object({ security: address, cash: address, lotSize: decimal })) }),
  z.object({ type: z.literal("entry"), entry: entrySchema }),
  z.object({ type: z.literal("fill_accepted"), id: z.string(), sequence: decimal }),
  z.object({ type: z.literal("fill_refused"), id: z.string(), code: z.string(), message: z.string(), restriction: restriction.optional() }),
  z.object({ type: z.literal("error"), id: z.string().optional(), code: z.string(), message: z.string() }),
]);

/** A log entry as the engine reads it: an order, an investor's cancel, the venue's cancel, or a fill. */
export type EngineEntry = z.output<typeof entrySchema>;

export interface EngineFill {
  /** The earlier order, which rested. */
  readonly makerSequence: bigint;
  /** The later order. */
  readonly takerSequence: bigint;
  /** Security raw units, a whole number of lots. */
  readonly quantity: bigint;
  /** Cash raw units per lot, within both orders' limits. */
  readonly price: bigint;
}

/** The node's answer to a fill: logged at `sequence`, or refused with its code (e.g. PRICE_OUTSIDE_LIMIT, NOT_COMPLIANT with the ERC-1404 rule). */
export type FillResult = { readonly accepted: true; readonly sequence: bigint } | ({ readonly accepted: false } & Rejection);

export interface MatchingEngineOptions {
  /** The node's engine endpoint, e.g. ws://127.0.0.1:7546. */
  readonly url: string;
  /** The engine token (the node's `<dataDir>/engine-token`). */
  readonly token: string;
  /** Stream the log from this sequence number on (absent: call `subscribe` later). */
  readonly from?: bigint;
  /** Each log entry, in log order, once. */
  readonly onEntry?: (entry: EngineEntry) => void;
  /** A refusal of a message that is not a fill (e.g. BEYOND_LOG, MALFORMED). */
  readonly onError?: (rejection: Rejection) => void;
  readonly onClose?: (code: number) => void;
  /** How long a fill waits for its answer (default 10 s: TIMEOUT). */
  readonly responseTimeoutMs?: number;
}

export interface MatchingEngine {
  /** The log's size when the connection opened. */
  readonly logSize: bigint;
  readonly markets: readonly { readonly security: string; readonly cash: string; readonly lotSize: bigint }[];
  /** (Re)starts the feed at `from`. */
  subscribe(from: bigint): void;
  submitFill(fill: EngineFill): Promise<FillResult>;
  close(): Promise<void>;
}

/**
 * Connects to the engine endpoint. Rejects with ClientError REJECTED (`rejection.code`
 * ENGINE_UNAUTHORIZED for a wrong token, ENGINE_CONNECTED while another engine is connected),
 * NOT_CONNECTED when the node cannot be reached, NODE_MISBEHAVED for an answer it cannot read.
 */
export async function connectMatchingEngine(options: MatchingEngineOptions): Promise<MatchingEngine> {
  const socket = new WebSocket(options.url, { headers: { authorization: `Bearer ${options.token}` } });
  const pending = new Map<string, { resolve: (result: FillResult) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  let nextId = 1;
  const failAll = (error: Error) => {
    for (const [id, waiter] of pending) {
      clearTimeout(waiter.timer);
      pending.delete(id);
      waiter.reject(error);
    }
  };

  const hello = await new Promise<Extract<z.output<typeof nodeMessageSchema>, { type: "hello" }>>((resolve, reject) => {
    socket.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => {
        let refusal: { code?: unknown; error?: unknown } = {};
        try {
          refusal = JSON.parse(body) as typeof refusal;
        } catch {
          // not the node's JSON: reported with the status alone
        }
        const code = typeof refusal.code === "string" ? refusal.code : `HTTP_${res.statusCode}`;
        const message = typeof refusal.error === "string" ? refusal.error : `the engine endpoint answered ${res.statusCode}`;
        reject(new ClientError("REJECTED", `the node refused the engine connection: ${code} ${message}`, { code, message }));
      });
    });
    socket.once("error", (error) => reject(new ClientError("NOT_CONNECTED", `cannot reach the engine endpoint ${options.url}: ${error.message}`)));
    socket.once("message", (data: WebSocket.RawData) => {
      const parsed = nodeMessageSchema.safeParse(safeJson(data));
      if (parsed.success && parsed.data.type === "hello") resolve(parsed.data);
      else reject(new ClientError("NODE_MISBEHAVED", "the engine endpoint did not start with hello"));
    });
  });

  socket.on("error", () => undefined); // reported by "close"
  socket.on("message", (data: WebSocket.RawData) => {
    const parsed = nodeMessageSchema.safeParse(safeJson(data));
    if (!parsed.success) {
      failAll(new ClientError("NODE_MISBEHAVED", "the engine endpoint sent a message the SDK cannot read"));
      socket.terminate();
      return;
    }
    const message = parsed.data;
    if (message.type === "entry") return options.onEntry?.(message.entry);
    if (message.type === "hello") return;
    const waiter = message.id === undefined ? undefined : pending.get(message.id);
    if (waiter === undefined || message.id === undefined) {
      if (message.type === "error") options.onError?.({ code: message.code, message: message.message });
      return;
    }
    pending.delete(message.id);
    clearTimeout(waiter.timer);
    if (message.type === "fill_accepted") waiter.resolve({ accepted: true, sequence: message.sequence });
    else waiter.resolve({ accepted: false, code: message.code, message: message.message, ...(message.type === "fill_refused" && message.restriction ? { restriction: message.restriction } : {}) });
  });
  socket.on("close", (code) => {
    failAll(new ClientError("NOT_CONNECTED", `the engine connection closed (${code})`));
    options.onClose?.(code);
  });

  const engine: MatchingEngine = {
    logSize: hello.logSize,
    markets: hello.markets,
    subscribe(from) {
      socket.send(JSON.stringify({ type: "subscribe", from: from.toString() }));
    },
    submitFill(fill) {
      if (socket.readyState !== WebSocket.OPEN) return Promise.reject(new ClientError("NOT_CONNECTED", "the engine connection is closed"));
      const id = String(nextId++);
      return new Promise<FillResult>((resolve, reject) => {
        const timeoutMs = options.responseTimeoutMs ?? 10_000;
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new ClientError("TIMEOUT", `no answer to fill ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, { resolve, reject, timer });
        const { makerSequence, takerSequence, quantity, price } = fill;
        socket.send(JSON.stringify({ type: "fill", id, makerSequence: makerSequence.toString(), takerSequence: takerSequence.toString(), quantity: quantity.toString(), price: price.toString() }));
      });
    },
    close() {
      if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
      return new Promise<void>((resolve) => {
        socket.once("close", () => resolve());
        socket.close();
      });
    },
  };
  if (options.from !== undefined) engine.subscribe(options.from);
  return engine;
}

function safeJson(data: WebSocket.RawData): unknown {
  try {
    return JSON.parse(Buffer.isBuffer(data) ? data.toString("utf8") : Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data).toString("utf8"));
  } catch {
    return undefined;
  }
}
