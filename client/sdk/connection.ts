// The client's WebSocket to the venue's node: connecting (completed by the client once it is
// authenticated and resynced), reconnecting when the connection drops, and requests matched to
// their answers by id, each bounded by the response timeout. With several node URLs (an active node
// and its standbys) a connect tries them in order and a reconnect moves on to the next one.
import WebSocket from "ws";
import { parseNodeMessage, type NodeMessageParsed } from "../protocol/wire.js";
import { ClientError } from "./errors.js";

export interface ConnectionOptions {
  /** ws:// URL of the venue's node. */
  readonly nodeUrl: string;
  /** More ws:// URLs of the same venue (its standby nodes), tried after `nodeUrl`. */
  readonly fallbackUrls?: readonly string[];
  /** How long to wait for an answer from the node (ms). */
  readonly responseTimeoutMs?: number;
  /** Reconnect when the connection drops. Default true. */
  readonly reconnect?: boolean;
  readonly onEvent?: (event: { readonly type: "connected" | "disconnected" }) => void;
  /** Handles every message from the node; a failure fails the connect in progress, if any. */
  readonly onMessage: (message: NodeMessageParsed) => Promise<void>;
}

interface Waiting {
  resolve(message: NodeMessageParsed): void;
  reject(error: Error): void;
}

export class Connection {
  private socket: WebSocket | undefined;
  private readonly waiting = new Map<string, Waiting>();
  private nextId = 1;
  private closedByUser = false;
  private connectedOnce: ((error?: Error) => void) | undefined;
  private readonly urls: readonly string[];
  /** The URL the next socket opens: the one that served last, or the next after a failure. */
  private current = 0;
  /** URLs a connect() in progress will still try itself if the current socket fails (no reconnect is scheduled then). */
  private connectTriesLeft = 0;

  constructor(private readonly options: ConnectionOptions) {
    this.urls = [options.nodeUrl, ...(options.fallbackUrls ?? [])];
  }

  /** The node URL in use (or tried next). */
  get nodeUrl(): string {
    return this.urls[this.current]!;
  }

  /** Open and its connect completed. */
  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && this.connectedOnce === undefined;
  }

  /** Connects after `prepare`; resolves once `established` is called, rejects if the connect fails. */
  async connect(prepare: () => Promise<void>): Promise<void> {
    this.closedByUser = false;
    await prepare();
    // Each URL once, from the current one; only a node that cannot be reached sends us on.
    try {
      for (let tried = 1; ; tried++) {
        this.connectTriesLeft = this.urls.length - tried;
        try {
          await new Promise<void>((resolve, reject) => {
            this.connectedOnce = (error) => (error ? reject(error) : resolve());
            this.openSocket();
          });
          return;
        } catch (error) {
          if (tried >= this.urls.length || !(error instanceof ClientError) || error.code !== "NOT_CONNECTED" || this.closedByUser) throw error;
        }
      }
    } finally {
      this.connectTriesLeft = 0;
    }
  }

  /** Completes the connect (or reconnect) in progress. */
  established(): void {
    const done = this.connectedOnce;
    this.connectedOnce = undefined;
    done?.();
  }

  /** Closes the connection for good (no reconnect). */
  async disconnect(): Promise<void> {
    this.closedByUser = true;
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.close();
    });
  }

  private openSocket(): void {
    const socket = new WebSocket(this.nodeUrl);
    this.socket = socket;
    socket.on("message", (data) => {
      let message: NodeMessageParsed;
      try {
        message = parseNodeMessage(data.toString());
      } catch (error) {
        this.fail(new ClientError("NODE_MISBEHAVED", `unreadable message from the node: ${(error as Error).message}`));
        return;
      }
      this.options.onMessage(message).catch((error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
    });
    socket.on("close", () => {
      for (const waiting of this.waiting.values()) waiting.reject(new ClientError("NOT_CONNECTED", "the connection to the node closed"));
      this.waiting.clear();
      const url = this.nodeUrl;
      // A connect() going on to the next URL needs no reconnect besides.
      const connectGoesOn = this.connectedOnce !== undefined && this.connectTriesLeft > 0;
      // The next socket tries the next node: this one went away (died, or stepped down) or never answered.
      this.current = (this.current + 1) % this.urls.length;
      if (this.connectedOnce !== undefined) {
        this.connectedOnce(new ClientError("NOT_CONNECTED", `could not connect to ${url}`));
        this.connectedOnce = undefined;
      }
      this.options.onEvent?.({ type: "disconnected" });
      if (!connectGoesOn && !this.closedByUser && (this.options.reconnect ?? true)) setTimeout(() => this.reconnect(), 500);
    });
    socket.on("error", () => undefined); // a close event follows and handles it
  }

  private reconnect(): void {
    if (this.closedByUser) return;
    const connected = new Promise<void>((resolve, reject) => {
      this.connectedOnce = (error) => (error ? reject(error) : resolve());
    });
    connected.then(
      () => this.options.onEvent?.({ type: "connected" }),
      () => undefined, // the close handler schedules the next attempt
    );
    this.openSocket();
  }

  /** Fails the connect in progress with `error` and closes the socket; nothing once connected. */
  fail(error: Error): void {
    if (this.connectedOnce !== undefined) {
      this.connectedOnce(error);
      this.connectedOnce = undefined;
      this.socket?.close();
    }
  }

  send(message: object): void {
    if (this.socket?.readyState !== WebSocket.OPEN) throw new ClientError("NOT_CONNECTED", "not connected to the node");
    this.socket.send(JSON.stringify(message));
  }

  /** Sends `message` and resolves with the node's answer to its id; TIMEOUT, or NOT_CONNECTED if the connection closes. */
  request(message: { readonly id: string; readonly [field: string]: unknown }): Promise<NodeMessageParsed> {
    const timeoutMs = this.options.responseTimeoutMs ?? 30_000;
    return new Promise<NodeMessageParsed>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(message.id);
        reject(new ClientError("TIMEOUT", `the node did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(message.id, {
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      try {
        this.send(message);
      } catch (error) {
        clearTimeout(timer);
        this.waiting.delete(message.id);
        reject(error as Error);
      }
    });
  }

  newId(): string {
    return `c${this.nextId++}`;
  }

  /**
   * Hands an answer to the request waiting for it: an `error` rejects it as REJECTED (and, when no
   * request waits, fails a connect in progress); anything else nobody waits for is ignored.
   */
  answered(message: NodeMessageParsed): void {
    if (message.type === "error") {
      if (message.id !== undefined && this.waiting.has(message.id)) {
        this.waiting.get(message.id)!.reject(new ClientError("REJECTED", `${message.code}: ${message.message}`, { code: message.code, message: message.message }));
        this.waiting.delete(message.id);
        return;
      }
      if (this.connectedOnce !== undefined) this.fail(new ClientError("REJECTED", `${message.code}: ${message.message}`));
      return;
    }
    const waiting = "id" in message && message.id !== undefined ? this.waiting.get(message.id) : undefined;
    if (waiting !== undefined) {
      this.waiting.delete((message as { id: string }).id);
      waiting.resolve(message);
    }
  }
}
