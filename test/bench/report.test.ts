// The benchmark without running it: the open-loop scheduler's arithmetic, the percentiles, the
// headline figures of bench/report.json and the committed report's shape. Fast, no load.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { arrivalsDueBy, dueAt, laneIntervalMs, openLoopSchedule, targetRates, type ScheduleError } from "../../bench/lib/open-loop.js";
import { nearestRank, percentilesOf } from "../../bench/lib/percentiles.js";
import { headlineOf, headlineSchema, type HeadlineError, type HeadlineInput } from "../../bench/lib/headline.js";

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return (error as ScheduleError | HeadlineError).code;
  }
  return undefined;
}

describe("open-loop schedule", () => {
  it("deals arrivals at the total rate round-robin to the lanes", () => {
    const s = openLoopSchedule(1_000, 4, 500);
    // Arrival k is due at 500 + k ms and belongs to lane k mod 4.
    expect([0, 1, 2, 3].map((lane) => dueAt(s, lane, 0))).toEqual([500, 501, 502, 503]);
    expect(dueAt(s, 0, 1)).toBe(504);
    expect(dueAt(s, 3, 10)).toBe(500 + 43);
    expect(laneIntervalMs(s)).toBe(4);
  });

  it("keeps every lane's due times a fixed interval apart, whatever the answers did", () => {
    const s = openLoopSchedule(250, 64, 0);
    const times = Array.from({ length: 100 }, (_, n) => dueAt(s, 17, n));
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    for (const gap of gaps) expect(gap).toBeCloseTo(256, 9);
  });

  it("counts the arrivals due by a time over all lanes", () => {
    const s = openLoopSchedule(2_000, 10, 1_000);
    expect(arrivalsDueBy(s, 999.9)).toBe(0);
    expect(arrivalsDueBy(s, 1_000)).toBe(1);
    // 2,000/s over 1 s: arrivals 0..2000 are due by 2,000 ms.
    expect(arrivalsDueBy(s, 2_000)).toBe(2_001);
    expect(arrivalsDueBy(s, 2_000) - arrivalsDueBy(s, 1_500)).toBe(1_000);
    // The count agrees with the per-lane due times.
    let due = 0;
    for (let lane = 0; lane < 10; lane++) for (let n = 0; dueAt(s, lane, n) <= 1_250; n++) due++;
    expect(arrivalsDueBy(s, 1_250)).toBe(due);
  });

  it("refuses a rate, lane count or index that makes no schedule", () => {
    expect(codeOf(() => openLoopSchedule(0, 4, 0))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => openLoopSchedule(Number.NaN, 4, 0))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => openLoopSchedule(100, 0, 0))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => openLoopSchedule(100, 2.5, 0))).toBe("INVALID_SCHEDULE");
    const s = openLoopSchedule(100, 4, 0);
    expect(codeOf(() => dueAt(s, 4, 0))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => dueAt(s, -1, 0))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => dueAt(s, 0, -1))).toBe("INVALID_SCHEDULE");
  });

  it("offers the fractions of the measured maximum", () => {
    expect(targetRates(3_451, [0.25, 0.5, 0.9])).toEqual([863, 1_726, 3_106]);
    expect(targetRates(1, [0.25])).toEqual([1]);
    expect(codeOf(() => targetRates(0, [0.5]))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => targetRates(100, [1.5]))).toBe("INVALID_SCHEDULE");
    expect(codeOf(() => targetRates(100, [0]))).toBe("INVALID_SCHEDULE");
  });
});

describe("percentiles", () => {
  it("are nearest-rank values of the samples, never interpolated", () => {
    const samples = Array.from({ length: 1_000 }, (_, i) => 1_000 - i); // 1..1000, reversed
    const p = percentilesOf(samples);
    expect(p).toMatchObject({ count: 1_000, p50: 500, p90: 900, p99: 990, p999: 999, max: 1_000, mean: 500.5 });
    expect(samples[0]).toBe(1_000); // the input is not sorted in place
    expect(nearestRank([7], 0.999)).toBe(7);
    expect(percentilesOf([])).toMatchObject({ count: 0, p99: 0, max: 0, mean: 0 });
    expect(() => nearestRank([1, 2], 0)).toThrow(RangeError);
  });
});

