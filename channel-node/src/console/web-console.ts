// Wires the web console into the node: its data sources, the activity sampler, the cap tables and,
// with `requireToken`, the console token (`<dataDir>/console-token`, created like the admin token).
import type { JsonRpcProvider } from "ethers";
import type { Logger } from "pino";
import { ensureAdminToken } from "../admin-auth.js";
import type { NodeMetrics } from "../metrics.js";
import { NODE_VERSION, type AssetBook } from "../operator-info.js";
import { CONSOLE_TOKEN_FILE } from "./access.js";
import { ActivitySeries, readActivity } from "./activity.js";
import { CapTables } from "./cap-tables.js";
import type { ConsoleConfig } from "./config.js";
import { consoleHandler, type ConsoleHandler } from "./console-api.js";
import type { ConsoleSources } from "./views.js";

export interface WebConsole {
  readonly handler: ConsoleHandler;
  /** The console token's file, when the console requires one. */
  readonly tokenFile: string | undefined;
  stop(): void;
}

export interface WebConsoleOptions {
  readonly config: ConsoleConfig;
  readonly dataDir: string;
  readonly provider: JsonRpcProvider;
  readonly assetBook: AssetBook;
  readonly adjudicator: ConsoleSources["venue"];
  readonly securities: ConsoleSources["assets"];
  readonly startBlock: number;
  readonly sources: Omit<ConsoleSources, "asset" | "version" | "maxRows" | "metrics">;
  readonly metrics: NodeMetrics;
  readonly logger: Logger;
}

/** The console, or undefined when `console.enabled` is false (then /console/ is not found). */
export function startWebConsole(options: WebConsoleOptions): WebConsole | undefined {
  const { config } = options;
  if (!config.enabled) return undefined;
  const token = config.requireToken ? ensureAdminToken(options.dataDir, CONSOLE_TOKEN_FILE) : undefined;
  const asset = (address: ConsoleSources["venue"]) => options.assetBook.info(address);
  const activity = new ActivitySeries(() => readActivity(options.metrics), config.historySeconds);
  activity.start();
  const capTables = new CapTables({
    provider: options.provider,
    adjudicator: options.adjudicator,
    securities: options.securities,
    asset,
    fromBlock: options.startBlock,
    maxAgeMs: config.capTableMaxAgeMs,
    maxRows: config.maxRows,
  });
  const handler = consoleHandler({
    sources: { ...options.sources, asset, version: NODE_VERSION, maxRows: config.maxRows, metrics: options.metrics },
    activity,
    capTables,
    token: token?.token,
    metrics: options.metrics,
    logger: options.logger,
  });
  return { handler, tokenFile: token?.file, stop: () => activity.stop() };
}
