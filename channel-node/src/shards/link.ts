// The WebSocket link between shards (link-wire.ts): the answering side (`LinkServer`, served at
// LINK_PATH on the shard's own port) and the dialling side (`LinkDialer`, one connection per peer
// shard, opened on first use and again after it drops). Each side proves it holds the venue's key.
// Bounded: links at once, the handshake's time, message size, requests in flight per link. What a
// request means is not decided here: the server hands it to `answer` (remote-routes.ts).
import { randomBytes } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { hexlify } from "ethers";
import { Counter, Gauge } from "prom-client";
import type { Logger } from "pino";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import type { Signer } from "../../../client/protocol/signing.js";
import type { Bytes32, Deployment } from "../../../client/protocol/types.js";
import type { RejectionReason } from "../../../client/protocol/wire.js";
import type { NodeMetrics } from "../metrics.js";
import { LinkError } from "./link-errors.js";
import {
  linkAnswerSchema,
  linkAuthSchema,
  linkChallengeSchema,
  linkProofDigest,
  linkRequestSchema,
  linkUrlOf,
  linkWelcomeSchema,
  MIN_LINK_MESSAGE_BYTES,
  type LinkAnswer,
  type LinkRequest,
  type LinkRequestBody,
} from "./link-wire.js";
import type { ShardEntry } from "./shard-map.js";

export interface LinkSettings {
  /** Authenticated links this shard answers at once (one per peer shard is enough; a standby's dials count too). */
  readonly maxLinks: number;
  /**
   * Links still in their handshake, in all and per remote address: anyone who reaches the port can
   * open one, so they are bounded apart from the authenticated links and cannot crowd those out.
   */
  readonly maxPending: number;
  readonly maxPendingPerAddress: number;
  /** A link must complete its handshake within this time. */
  readonly handshakeTimeoutMs: number;
  /** The bound of one message (raised to MIN_LINK_MESSAGE_BYTES if lower). */
  readonly maxMessageBytes: number;
  /** Requests one link may have unanswered. */
  readonly maxInFlight: number;
}

export const DEFAULT_LINK_SETTINGS: LinkSettings = { maxLinks: 64, maxPending: 16, maxPendingPerAddress: 4, handshakeTimeoutMs: 5_000, maxMessageBytes: 256 * 1024, maxInFlight: 512 };

interface LinkIdentity {
  /** This shard's id. */
  readonly self: string;
  /** The venue's key: every shard holds it. */
  readonly signer: Signer;
  readonly deployment: Deployment;
  readonly settings: LinkSettings;
  readonly logger: Logger;
}

/** The successful answer to a request, without its id (a refusal is thrown as a LinkError). */
export type LinkResult = Omit<Extract<LinkAnswer, { type: "ok" }>, "type" | "id">;

export interface LinkServerOptions extends LinkIdentity {
  /** Answers a request from shard `peer`; throws what refuses it (rejectionOrWire turns it into a code). */
  readonly answer: (peer: string, request: LinkRequest) => Promise<LinkResult>;
  /** A thrown error as the refusal sent back. */
  readonly refusalOf: (error: unknown) => RejectionReason;
}

const POLICY_VIOLATION = 1008;
const TRY_AGAIN_LATER = 1013;
/** A refused link that does not complete the close within this time is cut off (it holds a link slot until then). */
const CLOSE_GRACE_MS = 2_000;

/** Closes with `code`, and cuts the connection off if the peer does not complete the close in time. */
function closeSoon(socket: WebSocket, code: number, reason: string): void {
  socket.close(code, reason);
  setTimeout(() => socket.terminate(), CLOSE_GRACE_MS).unref();
}

function messageBound(settings: LinkSettings): number {
  return Math.max(settings.maxMessageBytes, MIN_LINK_MESSAGE_BYTES);
}

function nonce(): Bytes32 {
  return hexlify(randomBytes(32)) as Bytes32;
}