/** A report's raw rows as a full run writes them (figures of the same order as a real run). */
function fullRun(): HeadlineInput {
  return {
    crypto: { signers: [{ implementation: "noble", signPerSecond: 2_500, verifyPerSecond: 250 }, { implementation: "native", signPerSecond: 25_000, verifyPerSecond: 10_000 }] },
    throughput: [
      { channels: 1, updates: 8_000, updatesPerSecond: 1_000, cpu: { node: 5.6 } }, // 700 µs, not a multi-channel row
      { channels: 64, updates: 28_000, updatesPerSecond: 3_500, cpu: { node: 8.4 } }, // 300 µs
      { channels: 256, updates: 28_800, updatesPerSecond: 3_600, cpu: { node: 9.0 } }, // 312.5 µs
    ],
    openLoop: [
      { loadFraction: 0.25, latencyMs: { p99: 2.1 } },
      { loadFraction: 0.5, latencyMs: { p99: 3.4 } },
      { loadFraction: 0.5, latencyMs: { p99: 6.2 } },
      { loadFraction: 0.9, latencyMs: { p99: 40 } },
    ],
    memory: [
      { channels: 0, startMs: 1_300, heapUsedBytes: 25_000_000 },
      { channels: 10_000, startMs: 2_500, heapUsedBytes: 55_000_000 },
      { channels: 100_000, startMs: 14_250, heapUsedBytes: 325_000_000 },
    ],
  };
}

describe("headline figures", () => {
  it("derive every top-level field of a full run", () => {
    const headline = headlineOf(fullRun());
    expect(headline).toEqual({
      node_cpu_us_per_update: 300,
      crypto_floor_us_per_update: 140, // 40 µs sign + 100 µs verify
      ceiling_ratio: 0.467,
      max_updates_per_s: 3_600,
      updates_per_s_by_workers: { "1": 3_600 },
      p99_ms_at_half_load: 6.2, // the worse of the 50 % rows
      restart_s_100k_channels: 14.25,
      heap_bytes_per_channel: 3_000,
    });
    expect(headlineSchema.safeParse(headline).success).toBe(true);
  });

  it("leave out what the run did not measure instead of estimating it", () => {
    const run = fullRun();
    const headline = headlineOf({ ...run, openLoop: [], memory: run.memory.slice(0, 2) });
    expect(headline).not.toHaveProperty("p99_ms_at_half_load");
    expect(headline).not.toHaveProperty("restart_s_100k_channels");
    expect(headline.heap_bytes_per_channel).toBe(3_000);
  });

  it("refuse a run without the figures the ratio needs", () => {
    const run = fullRun();
    expect(codeOf(() => headlineOf({ ...run, throughput: run.throughput.slice(0, 1) }))).toBe("BENCH_INCOMPLETE");
    expect(codeOf(() => headlineOf({ ...run, crypto: { signers: run.crypto.signers.slice(0, 1) } }))).toBe("BENCH_INCOMPLETE");
  });

  it("reject node CPU undercounted below the crypto floor", () => {
    const run = fullRun();
    // 1 µs of node CPU per update cannot include a verify and a sign: the schema refuses the ratio.
    expect(() => headlineOf({ ...run, throughput: [{ channels: 64, updates: 1_000_000, updatesPerSecond: 3_500, cpu: { node: 1 } }] })).toThrow(/ceiling_ratio/);
  });
});

describe("the committed bench/report.json", () => {
  const report = JSON.parse(readFileSync(new URL("../../bench/report.json", import.meta.url), "utf8")) as Record<string, unknown>;

  it("carries the headline fields at its top level", () => {
    const parsed = headlineSchema.safeParse(report);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  });

  it("agrees with its own rows", () => {
    const headline = headlineOf(report as unknown as HeadlineInput);
    for (const [key, value] of Object.entries(headline)) expect(report[key], key).toEqual(value);
  });
});
