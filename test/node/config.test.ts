import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError, loadNodeConfig } from "../../channel-node/src/config.js";

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
});
