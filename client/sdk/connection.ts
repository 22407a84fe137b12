// The client's WebSocket to the venue's node: connecting (completed by the client once it is
// authenticated and resynced), reconnecting when an established connection drops, and requests
// matched to their answers (pending-requests.ts). A connect tries each node URL once (node-urls.ts:
// standbys, shard redirects); a reconnect tries them in turn, waiting before each attempt as
// reconnect-backoff.ts says — longer after a refusal for load — except that a shard redirect is
// followed at once.
import WebSocket from "ws";
import { WRONG_SHARD, shardRedirectOf } from "../protocol/session.js";
import { parseNodeMessage, type NodeMessageParsed } from "../protocol/wire.js";
import { ClientError, isClientError } from "./errors.js";
import { NodeUrls } from "./node-urls.js";
import { PendingRequests } from "./pending-requests.js";
import { DEFAULT_RECONNECT_BACKOFF, LOAD_REFUSALS, ReconnectSchedule, type ReconnectBackoff } from "./reconnect-backoff.js";

export { MAX_SHARD_REDIRECTS } from "./node-urls.js";

export type ConnectionEvent =
  | { readonly type: "connected" | "disconnected" }
  /** The next reconnect attempt (1, 2, … since the count last started over) opens in `delayMs`; `refusal`: the node refused the last one for load. */
  | { readonly type: "reconnecting"; readonly attempt: number; readonly delayMs: number; readonly refusal?: string }
  /** Once connected: a message from the node was unreadable or its handling failed (`message`: its type, or "unreadable"); the connection stays up. */
  | { readonly type: "messageFailed"; readonly message: string; readonly error: Error };

export interface ConnectionOptions {
  /** ws:// URL of the venue's node. */
  readonly nodeUrl: string;
  /** More ws:// URLs of the same venue (its standby nodes), tried after `nodeUrl`. */
  readonly fallbackUrls?: readonly string[];
  /** How long to wait for an answer from the node (ms). */
  readonly responseTimeoutMs?: number;
  /** Reconnect when the connection drops. Default true. */
  readonly reconnect?: boolean;
  /** The waits between reconnect attempts (checked: reconnectBackoffOf). Default DEFAULT_RECONNECT_BACKOFF. */
  readonly backoff?: ReconnectBackoff;
  readonly onEvent?: (event: ConnectionEvent) => void;
  /** Handles every message from the node; a failure fails the connect in progress, if any, else it is told as `messageFailed`. */
  readonly onMessage: (message: NodeMessageParsed) => Promise<void>;
}

/** One socket until its connect completes or fails. */
interface Attempt {
  readonly socket: WebSocket;
  settle(error?: Error): void;
  /** Why it failed, known before its socket closed. */
  failure: Error | undefined;
  /** Its node sent us to another shard: the URLs already start there. */
  redirected: boolean;
}

export class Connection {
  private socket: WebSocket | undefined;
  private attempt: Attempt | undefined;
  private readonly urls: NodeUrls;
  private readonly requests: PendingRequests;
  private readonly schedule: ReconnectSchedule;
  private nextId = 1;
  private closedByUser = false;
  /** The reconnect loop running, by number: a connect or a disconnect ends it by moving this on. */
  private reconnectRun = 0;
  /** Ends the reconnect loop's wait early. */
  private wake: (() => void) | undefined;

  constructor(private readonly options: ConnectionOptions) {
    this.urls = new NodeUrls(options.nodeUrl, options.fallbackUrls);
    this.requests = new PendingRequests(options.responseTimeoutMs ?? 30_000);
    this.schedule = new ReconnectSchedule(options.backoff ?? DEFAULT_RECONNECT_BACKOFF);
  }

  /** The node URL in use (or tried next). */
  get nodeUrl(): string {
    return this.urls.current;
  }

