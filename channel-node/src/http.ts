// The node's plain HTTP endpoints: /health (public; 503 when a check fails), /metrics (public,
// Prometheus), the operator's /admin/* API (loopback, no browser, bearer token: admin-auth.ts) and
// the read-only web console at /console/ (console/).
import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Address } from "../../client/protocol/types.js";
import { isChainError } from "../../client/chain/errors.js";
import { refuseAdmin } from "./admin-auth.js";
import type { HealthMonitor } from "./health.js";
import type { NodeMetrics } from "./metrics.js";
import type { ConsoleHandler } from "./console/console-api.js";

export interface AdminRequest {
  readonly method: string;
  /** The path below /admin, with its query. */
  readonly path: string;
}

export interface AdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

export interface HttpApiOptions {
  venue: Address;
  health: HealthMonitor;
  /** Extra facts for /health. */
  facts: () => Record<string, unknown>;
  metrics: NodeMetrics;
  logger: Logger;
  adminToken: string;
  admin: (request: AdminRequest) => Promise<AdminAnswer>;
  /** The web console at /console/ (console/console-api.ts); absent: disabled. */
  console?: ConsoleHandler | undefined;
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value)));
}

/** A failed admin request as the operator's CLI reads it: a chain error keeps its code, action and decoded revert. */
function failedAdmin(error: unknown): { status: number; body: { code: string; error: string; [key: string]: unknown } } {
  if (isChainError(error)) {
    const revert = error.revert === null ? undefined : { name: error.revert.name, args: error.revert.args };
    return { status: error.code === "REVERTED" ? 409 : 502, body: { code: error.code, error: error.shortMessage, action: error.action, revert, transactionHash: error.transactionHash } };
  }
  const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "ADMIN_FAILED";
  return { status: 500, body: { code, error: error instanceof Error ? error.message : String(error) } };
}

export function httpApi(options: HttpApiOptions): RequestListener {
  const { logger, metrics } = options;

  function health(res: ServerResponse): void {
    options.health
      .check()
      .then((report) => {
        const status = report.healthy ? "ok" : "unhealthy";
        sendJson(res, report.healthy ? 200 : 503, { status, failed: report.failed, checks: report.checks, venue: options.venue, ...options.facts() });
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "health check failed");
        sendJson(res, 503, { status: "unhealthy", error: "the health check itself failed" });
      });
  }

  function prometheus(res: ServerResponse): void {
    metrics.registry
      .metrics()
      .then((text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        res.end(text);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, "metrics failed");
        res.writeHead(500).end();
      });
  }

  function admin(req: IncomingMessage, res: ServerResponse, url: string): void {
    const refusal = refuseAdmin(req, options.adminToken);
    if (refusal !== undefined) {
      metrics.adminRefusals.inc({ code: refusal.code });
      logger.warn({ code: refusal.code, method: req.method, remote: req.socket.remoteAddress, origin: req.headers.origin }, "admin request refused");
      sendJson(res, refusal.status, { code: refusal.code, error: refusal.message }, refusal.status === 401 ? { "www-authenticate": "Bearer" } : {});
      return;
    }
    // The operator's request may wait for a transaction: the idle bound of plain HTTP connections
    // (there against strangers) does not apply to it.
    req.socket.setTimeout(0);
    options
      .admin({ method: req.method ?? "GET", path: url.slice("/admin".length) })
      .then(({ status, body }) => sendJson(res, status, body))
      .catch((error: unknown) => {
        const { status, body } = failedAdmin(error);
        // One line for the operator's log; the operator's CLI gets the cause with its code.
        logger.warn({ method: req.method, path: url, status, code: body.code, error: body.error }, "admin request failed");
        sendJson(res, status, body);
      });
  }

  return (req, res) => {
    const url = req.url ?? "/";
    if (url === "/health") return health(res);
    if (url === "/metrics") return prometheus(res);
    if (url.startsWith("/admin/")) return admin(req, res, url);
    if (options.console !== undefined && (url === "/console" || url.startsWith("/console/") || url.startsWith("/console?"))) return options.console(req, res, url);
    sendJson(res, 404, { error: "not found" });
  };
}
