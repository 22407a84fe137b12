// The chain's time as the node reads it (channel-node/src/chain-clock.ts), on an in-process EVM:
// the pending block follows time travel before any block is mined, the time advances at the host's
// rate between reads, a view older than the bound refuses with COMPLIANCE_UNKNOWN, and an RPC without
// a pending block falls back to the latest block counted from when it was first seen.
import hre from "hardhat";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NetworkConnection } from "hardhat/types/network";
import { ChainClock, type ClockProvider } from "../../channel-node/src/chain-clock.js";
import { ProtocolError } from "../../client/protocol/index.js";

const DAY = 24 * 3600;

describe("ChainClock", () => {
  let connection: NetworkConnection;
  let hostMs: number;
  const hostNowMs = () => hostMs;

  beforeEach(async () => {
    connection = await hre.network.create();
    hostMs = Date.now();
  });

  afterEach(async () => {
    await connection.close();
  });

  const provider = (): ClockProvider => connection.ethers.provider;
  const latestTimestamp = async () => BigInt((await connection.ethers.provider.getBlock("latest"))!.timestamp);

  function codeOf(action: () => unknown): string | undefined {
    try {
      action();
    } catch (error) {
      if (error instanceof ProtocolError) return `${error.code}:${String(error.details.reason)}`;
      throw error;
    }
    return undefined;
  }

  it("reads the time the chain would give a transaction now, including time travel not mined yet", async () => {
    const clock = new ChainClock({ provider: provider(), maxViewAgeMs: 10_000, hostNowMs });
    /** Whole seconds since `since` (real time: the chain's clock runs on it), rounded up. */
    const elapsed = (since: number) => BigInt(Math.ceil((Date.now() - since) / 1000));
    hostMs = Date.now();
    const firstRead = Date.now();
    const sample = await clock.refresh();
    expect(sample.source).toBe("pending");
    const before = clock.now();
    expect(before).toBeGreaterThanOrEqual(await latestTimestamp());
    expect(sample.driftSeconds).toBe(Number(sample.chainTime) - Math.floor(hostMs / 1000));

    await connection.ethers.provider.send("evm_increaseTime", [400 * DAY]);
    const secondRead = Date.now();
    await clock.refresh();
    expect(clock.now() - before).toBeGreaterThanOrEqual(BigInt(400 * DAY - 1));
    expect(clock.now() - before).toBeLessThanOrEqual(BigInt(400 * DAY) + elapsed(firstRead) + 1n);
    // The block the next transaction lands in carries that time (the test's host clock stood still).
    await connection.ethers.provider.send("evm_mine", []);
    expect((await latestTimestamp()) - clock.now()).toBeLessThanOrEqual(elapsed(secondRead) + 1n);
    expect((await latestTimestamp()) - clock.now()).toBeGreaterThanOrEqual(-1n);
  });

  it("advances at the host's rate between reads and refuses once the view is older than the bound", async () => {
    const clock = new ChainClock({ provider: provider(), maxViewAgeMs: 10_000, hostNowMs });
    expect(codeOf(() => clock.now())).toBe("COMPLIANCE_UNKNOWN:CHAIN_VIEW_STALE");
    await clock.refresh();
    const read = clock.now();
    hostMs += 9_000;
    expect(clock.now()).toBe(read + 9n);
    expect(clock.fresh).toBe(true);

    hostMs += 1_001;
    expect(clock.fresh).toBe(false);
    expect(codeOf(() => clock.now())).toBe("COMPLIANCE_UNKNOWN:CHAIN_VIEW_STALE");

    // A read that fails leaves it stale; the next one that succeeds makes it fresh again.
    let cut = true;
    const flaky = new ChainClock({
      provider: { send: (method, params) => (cut ? Promise.reject(new Error("connection refused")) : provider().send(method, params)) },
      maxViewAgeMs: 10_000,
      hostNowMs,
    });
    await expect(flaky.refresh()).rejects.toThrow("connection refused");
    expect(codeOf(() => flaky.now())).toBe("COMPLIANCE_UNKNOWN:CHAIN_VIEW_STALE");
    cut = false;
    await flaky.refresh();
    expect(codeOf(() => flaky.now())).toBeUndefined();
  });

  it("without a pending block, counts the latest block's timestamp from when it was first seen", async () => {
    const noPending: ClockProvider = {
      send: (method, params) => (params[0] === "pending" ? Promise.resolve(null) : provider().send(method, params)),
    };
    const clock = new ChainClock({ provider: noPending, maxViewAgeMs: 10_000, hostNowMs });
    const sample = await clock.refresh();
    expect(sample.source).toBe("latest");
    expect(clock.now()).toBe(await latestTimestamp());
    // No new block: the time keeps running from the first sight, not from each read.
    hostMs += 5_000;
    await clock.refresh();
    expect(clock.now()).toBe((await latestTimestamp()) + 5n);
    // A new block (here 400 days ahead) resets the basis.
    await connection.ethers.provider.send("evm_increaseTime", [400 * DAY]);
    await connection.ethers.provider.send("evm_mine", []);
    await clock.refresh();
    expect(clock.now()).toBe(await latestTimestamp());
  });
});
