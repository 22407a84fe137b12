// Where the CLI's settings come from: options first, then the environment (the key only), then the
// deployment file `npm start` writes (.clearline/deployment.json: rpcUrl, chainId, contract
// addresses, demo accounts and, when a node runs, nodeUrl).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { getAddress, isAddress } from "ethers";
import { z } from "zod";
import type { Address } from "../protocol/index.js";
import { DEFAULT_INVOICE_LIMITS, type InvoiceLimits } from "../sdk/client.js";
import { CliError } from "./errors.js";

export const DEFAULT_DATA_DIR = ".clearline/client";
export const DEFAULT_DEPLOYMENT = ".clearline/deployment.json";
/** The environment variable the key may come from (preferred to --key: no shell history, no `ps`). */
export const KEY_ENV = "CLEARLINE_KEY";

/** The options every command accepts (commander's camel-cased names). */
export interface GlobalOptions {
  node?: string;
  /** The venue's standby nodes (--fallback-node, repeatable). */
  fallbackNode?: string[];
  rpc?: string;
  adjudicator?: string;
  key?: string;
  dataDir?: string;
  deployment?: string;
  json?: boolean;
  confirmations?: string;
  archiveOldStore?: boolean;
  maxInvoices?: string;
  invoiceTtl?: string;
}

const addressSchema = z.string().refine(isAddress, "not an address");

/** What the CLI reads from a deployment file; anything else in it is ignored. */
const deploymentSchema = z.object({
  rpcUrl: z.string().optional(),
  nodeUrl: z.string().optional(),
  fallbackNodeUrls: z.array(z.string()).optional(),
  startBlock: z.number().int().nonnegative().optional(),
  chainId: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).optional(),
  contracts: z
    .object({
      adjudicator: addressSchema.optional(),
      token: addressSchema.optional(),
      cash: addressSchema.optional(),
    })
    .loose()
    .optional(),
  accounts: z.record(z.string(), addressSchema).optional(),
});

export interface DeploymentFile {
  readonly path: string;
  readonly rpcUrl?: string;
  readonly nodeUrl?: string;
  readonly fallbackNodeUrls?: readonly string[];
  /** The block the contracts were deployed in: where a search of the adjudicator's events may start (docs/chain.md). */
  readonly startBlock?: number;
  readonly chainId?: bigint;
  readonly adjudicator?: Address;
  /** The security (ERC-1404) token. */
  readonly security?: Address;
  readonly cash?: Address;
  /** Named accounts (venue, alice, bob, …), for `pay --to bob`. */
  readonly accounts: Readonly<Record<string, Address>>;
}

