// Routed payments between investors of two shards (docs/operations.md, "Payments between shards").
// The payer's shard (P) holds the payer's lock to the venue, the receiver's shard (R) the venue's lock
// to the receiver, under one hashlock; the shards talk over the link (link.ts):
//   1. invoice      P relays the payer's invoice_request to R, which asks the receiver.
//   2. route_check  before P countersigns the payer's lock, R checks the venue's lock would pass.
//   3. route_lock   once the payer's lock is agreed (stored), R proposes the venue's lock, a gap
//                   earlier — never a second one under the same hashlock (a repeat is a no-op).
//   4. the secret   the receiver resolves its lock with the secret, which R stores before it
//                   countersigns; R passes it to P (secrets_learned), and P claims the payer's lock.
//                   P also asks every shard, every `pullIntervalMs`, for the secrets of the payer
//                   locks it cannot claim yet (secrets), so a secret R learnt while P was down, or
//                   before R restarted and forgot where the payment came from, still reaches P.
// Nothing here is stored: each shard's own store holds its half (the agreed locks, the secrets
// learnt), which is all that steps 3 and 4 need after a restart. A payer's lock whose route_lock
// never reached R (P stopped in between) returns to the payer at its expiry, as on one shard.
import type { Logger } from "pino";
import { ProtocolError, type Address, type Bytes32, type SignedState } from "../../../client/protocol/index.js";
import type { RejectionReason } from "../../../client/protocol/wire.js";
import { rejectionOrWire } from "../countersign.js";
import type { InvoiceAsk, RelayOutcome, RemoteInvoices } from "../invoices.js";
import type { PreparedLock, RemoteRouting, RoutedLock } from "../routing.js";
import { LinkError, isLinkError } from "./link-errors.js";
import type { LinkDialer, LinkResult } from "./link.js";
import { MAX_LINK_BATCH, type LinkRequest, type LinkRequestBody } from "./link-wire.js";
import type { ShardEntry, ShardMap } from "./shard-map.js";

/** The receiver refused a relayed invoice request, or did not answer in time: its refusal goes back as it is. */
class InvoiceRefused extends Error {
  override readonly name = "InvoiceRefused";
  constructor(readonly rejection: RejectionReason) {
    super(rejection.message);
  }
}

/** What the engine lends the link (engine.ts `interShard`): the receiver's side of routed payments. */
export interface InterShardPort {
  /** Asks a receiver served here for an invoice: its hashlock, or its refusal. */
  relayInvoice(ask: InvoiceAsk): Promise<RelayOutcome>;
  prepareLock(route: RoutedLock): PreparedLock;
  offer(prepared: PreparedLock): Promise<SignedState>;
  offeredTo(to: Address, hashlock: Bytes32): boolean;
  readonly secrets: ReadonlyMap<Bytes32, Bytes32>;
  /** Learns a secret from elsewhere and claims the payer's locks under it (ignored unless it opens one here). */
  claimWith(hashlock: Bytes32, secret: Bytes32): Promise<void>;
  unclaimedLocks(): Bytes32[];
}

export interface RemoteRoutesOptions {
  readonly map: ShardMap;
  readonly dialer: LinkDialer;
  readonly port: InterShardPort;
  /** How long a receiver has to answer (the node's responseTimeoutMs); link requests wait a little longer. */
  readonly responseTimeoutMs: number;
  /** How often the payer's shard asks the others for secrets it lacks. */
  readonly pullIntervalMs: number;
  readonly logger: Logger;
}

/** Beyond the receiver's own time to answer: the link's round trips. */
const LINK_MARGIN_MS = 5_000;
/** route_lock and secrets_learned are retried this many times while the other shard cannot be reached. */
const DELIVERY_ATTEMPTS = 5;
const RETRY_BASE_MS = 500;
/**
 * Routed payments whose origin is remembered for passing their secret back. Beyond it the oldest is
 * forgotten: a receiver that never claims leaves its entry until then, and a forgotten origin's
 * payer shard still pulls the secret.
 */
export const MAX_REMEMBERED_ORIGINS = 100_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function routeJson(route: RoutedLock) {
  return { from: route.from, to: route.to, token: route.token, amount: route.amount.toString(), hashlock: route.hashlock, expiry: route.expiry.toString() };
}