function parse<T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }, data: RawData): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(data.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export function linkMetrics(metrics: NodeMetrics) {
  return {
    links: new Gauge({ name: "clearline_shard_links", help: "Open links with other shards, by direction", labelNames: ["direction"], registers: [metrics.registry] }),
    requests: new Counter({ name: "clearline_shard_link_requests_total", help: "Requests between shards, by direction, type and outcome", labelNames: ["direction", "type", "outcome"], registers: [metrics.registry] }),
    refusals: new Counter({ name: "clearline_shard_link_refusals_total", help: "Links refused, by reason", labelNames: ["reason"], registers: [metrics.registry] }),
  };
}
export type LinkMetrics = ReturnType<typeof linkMetrics>;

/** The answering side: links dialled by other shards of the venue. */
export class LinkServer {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();
  /** Links in their handshake, by remote address. */
  private readonly pending = new Map<string, number>();
  private pendingCount = 0;
  private authenticated = 0;

  constructor(
    private readonly options: LinkServerOptions,
    private readonly metrics: LinkMetrics,
  ) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: messageBound(options.settings) });
  }

  /** An HTTP upgrade to LINK_PATH. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const remote = request.socket.remoteAddress ?? "unknown";
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, remote));
  }

  close(): void {
    for (const socket of this.sockets) socket.terminate();
    this.wss.close();
  }

  private accept(socket: WebSocket, remote: string): void {
    const { options, metrics } = this;
    const { self, signer, deployment, settings } = options;
    if (this.pendingCount >= settings.maxPending || (this.pending.get(remote) ?? 0) >= settings.maxPendingPerAddress) {
      metrics.refusals.inc({ reason: "max_pending" });
      closeSoon(socket, TRY_AGAIN_LATER, "too many links in their handshake");
      return;
    }
    this.sockets.add(socket);
    this.pendingCount += 1;
    this.pending.set(remote, (this.pending.get(remote) ?? 0) + 1);
    let handshaking = true;
    const handshakeOver = () => {
      if (!handshaking) return;
      handshaking = false;
      this.pendingCount -= 1;
      const left = (this.pending.get(remote) ?? 1) - 1;
      if (left === 0) this.pending.delete(remote);
      else this.pending.set(remote, left);
    };
    const challenge = nonce();
    let peer: string | undefined;
    let inFlight = 0;
    const send = (message: object) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
    };
    const refuseLink = (reason: string, text: string) => {
      if (socket.readyState !== WebSocket.OPEN) return; // refused already
      metrics.refusals.inc({ reason });
      closeSoon(socket, POLICY_VIOLATION, text);
    };
    const timer = setTimeout(() => refuseLink("handshake_timeout", "no link_auth in time"), settings.handshakeTimeoutMs);
    send({ type: "link_challenge", shard: self, nonce: challenge });

    socket.on("message", (data) => {
      // ws still delivers what arrived after the close began: a refused link is heard no further.
      if (socket.readyState !== WebSocket.OPEN) return;
      if (peer === undefined) {
        const auth = parse(linkAuthSchema, data);
        const proven =
          auth !== undefined &&
          auth.shard !== self &&
          signer.verify(linkProofDigest({ venue: signer.address, deployment, from: auth.shard, to: self, nonce: challenge }), auth.signature, signer.address);
        if (!proven) {
          refuseLink("bad_auth", "the link_auth does not prove the venue's key");
          return;
        }
        clearTimeout(timer);
        handshakeOver();
        if (this.authenticated >= settings.maxLinks) {
          metrics.refusals.inc({ reason: "max_links" });
          closeSoon(socket, TRY_AGAIN_LATER, "too many links");
          return;
        }
        this.authenticated += 1;
        peer = auth.shard;
        metrics.links.inc({ direction: "in" });
        send({ type: "link_welcome", signature: signer.sign(linkProofDigest({ venue: signer.address, deployment, from: self, to: peer, nonce: auth.nonce })) });
        options.logger.info({ peer }, "shard link opened");
        return;
      }
      const request = parse(linkRequestSchema, data);
      if (request === undefined) {
        refuseLink("malformed", "a malformed request");
        return;
      }
      if (inFlight >= settings.maxInFlight) {
        metrics.requests.inc({ direction: "in", type: request.type, outcome: "LINK_BUSY" });
        send({ type: "refused", id: request.id, code: "LINK_BUSY", message: `at most ${settings.maxInFlight} requests in flight on a link` });
        return;
      }
      inFlight += 1;
      const from = peer;
      options.answer(from, request).then(
        (result) => {
          metrics.requests.inc({ direction: "in", type: request.type, outcome: "ok" });
          send({ type: "ok", id: request.id, ...result });
        },
        (error: unknown) => {
          let refusal: RejectionReason;
          try {
            refusal = options.refusalOf(error);
          } catch {
            options.logger.error({ err: error, peer: from, request: request.type }, "shard link request failed");
            refusal = { code: "INTERNAL", message: "the shard could not process the request" };
          }
          metrics.requests.inc({ direction: "in", type: request.type, outcome: refusal.code });
          send({ type: "refused", id: request.id, code: refusal.code, message: refusal.message, ...(refusal.restriction ? { restriction: refusal.restriction } : {}) });
        },
      ).finally(() => {
        inFlight -= 1;
      });
    });
    socket.on("close", () => {
      clearTimeout(timer);
      handshakeOver();
      this.sockets.delete(socket);
      if (peer !== undefined) {
        this.authenticated -= 1;
        metrics.links.dec({ direction: "in" });
      }
    });
    socket.on("error", (error) => options.logger.debug({ err: error }, "shard link socket error"));
  }
}

interface Pending {
  readonly resolve: (result: LinkResult) => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
  readonly type: string;
}

/** One dialled link: its handshake done, then requests with ids. */
class DialledLink {
  private readonly pending = new Map<string, Pending>();
  private nextId = 1;
  closed = false;

