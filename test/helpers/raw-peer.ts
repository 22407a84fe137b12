// A raw WebSocket peer for adversarial tests: it speaks to a node with the `ws` package directly,
// bypassing the SDK, so it can send anything (bad JSON, wrong types, binary frames, oversized
// frames, floods, forged proposals). It can do the handshake honestly (or dishonestly: sign with one
// key and claim another address), keeps every answer the node sends in arrival order, each checked
// against the wire schema, and reports how the node closed the connection.
import WebSocket from "ws";
import { loginDigest } from "../../client/protocol/session.js";
import { NobleSigner, type Deployment } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, nodeMessageSchema, type NodeMessageParsed } from "../../client/protocol/wire.js";

/** One message from the node: the raw JSON value and, if it conforms to the wire schema, the parsed form. */
export interface Answer {
  readonly raw: Record<string, unknown>;
  readonly text: string;
  /** Undefined when the node sent something its own schema does not allow (a node bug). */
  readonly typed: NodeMessageParsed | undefined;
  readonly schemaError: string | undefined;
}

export type Challenge = Extract<NodeMessageParsed, { type: "challenge" }>;

export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
}

interface Waiter {
  readonly predicate: (answer: Answer) => boolean;
  resolve(answer: Answer): void;
  reject(error: Error): void;
}

const DEFAULT_TIMEOUT_MS = 5_000;

export interface ConnectOptions {
  /** The local address to connect from (any of 127.0.0.0/8 on Linux): a distinct remote address for the node. */
  readonly localAddress?: string;
}

export class RawPeer {
  /** Every answer, in arrival order. */
  readonly answers: Answer[] = [];
  /** Resolves when the connection closes (by either side). */
  readonly closed: Promise<CloseInfo>;
  private readonly unread: Answer[] = [];
  private readonly waiters = new Set<Waiter>();
  private closeInfo: CloseInfo | undefined;
  private challengeMessage: Challenge | undefined;
  private nextId = 1;

