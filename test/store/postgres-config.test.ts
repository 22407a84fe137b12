// Selecting the node's store by configuration: LevelDB unless `store.url` (or CLEARLINE_DATABASE_URL)
// names a PostgreSQL database; malformed settings are refused before anything opens.
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
const URL = "postgres://clearline:pw@db.internal:5432/venue";

describe("node configuration: the channel store", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-store-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (value: unknown) => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify(value));
    return file;
  };

  it("is LevelDB (no store section) by default", () => {
    expect(loadNodeConfig(write(base), {}).store).toBeUndefined();
  });

  it("is PostgreSQL with store.url, with defaults for the rest", () => {
    expect(loadNodeConfig(write({ ...base, store: { url: URL } }), {}).store).toEqual({ url: URL, schema: "public", poolSize: 4, statementTimeoutMs: 10_000 });
  });

  it("takes the URL from CLEARLINE_DATABASE_URL, over the file's, keeping the file's other store settings", () => {
    const config = loadNodeConfig(write({ ...base, store: { url: "postgres://old/db", schema: "venue_a" } }), { CLEARLINE_DATABASE_URL: URL });
    expect(config.store).toMatchObject({ url: URL, schema: "venue_a" });
    expect(loadNodeConfig(write(base), { CLEARLINE_DATABASE_URL: URL }).store?.url).toBe(URL);
  });

  it("refuses another scheme, a schema name that is not a plain identifier, and a pool of zero (INVALID_CONFIG)", () => {
    for (const store of [{ url: "mysql://db/venue" }, { url: URL, schema: "venue; DROP TABLE channels" }, { url: URL, schema: "Venue" }, { url: URL, poolSize: 0 }, { url: URL, extra: 1 }]) {
      let caught: unknown;
      try {
        loadNodeConfig(write({ ...base, store }), {});
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(store)).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).code).toBe("INVALID_CONFIG");
    }
  });

  it("takes a leader lease (active and standby) with defaults: takeover within ttl + retry, 5.5 s", () => {
    expect(loadNodeConfig(write({ ...base, store: { url: URL, lease: {} } }), {}).store?.lease).toEqual({ ttlMs: 5_000, renewMs: 1_000, retryMs: 500 });
    expect(loadNodeConfig(write({ ...base, store: { url: URL } }), {}).store?.lease).toBeUndefined();
    const fromEnv = loadNodeConfig(write({ ...base, store: { url: URL } }), { CLEARLINE_STORE_LEASE_TTL_MS: "8000", CLEARLINE_STORE_LEASE_RENEW_MS: "2000" });
    expect(fromEnv.store?.lease).toEqual({ ttlMs: 8_000, renewMs: 2_000, retryMs: 500 });
  });

  it("refuses a lease renewed no sooner than it expires, or too short to survive a pause (INVALID_CONFIG)", () => {
    for (const lease of [{ ttlMs: 3_000, renewMs: 3_000 }, { ttlMs: 100 }, { ttlMs: 5_000, retryMs: 0 }, { ttlMs: 5_000, other: 1 }]) {
      let caught: unknown;
      try {
        loadNodeConfig(write({ ...base, store: { url: URL, lease } }), {});
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(lease)).toBeInstanceOf(ConfigError);
      expect((caught as ConfigError).code).toBe("INVALID_CONFIG");
    }
  });
});