export class RemoteRoutes implements RemoteRouting, RemoteInvoices {
  /** Routed payments whose venue lock this shard offered, by hashlock: the payer's shard, to pass the secret to. */
  private readonly origins = new Map<Bytes32, string>();
  /** route_lock requests being carried out, by receiver and hashlock: a repeat waits for the first. */
  private readonly offering = new Map<string, Promise<void>>();
  private pullTimer: NodeJS.Timeout | undefined;
  private pulling = false;
  private stopped = false;

  constructor(private readonly options: RemoteRoutesOptions) {}

  // ---------------------------------------------------------------- the payer's shard

  async shardElsewhere(investor: Address): Promise<ShardEntry | undefined> {
    const { map } = this.options;
    let shard: ShardEntry;
    try {
      shard = await map.shardOf(investor);
    } catch (error) {
      throw new LinkError("LINK_UNAVAILABLE", `the shard map cannot be read: ${error instanceof Error ? error.message : String(error)}`, {}, { cause: error });
    }
    return shard.id === map.self.id ? undefined : shard;
  }

  async invoice(shard: ShardEntry, ask: InvoiceAsk): Promise<Bytes32> {
    const answer = await this.request(shard, { type: "invoice", from: ask.from, to: ask.to, token: ask.token, amount: ask.amount.toString() }, this.options.responseTimeoutMs + LINK_MARGIN_MS);
    if (answer.hashlock === undefined) throw new LinkError("LINK_REFUSED", `shard ${shard.id} answered an invoice request without a hashlock`, { shard: shard.id });
    return answer.hashlock;
  }

  async check(shard: ShardEntry, route: RoutedLock): Promise<void> {
    await this.request(shard, { type: "route_check", ...routeJson(route) }, LINK_MARGIN_MS);
  }

  /** Asks the receiver's shard to propose the venue's lock; retried while it cannot be reached. Never throws. */
  async lock(shard: ShardEntry, route: RoutedLock): Promise<void> {
    const { logger } = this.options;
    const delivered = await this.deliver(shard, { type: "route_lock", ...routeJson(route) }, 2 * this.options.responseTimeoutMs + LINK_MARGIN_MS);
    if (delivered instanceof Error) {
      // The payer's lock stays until its expiry and then returns to the payer.
      logger.warn({ err: delivered, shard: shard.id, hashlock: route.hashlock }, "the receiver's shard did not take the routed lock");
    }
  }

  // ---------------------------------------------------------------- the receiver's shard

  /** Answers a request from shard `peer` (the link server's `answer`). */
  answer = async (peer: string, request: LinkRequest): Promise<LinkResult> => {
    const { port } = this.options;
    switch (request.type) {
      case "invoice": {
        const outcome = await port.relayInvoice({ from: request.from, to: request.to, token: request.token, amount: request.amount });
        if ("refused" in outcome) throw new InvoiceRefused(outcome.refused);
        return { hashlock: outcome.hashlock };
      }
      case "route_check":
        if (port.offeredTo(request.to, request.hashlock)) throw duplicate(request.hashlock);
        port.prepareLock(request);
        return {};
      case "route_lock":
        this.remember(request.hashlock, peer);
        await this.offerOnce(request);
        return {};
      case "secrets":
        return { secrets: request.hashlocks.flatMap((hashlock) => (port.secrets.has(hashlock) ? [{ hashlock, secret: port.secrets.get(hashlock)! }] : [])) };
      case "secrets_learned":
        for (const { hashlock, secret } of request.secrets) await port.claimWith(hashlock, secret);
        return {};
    }
  };

  /** What a refused request is answered with. */
  refusalOf = (error: unknown): RejectionReason => (error instanceof InvoiceRefused ? error.rejection : rejectionOrWire(error));

  /** A secret was learnt here (engine.ts `onLearnt`): passed to the shard the routed payment came from. */
  secretLearned = (hashlock: Bytes32, secret: Bytes32): void => {
    const origin = this.origins.get(hashlock);
    if (origin === undefined) return;
    this.origins.delete(hashlock);
    void this.pushSecret(origin, hashlock, secret);
  };

  private remember(hashlock: Bytes32, peer: string): void {
    this.origins.delete(hashlock);
    this.origins.set(hashlock, peer);
    if (this.origins.size > MAX_REMEMBERED_ORIGINS) this.origins.delete(this.origins.keys().next().value!);
  }