/** Reads the deployment file; a missing default file is no error (every setting can be an option). */
export function readDeployment(path: string | undefined): DeploymentFile | undefined {
  const file = resolve(path ?? DEFAULT_DEPLOYMENT);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (path === undefined && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CliError("BAD_DEPLOYMENT", `cannot read the deployment file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new CliError("BAD_DEPLOYMENT", `the deployment file ${file} is not JSON`);
  }
  const parsed = deploymentSchema.safeParse(raw);
  if (!parsed.success) throw new CliError("BAD_DEPLOYMENT", `the deployment file ${file} is malformed: ${z.prettifyError(parsed.error)}`);
  const d = parsed.data;
  const accounts: Record<string, Address> = {};
  for (const [name, address] of Object.entries(d.accounts ?? {})) accounts[name.toLowerCase()] = getAddress(address);
  return {
    path: file,
    ...(d.rpcUrl === undefined ? {} : { rpcUrl: d.rpcUrl }),
    ...(d.nodeUrl === undefined ? {} : { nodeUrl: d.nodeUrl }),
    ...(d.fallbackNodeUrls === undefined ? {} : { fallbackNodeUrls: d.fallbackNodeUrls }),
    ...(d.startBlock === undefined ? {} : { startBlock: d.startBlock }),
    ...(d.chainId === undefined ? {} : { chainId: BigInt(d.chainId) }),
    ...(d.contracts?.adjudicator === undefined ? {} : { adjudicator: getAddress(d.contracts.adjudicator) }),
    ...(d.contracts?.token === undefined ? {} : { security: getAddress(d.contracts.token) }),
    ...(d.contracts?.cash === undefined ? {} : { cash: getAddress(d.contracts.cash) }),
    accounts,
  };
}

export interface Settings {
  readonly json: boolean;
  readonly dataDir: string;
  readonly deployment: DeploymentFile | undefined;
  readonly confirmations: number;
  /** Move a store of another chain aside instead of refusing it (WRONG_CHAIN). */
  readonly archiveOldStore: boolean;
  /** Bounds of the invoices the investor's client issues while a command runs. */
  readonly invoices: InvoiceLimits;
  /** Each throws MISSING_SETTING / INVALID_KEY when it is needed but not given. */
  nodeUrl(): string;
  /** The venue's standby nodes, tried after nodeUrl (--fallback-node, or fallbackNodeUrls of the deployment file); may be empty. */
  fallbackNodeUrls(): string[];
  rpcUrl(): string;
  adjudicator(): Address;
  privateKey(): string;
}

export function resolveSettings(options: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Settings {
  const deployment = readDeployment(options.deployment);
  const missing = (what: string, option: string, field: string): never => {
    const where = deployment === undefined ? "or a deployment file (--deployment, default .clearline/deployment.json)" : `or add ${field} to ${deployment.path}`;
    throw new CliError("MISSING_SETTING", `no ${what}: pass ${option} ${where}`);
  };
  let confirmations = 1;
  if (options.confirmations !== undefined) {
    confirmations = Number(options.confirmations);
    if (!Number.isInteger(confirmations) || confirmations < 1 || confirmations > 1_000) {
      throw new CliError("USAGE", `--confirmations must be a whole number from 1 to 1000, not "${options.confirmations}"`);
    }
  }
  const whole = (option: string, text: string | undefined, fallback: number, min: number, max: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d+$/.test(text) || value < min || value > max) throw new CliError("USAGE", `${option} must be a whole number from ${min} to ${max}, not "${text}"`);
    return value;
  };
  const invoices: InvoiceLimits = {
    maxPending: whole("--max-invoices", options.maxInvoices, DEFAULT_INVOICE_LIMITS.maxPending, 0, 1_000_000),
    ttlMs: whole("--invoice-ttl", options.invoiceTtl, DEFAULT_INVOICE_LIMITS.ttlMs / 1000, 1, 30 * 24 * 3600) * 1000,
  };
  return {
    json: options.json === true,
    dataDir: resolve(options.dataDir ?? DEFAULT_DATA_DIR),
    deployment,
    confirmations,
    archiveOldStore: options.archiveOldStore === true,
    invoices,
    nodeUrl() {
      const url = options.node ?? deployment?.nodeUrl ?? missing("node URL", "--node <ws url>", "nodeUrl");
      if (!/^wss?:\/\//.test(url)) throw new CliError("USAGE", `the node URL must start with ws:// or wss://, not "${url}"`);
      return url;
    },
    fallbackNodeUrls() {
      const urls = options.fallbackNode ?? [...(deployment?.fallbackNodeUrls ?? [])];
      for (const url of urls) {
        if (!/^wss?:\/\//.test(url)) throw new CliError("USAGE", `a fallback node URL must start with ws:// or wss://, not "${url}"`);
      }
      return urls;
    },
    rpcUrl() {
      return options.rpc ?? deployment?.rpcUrl ?? missing("JSON-RPC URL", "--rpc <url>", "rpcUrl");
    },
    adjudicator() {
      const address = options.adjudicator ?? deployment?.adjudicator ?? missing("adjudicator address", "--adjudicator <address>", "contracts.adjudicator");
      if (!isAddress(address)) throw new CliError("USAGE", `--adjudicator: "${address}" is not an address`);
      return getAddress(address);
    },
    privateKey() {
      const key = options.key ?? env[KEY_ENV];
      if (key === undefined || key === "") throw new CliError("INVALID_KEY", `no investor key: set ${KEY_ENV} (preferred) or pass --key <hex>`);
      // Never echo the key, not even a malformed one: it may be a real key with a typo.
      if (!/^(0x)?[0-9a-fA-F]{64}$/.test(key.trim())) throw new CliError("INVALID_KEY", "the investor key must be 32 bytes of hex (64 hex digits, optionally 0x-prefixed)");
      const hex = key.trim();
      return hex.startsWith("0x") ? hex : `0x${hex}`;
    },
  };
}
