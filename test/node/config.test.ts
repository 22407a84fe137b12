import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Wallet, encryptKeystoreJsonSync } from "ethers";
import { CONFIG_ENV, ConfigError, loadNodeConfig } from "../../channel-node/src/config.js";
import { isKeystoreError } from "../../channel-node/src/keystore.js";

const base = {
  rpcUrl: "http://127.0.0.1:8545",
  privateKey: "0x" + "11".repeat(32),
  contracts: {
    adjudicator: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    jurisdiction: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
    securities: [{ token: "0x8a791620dd6260079bf849dc5567adc3f2fdc318", rules: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9" }],
    cash: ["0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"],
  },
};

describe("node configuration", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (value: unknown) => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify(value));
    return file;
  };

  it("reads a file, applies defaults and checksums addresses", () => {
    const config = loadNodeConfig(write(base), {});
    expect(config.port).toBe(7545);
    expect(config.host).toBe("127.0.0.1");
    expect(config.contracts.adjudicator).toBe("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    expect(config.rateLimit).toEqual({ perSecond: 2_000, burst: 4_000 });
  });

  it("lets the environment override the file", () => {
    const config = loadNodeConfig(write(base), { CLEARLINE_PORT: "9001", CLEARLINE_RPC_URL: "http://127.0.0.1:9545", CLEARLINE_DATA_DIR: "/var/lib/clearline" });
    expect(config.port).toBe(9001);
    expect(config.rpcUrl).toBe("http://127.0.0.1:9545");
    expect(config.dataDir).toBe("/var/lib/clearline");
  });

  it("runs from the environment alone when the file names the contracts", () => {
    const { rpcUrl: _rpc, privateKey: _key, ...rest } = base;
    const config = loadNodeConfig(write(rest), { CLEARLINE_RPC_URL: "http://127.0.0.1:8545", CLEARLINE_NODE_KEY: "0x" + "22".repeat(32) });
    expect(config.privateKey).toBe("0x" + "22".repeat(32));
  });

  it("refuses invalid settings with a typed error naming the field", () => {
    for (const [bad, field] of [
      [{ ...base, privateKey: "0x1234" }, "privateKey"],
      [{ ...base, contracts: { ...base.contracts, adjudicator: "0xnot" } }, "adjudicator"],
      [{ ...base, port: 70_000 }, "port"],
      [{ ...base, surprise: true }, "surprise"],
      [{ ...base, prices: [{ security: base.contracts.cash[0], cash: base.contracts.cash[0], price: "1.5" }] }, "price"],
    ] as const) {
      let caught: unknown;
      try {
        loadNodeConfig(write(bad), {});
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).code).toBe("INVALID_CONFIG");
      expect((caught as Error).message).toContain(field);
    }
  });

  it("refuses a file that is not a JSON object, with a typed error", () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, "{ not json");
    expect(() => loadNodeConfig(file, {})).toThrow(ConfigError);
    expect(() => loadNodeConfig(write([base]), {})).toThrow(/must hold a JSON object/);
  });

  it("names the variables of what is missing when only the RPC URL is set", () => {
    let caught: unknown;
    try {
      loadNodeConfig(undefined, { CLEARLINE_RPC_URL: "http://127.0.0.1:8545" });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    for (const name of ["CLEARLINE_NODE_KEY", "CLEARLINE_NODE_KEYSTORE", "CLEARLINE_CONTRACTS_ADJUDICATOR", "CLEARLINE_CONTRACTS_JURISDICTION", "CLEARLINE_CONTRACTS_SECURITIES", "CLEARLINE_CONTRACTS_CASH"]) {
      expect((caught as Error).message).toContain(name);
    }
  });

  it("refuses an environment value that is not JSON where JSON is expected, naming the variable", () => {
    expect(() => loadNodeConfig(write(base), { CLEARLINE_CONTRACTS_CASH: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512" })).toThrow(/CLEARLINE_CONTRACTS_CASH \(contracts.cash\) must be JSON/);
    expect(() => loadNodeConfig(write(base), { CLEARLINE_PORT: "seventy" })).toThrow(ConfigError);
  });
});

describe("node configuration from the environment alone", () => {
  const token = "0x8A791620dd6260079BF849Dc5567aDC3F2FdC318";
  const cash = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512";
  // One variable for every key, written out by hand: the documented names, not derived here.
  const env: Record<string, string> = {
    CLEARLINE_RPC_URL: "http://10.0.0.5:8545",
    CLEARLINE_NODE_KEY: "0x" + "33".repeat(32),
    CLEARLINE_CONTRACTS_ADJUDICATOR: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    CLEARLINE_CONTRACTS_JURISDICTION: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
    CLEARLINE_CONTRACTS_SECURITIES: JSON.stringify([{ token, rules: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" }]),
    CLEARLINE_CONTRACTS_CASH: JSON.stringify([cash]),
    CLEARLINE_HOST: "0.0.0.0",
    CLEARLINE_PORT: "8001",
    CLEARLINE_DATA_DIR: "/var/lib/clearline",
    CLEARLINE_DATABASE_URL: "postgres://clearline@db.internal/clearline",
    CLEARLINE_STORE_SCHEMA: "venue_a",
    CLEARLINE_STORE_POOL_SIZE: "8",
    CLEARLINE_STORE_STATEMENT_TIMEOUT_MS: "2500",
    CLEARLINE_START_BLOCK: "1234567",
    CLEARLINE_CONFIRMATIONS: "3",
    CLEARLINE_POLL_INTERVAL_MS: "4000",
    CLEARLINE_MIN_CHALLENGE_PERIOD: "3600",
    CLEARLINE_MAX_CHALLENGE_PERIOD: "86400",
    CLEARLINE_PRICES: JSON.stringify([{ security: token, cash, price: "100/1", toleranceBps: 25 }]),
    CLEARLINE_RESPONSE_TIMEOUT_MS: "7000",
    CLEARLINE_MAX_FRAME_BYTES: "32768",
    CLEARLINE_RATE_LIMIT_PER_SECOND: "50",
    CLEARLINE_RATE_LIMIT_BURST: "100",
    CLEARLINE_HANDSHAKE_TIMEOUT_MS: "5000",
    CLEARLINE_MAX_CONNECTIONS: "200",
    CLEARLINE_MAX_CONNECTIONS_PER_ADDRESS: "4",
    CLEARLINE_MAX_WATCHER_LAG_BLOCKS: "20",
    CLEARLINE_HEALTH_TIMEOUT_MS: "1500",
    CLEARLINE_HEALTH_CACHE_MS: "500",
    CLEARLINE_LOG_LEVEL: "debug",
    CLEARLINE_ENGINE_BOUNDS_MAX_PROPOSED_CHANNELS_PER_INVESTOR: "2",
    CLEARLINE_ENGINE_BOUNDS_PROPOSED_CHANNEL_TTL_MS: "120000",
    CLEARLINE_ENGINE_BOUNDS_INVOICE_REQUESTS_PER_SECOND: "0.5",
    CLEARLINE_ENGINE_BOUNDS_INVOICE_REQUESTS_BURST: "3",
    CLEARLINE_ENGINE_BOUNDS_MAX_LOCKS_PER_INVESTOR: "8",
    CLEARLINE_ENGINE_BOUNDS_MAX_VALUE_IN_FLIGHT_PER_INVESTOR: "1000000",
    CLEARLINE_ENGINE_BOUNDS_MAX_VALUE_IN_FLIGHT_BY_TOKEN: JSON.stringify([{ token: cash, max: "500" }]),
    CLEARLINE_ENGINE_BOUNDS_VENUE_PROPOSAL_VOID_MS: "30000",
    CLEARLINE_TRADING_ORDER_LOG_ANCHOR: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
    CLEARLINE_TRADING_MARKETS: JSON.stringify([{ security: token, cash, lotSize: "1000000000000000000" }]),
    CLEARLINE_TRADING_MAX_RESTING_ORDERS_PER_INVESTOR: "9",
    CLEARLINE_TRADING_ORDER_RATE_PER_SECOND: "4",
    CLEARLINE_TRADING_ORDER_RATE_BURST: "8",
    CLEARLINE_TRADING_MAX_ORDERS_PER_BOOK: "999",
    CLEARLINE_TRADING_CANCEL_ON_DISCONNECT: "false",
    CLEARLINE_TRADING_ANCHOR_INTERVAL_MS: "0",
    CLEARLINE_CONSOLE_ENABLED: "false",
    CLEARLINE_CONSOLE_REQUIRE_TOKEN: "true",
    CLEARLINE_CONSOLE_HISTORY_SECONDS: "120",
    CLEARLINE_CONSOLE_MAX_ROWS: "50",
    CLEARLINE_CONSOLE_CAP_TABLE_MAX_AGE_MS: "1000",
    CLEARLINE_CHAIN_FACTS_NEW_HEADS_URL: "off",
    CLEARLINE_CHAIN_FACTS_MAX_VIEW_AGE_MS: "20000",
    CLEARLINE_CHAIN_FACTS_NEW_HEADS_RECONNECT_MS: "250",
  };

  it("derives one distinct variable per key, the documented names among them", () => {
    const names = CONFIG_ENV.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(expect.arrayContaining(Object.keys(env)));
    // Keys added later get a variable too (derived from the schema): at least the ones above.
    expect(names.length).toBeGreaterThanOrEqual(Object.keys(env).length);
  });

  it("sets every key, the contracts included, from its variable", () => {
    const config = loadNodeConfig(undefined, env);
    // toMatchObject: a key added later with a default does not break this test; every key above is checked.
    expect(config).toMatchObject({
      rpcUrl: "http://10.0.0.5:8545",
      privateKey: "0x" + "33".repeat(32),
      contracts: {
        adjudicator: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        jurisdiction: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
        securities: [{ token, rules: "0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9" }],
        cash: [cash],
      },
      host: "0.0.0.0",
      port: 8001,
      dataDir: "/var/lib/clearline",
      store: { url: "postgres://clearline@db.internal/clearline", schema: "venue_a", poolSize: 8, statementTimeoutMs: 2500 },
      startBlock: 1_234_567,
      confirmations: 3,
      pollIntervalMs: 4000,
      minChallengePeriod: 3600,
      maxChallengePeriod: 86_400,
      prices: [{ security: token, cash, price: "100/1", toleranceBps: 25 }],
      responseTimeoutMs: 7000,
      maxFrameBytes: 32_768,
      rateLimit: { perSecond: 50, burst: 100 },
      handshakeTimeoutMs: 5000,
      maxConnections: 200,
      maxConnectionsPerAddress: 4,
      maxWatcherLagBlocks: 20,
      healthTimeoutMs: 1500,
      healthCacheMs: 500,
      logLevel: "debug",
      engineBounds: {
        maxProposedChannelsPerInvestor: 2,
        proposedChannelTtlMs: 120_000,
        invoiceRequests: { perSecond: 0.5, burst: 3 },
        maxLocksPerInvestor: 8,
        maxValueInFlightPerInvestor: "1000000",
        maxValueInFlightByToken: [{ token: cash, max: "500" }],
        venueProposalVoidMs: 30_000,
      },
      trading: {
        orderLogAnchor: "0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9",
        markets: [{ security: token, cash, lotSize: "1000000000000000000" }],
        maxRestingOrdersPerInvestor: 9,
        orderRate: { perSecond: 4, burst: 8 },
        maxOrdersPerBook: 999,
        cancelOnDisconnect: false,
        anchorIntervalMs: 0,
        // Fills are settled whenever trading is configured, each key at its default.
        settlement: { lockSeconds: 3_600, timeoutMs: 120_000, intervalMs: 1_000 },
      },
      console: { enabled: false, requireToken: true, historySeconds: 120, maxRows: 50, capTableMaxAgeMs: 1000 },
      chainFacts: { newHeadsUrl: "off", maxViewAgeMs: 20_000, newHeadsReconnectMs: 250 },
    });
  });

  it("overrides one key of a section the file sets, keeping the others", () => {
    const dir = mkdtempSync(join(tmpdir(), "clearline-config-"));
    try {
      const file = join(dir, "node.json");
      writeFileSync(file, JSON.stringify({ ...base, engineBounds: { maxLocksPerInvestor: 5, venueProposalVoidMs: 5_000 } }));
      const config = loadNodeConfig(file, { CLEARLINE_ENGINE_BOUNDS_MAX_LOCKS_PER_INVESTOR: "7" });
      expect(config.engineBounds?.maxLocksPerInvestor).toBe(7);
      expect(config.engineBounds?.venueProposalVoidMs).toBe(5_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the venue's key from a keystore", () => {
  let dir: string;
  const wallet = new Wallet("0x" + "44".repeat(32));
  // A light scrypt: the format is the same, the test does not spend seconds per decryption.
  const keystoreJson = encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, "correct horse", { scrypt: { N: 1 << 10 } });
  const { privateKey: _key, ...withoutKey } = base;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-keystore-"));
    writeFileSync(join(dir, "venue.json"), keystoreJson);
    writeFileSync(join(dir, "password"), "correct horse\n");
    writeFileSync(join(dir, "node.json"), JSON.stringify(withoutKey));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (env: Record<string, string>, file = join(dir, "node.json")) => loadNodeConfig(file, env);
  const failure = (run: () => unknown): unknown => {
    try {
      run();
    } catch (error) {
      return error;
    }
    throw new Error("expected a failure");
  };

  it("decrypts it with the password from the environment or from a password file", () => {
    expect(load({ CLEARLINE_NODE_KEYSTORE: join(dir, "venue.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD: "correct horse" }).privateKey).toBe(wallet.privateKey);
    expect(load({ CLEARLINE_NODE_KEYSTORE: join(dir, "venue.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD_FILE: join(dir, "password") }).privateKey).toBe(wallet.privateKey);
    writeFileSync(join(dir, "node.json"), JSON.stringify({ ...withoutKey, keystore: { file: join(dir, "venue.json"), passwordFile: join(dir, "password") } }));
    const config = load({});
    expect(config.privateKey).toBe(wallet.privateKey);
    expect(config).not.toHaveProperty("keystore");
  });

  it("refuses a wrong password with KEYSTORE_WRONG_PASSWORD", () => {
    const error = failure(() => load({ CLEARLINE_NODE_KEYSTORE: join(dir, "venue.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD: "Correct horse" }));
    expect(isKeystoreError(error, "KEYSTORE_WRONG_PASSWORD")).toBe(true);
    expect((error as Error).message).not.toContain("correct horse");
  });

  it("refuses a missing password, a file that is not a keystore, a missing file, and a key given twice", () => {
    expect(isKeystoreError(failure(() => load({ CLEARLINE_NODE_KEYSTORE: join(dir, "venue.json") })), "KEYSTORE_PASSWORD_MISSING")).toBe(true);
    expect(isKeystoreError(failure(() => load({ CLEARLINE_NODE_KEYSTORE: join(dir, "node.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD: "x" })), "KEYSTORE_INVALID")).toBe(true);
    expect(isKeystoreError(failure(() => load({ CLEARLINE_NODE_KEYSTORE: join(dir, "absent.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD: "x" })), "KEYSTORE_UNREADABLE")).toBe(true);
    const twice = failure(() => load({ CLEARLINE_NODE_KEYSTORE: join(dir, "venue.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD: "correct horse", CLEARLINE_NODE_KEY: "0x" + "55".repeat(32) }));
    expect(twice).toBeInstanceOf(ConfigError);
    expect((twice as Error).message).toMatch(/given twice/);
  });

  it("loads the example configuration (examples/node.json), its keystore given by the environment", () => {
    const example = fileURLToPath(new URL("../../examples/node.json", import.meta.url));
    const config = load({ CLEARLINE_NODE_KEYSTORE: join(dir, "venue.json"), CLEARLINE_NODE_KEYSTORE_PASSWORD: "correct horse" }, example);
    expect(config.privateKey).toBe(wallet.privateKey);
    expect(config.confirmations).toBe(2);
    expect(config.contracts.securities).toHaveLength(1);
  });

  it("never takes a password from the configuration file", () => {
    writeFileSync(join(dir, "node.json"), JSON.stringify({ ...withoutKey, keystore: { file: join(dir, "venue.json"), password: "correct horse" } }));
    const error = failure(() => load({}));
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("password");
  });
});

