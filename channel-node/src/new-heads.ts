/**
 * New-block notifications over the RPC's WebSocket (`eth_subscribe("newHeads")`), where the RPC offers
 * it. A notification only wakes the chain watchers and the chain clock at once instead of at their
 * next poll: the watchers' `getLogs` catch-up from their stored cursors stays the source of truth, so
 * a lost, duplicated or forged notification costs at most one extra poll. A dropped connection or an
 * RPC without subscriptions leaves the poll interval as the bound; the subscription is retried every
 * `reconnectMs`.
 */
import WebSocket from "ws";
import { z } from "zod";
import type { Logger } from "pino";

export interface NewHeadsOptions {
  /** ws:// or wss:// URL of the RPC. */
  readonly url: string;
  /** Called for every announced block (its number). */
  readonly onHead: (blockNumber: bigint) => void;
  /** Whether the subscription is live, on every change. */
  readonly onState?: (subscribed: boolean) => void;
  readonly reconnectMs: number;
  readonly logger: Logger;
}

/** A block header notification is a few kB; anything far larger is not one. */
const MAX_MESSAGE_BYTES = 256 * 1024;
const SUBSCRIBE_ID = 1;

const subscribed = z.object({ id: z.literal(SUBSCRIBE_ID), result: z.string() });
const notification = z.object({
  method: z.literal("eth_subscription"),
  params: z.object({ subscription: z.string(), result: z.object({ number: z.string().regex(/^0x[0-9a-fA-F]+$/) }) }),
});

export class NewHeadsSubscription {
  private socket: WebSocket | undefined;
  private timer: NodeJS.Timeout | undefined;
  private subscription: string | undefined;
  private stopped = false;

  constructor(private readonly options: NewHeadsOptions) {}

  /** Connects in the background; never throws (failures are logged and retried). */
  start(): void {
    this.stopped = false;
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.terminate();
    });
  }

  private connect(): void {
    if (this.stopped) return;
    const socket = new WebSocket(this.options.url, { maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: this.options.reconnectMs });
    this.socket = socket;
    socket.on("open", () => socket.send(JSON.stringify({ jsonrpc: "2.0", id: SUBSCRIBE_ID, method: "eth_subscribe", params: ["newHeads"] })));
    socket.on("message", (data) => this.onMessage(socket, data.toString()));
    socket.on("error", (error) => this.options.logger.debug({ err: error, url: this.options.url }, "new-heads connection failed"));
    socket.on("close", () => {
      if (this.subscription !== undefined) {
        this.subscription = undefined;
        this.options.onState?.(false);
        this.options.logger.warn({ url: this.options.url }, "new-heads subscription lost; polling until it is back");
      }
      if (this.socket === socket && !this.stopped) this.timer = setTimeout(() => this.connect(), this.options.reconnectMs);
    });
  }

  private onMessage(socket: WebSocket, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return;
    }
    const reply = subscribed.safeParse(message);
    if (reply.success) {
      this.subscription = reply.data.result;
      this.options.onState?.(true);
      this.options.logger.info({ url: this.options.url }, "subscribed to new blocks");
      return;
    }
    const head = notification.safeParse(message);
    if (head.success && head.data.params.subscription === this.subscription) {
      this.options.onHead(BigInt(head.data.params.result.number));
      return;
    }
    if (typeof message === "object" && message !== null && "error" in message && this.subscription === undefined) {
      // The RPC refuses subscriptions: close and retry later rather than spin.
      this.options.logger.warn({ url: this.options.url, error: (message as { error: unknown }).error }, "the RPC refused eth_subscribe(newHeads); polling only");
      socket.close();
    }
  }
}
