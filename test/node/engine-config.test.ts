// The engine's bounds in the node configuration: defaults, overrides in the engine's types, typed refusals.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getAddress } from "ethers";
import { ConfigError, engineBoundsOf, loadNodeConfig } from "../../channel-node/src/config.js";
import { DEFAULT_ENGINE_BOUNDS } from "../../channel-node/src/limits.js";

const CASH = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
const base = {
  rpcUrl: "http://127.0.0.1:8545",
  privateKey: "0x" + "11".repeat(32),
  contracts: {
    adjudicator: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
    jurisdiction: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
    securities: [{ token: "0x8a791620dd6260079bf849dc5567adc3f2fdc318", rules: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9" }],
    cash: [CASH],
  },
};

describe("engine bounds configuration", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-engine-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (value: unknown) => {
    const file = join(dir, "node.json");
    writeFileSync(file, JSON.stringify(value));
    return loadNodeConfig(file, {});
  };

  it("defaults every bound", () => {
    expect(engineBoundsOf(load(base))).toEqual(DEFAULT_ENGINE_BOUNDS);
  });

  it("reads overrides into the engine's types (bigint amounts, per-token map)", () => {
    const config = load({
      ...base,
      engineBounds: { maxProposedChannelsPerInvestor: 2, invoiceRequests: { perSecond: 5 }, maxValueInFlightPerInvestor: "1000", maxValueInFlightByToken: [{ token: CASH, max: "5000" }], venueProposalVoidMs: 30_000 },
    });
    const bounds = engineBoundsOf(config);
    expect(bounds.maxProposedChannelsPerInvestor).toBe(2);
    expect(bounds.invoiceRequests).toEqual({ perSecond: 5, burst: DEFAULT_ENGINE_BOUNDS.invoiceRequests.burst });
    expect(bounds.maxValueInFlightPerInvestor).toBe(1_000n);
    expect(bounds.maxValueInFlightByToken.get(getAddress(CASH))).toBe(5_000n);
    expect(bounds.proposedChannelTtlMs).toBe(DEFAULT_ENGINE_BOUNDS.proposedChannelTtlMs);
    expect(bounds.venueProposalVoidMs).toBe(30_000);
  });

  it.each([
    ["a zero bound", { maxLocksPerInvestor: 0 }],
    ["an amount that is not a positive decimal", { maxValueInFlightPerInvestor: "-1" }],
    ["a time-to-live under a minute", { proposedChannelTtlMs: 1_000 }],
    ["a venue proposal void bound under a second", { venueProposalVoidMs: 999 }],
    ["an unknown key", { maxChannels: 3 }],
  ])("refuses %s with INVALID_CONFIG", (_what, engineBounds) => {
    expect(() => load({ ...base, engineBounds })).toThrow(ConfigError);
  });
});
