// Node configuration: a JSON file (optional) overlaid by CLEARLINE_* environment variables — one for
// every key (config-env.ts) — with the venue's key raw or from an encrypted keystore (keystore.ts),
// validated once at start. Everything inside the node trusts the parsed result.
import { readFileSync } from "node:fs";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import { DEFAULT_ENGINE_BOUNDS, type EngineBounds } from "./limits.js";
import { DEFAULT_LOGIN_RATE } from "./rate-limit.js";
import { tradingConfigSchema } from "./trading/config.js";
import { envSettingsOf, setAtPath, type EnvSetting } from "./config-env.js";
import { keystorePrivateKey, keystoreSettingsSchema } from "./keystore.js";
import { consoleConfigSchema } from "./console/config.js";
import { shardConfigSchema } from "./shards/config.js";

const address = z.string().refine(isAddress, "not an address").transform((a) => getAddress(a));
const privateKey = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "a 0x-prefixed 32-byte hex private key");
const amount = z.string().regex(/^[1-9][0-9]{0,77}$/, "a positive decimal amount in the token's smallest unit");

export const nodeConfigSchema = z.strictObject({
  /** JSON-RPC URL of the chain. */
  rpcUrl: z.string().url(),
  /** The venue's key: it signs states and pays for dispute transactions. */
  privateKey,
  contracts: z.strictObject({
    adjudicator: address,
    jurisdiction: address,
    /** Restricted (ERC-1404) tokens the venue trades, each with its rules contract. */
    securities: z.array(z.strictObject({ token: address, rules: address })).min(1),
    /** Plain ERC-20 cash tokens. */
    cash: z.array(address).min(1),
  }),
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65_535).default(7_545),
  dataDir: z.string().default(".clearline/node"),
  /**
   * Where the channels are kept: absent, LevelDB in `dataDir` (the default); with a URL, PostgreSQL
   * (docs/store.md, "PostgreSQL"). `dataDir` still holds the admin token and the order log.
   */
  store: z
    .strictObject({
      url: z.string().regex(/^postgres(ql)?:\/\/\S+$/, "a postgres:// or postgresql:// connection URL"),
      /** One schema per node (or per shard) on a shared database. */
      schema: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "1–63 characters of a-z, 0-9 and _, not starting with a digit").default("public"),
      /** Connections for reads and health checks; writes use one more of their own. */
      poolSize: z.coerce.number().int().min(1).max(64).default(4),
      /** A connection attempt or statement taking longer fails (the write then fails: WRITE_FAILED). */
      statementTimeoutMs: z.coerce.number().int().min(100).default(10_000),
      /**
       * Active and standby (docs/operations.md, "Active and standby"): with a lease, a node waits
       * for the leader lease before it serves, renews it, and steps down (exits) when it loses it.
       * Without one, the node deposes any other instance on the schema at once (one node per schema).
       */
      lease: z
        .strictObject({
          /** How long a lease lasts unrenewed: a standby takes over within about ttlMs + retryMs after the leader dies or hangs. */
          ttlMs: z.coerce.number().int().min(500).max(600_000).default(5_000),
          /** How often the active node renews (below ttlMs). */
          renewMs: z.coerce.number().int().min(50).default(1_000),
          /** How often a standby tries to take the lease. */
          retryMs: z.coerce.number().int().min(50).default(500),
        })
        .refine((lease) => lease.renewMs < lease.ttlMs, { message: "renewMs must be below ttlMs", path: ["renewMs"] })
        .optional(),
    })
    .optional(),
  /** One shard of a sharded venue (docs/operations.md, "Shards"). Absent: the node serves every investor. */
  shard: shardConfigSchema.optional(),
  /** Block to start watching from when the store has none (the deployment block). */
  startBlock: z.coerce.number().int().min(0).default(0),
  /** Most blocks per `eth_getLogs` of an event search the store cannot spare (docs/chain.md). */
  maxLogRange: z.coerce.number().int().min(1).default(5_000),
  confirmations: z.coerce.number().int().min(0).default(0),
  pollIntervalMs: z.coerce.number().int().min(10).default(1_000),
  /** Challenge periods the venue accepts for new channels, in seconds. */
  minChallengePeriod: z.coerce.number().int().min(60).default(60),
  maxChallengePeriod: z.coerce.number().int().default(7 * 24 * 3600),
  /** Prices the venue trades at: cash units per security unit, and a tolerance. */
  prices: z
    .array(z.strictObject({ security: address, cash: address, price: z.string().regex(/^\d+(\/[1-9]\d*)?$/, "cash units per security unit, as N or N/D"), toleranceBps: z.number().int().min(0).max(10_000).default(0) }))
    .default([]),
  /** How long an investor may leave a proposal unanswered before the venue considers it unresponsive. */
  responseTimeoutMs: z.coerce.number().int().min(100).default(10_000),
  maxFrameBytes: z.coerce.number().int().min(1_024).default(64 * 1024),
  /** Per-connection token bucket: sustained messages per second and burst. */
  // Above what one busy channel sustains (~850 updates/s here, docs/performance.md), far below a flood.
  rateLimit: z.strictObject({ perSecond: z.number().positive().default(2_000), burst: z.number().positive().default(4_000) }).default({ perSecond: 2_000, burst: 4_000 }),
  // The node's shell: connection bounds, plain-HTTP idle bound, health checks (docs/operations.md, "Bounds (transport)").
  /** A connection that has not authenticated within this time is closed (HANDSHAKE_TIMEOUT); also the idle bound of plain HTTP connections. */
  handshakeTimeoutMs: z.coerce.number().int().min(100).default(10_000),
  /** WebSocket connections at once, all together and from one remote address (TOO_MANY_CONNECTIONS). */
  maxConnections: z.coerce.number().int().min(1).default(1_000),
  maxConnectionsPerAddress: z.coerce.number().int().min(1).default(32),
  /** Logins per remote address, successful or not (token bucket; LOGIN_RATE_LIMITED), and how many addresses are remembered. */
  loginRate: z
    .strictObject({
      perSecond: z.number().positive().default(DEFAULT_LOGIN_RATE.perSecond),
      burst: z.number().min(1).default(DEFAULT_LOGIN_RATE.burst),
      maxKeys: z.number().int().min(1).default(DEFAULT_LOGIN_RATE.maxKeys),
    })
    .default(DEFAULT_LOGIN_RATE),
  /** /health fails when a chain watcher is more than this many blocks behind `head − confirmations`. */
  maxWatcherLagBlocks: z.coerce.number().int().min(0).default(10),
  /** How long one /health check may take, and how long its result is reused (/health is public). */
  healthTimeoutMs: z.coerce.number().int().min(100).default(2_000),
  healthCacheMs: z.coerce.number().int().min(0).default(1_000),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  /** What one investor may consume of the venue (docs/operations.md, "Bounds (engine)"). Optional: every key has a default. */
  engineBounds: z
    .strictObject({
      /** Channels registered with `open` but not yet opened on chain (TOO_MANY_PROPOSED_CHANNELS). */
      maxProposedChannelsPerInvestor: z.coerce.number().int().min(1).default(DEFAULT_ENGINE_BOUNDS.maxProposedChannelsPerInvestor),
      /** A registered channel not opened on chain within this time is forgotten. */
      proposedChannelTtlMs: z.coerce.number().int().min(60_000).default(DEFAULT_ENGINE_BOUNDS.proposedChannelTtlMs),
      /** Relayed invoice requests per payer, token bucket (INVOICE_RATE_LIMITED). */
      invoiceRequests: z
        .strictObject({ perSecond: z.number().positive().default(DEFAULT_ENGINE_BOUNDS.invoiceRequests.perSecond), burst: z.number().min(1).default(DEFAULT_ENGINE_BOUNDS.invoiceRequests.burst) })
        .default(DEFAULT_ENGINE_BOUNDS.invoiceRequests),
      /** Unresolved locks in an investor's channels (TOO_MANY_LOCKS). */
      maxLocksPerInvestor: z.coerce.number().int().min(1).default(DEFAULT_ENGINE_BOUNDS.maxLocksPerInvestor),
      /** Value of an investor's unresolved locks per token, smallest units (IN_FLIGHT_LIMIT); per-token overrides below. */
      maxValueInFlightPerInvestor: amount.default(DEFAULT_ENGINE_BOUNDS.maxValueInFlightPerInvestor.toString()),
      maxValueInFlightByToken: z.array(z.strictObject({ token: address, max: amount })).default([]),
      /** A venue proposal unanswered this long is voided; the channel continues past its nonce. */
      venueProposalVoidMs: z.coerce.number().int().min(1_000).default(DEFAULT_ENGINE_BOUNDS.venueProposalVoidMs),
    })
    .optional(),
  /** Trading between investors (docs/trading.md, "At the node"). Absent: the node takes no orders. */
  trading: tradingConfigSchema.optional(),
  /** The web console (docs/operations.md, "Web console"). Optional: every key has a default. */
  console: consoleConfigSchema.optional(),
  /** Chain facts: the chain's time and new-block notifications (docs/operations.md, "Chain facts"). Optional: every key has a default. */
  chainFacts: z
    .strictObject({
      /** eth_subscribe("newHeads") endpoint: "auto" is `rpcUrl` with the ws scheme, "off" polls only. */
      newHeadsUrl: z.union([z.enum(["auto", "off"]), z.string().url().regex(/^wss?:\/\//, "a ws:// or wss:// URL")]).default("auto"),
      /** Every update is refused (COMPLIANCE_UNKNOWN) while the node has not read the chain for this long; at least two poll intervals. */
      maxViewAgeMs: z.coerce.number().int().min(1_000).default(15_000),
      /** Retry delay of a lost or refused new-heads subscription. */
      newHeadsReconnectMs: z.coerce.number().int().min(100).default(5_000),
    })
    .optional(),
});

export type ChainFactsConfig = NonNullable<z.output<typeof nodeConfigSchema>["chainFacts"]>;

/** The chain-facts settings with their defaults filled in. */
export function chainFactsOf(config: { chainFacts?: ChainFactsConfig | undefined }): ChainFactsConfig {
  return config.chainFacts ?? nodeConfigSchema.shape.chainFacts.unwrap().parse({});
}

export type NodeConfig = z.output<typeof nodeConfigSchema>;

/** An invalid setting (INVALID_CONFIG); the node prints its message as is when it does not start. */
export class ConfigError extends CodedError<"INVALID_CONFIG"> {
  override readonly name: string = "ConfigError";
  constructor(message: string) {
    super("INVALID_CONFIG", message, {}, { codeSuffix: false });
  }
}

export function isConfigError(error: unknown): error is ConfigError {
  return isCodedError(error, ConfigError);
}

/** Every configuration key's environment variable (channel-node/src/config-env.ts). */
export const CONFIG_ENV: readonly EnvSetting[] = envSettingsOf(nodeConfigSchema);

/** The venue's key from a keystore instead of `privateKey` (channel-node/src/keystore.ts). */
const KEYSTORE_ENV = { file: "CLEARLINE_NODE_KEYSTORE", password: "CLEARLINE_NODE_KEYSTORE_PASSWORD", passwordFile: "CLEARLINE_NODE_KEYSTORE_PASSWORD_FILE" } as const;

/**
 * Reads the file (if any), applies the environment (every key, CONFIG_ENV), takes the venue's key
 * from a keystore when one is named (`keystore` in the file, CLEARLINE_NODE_KEYSTORE), validates.
 * An invalid setting is a ConfigError (INVALID_CONFIG); a keystore that cannot be opened a
 * KeystoreError with its own code.
 */
export function loadNodeConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  let raw: Record<string, unknown> = {};
  if (file) {
    let parsedFile: unknown;
    try {
      parsedFile = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(`cannot read the node configuration ${file}: ${(error as Error).message}`);
    }
    if (typeof parsedFile !== "object" || parsedFile === null || Array.isArray(parsedFile)) throw new ConfigError(`${file} must hold a JSON object`);
    raw = parsedFile as Record<string, unknown>;
  }
  for (const setting of CONFIG_ENV) {
    const value = env[setting.name];
    if (value === undefined || value === "") continue;
    let parsed: unknown = value;
    if (setting.json) {
      try {
        parsed = JSON.parse(value);
      } catch {
        throw new ConfigError(`invalid node configuration: ${setting.name} (${setting.path.join(".")}) must be JSON, e.g. a number, true/false or a list, not ${JSON.stringify(value)}`);
      }
    }
    setAtPath(raw, setting.path, parsed);
  }
  const { keystore: fileKeystore, ...rest } = raw;
  raw = rest;
  const keystore = keystoreSettingsSchema.optional().safeParse(fileKeystore);
  if (!keystore.success) throw new ConfigError(`invalid node configuration: ${z.prettifyError(keystore.error)} (at keystore)`);
  const keystoreFile = nonEmpty(env[KEYSTORE_ENV.file]) ?? keystore.data?.file;
  if (keystoreFile !== undefined) {
    if (raw.privateKey !== undefined) {
      throw new ConfigError("invalid node configuration: the venue's key is given twice: privateKey (CLEARLINE_NODE_KEY) and a keystore (CLEARLINE_NODE_KEYSTORE); give one");
    }
    raw.privateKey = keystorePrivateKey({
      file: keystoreFile,
      password: env[KEYSTORE_ENV.password],
      passwordFile: nonEmpty(env[KEYSTORE_ENV.passwordFile]) ?? keystore.data?.passwordFile,
    });
  }
  const parsed = nodeConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`invalid node configuration: ${z.prettifyError(parsed.error)}${missingHint(parsed.error)}`);
  }
  return parsed.data;
}

