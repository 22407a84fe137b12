// Routed payments between shards (channel-node/src/shards/remote-routes.ts) with the engine's side
// replaced by a fake InterShardPort (the module's seam): the receiver's shard proposes the venue's
// lock once per hashlock however often and however concurrently route_lock comes, refuses a
// route_check for a hashlock it already locked, tells only secrets it knows; and, over a real link
// between shards on 127.0.0.1 (real LinkServer and LinkDialer, real signatures), the payer's shard
// pulls secrets in batches of MAX_LINK_BATCH from every other shard — past one that is down — and a
// secret the receiver's shard learnt is pushed back to the shard the payment came from.
import { createServer } from "node:http";
import { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PreparedLock, RoutedLock } from "../../channel-node/src/routing.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { LinkDialer, LinkServer, linkMetrics, type LinkSettings } from "../../channel-node/src/shards/link.js";
import { isLinkError } from "../../channel-node/src/shards/link-errors.js";
import { LINK_PATH, MAX_LINK_BATCH, type LinkRequest } from "../../channel-node/src/shards/link-wire.js";
import { RemoteRoutes, type InterShardPort } from "../../channel-node/src/shards/remote-routes.js";
import type { ShardEntry, ShardMap } from "../../channel-node/src/shards/shard-map.js";
import type { RelayOutcome } from "../../channel-node/src/invoices.js";
import { NobleSigner, ProtocolError, type Address, type Bytes32, type SignedState } from "../../client/protocol/index.js";
import { CASH, deployment, keyOf, venueSigner } from "./engine-harness.js";

const logger = pino({ level: "silent" });
const SETTINGS: LinkSettings = { maxLinks: 8, maxPending: 8, maxPendingPerAddress: 8, handshakeTimeoutMs: 2_000, maxMessageBytes: 256 * 1024, maxInFlight: 16 };
const payer = new NobleSigner(keyOf(2)).address;
const receiver = new NobleSigner(keyOf(3)).address;
const hashlock = (i: number): Bytes32 => `0x${i.toString(16).padStart(64, "0")}` as Bytes32;
const secretOf = (i: number): Bytes32 => `0x${(i + 0x1000000).toString(16).padStart(64, "f")}` as Bytes32;
const route = (i: number, to: Address = receiver): RoutedLock => ({ from: payer, to, token: CASH, amount: 5n, hashlock: hashlock(i), expiry: 1_900_000_000n });
const lockRequest = (i: number, type: "route_lock" | "route_check" = "route_lock"): LinkRequest => ({ type, id: `r${i}`, ...route(i) });

/** The engine's side of one shard, faked: what it was asked to offer and claim, and what it knows. */
class FakePort implements InterShardPort {
  readonly offers: RoutedLock[] = [];
  readonly claimed: [Bytes32, Bytes32][] = [];
  readonly secrets = new Map<Bytes32, Bytes32>();
  unclaimed: Bytes32[] = [];
  invoiceOutcome: RelayOutcome = { hashlock: hashlock(42) };
  /** While set, `offer` waits for it (a proposal the receiver has not answered yet). */
  offerGate: Promise<void> | undefined;
  private readonly offered = new Set<string>();
  private readonly prepared = new Map<PreparedLock, RoutedLock>();

  relayInvoice = () => Promise.resolve(this.invoiceOutcome);

  prepareLock(lock: RoutedLock): PreparedLock {
    const prepared = { target: {}, forward: { kind: "addLock" } } as unknown as PreparedLock;
    this.prepared.set(prepared, lock);
    return prepared;
  }

  async offer(prepared: PreparedLock): Promise<SignedState> {
    const lock = this.prepared.get(prepared)!;
    this.offers.push(lock);
    await this.offerGate;
    this.offered.add(`${lock.to} ${lock.hashlock}`);
    return {} as SignedState;
  }

  offeredTo(to: Address, h: Bytes32): boolean {
    return this.offered.has(`${to} ${h}`);
  }

  claimWith(h: Bytes32, secret: Bytes32): Promise<void> {
    this.claimed.push([h, secret]);
    return Promise.resolve();
  }

  unclaimedLocks(): Bytes32[] {
    return this.unclaimed;
  }
}

