// Invoice requests, relayed: a payer asks a receiver, through the venue, for an invoice to pay with
// a routed lock. Relayed only from the payer's open channel holding at least the amount in the token
// (CHANNEL_NOT_OPEN, CHANNEL_NOT_FUNDED), at most at the configured rate per payer
// (INVOICE_RATE_LIMITED), and only when a routed payment would pass its checks (routing.ts). A
// receiver another shard serves is asked through that shard (shards/remote-routes.ts).
import { PROTOCOL_VERSION, WireError, rejectedMessage, type ClientMessage, type RejectionReason } from "../../client/protocol/wire.js";
import { channelBalance, type Address, type Bytes32 } from "../../client/protocol/index.js";
import { INVESTOR, type Channels } from "./channels.js";
import { boundExceeded, type EngineBounds } from "./limits.js";
import { TokenBucket } from "./rate-limit.js";
import { rejectionOrWire } from "./countersign.js";
import type { Router } from "./routing.js";
import type { Sessions } from "./sessions.js";
import type { Session } from "./transport.js";
import type { ShardEntry } from "./shards/shard-map.js";
import { countRejection, type NodeMetrics } from "./metrics.js";

export interface InvoiceRelayOptions {
  readonly bounds: EngineBounds;
  readonly responseTimeoutMs: number;
  readonly clock: () => number;
  readonly metrics: NodeMetrics;
}

/** What the receiver answered a relayed request: its hashlock, or its refusal (or silence) as a rejection. */
export type RelayOutcome = { readonly hashlock: Bytes32 } | { readonly refused: RejectionReason };

/** An `invoice_request` relayed to the receiver, awaiting its `invoice` (keyed by the relayed id). */
interface Relayed {
  readonly to: Address;
  readonly done: (outcome: RelayOutcome) => void;
  readonly timer: NodeJS.Timeout;
}

/** The payer's request, as relayed between shards too. */
export interface InvoiceAsk {
  readonly from: Address;
  readonly to: Address;
  readonly token: Address;
  readonly amount: bigint;
}

/** Invoice requests whose receiver another shard serves (shards/remote-routes.ts). */
export interface RemoteInvoices {
  /** The shard serving `investor`, unless it is this one. */
  shardElsewhere(investor: Address): Promise<ShardEntry | undefined>;
  /** The receiver's hashlock, asked through its shard; throws a LinkError. */
  invoice(shard: ShardEntry, ask: InvoiceAsk): Promise<Bytes32>;
}

export class InvoiceRelay {
  private readonly relayed = new Map<string, Relayed>();
  /** One bucket per payer that ever had a request relayed: at most one per investor with an open, funded channel. */
  private readonly buckets = new Map<Address, TokenBucket>();
  private nextId = 1;
  /** Set once when the node is a shard. */
  remote: RemoteInvoices | undefined;

  constructor(
    private readonly channels: Channels,
    private readonly sessions: Sessions,
    private readonly router: Router,
    private readonly options: InvoiceRelayOptions,
  ) {}

  /**
   * A payer's `invoice_request`, after the checks a routed payment must pass: relayed to the
   * receiver here, or through the receiver's shard; the payer gets `invoice` or `rejected` once the
   * receiver answered (not awaited: the payer's other messages go on meanwhile).
   */
  onRequest(session: Session, message: Extract<ClientMessage, { type: "invoice_request" }>): void {
    const refuse = (rejection: RejectionReason): void => {
      countRejection(this.options.metrics, rejection);
      session.send(rejectedMessage(message.id, message.channelId, rejection));
    };
    const { id, to, token, amount } = message;
    let relaying: Promise<RelayOutcome>;
    try {
      const ask = this.checkPayer(session, message);
      relaying = this.remote === undefined ? this.relay(ask) : this.relayAnywhere(this.remote, ask);
    } catch (error) {
      refuse(rejectionOrWire(error));
      return;
    }
    relaying.then(
      (outcome) => {
        if ("refused" in outcome) refuse(outcome.refused);
        else session.send({ v: PROTOCOL_VERSION, type: "invoice", id, hashlock: outcome.hashlock, to, token, amount });
      },
      (error: unknown) => {
        let rejection: RejectionReason;
        try {
          rejection = rejectionOrWire(error);
        } catch {
          rejection = { code: "INTERNAL", message: "the node could not relay the invoice request" };
        }
        refuse(rejection);
      },
    );
  }

  /** The receiver here, or asked through the shard that serves it. */
  private async relayAnywhere(remote: RemoteInvoices, ask: InvoiceAsk): Promise<RelayOutcome> {
    const elsewhere = await remote.shardElsewhere(ask.to);
    return elsewhere === undefined ? this.relay(ask) : { hashlock: await remote.invoice(elsewhere, ask) };
  }

  /**
   * Asks the receiver, served here, for an invoice for `ask` (after routeTarget's checks: compliance,
   * its channel, its presence). Resolves with its hashlock, or its refusal; a silent receiver is a
   * refusal after the response timeout.
   */
  relay(ask: InvoiceAsk): Promise<RelayOutcome> {
    this.router.routeTarget(ask.from, ask.to, ask.token, ask.amount);
    const id = `i${this.nextId++}`;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.relayed.delete(id);
        resolve({ refused: { code: "INVALID_UPDATE", message: "the receiver did not answer the invoice request in time" } });
      }, this.options.responseTimeoutMs);
      this.relayed.set(id, { to: ask.to, done: resolve, timer });
      this.sessions.get(ask.to)!.send({ v: PROTOCOL_VERSION, type: "invoice_request", id, from: ask.from, token: ask.token, amount: ask.amount.toString() });
    });
  }

  /** The payer's side: its open channel holding the amount, its request rate. */
  private checkPayer(session: Session, message: Extract<ClientMessage, { type: "invoice_request" }>): InvoiceAsk {
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
    return { from: session.address, to: message.to, token: message.token, amount };
  }

  /** The receiver's invoice (or refusal) for a relayed request: passed on to whoever asked. */
  onAnswer(session: Session, message: Extract<ClientMessage, { type: "invoice" | "invoice_refused" }>): void {
    const relayed = this.relayed.get(message.id);
    if (relayed === undefined || relayed.to !== session.address) {
      throw new WireError("MALFORMED", `no invoice request ${message.id} is awaiting your answer`);
    }
    this.relayed.delete(message.id);
    clearTimeout(relayed.timer);
    if (message.type === "invoice_refused") {
      relayed.done({ refused: { code: message.code, message: `the receiver refused the invoice request: ${message.message}` } });
      return;
    }
    relayed.done({ hashlock: message.hashlock });
  }
}