  private constructor(
    private readonly socket: WebSocket,
    private readonly metrics: LinkMetrics,
    readonly peer: string,
  ) {}

  static open(identity: LinkIdentity, metrics: LinkMetrics, peer: ShardEntry): Promise<DialledLink> {
    const { self, signer, deployment, settings } = identity;
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(linkUrlOf(peer.url), { maxPayload: messageBound(settings), handshakeTimeout: settings.handshakeTimeoutMs });
      const challenge = nonce();
      let link: DialledLink | undefined;
      const fail = (error: LinkError) => {
        clearTimeout(timer);
        socket.terminate();
        reject(error);
      };
      const timer = setTimeout(() => fail(new LinkError("LINK_UNAVAILABLE", `shard ${peer.id} did not complete the link handshake in time`, { shard: peer.id })), settings.handshakeTimeoutMs);
      socket.on("message", (data) => {
        if (link !== undefined) {
          link.onAnswer(data);
          return;
        }
        const welcome = parse(linkWelcomeSchema, data);
        if (welcome !== undefined) {
          if (!signer.verify(linkProofDigest({ venue: signer.address, deployment, from: peer.id, to: self, nonce: challenge }), welcome.signature, signer.address)) {
            fail(new LinkError("LINK_AUTH_FAILED", `shard ${peer.id} at ${peer.url} did not prove the venue's key`, { shard: peer.id }));
            return;
          }
          clearTimeout(timer);
          link = new DialledLink(socket, metrics, peer.id);
          metrics.links.inc({ direction: "out" });
          resolve(link);
          return;
        }
        const offered = parse(linkChallengeSchema, data);
        if (offered === undefined || offered.shard !== peer.id) {
          fail(new LinkError("LINK_AUTH_FAILED", `${peer.url} is not shard ${peer.id}'s link`, { shard: peer.id }));
          return;
        }
        const signature = signer.sign(linkProofDigest({ venue: signer.address, deployment, from: self, to: peer.id, nonce: offered.nonce }));
        socket.send(JSON.stringify({ type: "link_auth", shard: self, nonce: challenge, signature }));
      });
      socket.on("error", (error) => {
        if (link === undefined) fail(new LinkError("LINK_UNAVAILABLE", `shard ${peer.id} at ${peer.url} cannot be reached: ${error.message}`, { shard: peer.id }));
      });
      socket.on("close", (code, reason) => {
        if (link === undefined) {
          // A policy close during the handshake: the other side did not take our proof of the venue's key.
          const failure = code === POLICY_VIOLATION ? "LINK_AUTH_FAILED" : "LINK_UNAVAILABLE";
          fail(new LinkError(failure, `shard ${peer.id} closed the link (${code} ${reason.toString()})`, { shard: peer.id }));
          return;
        }
        link.onClose();
      });
    });
  }

  request(body: LinkRequestBody, timeoutMs: number): Promise<LinkResult> {
    const id = `l${this.nextId++}`;
    const type = body.type;
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new LinkError("LINK_UNAVAILABLE", `the link to shard ${this.peer} is closed`, { shard: this.peer }));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.metrics.requests.inc({ direction: "out", type, outcome: "timeout" });
        reject(new LinkError("LINK_UNAVAILABLE", `shard ${this.peer} did not answer ${type} within ${timeoutMs} ms`, { shard: this.peer }));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer, type });
      this.socket.send(JSON.stringify({ ...body, id }));
    });
  }

  close(): void {
    this.socket.terminate();
  }

  private onAnswer(data: RawData): void {
    const answer = parse(linkAnswerSchema, data);
    const pending = answer === undefined ? undefined : this.pending.get(answer.id);
    if (answer === undefined || pending === undefined) {
      if (answer !== undefined && this.asked(answer.id)) return; // a late answer to a request that timed out
      this.socket.terminate(); // a peer that answers what nobody asked is not trusted further
      return;
    }
    this.pending.delete(answer.id);
    clearTimeout(pending.timer);
    this.metrics.requests.inc({ direction: "out", type: pending.type, outcome: answer.type === "ok" ? "ok" : answer.code });
    if (answer.type === "refused") {
      pending.reject(LinkError.refused(this.peer, answer));
      return;
    }
    const { type: _type, id: _id, ...result } = answer;
    pending.resolve(result);
  }

  /** Whether `id` is one this link gave a request (ids are `l1`, `l2`, … in order). */
  private asked(id: string): boolean {
    const match = /^l([1-9][0-9]{0,15})$/.exec(id);
    return match !== null && Number(match[1]) < this.nextId;
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.metrics.links.dec({ direction: "out" });
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new LinkError("LINK_UNAVAILABLE", `the link to shard ${this.peer} closed before it answered`, { shard: this.peer }));
      this.pending.delete(id);
    }
  }
}

