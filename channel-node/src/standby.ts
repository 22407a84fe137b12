// A node on PostgreSQL with a leader lease is a standby until it holds the lease: meanwhile it
// answers /health and /metrics on its port, so that a load balancer sees it alive but not ready
// (503) and an operator sees whose lease it waits for. Once it took the lease it reports "starting"
// (still 503) while it loads the channels, and hands the port over to the node's transport, whose
// /health then answers 200 with role "active". Everything else is refused: investors are served
// only by the node holding the lease.
import { createServer, type Server, type ServerResponse } from "node:http";
import { Gauge } from "prom-client";
import type { Logger } from "pino";
import type { Address } from "../../client/protocol/types.js";
import type { NodeMetrics } from "./metrics.js";
import type { HeldLease } from "./store/postgres-lease.js";
import { PortInUseError } from "./transport.js";

export interface StandbyServerOptions {
  readonly host: string;
  readonly port: number;
  readonly venue: Address;
  /** Bounds of the plain HTTP server, as the transport's: headers within this time, idle sockets closed after it. */
  readonly timeoutMs: number;
  readonly maxConnections: number;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
}

/** What /health says while the node does not serve. */
export type StandbyHealth =
  | { readonly status: "standby"; readonly role: "standby"; readonly since: string; readonly leader: HeldLease | null; readonly checkedAt: string | null }
  | { readonly status: "starting"; readonly role: "active"; readonly since: string; readonly leaseEpoch: string };

export class StandbyServer {
  private health: StandbyHealth;
  private readonly gauge: Gauge;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly server: Server,
    private readonly options: StandbyServerOptions,
  ) {
    this.gauge = new Gauge({ name: "clearline_standby", help: "1 while the node waits for the leader lease (a standby), 0 once it holds it", registers: [options.metrics.registry] });
    this.gauge.set(1);
    this.health = { status: "standby", role: "standby", since: this.stamp(), leader: null, checkedAt: null };
  }

  /** Listens on the node's host and port (PortInUseError when taken). */
  static async start(options: StandbyServerOptions): Promise<StandbyServer> {
    const server = createServer({ headersTimeout: options.timeoutMs, requestTimeout: options.timeoutMs });
    server.timeout = options.timeoutMs;
    server.maxConnections = options.maxConnections;
    server.on("drop", () => options.metrics.connectionRefusals.inc({ bound: "tcp_max_connections" }));
    const standby = new StandbyServer(server, options);
    server.on("request", (req, res) => standby.answer(req.url ?? "/", res));
    // A WebSocket upgrade (an investor's SDK) is refused: it goes on to the venue's next URL.
    server.on("upgrade", (_req, socket) => {
      socket.end("HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    });
    await new Promise<void>((resolve, reject) => {
      const failed = (error: NodeJS.ErrnoException) => reject(error.code === "EADDRINUSE" ? new PortInUseError(options.host, options.port) : error);
      server.once("error", failed);
      server.listen(options.port, options.host, () => {
        server.off("error", failed);
        resolve();
      });
    });
    return standby;
  }

  /** The port it listens on. */
  get port(): number {
    const address = this.server.address();
    return typeof address === "object" && address !== null ? address.port : this.options.port;
  }

  /** What /health reports now. */
  get status(): StandbyHealth {
    return this.health;
  }

  /** Another node holds the lease (told after each attempt to take it). */
  waiting(leader: HeldLease): void {
    if (this.health.status !== "standby") return;
    this.health = { ...this.health, leader, checkedAt: this.stamp() };
  }

  /** This node took the lease of `leaseEpoch`: it is the active node, starting. */
  leading(leaseEpoch: string): void {
    this.health = { status: "starting", role: "active", since: this.stamp(), leaseEpoch };
    this.gauge.set(0);
    this.options.logger.info({ leaseEpoch }, "took the leader lease: starting as the active node");
  }

  /** Stops listening and drops its connections, freeing the port for the transport. Idempotent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }

  private answer(url: string, res: ServerResponse): void {
    if (url === "/health") return send(res, 503, { ...this.health, venue: this.options.venue });
    if (url === "/metrics") {
      const registry = this.options.metrics.registry;
      registry
        .metrics()
        .then((text) => res.writeHead(200, { "content-type": registry.contentType }).end(text))
        .catch(() => res.writeHead(500).end());
      return;
    }
    send(res, 503, { code: "STANDBY", error: "this node is a standby: it serves once it holds the leader lease" });
  }

  private stamp(): string {
    return new Date().toISOString();
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json", connection: "close" });
  res.end(JSON.stringify(body));
}
