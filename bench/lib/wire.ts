// A lean speaker of the wire protocol (client/protocol/wire.ts) for the benchmark: one WebSocket per
// investor, the challenge–response handshake, and request/answer matching by id. It skips the SDK's
// store and schema parsing on purpose: the load generator should spend its CPU on what every real
// client must do (build and sign the next state), not on bookkeeping, so the node is what is measured.
import WebSocket from "ws";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { loginDigest } from "../../client/protocol/session.js";
import type { Address, Deployment, Signer } from "../../client/protocol/index.js";

/** A node message as plain JSON (fields the bench reads; nothing is schema-checked here). */
export interface WireMessage {
  readonly type: string;
  readonly id?: string;
  readonly [field: string]: unknown;
}

export interface ChannelReportJson {
  readonly channelId: string;
  readonly params: { participants: [string, string]; assets: string[]; challengePeriod: string; salt: string };
  readonly status: string;
  readonly latest: { state: { nonce: string; [field: string]: unknown }; signatures: [string | null, string | null] };
  readonly deposits: [string, string][];
}

export interface Welcome extends WireMessage {
  readonly type: "welcome";
  readonly address: Address;
  readonly channels: ChannelReportJson[];
}

export class WireSession {
  private readonly waiting = new Map<string, (message: WireMessage) => void>();
  private nextId = 1;
  private closedWith: Error | undefined;
  /** The venue and deployment from the node's challenge. */
  venue: Address = "";
  deployment: Deployment = { chainId: 0n, adjudicator: "" };

  private constructor(private readonly socket: WebSocket) {
    socket.on("close", (code, reason) => {
      this.closedWith = new Error(`the node closed the connection (${code} ${reason.toString()})`);
      for (const resolve of this.waiting.values()) resolve({ type: "closed", message: this.closedWith.message });
      this.waiting.clear();
    });
    socket.on("error", () => undefined); // a close event follows
  }

  /** Connects, answers the challenge with `signer`'s key and resolves with the welcome. */
  static async login(url: string, signer: Signer, timeoutMs = 30_000): Promise<{ session: WireSession; welcome: Welcome }> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const session = new WireSession(socket);
    const welcome = await new Promise<Welcome>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no welcome from ${url} within ${timeoutMs} ms`)), timeoutMs);
      const fail = (error: Error) => (clearTimeout(timer), reject(error));
      socket.once("error", fail);
      const onMessage = (data: WebSocket.RawData) => {
        const message = JSON.parse(data.toString()) as WireMessage & Record<string, string>;
        if (message.type === "challenge") {
          session.venue = message.venue!;
          session.deployment = { chainId: BigInt(message.chainId!), adjudicator: message.adjudicator! };
          const signature = signer.sign(loginDigest({ venue: session.venue, deployment: session.deployment, nonce: message.nonce! }));
          socket.send(JSON.stringify({ v: PROTOCOL_VERSION, type: "auth", address: signer.address, signature }));
        } else if (message.type === "welcome") {
          socket.off("message", onMessage);
          socket.off("error", fail);
          socket.on("message", (raw) => session.dispatch(raw));
          clearTimeout(timer);
          resolve(message as unknown as Welcome);
        } else {
          fail(new Error(`handshake failed: ${data.toString()}`));
        }
      };
      socket.on("message", onMessage);
    });
    return { session, welcome };
  }

  newId(): string {
    return `b${this.nextId++}`;
  }

  /** Sends `message` (its `id` must be fresh) and resolves with the answer echoing that id. */
  request(message: { id: string; [field: string]: unknown }): Promise<WireMessage> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    return new Promise((resolve) => {
      this.waiting.set(message.id, resolve);
      this.socket.send(JSON.stringify(message));
    });
  }

  /** Sends already serialised text whose request id is `id`. */
  requestText(id: string, text: string): Promise<WireMessage> {
    if (this.closedWith !== undefined) return Promise.reject(this.closedWith);
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.socket.send(text);
    });
  }

  private dispatch(data: WebSocket.RawData): void {
    const message = JSON.parse(data.toString()) as WireMessage;
    if (message.id === undefined) return; // notices (deposits) need no answer here
    const resolve = this.waiting.get(message.id);
    if (resolve === undefined) return;
    this.waiting.delete(message.id);
    resolve(message);
  }

  async close(): Promise<void> {
    if (this.socket.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.socket.once("close", () => resolve());
      this.socket.close();
    });
  }
}
