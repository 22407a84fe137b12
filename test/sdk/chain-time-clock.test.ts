// The SDK's chain clock (client/sdk/chain-time.ts): the chain's time read at most once per maxAgeMs
// (concurrent callers share the read), advanced at the host's rate in between, the last read kept
// when a read fails; the host's clock only for a client without a chain.
import { describe, expect, it } from "vitest";
import { ChainTime } from "../../client/sdk/chain-time.js";

describe("ChainTime", () => {
  it("without a chain: the host's clock in seconds", async () => {
    expect(await new ChainTime(undefined, 1_000, () => 1_700_000_000_999).now()).toBe(1_700_000_000n);
  });

  it("reads the chain once per maxAgeMs, shared by concurrent callers, and advances at the host's rate between reads", async () => {
    let host = 0;
    let chain = 5_000_000n;
    let reads = 0;
    const clock = new ChainTime(
      async () => {
        reads += 1;
        return chain;
      },
      1_000,
      () => host,
    );
    expect(await Promise.all([clock.now(), clock.now(), clock.now()])).toEqual([5_000_000n, 5_000_000n, 5_000_000n]);
    expect(reads).toBe(1);
    host = 900;
    chain += 86_400n; // evm_increaseTime: seen at the next read only
    expect(await clock.now()).toBe(5_000_000n);
    host = 1_500;
    expect(await clock.now()).toBe(5_086_400n);
    expect(reads).toBe(2);
    host = 2_400;
    expect(await clock.now()).toBe(5_086_400n);
  });

  it("keeps the last read, advanced, when a read fails; rejects when the chain was never read", async () => {
    let host = 0;
    let fail = false;
    const clock = new ChainTime(async () => {
      if (fail) throw new Error("rpc down");
      return 100n;
    }, 1_000, () => host);
    expect(await clock.now()).toBe(100n);
    fail = true;
    host = 5_000;
    expect(await clock.now()).toBe(105n);
    await expect(new ChainTime(async () => Promise.reject(new Error("rpc down")), 1_000, () => 0).now()).rejects.toThrow("rpc down");
  });
});
