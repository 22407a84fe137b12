// The web console's settings (docs/operations.md, "Web console"): whether the node serves it, and who
// may read its data. Every key is optional.
import { z } from "zod";

export const consoleConfigSchema = z.strictObject({
  /** Serve the console at /console/ and its data at /console/api/*. */
  enabled: z.boolean().default(true),
  /**
   * false: the data answers loopback clients addressed by a loopback name only (no credential);
   * true: any client presenting the console token (`<dataDir>/console-token`) as a bearer token.
   */
  requireToken: z.boolean().default(false),
  /** Seconds of update-rate and latency history kept for the charts (one sample a second). */
  historySeconds: z.coerce.number().int().min(10).max(86_400).default(600),
  /** Rows at most in one answer (channels, disputes, cap-table holders, fills); the answer says how many there were. */
  maxRows: z.coerce.number().int().min(1).max(10_000).default(500),
  /** How long a cap table is reused: it is read from the chain's logs, so a flood of requests costs one read per this interval. */
  capTableMaxAgeMs: z.coerce.number().int().min(0).default(60_000),
});

export type ConsoleConfig = z.output<typeof consoleConfigSchema>;

/** The console settings with their defaults filled in. */
export function consoleConfigOf(config: { console?: ConsoleConfig | undefined }): ConsoleConfig {
  return config.console ?? consoleConfigSchema.parse({});
}
