// When the operator's deposit answers: once the node's record counts it, or DEPOSIT_NOT_COUNTED.
import { describe, expect, it } from "vitest";
import { venueDepositCounted } from "../../channel-node/src/venue-deposit.js";
import type { ChannelRecord } from "../../client/store/store.js";

const recordWith = (venueDeposit: bigint, status: ChannelRecord["status"] = "open") =>
  ({ status, deposits: [[venueDeposit, 0n]] }) as unknown as ChannelRecord;

describe("venueDepositCounted", () => {
  it("resolves once the venue's confirmed deposits reach the target, not before", async () => {
    let current = recordWith(5n);
    let resolved = false;
    const waiting = venueDepositCounted(() => current, 0, 7n, { timeoutMs: 5_000, pollMs: 10 }).then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(resolved).toBe(false);
    current = recordWith(7n);
    await waiting;
    expect(resolved).toBe(true);
  });

  it("refuses with DEPOSIT_NOT_COUNTED when the channel stops being open, is unknown, or the time is up", async () => {
    await expect(venueDepositCounted(() => recordWith(0n, "disputed"), 0, 1n, { timeoutMs: 5_000, pollMs: 10 })).rejects.toMatchObject({ code: "DEPOSIT_NOT_COUNTED", message: expect.stringMatching(/disputed/) });
    await expect(venueDepositCounted(() => undefined, 0, 1n, { timeoutMs: 5_000, pollMs: 10 })).rejects.toMatchObject({ code: "DEPOSIT_NOT_COUNTED" });
    const started = Date.now();
    await expect(venueDepositCounted(() => recordWith(0n), 0, 1n, { timeoutMs: 100, pollMs: 10 })).rejects.toMatchObject({ code: "DEPOSIT_NOT_COUNTED", message: expect.stringMatching(/within 100 ms/) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
  });
});
