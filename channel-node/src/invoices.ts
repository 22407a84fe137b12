// Invoice requests, relayed: a payer asks a receiver, through the venue, for an invoice to pay with
// a routed lock. Relayed only from the payer's open channel holding at least the amount in the token
// (CHANNEL_NOT_OPEN, CHANNEL_NOT_FUNDED), at most at the configured rate per payer
// (INVOICE_RATE_LIMITED), and only when a routed payment would pass its checks (routing.ts).
import { PROTOCOL_VERSION, WireError, rejectedMessage, type ClientMessage } from "../../client/protocol/wire.js";
import { ProtocolError, channelBalance, type Address } from "../../client/protocol/index.js";
import { INVESTOR, type Channels } from "./channels.js";
import { boundExceeded, type EngineBounds } from "./limits.js";
import { TokenBucket } from "./rate-limit.js";
import { rejectionOrWire } from "./countersign.js";
import type { Router } from "./routing.js";
import type { Sessions } from "./sessions.js";
import type { Session } from "./transport.js";
import { countRejection, type NodeMetrics } from "./metrics.js";

export interface InvoiceRelayOptions {
  readonly bounds: EngineBounds;
  readonly responseTimeoutMs: number;
  readonly clock: () => number;
  readonly metrics: NodeMetrics;
}

/** An `invoice_request` relayed to the receiver, awaiting its `invoice` (keyed by the relayed id). */
interface Relayed {
  readonly payer: Session;
  readonly message: Extract<ClientMessage, { type: "invoice_request" }>;
  readonly timer: NodeJS.Timeout;
}

export class InvoiceRelay {
  private readonly relayed = new Map<string, Relayed>();
  /** One bucket per payer that ever had a request relayed: at most one per investor with an open, funded channel. */
  private readonly buckets = new Map<Address, TokenBucket>();
  private nextId = 1;

  constructor(
    private readonly channels: Channels,
    private readonly sessions: Sessions,
    private readonly router: Router,
    private readonly options: InvoiceRelayOptions,
  ) {}

  /** Relays a payer's `invoice_request` to the receiver, after the checks a routed payment must pass. */
  onRequest(session: Session, message: Extract<ClientMessage, { type: "invoice_request" }>): void {
    const refuse = (error: unknown): void => {
      const rejection = rejectionOrWire(error);
      countRejection(this.options.metrics, rejection);
      session.send(rejectedMessage(message.id, message.channelId, rejection));
    };
    try {
      this.check(session, message);
    } catch (error) {
      refuse(error);
      return;
    }
    const id = `i${this.nextId++}`;
    const timer = setTimeout(() => {
      this.relayed.delete(id);
      refuse(new ProtocolError("INVALID_UPDATE", "the receiver did not answer the invoice request in time"));
    }, this.options.responseTimeoutMs);
    this.relayed.set(id, { payer: session, message, timer });
    this.sessions.get(message.to)!.send({ v: PROTOCOL_VERSION, type: "invoice_request", id, from: session.address, token: message.token, amount: message.amount });
  }

  private check(session: Session, message: Extract<ClientMessage, { type: "invoice_request" }>): void {
    const live = this.channels.owned(session, message.channelId);
    const assetIndex = live.channel.params.assets.indexOf(message.token);
    if (assetIndex < 0) throw new WireError("MALFORMED", `the channel does not hold ${message.token}`);
    const amount = BigInt(message.amount);
    if (amount <= 0n) throw new WireError("MALFORMED", "the amount must be positive");
    if (live.record.status !== "open") throw new WireError("CHANNEL_NOT_OPEN", `the channel is ${live.record.status}; invoices are relayed only for an open channel`);
    const balance = channelBalance(this.channels.latestOf(live).state, live.record.deposits, assetIndex, INVESTOR);
    if (balance < amount) {
      throw boundExceeded(this.options.metrics, "CHANNEL_NOT_FUNDED", `the channel holds ${balance} of ${message.token} for you, less than the ${amount} to pay`);
    }
    const { perSecond, burst } = this.options.bounds.invoiceRequests;
    let bucket = this.buckets.get(session.address);
    if (bucket === undefined) this.buckets.set(session.address, (bucket = new TokenBucket(perSecond, burst, this.options.clock())));
    if (!bucket.take(this.options.clock())) {
      throw boundExceeded(this.options.metrics, "INVOICE_RATE_LIMITED", `at most ${perSecond} invoice requests per second (burst ${burst}); try again later`);
    }
    this.router.routeTarget(session.address, message.to, message.token, amount);
  }

  /** The receiver's invoice (or refusal) for a relayed request: passed on to the payer. */
  onAnswer(session: Session, message: Extract<ClientMessage, { type: "invoice" | "invoice_refused" }>): void {
    const relayed = this.relayed.get(message.id);
    if (relayed === undefined || relayed.message.to !== session.address) {
      throw new WireError("MALFORMED", `no invoice request ${message.id} is awaiting your answer`);
    }
    this.relayed.delete(message.id);
    clearTimeout(relayed.timer);
    const { id, channelId, to, token, amount } = relayed.message;
    if (message.type === "invoice_refused") {
      this.options.metrics.rejections.inc({ code: message.code });
      relayed.payer.send(rejectedMessage(id, channelId, { code: message.code, message: `the receiver refused the invoice request: ${message.message}` }));
      return;
    }
    relayed.payer.send({ v: PROTOCOL_VERSION, type: "invoice", id, hashlock: message.hashlock, to, token, amount });
  }
}
