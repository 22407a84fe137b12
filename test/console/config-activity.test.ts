// The console's settings (validated with the node's configuration, unknown keys refused) and its
// activity series (a bounded ring of samples; rates and mean latencies per interval).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadNodeConfig } from "../../channel-node/src/config.js";
import { consoleConfigOf } from "../../channel-node/src/console/config.js";
import { ActivitySeries } from "../../channel-node/src/console/activity.js";

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

describe("console configuration", () => {
  const dir = mkdtempSync(join(tmpdir(), "clearline-console-config-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const load = (extra: Record<string, unknown>) => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify({ ...base, ...extra }));
    return loadNodeConfig(file, {});
  };

  it("defaults: enabled, no token (loopback only), bounded lists and history", () => {
    expect(consoleConfigOf(load({}))).toEqual({ enabled: true, requireToken: false, historySeconds: 600, maxRows: 500, capTableMaxAgeMs: 60_000 });
    expect(consoleConfigOf(load({ console: { requireToken: true, maxRows: 20 } }))).toMatchObject({ enabled: true, requireToken: true, maxRows: 20 });
  });

  it("every key has its environment variable (CLEARLINE_CONSOLE_…)", () => {
    const file = join(dir, "env.json");
    writeFileSync(file, JSON.stringify(base));
    const config = loadNodeConfig(file, { CLEARLINE_CONSOLE_REQUIRE_TOKEN: "true", CLEARLINE_CONSOLE_ENABLED: "false", CLEARLINE_CONSOLE_MAX_ROWS: "7" });
    expect(consoleConfigOf(config)).toMatchObject({ enabled: false, requireToken: true, maxRows: 7 });
    expect(() => loadNodeConfig(file, { CLEARLINE_CONSOLE_REQUIRE_TOKEN: "maybe" })).toThrow(ConfigError);
  });

  it("refuses unknown keys, wrong types and values outside the bounds (INVALID_CONFIG)", () => {
    for (const console of [{ enable: true }, { enabled: "yes" }, { requireToken: 1 }, { maxRows: 0 }, { maxRows: 10_001 }, { historySeconds: 5 }, { capTableMaxAgeMs: -1 }]) {
      expect(() => load({ console }), JSON.stringify(console)).toThrow(ConfigError);
    }
  });
});

describe("activity series", () => {
  it("turns counter samples into updates per second and mean latency per interval, keeping `capacity` intervals", async () => {
    let now = 1_000_000;
    let reading = { updates: 0, latencySum: 0, latencyCount: 0 };
    const series = new ActivitySeries(async () => reading, 3, 1_000, () => now);
    await series.sample();
    const steps = [
      { updates: 10, latencySum: 0.02, latencyCount: 10 }, // 10 updates, 2 ms each
      { updates: 10, latencySum: 0.02, latencyCount: 10 }, // idle
      { updates: 40, latencySum: 0.05, latencyCount: 40 }, // 30 updates, 1 ms each
      { updates: 45, latencySum: 0.1, latencyCount: 45 }, // 5 updates, 10 ms each
    ];
    for (const step of steps) {
      now += 2_000;
      reading = step;
      await series.sample();
    }
    const points = series.points();
    // Four intervals were sampled; the oldest fell out of the ring of three.
    expect(points.t).toEqual([1_004_000 / 1000, 1_006_000 / 1000, 1_008_000 / 1000]);
    expect(points.updatesPerSecond).toEqual([0, 15, 2.5]);
    expect(points.latencyMs[0]).toBeNull();
    expect(points.latencyMs[1]).toBeCloseTo(1, 6);
    expect(points.latencyMs[2]).toBeCloseTo(10, 6);
    expect(points.updatesTotal).toBe(45);
  });

  it("skips a failed reading", async () => {
    let fail = false;
    const series = new ActivitySeries(async () => {
      if (fail) throw new Error("registry failed");
      return { updates: 1, latencySum: 0, latencyCount: 0 };
    }, 10);
    await series.sample();
    fail = true;
    await series.sample();
    expect(series.points().t).toEqual([]);
  });
});
