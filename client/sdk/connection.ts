// The client's WebSocket to the venue's node: connecting (completed by the client once it is
// authenticated and resynced), reconnecting when the connection drops, and requests matched to
// their answers by id, each bounded by the response timeout. With several node URLs (an active node
// and its standbys) a connect tries them in order and a reconnect moves on to the next one. A node of
// a sharded venue that does not serve this investor answers WRONG_SHARD with its shard's URL: the
// next socket opens there (then the other URLs as before), at most MAX_SHARD_REDIRECTS times in a row.
import WebSocket from "ws";
import { WRONG_SHARD, shardRedirectOf } from "../protocol/session.js";
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

/** Redirects followed without a completed connect in between: more means the venue's nodes disagree (TOO_MANY_REDIRECTS). */
export const MAX_SHARD_REDIRECTS = 3;

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
  /** The configured URLs; a redirect puts its shard's URL in front of them (`urls`). */
  private readonly baseUrls: readonly string[];
  private urls: readonly string[];
  /** The URL the next socket opens: the one that served last, or the next after a failure. */
  private current = 0;
  /** URLs a connect() in progress will still try itself if the current socket fails (no reconnect is scheduled then). */
  private connectTriesLeft = 0;
  /** The socket whose node sent us to another shard (`urls` already starts there). */
  private redirectedSocket: WebSocket | undefined;
  private redirects = 0;

  constructor(private readonly options: ConnectionOptions) {
    this.baseUrls = [options.nodeUrl, ...(options.fallbackUrls ?? [])];
    this.urls = this.baseUrls;
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
    // Each URL once, from the current one; only a node that cannot be reached sends us on. A
    // redirect starts again from the shard's URL (bounded by MAX_SHARD_REDIRECTS).
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
          if (error instanceof ClientError && error.redirect !== undefined) tried = 0;
          else if (tried >= this.urls.length) throw error;
          if (!(error instanceof ClientError) || error.code !== "NOT_CONNECTED" || this.closedByUser) throw error;
        }
      }
    } finally {
      this.connectTriesLeft = 0;
    }
  }

  /** Completes the connect (or reconnect) in progress. */
  established(): void {
    this.redirects = 0;
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
      // A socket left behind by a redirect: the connect already moved on to the shard's node.
      if (socket !== this.socket) return;
      for (const waiting of this.waiting.values()) waiting.reject(new ClientError("NOT_CONNECTED", "the connection to the node closed"));
      this.waiting.clear();
      const url = this.nodeUrl;
      // A connect() going on to the next URL needs no reconnect besides.
      const connectGoesOn = this.connectedOnce !== undefined && this.connectTriesLeft > 0;
      // The next socket tries the next node: this one went away (died, or stepped down) or never
      // answered; after a redirect, the shard's node (already first).
      const redirected = this.redirectedSocket === socket;
      if (redirected) this.redirectedSocket = undefined;
      else this.current = (this.current + 1) % this.urls.length;
      if (this.connectedOnce !== undefined) {
        this.connectedOnce(new ClientError("NOT_CONNECTED", `could not connect to ${url}`));
        this.connectedOnce = undefined;
      }
      this.options.onEvent?.({ type: "disconnected" });
      if (!connectGoesOn && !this.closedByUser && (this.options.reconnect ?? true)) {
        // A node that went away or never answered: the venue may be failing over a shard whose map
        // entry names the dead node for a while, so redirects count afresh (each try waits 500 ms).
        if (!redirected) this.redirects = 0;
        setTimeout(() => this.reconnect(), 500);
      }
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

  /** The node serves us not: the next socket opens at the shard it names, unless that makes too many redirects in a row. */
  private wrongShard(text: string): void {
    const target = shardRedirectOf(text);
    if (target === undefined) {
      this.fail(new ClientError("NODE_MISBEHAVED", `a WRONG_SHARD answer without a shard URL: ${text.slice(0, 200)}`));
      return;
    }
    if (this.redirects >= MAX_SHARD_REDIRECTS) {
      this.fail(new ClientError("TOO_MANY_REDIRECTS", `${this.nodeUrl} sent us to shard ${target.shard} at ${target.url} after ${this.redirects} redirects in a row: the venue's shard map is inconsistent`));
      return;
    }
    const from = this.nodeUrl;
    this.redirects += 1;
    // The shard's URL first, then the configured ones (a node there redirects again if need be).
    this.urls = [target.url, ...this.baseUrls.filter((u) => u !== target.url)];
    this.current = 0;
    this.redirectedSocket = this.socket;
    this.fail(new ClientError("NOT_CONNECTED", `${from} serves another shard: going to shard ${target.shard} at ${target.url}`, undefined, target));
  }

  newId(): string {
    return `c${this.nextId++}`;
  }

  /**
   * Hands an answer to the request waiting for it: an `error` rejects it as REJECTED (and, when no
   * request waits, fails a connect in progress); anything else nobody waits for is ignored.
   */
  answered(message: NodeMessageParsed): void {
    if (message.type === "error" && message.code === WRONG_SHARD && this.connectedOnce !== undefined) {
      this.wrongShard(message.message);
      return;
    }
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
