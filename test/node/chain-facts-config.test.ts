// The chain-facts settings (docs/operations.md, "Chain facts"): defaults, typed refusals of bad values,
// and the start-time rule that the stale-view bound spans at least two poll intervals.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JsonRpcProvider } from "ethers";
import { pino } from "pino";
import { ConfigError, chainFactsOf, loadNodeConfig } from "../../channel-node/src/config.js";
import { startChainFacts } from "../../channel-node/src/chain-facts.js";
import { createMetrics } from "../../channel-node/src/metrics.js";

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

describe("chain-facts configuration", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-chain-facts-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (value: unknown) => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify(value));
    return loadNodeConfig(file, {});
  };
  const refusal = (value: unknown) => {
    try {
      load(value);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it("has defaults when absent and takes given values", () => {
    expect(chainFactsOf(load(base))).toEqual({ newHeadsUrl: "auto", maxViewAgeMs: 15_000, newHeadsReconnectMs: 5_000 });
    expect(chainFactsOf(load({ ...base, chainFacts: { newHeadsUrl: "wss://rpc.example/ws", maxViewAgeMs: 30_000 } }))).toEqual({
      newHeadsUrl: "wss://rpc.example/ws",
      maxViewAgeMs: 30_000,
      newHeadsReconnectMs: 5_000,
    });
    expect(chainFactsOf(load({ ...base, chainFacts: { newHeadsUrl: "off" } })).newHeadsUrl).toBe("off");
  });

  it.each([
    ["an http URL for the subscription", { newHeadsUrl: "http://127.0.0.1:8545" }, "newHeadsUrl"],
    ["a stale-view bound under a second", { maxViewAgeMs: 999 }, "maxViewAgeMs"],
    ["an unknown key", { maxDrift: 5 }, "maxDrift"],
  ])("refuses %s with INVALID_CONFIG naming it", (_what, chainFacts, key) => {
    const caught = refusal({ ...base, chainFacts });
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe("INVALID_CONFIG");
    expect((caught as ConfigError).message).toContain(key);
  });

  it("refuses at start a stale-view bound shorter than two poll intervals, before touching the chain", async () => {
    // Nothing listens on port 9: a chain call would fail with a connection error, not a ConfigError.
    const provider = new JsonRpcProvider("http://127.0.0.1:9", 31337n, { staticNetwork: true });
    try {
      const config = load({ ...base, rpcUrl: "http://127.0.0.1:9", pollIntervalMs: 1_000, chainFacts: { maxViewAgeMs: 1_999 } });
      const caught = await startChainFacts({ config, provider, metrics: createMetrics(), logger: pino({ level: "silent" }) }).catch((e: unknown) => e);
      expect(caught).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).message).toContain("maxViewAgeMs (1999) must be at least two poll intervals (2000)");
    } finally {
      provider.destroy();
    }
  });
});