interface Shard {
  readonly entry: ShardEntry;
  readonly port: FakePort;
  readonly routes: RemoteRoutes;
  /** Every request this shard's link server answered. */
  readonly answered: LinkRequest[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A shard map of `entries` as seen by `self`. */
function mapOf(self: ShardEntry, entries: ShardEntry[]): ShardMap {
  return {
    self,
    shardOf: () => Promise.resolve(entries.find((e) => e.id !== self.id)!),
    shards: () => Promise.resolve(entries),
    claim: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
}

/** Shard `id` on 127.0.0.1: its link server, dialler and routes; `entries` is the venue's map, filled in as shards start. */
async function startShard(id: string, entries: ShardEntry[]): Promise<Shard> {
  const port = new FakePort();
  const metrics = linkMetrics(createMetrics());
  const http = createServer((_request, response) => response.writeHead(404).end());
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const address = http.address();
  const entry = { id, url: `ws://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}` };
  entries.push(entry);
  const identity = { self: id, signer: venueSigner, deployment, settings: SETTINGS, logger };
  const dialer = new LinkDialer(identity, metrics);
  const routes = new RemoteRoutes({ map: mapOf(entry, entries), dialer, port, responseTimeoutMs: 1_000, pullIntervalMs: 60_000, logger });
  const answered: LinkRequest[] = [];
  const server = new LinkServer(
    {
      ...identity,
      answer: (peer, request) => {
        answered.push(request);
        return routes.answer(peer, request);
      },
      refusalOf: routes.refusalOf,
    },
    metrics,
  );
  http.on("upgrade", (request, socket, head) => ((request.url ?? "").split("?")[0] === LINK_PATH ? server.handleUpgrade(request, socket, head) : socket.destroy()));
  cleanups.push(async () => {
    routes.stop();
    dialer.close();
    server.close();
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  return { entry, port, routes, answered };
}

/** A RemoteRoutes whose link is never used: `answer` called directly. */
function receiverShard(): { port: FakePort; routes: RemoteRoutes } {
  const port = new FakePort();
  const self = { id: "b", url: "ws://127.0.0.1:1" };
  const dialer = new LinkDialer({ self: "b", signer: venueSigner, deployment, settings: SETTINGS, logger }, linkMetrics(createMetrics()));
  return { port, routes: new RemoteRoutes({ map: mapOf(self, [self]), dialer, port, responseTimeoutMs: 1_000, pullIntervalMs: 60_000, logger }) };
}

describe("RemoteRoutes: the receiver's shard", () => {
  it("proposes the venue's lock once for route_lock repeated under one hashlock, concurrently or later", async () => {
    const { port, routes } = receiverShard();
    let release!: () => void;
    port.offerGate = new Promise((resolve) => (release = resolve));
    const first = routes.answer("a", lockRequest(1));
    const again = routes.answer("a", lockRequest(1));
    await Promise.resolve();
    expect(port.offers).toHaveLength(1);
    release();
    expect(await Promise.all([first, again])).toEqual([{}, {}]);
    expect(await routes.answer("a", lockRequest(1))).toEqual({}); // a retry after the first was taken
    expect(port.offers.map((o) => o.hashlock)).toEqual([hashlock(1)]);
    // Another hashlock is another lock.
    await routes.answer("a", lockRequest(2));
    expect(port.offers.map((o) => o.hashlock)).toEqual([hashlock(1), hashlock(2)]);
  });

  it("refuses a route_check for a hashlock already locked to the receiver (BAD_LOCK), and passes one that is not", async () => {
    const { routes } = receiverShard();
    expect(await routes.answer("a", lockRequest(1, "route_check"))).toEqual({});
    await routes.answer("a", lockRequest(1));
    const refusal = await routes.answer("a", lockRequest(1, "route_check")).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refusal).toBeInstanceOf(ProtocolError);
    expect(routes.refusalOf(refusal)).toMatchObject({ code: "BAD_LOCK" });
  });

  it("tells only the secrets it knows", async () => {
    const { port, routes } = receiverShard();
    port.secrets.set(hashlock(2), secretOf(2));
    port.secrets.set(hashlock(9), secretOf(9));
    expect(await routes.answer("a", { type: "secrets", id: "s", hashlocks: [hashlock(1), hashlock(2), hashlock(3)] })).toEqual({ secrets: [{ hashlock: hashlock(2), secret: secretOf(2) }] });
    expect(await routes.answer("a", { type: "secrets", id: "s", hashlocks: [hashlock(4)] })).toEqual({ secrets: [] });
  });

  it("passes the receiver's refusal of an invoice back as it is", async () => {
    const { port, routes } = receiverShard();
    const ask: LinkRequest = { type: "invoice", id: "i", from: payer, to: receiver, token: CASH, amount: 5n };
    expect(await routes.answer("a", ask)).toEqual({ hashlock: hashlock(42) });
    port.invoiceOutcome = { refused: { code: "INVOICE_REFUSED", message: "not taking payments" } };
    const error = await routes.answer("a", ask).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(routes.refusalOf(error)).toEqual({ code: "INVOICE_REFUSED", message: "not taking payments" });
  });
});

describe("RemoteRoutes over a real link", () => {
  it("the payer's shard asks for an invoice and hears the receiver's refusal with its code", async () => {
    const entries: ShardEntry[] = [];
    const a = await startShard("a", entries);
    const b = await startShard("b", entries);
    const ask = { from: payer, to: receiver, token: CASH, amount: 5n };
    expect(await a.routes.invoice(b.entry, ask)).toBe(hashlock(42));
    b.port.invoiceOutcome = { refused: { code: "INVOICE_REFUSED", message: "not taking payments" } };
    const error = await a.routes.invoice(b.entry, ask).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isLinkError(error, "LINK_REFUSED")).toBe(true);
    expect((error as { rejection?: unknown }).rejection).toEqual({ code: "INVOICE_REFUSED", message: "not taking payments" });
  });

  it("route_lock sent twice over the link proposes once; the secret learnt is pushed back to the payer's shard", async () => {
    const entries: ShardEntry[] = [];
    const a = await startShard("a", entries);
    const b = await startShard("b", entries);
    await Promise.all([a.routes.lock(b.entry, route(1)), a.routes.lock(b.entry, route(1))]);
    expect(b.answered.filter((r) => r.type === "route_lock")).toHaveLength(2);
    expect(b.port.offers).toHaveLength(1);
    b.routes.secretLearned(hashlock(1), secretOf(1));
    await vi.waitFor(() => expect(a.port.claimed).toEqual([[hashlock(1), secretOf(1)]]));
    // A secret of a payment that did not come from another shard goes nowhere.
    b.routes.secretLearned(hashlock(2), secretOf(2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(a.answered.filter((r) => r.type === "secrets_learned")).toHaveLength(1);
  });

  it("pull asks every other shard for the unclaimed locks' secrets in batches of MAX_LINK_BATCH", async () => {
    const entries: ShardEntry[] = [];
    const a = await startShard("a", entries);
    const b = await startShard("b", entries);
    const c = await startShard("c", entries);
    const count = 2 * MAX_LINK_BATCH + 88;
    a.port.unclaimed = Array.from({ length: count }, (_, i) => hashlock(i + 1));
    // One known secret in each batch at b, one at c.
    for (const i of [1, MAX_LINK_BATCH + 1, count]) b.port.secrets.set(hashlock(i), secretOf(i));
    c.port.secrets.set(hashlock(7), secretOf(7));
    await a.routes.pull();
    const sizes = (shard: Shard) => shard.answered.map((r) => (r.type === "secrets" ? r.hashlocks.length : -1));
    expect(sizes(b)).toEqual([MAX_LINK_BATCH, MAX_LINK_BATCH, 88]);
    expect(sizes(c)).toEqual([MAX_LINK_BATCH, MAX_LINK_BATCH, 88]);
    expect(a.answered).toEqual([]); // never itself
    expect(new Map(a.port.claimed)).toEqual(new Map([1, MAX_LINK_BATCH + 1, count, 7].map((i) => [hashlock(i), secretOf(i)])));
  });

  it("pull asks the shards after one that is down", async () => {
    const entries: ShardEntry[] = [];
    const a = await startShard("a", entries);
    entries.push({ id: "b", url: "ws://127.0.0.1:1" }); // nobody listens there
    const c = await startShard("c", entries);
    a.port.unclaimed = [hashlock(1)];
    c.port.secrets.set(hashlock(1), secretOf(1));
    await a.routes.pull();
    expect(a.port.claimed).toEqual([[hashlock(1), secretOf(1)]]);
  });
});
