// Starts the external matching engine's endpoint when the node's trading config says
// `matching: "external"`, with the engine's credential from `<dataDir>/engine-token` (created at
// first start, mode 0600, like the admin token but a different one).
import type { Logger } from "pino";
import { ensureAdminToken } from "../../admin-auth.js";
import type { NodeMetrics } from "../../metrics.js";
import { engineSettingsOf, marketsOf, type TradingConfig } from "../config.js";
import type { TradingDesk } from "../desk.js";
import { ENGINE_TOKEN_FILE, EngineServer } from "./engine-server.js";

export async function startEngineEndpoint(trading: TradingConfig, dataDir: string, desk: TradingDesk, metrics: NodeMetrics, logger: Logger): Promise<EngineServer | undefined> {
  const settings = engineSettingsOf(trading);
  if (settings === undefined) return undefined;
  const { token } = ensureAdminToken(dataDir, ENGINE_TOKEN_FILE);
  return EngineServer.start({ settings, token, desk, markets: marketsOf(trading), metrics, logger, clock: Date.now });
}
