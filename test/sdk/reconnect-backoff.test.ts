// The SDK's reconnect back-off as a pure policy (client/sdk/reconnect-backoff.ts): attempt → wait,
// doubling to the cap, jitter between half and all of the ceiling (never nothing), refusals for
// load waiting longer, the count starting over only after a welcome that held; and its options
// checked at the boundary (INVALID_ARGUMENT, before anything is opened).
import { describe, expect, it } from "vitest";
import { DEFAULT_RECONNECT_BACKOFF, ReconnectSchedule, reconnectBackoffOf, reconnectDelay, type ReconnectBackoff } from "../../client/sdk/reconnect-backoff.js";
import { ClearlineClient, isClientError, openClient } from "../../client/sdk/index.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, nobleVerifier } from "../../client/protocol/index.js";
import { deployment, keyOf } from "../node/engine-harness.js";

const B: ReconnectBackoff = { initialDelayMs: 250, maxDelayMs: 30_000, refusedDelayMs: 10_000, stableAfterMs: 10_000 };
const LOW = (): number => 0;
const HIGH = (): number => 1 - Number.EPSILON;

describe("reconnectDelay", () => {
  it("doubles from initialDelayMs per failed attempt, jittered between half and all of the ceiling, up to maxDelayMs", () => {
    const ceilings = [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000];
    ceilings.forEach((ceiling, attempt) => {
      expect(reconnectDelay(attempt, B, false, LOW)).toBe(ceiling / 2);
      expect(reconnectDelay(attempt, B, false, HIGH)).toBe(ceiling);
      expect(reconnectDelay(attempt, B, false, () => 0.5)).toBe(Math.round((3 * ceiling) / 4));
    });
  });

  it("stays at the cap, a finite whole number of ms, however many attempts failed", () => {
    for (const attempt of [40, 1_000, 1e9, Number.MAX_SAFE_INTEGER]) {
      const delay = reconnectDelay(attempt, B, false, HIGH);
      expect(delay).toBe(30_000);
      expect(reconnectDelay(attempt, B, true, LOW)).toBe(15_000);
    }
  });

  it("random waits fall within their bounds and are spread (investors coming back do not all arrive at once)", () => {
    const delays = Array.from({ length: 500 }, () => reconnectDelay(3, B));
    for (const delay of delays) {
      expect(delay).toBeGreaterThanOrEqual(1_000);
      expect(delay).toBeLessThanOrEqual(2_000);
      expect(Number.isInteger(delay)).toBe(true);
    }
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it("after a refusal for load waits at least half of refusedDelayMs and at least the ordinary ceiling, capped alike", () => {
    expect(reconnectDelay(0, B, true, LOW)).toBe(5_000);
    expect(reconnectDelay(0, B, true, HIGH)).toBe(10_000);
    // Never shorter than the ordinary wait of the same attempt; below the cap, at least its longest.
    for (let attempt = 0; attempt < 12; attempt++) {
      for (const random of [LOW, HIGH]) expect(reconnectDelay(attempt, B, true, random)).toBeGreaterThanOrEqual(reconnectDelay(attempt, B, false, random));
      if (2 * B.initialDelayMs * 2 ** attempt <= B.maxDelayMs) expect(reconnectDelay(attempt, B, true, LOW)).toBeGreaterThanOrEqual(reconnectDelay(attempt, B, false, HIGH));
      expect(reconnectDelay(attempt, B, true, HIGH)).toBeLessThanOrEqual(B.maxDelayMs);
    }
    // Past refusedDelayMs the refusal's ceiling is twice the ordinary one.
    expect(reconnectDelay(5, B, true, HIGH)).toBe(16_000);
    // A cap below refusedDelayMs still caps.
    expect(reconnectDelay(0, { ...B, maxDelayMs: 2_000 }, true, HIGH)).toBe(2_000);
  });
});

describe("ReconnectSchedule", () => {
  it("counts failed attempts until a welcome that held stableAfterMs; a connection dropped sooner keeps counting", () => {
    const schedule = new ReconnectSchedule(B, HIGH);
    expect([schedule.next(0, false), schedule.next(100, false), schedule.next(200, false)]).toEqual([250, 500, 1_000]);
    expect(schedule.attempts).toBe(3);
    // Welcomed, dropped 9.999 s later (e.g. two sessions of one key replacing each other): no start over.
    schedule.established(1_000);
    expect(schedule.next(1_000 + B.stableAfterMs - 1, false)).toBe(2_000);
    // Welcomed and held: the count starts over.
    schedule.established(20_000);
    expect(schedule.next(20_000 + B.stableAfterMs, false)).toBe(250);
    expect(schedule.attempts).toBe(1);
    // A welcome counts once: the next failure (no welcome in between) goes on from there.
    expect(schedule.next(40_000, true)).toBe(10_000);
    expect(schedule.attempts).toBe(2);
  });
});

describe("the back-off's options", () => {
  it("default to DEFAULT_RECONNECT_BACKOFF, each overridable", () => {
    expect(reconnectBackoffOf(undefined)).toEqual(DEFAULT_RECONNECT_BACKOFF);
    expect(DEFAULT_RECONNECT_BACKOFF).toEqual(B);
    expect(reconnectBackoffOf({ initialDelayMs: 100, maxDelayMs: 5_000 })).toEqual({ ...B, initialDelayMs: 100, maxDelayMs: 5_000 });
  });

  it.each([
    [{ initialDelayMs: 0 }, "initialDelayMs"],
    [{ initialDelayMs: -5 }, "initialDelayMs"],
    [{ initialDelayMs: 1.5 }, "initialDelayMs"],
    [{ maxDelayMs: Number.NaN }, "maxDelayMs"],
    [{ maxDelayMs: Number.POSITIVE_INFINITY }, "maxDelayMs"],
    [{ maxDelayMs: 100 }, "maxDelayMs must be at least initialDelayMs"],
    [{ refusedDelayMs: -1 }, "refusedDelayMs"],
    [{ stableAfterMs: 86_400_001 }, "stableAfterMs"],
    [{ retries: 3 } as Partial<ReconnectBackoff>, "retries"],
  ])("refuses %o (INVALID_ARGUMENT naming it)", (overrides, named) => {
    let error: unknown;
    try {
      reconnectBackoffOf(overrides);
    } catch (e) {
      error = e;
    }
    expect(isClientError(error, "INVALID_ARGUMENT")).toBe(true);
    expect((error as Error).message).toContain(named);
  });

  it("are checked when a client is made, and by openClient before it opens anything", async () => {
    const options = { nodeUrl: "ws://127.0.0.1:1", signer: new NobleSigner(keyOf(2)), verifier: nobleVerifier, store: new MemoryStore(), deployment };
    expect(() => new ClearlineClient({ ...options, reconnectBackoff: { maxDelayMs: 0 } })).toThrow(/reconnectBackoff\.maxDelayMs/);
    expect(new ClearlineClient({ ...options, reconnectBackoff: { maxDelayMs: 1_000 } }).connected).toBe(false);
    // Nothing listens at the RPC URL and the data directory is never made: the check comes first.
    const opening = openClient({ nodeUrl: "ws://127.0.0.1:1", rpcUrl: "http://127.0.0.1:1", adjudicator: deployment.adjudicator, privateKey: keyOf(2), dataDir: "/nonexistent/clearline", reconnectBackoff: { initialDelayMs: -1 } });
    await expect(opening).rejects.toSatisfy((error: unknown) => isClientError(error, "INVALID_ARGUMENT"));
  });
});
