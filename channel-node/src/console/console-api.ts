// The node's web console on its HTTP port: the page at /console/ (static-files.ts) and its read-only
// data at /console/api/* (JSON; who may read it: access.ts). The console has no actions: moving
// funds stays with the operator's CLI and the admin API, which refuses browsers.
import type { IncomingMessage, ServerResponse } from "node:http";
import { Counter } from "prom-client";
import type { Logger } from "pino";
import type { NodeMetrics } from "../metrics.js";
import { ConsoleRefusal, checkConsoleAccess, isConsoleRefusal } from "./access.js";
import type { ActivitySeries } from "./activity.js";
import type { CapTables } from "./cap-tables.js";
import { SECURITY_HEADERS, serveBundleFile } from "./static-files.js";
import { channelsView, overviewView, refusalsView, tradingView, type ConsoleSources } from "./views.js";

export interface ConsoleApiOptions {
  readonly sources: ConsoleSources;
  readonly activity: ActivitySeries;
  readonly capTables: CapTables;
  /** The console token when `console.requireToken`; undefined: loopback clients only. */
  readonly token: string | undefined;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
  /** The bundle's directory (tests); default: the build output. */
  readonly bundleDir?: string;
}

export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse, url: string) => void;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...SECURITY_HEADERS, ...headers });
  res.end(JSON.stringify(body));
}

export function consoleHandler(options: ConsoleApiOptions): ConsoleHandler {
  const { sources, logger } = options;
  const refusals = new Counter({ name: "clearline_console_refusals_total", help: "Refused web console requests by code", labelNames: ["code"], registers: [options.metrics.registry] });
  const views: Record<string, () => Promise<unknown>> = {
    overview: () => overviewView(sources),
    channels: () => channelsView(sources),
    disputes: () => channelsView(sources, "disputed"),
    activity: async () => options.activity.points(),
    refusals: () => refusalsView(options.metrics),
    issuer: () => options.capTables.read(),
    trading: () => tradingView(sources),
  };

  function api(req: IncomingMessage, res: ServerResponse, name: string): void {
    try {
      checkConsoleAccess(req, options.token);
      if (req.method !== "GET") throw new ConsoleRefusal("CONSOLE_METHOD_NOT_ALLOWED", 405, "the console's data is read-only: GET only");
      const view = Object.hasOwn(views, name) ? views[name] : undefined;
      if (view === undefined) throw new ConsoleRefusal("CONSOLE_NOT_FOUND", 404, `no console data "${name}" (${Object.keys(views).join(", ")})`, { view: name });
      view()
        .then((body) => sendJson(res, 200, body))
        .catch((error: unknown) => {
          const code = typeof (error as { code?: unknown })?.code === "string" ? (error as { code: string }).code : "CONSOLE_UNAVAILABLE";
          const message = error instanceof Error ? error.message : String(error);
          logger.warn({ view: name, code, error: message }, "console data unavailable");
          sendJson(res, 503, { code, error: message });
        });
    } catch (error) {
      if (!isConsoleRefusal(error)) {
        logger.error({ err: error, view: name }, "console request failed");
        sendJson(res, 500, { code: "CONSOLE_FAILED", error: "the console request failed" });
        return;
      }
      refusals.inc({ code: error.code });
      logger.debug({ code: error.code, remote: req.socket.remoteAddress, host: req.headers.host }, "console request refused");
      const headers: Record<string, string> = error.status === 401 ? { "www-authenticate": "Bearer" } : error.status === 405 ? { allow: "GET" } : {};
      sendJson(res, error.status, { code: error.code, error: error.shortMessage }, headers);
    }
  }

  return (req, res, url) => {
    const path = url.split("?")[0]!;
    if (path === "/console") {
      res.writeHead(308, { location: "/console/" }).end();
      return;
    }
    const relative = path.slice("/console/".length);
    if (relative.startsWith("api/")) return api(req, res, relative.slice("api/".length));
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET", ...SECURITY_HEADERS }).end();
      return;
    }
    let file: string;
    try {
      file = decodeURIComponent(relative);
    } catch {
      res.writeHead(404, SECURITY_HEADERS).end();
      return;
    }
    serveBundleFile(res, file, options.bundleDir).catch((error: unknown) => {
      logger.warn({ err: error, path }, "console file failed");
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