/** The dialling side: one link per peer shard, opened on first use and again after it drops. */
export class LinkDialer {
  private readonly links = new Map<string, Promise<DialledLink>>();

  constructor(
    private readonly identity: LinkIdentity,
    private readonly metrics: LinkMetrics,
  ) {}

  /** Sends `request` to `peer` and resolves with its answer; LinkError LINK_UNAVAILABLE, LINK_AUTH_FAILED or the peer's refusal. */
  async request(peer: ShardEntry, request: LinkRequestBody, timeoutMs: number): Promise<LinkResult> {
    const link = await this.linkTo(peer);
    return link.request(request, timeoutMs);
  }

  close(): void {
    for (const link of this.links.values()) link.then((l) => l.close(), () => undefined);
    this.links.clear();
  }

  private async linkTo(peer: ShardEntry): Promise<DialledLink> {
    const key = `${peer.id} ${peer.url}`;
    const existing = this.links.get(key);
    if (existing !== undefined) {
      const link = await existing.catch(() => undefined);
      if (link !== undefined && !link.closed) return link;
      if (this.links.get(key) === existing) this.links.delete(key);
    }
    let opening = this.links.get(key);
    if (opening === undefined) {
      opening = DialledLink.open(this.identity, this.metrics, peer);
      this.links.set(key, opening);
      opening.catch(() => {
        if (this.links.get(key) === opening) this.links.delete(key);
      });
    }
    return opening;
  }
}