  private offerOnce(route: RoutedLock): Promise<void> {
    const { port } = this.options;
    const key = `${route.to} ${route.hashlock}`;
    const running = this.offering.get(key);
    if (running !== undefined) return running;
    if (port.offeredTo(route.to, route.hashlock)) return Promise.resolve();
    const offered = (async () => {
      await port.offer(port.prepareLock(route));
    })().finally(() => this.offering.delete(key));
    this.offering.set(key, offered);
    return offered;
  }

  private async pushSecret(origin: string, hashlock: Bytes32, secret: Bytes32): Promise<void> {
    const shard = (await this.options.map.shards().catch(() => [])).find((s) => s.id === origin);
    // Unknown or unreachable: the payer's shard asks for it itself (pull).
    if (shard === undefined) return;
    const delivered = await this.deliver(shard, { type: "secrets_learned", secrets: [{ hashlock, secret }] }, LINK_MARGIN_MS);
    if (delivered instanceof Error) this.options.logger.info({ err: delivered, shard: origin, hashlock }, "passing a secret to the payer's shard failed; it will ask for it");
  }

  // ---------------------------------------------------------------- pull

  /** Starts asking the other shards for the secrets of this shard's unclaimed payer locks. */
  start(): void {
    this.pullTimer = setInterval(() => void this.pull(), this.options.pullIntervalMs);
    this.pullTimer.unref();
    void this.pull();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.pullTimer);
  }

  /** One round: every other shard is asked for the secrets of the unclaimed locks, in batches. */
  async pull(): Promise<void> {
    if (this.pulling || this.stopped) return;
    this.pulling = true;
    try {
      let hashlocks: Bytes32[];
      try {
        hashlocks = this.options.port.unclaimedLocks();
      } catch {
        return; // the chain's time is unknown: nothing is claimed until it is known again
      }
      if (hashlocks.length === 0) return;
      const peers = (await this.options.map.shards()).filter((s) => s.id !== this.options.map.self.id);
      // Each shard on its own: one that is down does not keep the secrets of the others from us.
      for (const peer of peers) await this.pullFrom(peer, hashlocks);
    } catch (error) {
      this.options.logger.debug({ err: error }, "reading the shard map to ask for secrets failed; trying again later");
    } finally {
      this.pulling = false;
    }
  }

  private async pullFrom(peer: ShardEntry, hashlocks: readonly Bytes32[]): Promise<void> {
    try {
      for (let i = 0; i < hashlocks.length && !this.stopped; i += MAX_LINK_BATCH) {
        const answer = await this.request(peer, { type: "secrets", hashlocks: hashlocks.slice(i, i + MAX_LINK_BATCH) }, LINK_MARGIN_MS);
        for (const { hashlock, secret } of answer.secrets ?? []) await this.options.port.claimWith(hashlock, secret);
      }
    } catch (error) {
      this.options.logger.debug({ err: error, shard: peer.id }, "asking a shard for secrets failed; trying again later");
    }
  }

  // ---------------------------------------------------------------- link

  private request(shard: ShardEntry, request: LinkRequestBody, timeoutMs: number): Promise<LinkResult> {
    return this.options.dialer.request(shard, request, timeoutMs);
  }

  /** Sends until answered: retried with backoff while the shard cannot be reached; its refusal or the last failure is returned. */
  private async deliver(shard: ShardEntry, request: LinkRequestBody, timeoutMs: number): Promise<LinkResult | Error> {
    let failure: Error = new LinkError("LINK_UNAVAILABLE", `shard ${shard.id} was not asked`, { shard: shard.id });
    for (let attempt = 0; attempt < DELIVERY_ATTEMPTS && !this.stopped; attempt++) {
      if (attempt > 0) await sleep(RETRY_BASE_MS * 2 ** (attempt - 1));
      try {
        return await this.request(shard, request, timeoutMs);
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        if (!isLinkError(error, "LINK_UNAVAILABLE")) break;
      }
    }
    return failure;
  }
}

function duplicate(hashlock: Bytes32): ProtocolError {
  return new ProtocolError("BAD_LOCK", "the venue already routed a lock under this hashlock to the receiver", { hashlock });
}