  private constructor(private readonly socket: WebSocket) {
    this.closed = new Promise((resolve) => {
      socket.on("close", (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        for (const waiter of this.waiters) waiter.reject(new Error(`the connection closed (${code} ${reason.toString()}) before the expected answer`));
        this.waiters.clear();
        resolve(this.closeInfo);
      });
    });
    socket.on("error", () => undefined); // a close event follows
    socket.on("message", (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length} bytes>` : data.toString();
      let raw: Record<string, unknown>;
      try {
        raw = JSON.parse(text) as Record<string, unknown>;
      } catch {
        raw = { unparseable: text };
      }
      const parsed = nodeMessageSchema.safeParse(raw);
      const answer: Answer = { raw, text, typed: parsed.success ? parsed.data : undefined, schemaError: parsed.success ? undefined : parsed.error.message };
      this.answers.push(answer);
      for (const waiter of this.waiters) {
        if (waiter.predicate(answer)) {
          this.waiters.delete(waiter);
          waiter.resolve(answer);
          return;
        }
      }
      this.unread.push(answer);
    });
  }

  /** Opens a connection and waits for the node's challenge. */
  static async connect(url: string, timeoutMs = DEFAULT_TIMEOUT_MS, options: ConnectOptions = {}): Promise<RawPeer> {
    const { peer, first } = await RawPeer.open(url, timeoutMs, options);
    if (first.typed?.type !== "challenge") throw new Error(`expected a challenge first, got ${first.text}`);
    return peer;
  }

  /** Opens a connection and resolves with the node's first message, whatever it is (a challenge, or a refusal). */
  static async open(url: string, timeoutMs = DEFAULT_TIMEOUT_MS, options: ConnectOptions = {}): Promise<{ peer: RawPeer; first: Answer }> {
    const socket = new WebSocket(url, options.localAddress === undefined ? {} : { localAddress: options.localAddress });
    const peer = new RawPeer(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once("open", () => resolve());
      socket.once("error", reject);
    });
    const first = await peer.next(() => true, timeoutMs);
    if (first.typed?.type === "challenge") peer.challengeMessage = first.typed;
    return { peer, first };
  }

  /** Connects and authenticates honestly with `privateKey`; resolves with the welcome. */
  static async login(url: string, privateKey: string): Promise<{ peer: RawPeer; welcome: Extract<NodeMessageParsed, { type: "welcome" }> }> {
    const peer = await RawPeer.connect(url);
    const answer = await peer.authenticate(privateKey);
    if (answer.typed?.type !== "welcome") throw new Error(`expected welcome, got ${answer.text}`);
    return { peer, welcome: answer.typed };
  }

  get challenge(): Challenge {
    if (this.challengeMessage === undefined) throw new Error("no challenge yet");
    return this.challengeMessage;
  }

  /** The chain and adjudicator the node announced in its challenge. */
  get deployment(): Deployment {
    return { chainId: BigInt(this.challenge.chainId), adjudicator: this.challenge.adjudicator };
  }

  get isOpen(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** How the connection was closed, once it is. */
  get closeStatus(): CloseInfo | undefined {
    return this.closeInfo;
  }

  newId(): string {
    return `raw${this.nextId++}`;
  }

  /**
   * Answers the challenge: signs the login digest with `privateKey` and claims `claimedAddress`
   * (by default the key's own address). Resolves with the node's next answer (welcome or error).
   */
  async authenticate(privateKey: string, claimedAddress?: string): Promise<Answer> {
    const signer = new NobleSigner(privateKey);
    const signature = this.loginSignature(signer);
    this.send({ v: PROTOCOL_VERSION, type: "auth", id: this.newId(), address: claimedAddress ?? signer.address, signature });
    return this.next((a) => a.raw.type === "welcome" || a.raw.type === "error");
  }

  /** The signature over this connection's login digest (what an honest auth carries). */
  loginSignature(signer: NobleSigner): string {
    const challenge = this.challenge;
    return signer.sign(loginDigest({ venue: challenge.venue, deployment: this.deployment, nonce: challenge.nonce }));
  }

  /** Sends a value as a JSON text frame. */
  send(message: unknown): void {
    this.sendText(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.socket.send(text, { binary: false });
  }

  sendBinary(data: Uint8Array): void {
    this.socket.send(data, { binary: true });
  }

  /** Sends a request (its `id` is filled in when missing) and resolves with the answer that echoes the id. */
  async request(message: Record<string, unknown>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer> {
    const id = typeof message.id === "string" ? message.id : this.newId();
    const answer = this.next((a) => a.raw.id === id, timeoutMs);
    this.send({ ...message, id });
    return answer;
  }

  /** The oldest unread answer that satisfies `predicate` (waiting for it if none has arrived). */
  next(predicate: (answer: Answer) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer> {
    const index = this.unread.findIndex(predicate);
    if (index >= 0) return Promise.resolve(this.unread.splice(index, 1)[0]!);
    if (this.closeInfo !== undefined) return Promise.reject(new Error(`the connection is closed (${this.closeInfo.code})`));
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no matching answer within ${timeoutMs} ms; unread: ${this.unread.map((a) => a.text).join(" | ")}`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (a) => (clearTimeout(timer), resolve(a)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits until `count` answers satisfying `predicate` have arrived, consuming them. */
  async collect(count: number, predicate: (answer: Answer) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Answer[]> {
    const collected: Answer[] = [];
    const deadline = Date.now() + timeoutMs;
    while (collected.length < count) collected.push(await this.next(predicate, Math.max(1, deadline - Date.now())));
    return collected;
  }

  /** Answers not yet consumed by `next`. */
  pending(): readonly Answer[] {
    return [...this.unread];
  }

  /** Resolves with the close code, or rejects if the node keeps the connection open longer than `timeoutMs`. */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the node did not close the connection within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes from our side and waits for the close to complete. */
  async close(): Promise<void> {
    if (this.closeInfo !== undefined) return;
    this.socket.close();
    await this.waitClosed().catch(() => this.socket.terminate());
  }
}