const nonEmpty = (value: string | undefined): string | undefined => (value === undefined || value === "" ? undefined : value);

/** For each required key that is missing, the variable that sets it (the README's quick start sets only the RPC URL). */
function missingHint(error: z.ZodError): string {
  const missing = error.issues
    .filter((issue) => issue.code === "invalid_type" && issue.input === undefined)
    .map((issue) => {
      const path = issue.path.join(".");
      if (path === "privateKey") return `privateKey: CLEARLINE_NODE_KEY or CLEARLINE_NODE_KEYSTORE`;
      // A missing section (e.g. contracts): the variables of its keys.
      const names = CONFIG_ENV.filter((s) => s.path.join(".") === path || s.path.join(".").startsWith(`${path}.`)).map((s) => s.name);
      return names.length === 0 ? undefined : `${path}: ${names.join(", ")}`;
    })
    .filter((line) => line !== undefined);
  return missing.length === 0 ? "" : `\nmissing settings, each set in the config file or by its variable: ${missing.join("; ")}`;
}

/** The engine's bounds with their defaults filled in, in the engine's types. */
export function engineBoundsOf(config: { engineBounds?: z.output<typeof nodeConfigSchema>["engineBounds"] | undefined }): EngineBounds {
  const parsed = config.engineBounds ?? nodeConfigSchema.shape.engineBounds.unwrap().parse({});
  return {
    ...parsed,
    maxValueInFlightPerInvestor: BigInt(parsed.maxValueInFlightPerInvestor),
    maxValueInFlightByToken: new Map(parsed.maxValueInFlightByToken.map(({ token, max }) => [token, BigInt(max)])),
  };
}