  /** Open and its connect completed. */
  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN && this.attempt === undefined;
  }

  /**
   * Connects after `prepare`; resolves once `established` is called, rejects if the connect fails.
   * Each URL once, from the current one; only a node that cannot be reached sends us on. A redirect
   * starts again from the shard's URL (bounded by MAX_SHARD_REDIRECTS). A failed connect leaves no
   * reconnect behind: the caller decides when to try again.
   */
  async connect(prepare: () => Promise<void>): Promise<void> {
    this.closedByUser = false;
    this.stopReconnecting();
    this.urls.resetRedirects();
    await prepare();
    for (let tried = 1; ; tried++) {
      try {
        await this.open();
        return;
      } catch (error) {
        if (isClientError(error) && error.redirect !== undefined) tried = 0;
        else if (tried >= this.urls.size) throw error;
        if (!isClientError(error, "NOT_CONNECTED") || this.closedByUser) throw error;
      }
    }
  }

  /** Completes the connect (or reconnect) in progress, unless it already failed (its socket is closing). */
  established(): void {
    const attempt = this.attempt;
    if (attempt === undefined || attempt.failure !== undefined) return;
    this.attempt = undefined;
    this.urls.resetRedirects();
    this.schedule.established(Date.now());
    attempt.settle();
  }

  /** Closes the connection for good (no reconnect). */
  async disconnect(): Promise<void> {
    this.closedByUser = true;
    this.stopReconnecting();
    const socket = this.socket;
    if (socket === undefined || socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      socket.once("close", () => resolve());
      socket.close();
    });
  }

  /** A message that could not be read or handled: fails the connect in progress; once connected, it is told to the listener. */
  private messageFailed(message: string, error: Error): void {
    if (this.attempt === undefined) this.options.onEvent?.({ type: "messageFailed", message, error });
    else this.fail(error);
  }

  /** Fails the connect in progress with `error` and closes its socket; nothing once connected. */
  fail(error: Error): void {
    const attempt = this.attempt;
    if (attempt === undefined || attempt.failure !== undefined) return;
    attempt.failure = error;
    attempt.socket.terminate();
  }

  send(message: object): void {
    if (this.socket?.readyState !== WebSocket.OPEN) throw new ClientError("NOT_CONNECTED", "not connected to the node");
    this.socket.send(JSON.stringify(message));
  }

  /** Sends `message` and resolves with the node's answer to its id; TIMEOUT, or NOT_CONNECTED if the connection closes. */
  request(message: { readonly id: string; readonly [field: string]: unknown }): Promise<NodeMessageParsed> {
    return this.requests.wait(message.id, () => this.send(message));
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
      if (message.code === WRONG_SHARD && this.attempt !== undefined) {
        this.wrongShard(message.message);
        return;
      }
      const error = new ClientError("REJECTED", `${message.code}: ${message.message}`, { code: message.code, message: message.message });
      if (message.id === undefined || !this.requests.refuse(message.id, error)) this.fail(error);
      return;
    }
    if ("id" in message && message.id !== undefined) this.requests.answer(message.id, message);
  }

  /** Opens a socket at the current URL; settles when its connect completes or its socket closes. */
  private open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // A socket still open or connecting (a connect called again) is left behind: its close is not ours.
      const previous = this.attempt;
      this.attempt = undefined;
      previous?.settle(new ClientError("NOT_CONNECTED", "replaced by a new connect"));
      this.requests.refuseAll(new ClientError("NOT_CONNECTED", "replaced by a new connect"));
      this.socket?.terminate();
      const socket = new WebSocket(this.urls.current);
      this.socket = socket;
      this.attempt = { socket, settle: (error) => (error === undefined ? resolve() : reject(error)), failure: undefined, redirected: false };
      socket.on("message", (data) => {
        if (socket !== this.socket) return;
        let message: NodeMessageParsed;
        try {
          message = parseNodeMessage(data.toString());
        } catch (error) {
          this.messageFailed("unreadable", new ClientError("NODE_MISBEHAVED", `unreadable message from the node: ${(error as Error).message}`));
          return;
        }
        this.options.onMessage(message).catch((error: unknown) => this.messageFailed(message.type, error instanceof Error ? error : new Error(String(error))));
      });
      socket.on("close", () => this.closed(socket));
      socket.on("error", () => undefined); // a close event follows and handles it
    });
  }

  private closed(socket: WebSocket): void {
    if (socket !== this.socket) return;
    this.requests.refuseAll(new ClientError("NOT_CONNECTED", "the connection to the node closed"));
    const url = this.urls.current;
    const attempt = this.attempt;
    // The next socket tries the next node: this one went away (died, or stepped down), refused us
    // or never answered; after a redirect, the shard's node (already first).
    if (attempt?.redirected !== true) this.urls.failed();
    this.options.onEvent?.({ type: "disconnected" });
    if (attempt !== undefined) {
      // A connect or a reconnect in progress: its loop goes on.
      this.attempt = undefined;
      attempt.settle(attempt.failure ?? new ClientError("NOT_CONNECTED", `could not connect to ${url}`));
      return;
    }
    if (!this.closedByUser && (this.options.reconnect ?? true)) void this.reconnect();
  }

  /** The node serves us not: the next socket opens at the shard it names, unless that makes too many redirects in a row. */
  private wrongShard(text: string): void {
    const target = shardRedirectOf(text);
    if (target === undefined) {
      this.fail(new ClientError("NODE_MISBEHAVED", `a WRONG_SHARD answer without a shard URL: ${text.slice(0, 200)}`));
      return;
    }
    const from = this.urls.current;
    try {
      this.urls.redirect(target);
    } catch (error) {
      this.fail(error as Error);
      return;
    }
    this.attempt!.redirected = true;
    this.fail(new ClientError("NOT_CONNECTED", `${from} serves another shard: going to shard ${target.shard} at ${target.url}`, undefined, target));
  }

  /** Reconnects after a drop, until connected, a connect or a disconnect: each attempt after its wait, a redirect at once. */
  private async reconnect(): Promise<void> {
    const run = ++this.reconnectRun;
    let refusal: string | undefined;
    for (;;) {
      const delayMs = this.schedule.next(Date.now(), refusal !== undefined);
      this.options.onEvent?.({ type: "reconnecting", attempt: this.schedule.attempts, delayMs, ...(refusal === undefined ? {} : { refusal }) });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        this.wake = () => (clearTimeout(timer), resolve());
      });
      this.wake = undefined;
      for (;;) {
        if (run !== this.reconnectRun) return;
        try {
          await this.open();
          this.options.onEvent?.({ type: "connected" });
          return;
        } catch (error) {
          if (isClientError(error) && error.redirect !== undefined) continue;
          // A node that refused us, went away or never answered: the venue may be failing over a
          // shard whose map entry names the dead node for a while, so redirects count afresh.
          this.urls.resetRedirects();
          refusal = isClientError(error, "REJECTED") && error.rejection !== undefined && LOAD_REFUSALS.has(error.rejection.code) ? error.rejection.code : undefined;
          break;
        }
      }
    }
  }

  /** Ends the reconnect loop, if any (its wait too). */
  private stopReconnecting(): void {
    this.reconnectRun += 1;
    this.wake?.();
  }
}
