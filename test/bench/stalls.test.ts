// The latency runs' stall readings (bench/lib/stalls.ts): GC pauses from the node's /metrics and from
// this process, and the kernel's run-queue wait, on the real runtime and the real /proc.
import { describe, expect, it } from "vitest";
import { GcWatch, gcPausesBetween, gcTotalsOf, runQueueWaitMs } from "../../bench/lib/stalls.js";
import { parseMetrics } from "../../bench/lib/node.js";

describe("bench stalls", () => {
  it("reads GC totals by kind from /metrics text and subtracts two readings", () => {
    const before = gcTotalsOf(parseMetrics('nodejs_gc_duration_seconds_sum{kind="minor"} 0.5\nnodejs_gc_duration_seconds_count{kind="minor"} 10\nnodejs_gc_duration_seconds_sum{kind="major"} 0.1\nnodejs_gc_duration_seconds_count{kind="major"} 1\n'));
    const after = gcTotalsOf(parseMetrics('nodejs_gc_duration_seconds_sum{kind="minor"} 0.5123\nnodejs_gc_duration_seconds_count{kind="minor"} 14\nnodejs_gc_duration_seconds_sum{kind="major"} 0.13\nnodejs_gc_duration_seconds_count{kind="major"} 2\n'));
    const pauses = gcPausesBetween(before, after);
    expect(pauses.minor).toEqual({ count: 4, totalMs: 12.3 });
    expect(pauses.major).toEqual({ count: 1, totalMs: 30 });
    expect(pauses.incremental).toEqual({ count: 0, totalMs: 0 });
    // A node without the metric (or no /metrics at all) reads as no pauses, not as NaN.
    expect(gcPausesBetween(gcTotalsOf(undefined), gcTotalsOf(new Map())).weakcb).toEqual({ count: 0, totalMs: 0 });
  });

  it("counts this process's minor collections inside the window only", async () => {
    const watch = new GcWatch();
    const from = performance.now();
    let keep: { i: number; s: string }[] = [];
    for (let i = 0; i < 2_000_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 1_000) keep = [];
    }
    await new Promise((resolve) => setTimeout(resolve, 20)); // observers are told after the current task
    const to = performance.now();
    watch.stop();
    const inside = watch.between(from, to);
    expect(inside.minor.count).toBeGreaterThan(0);
    expect(inside.minor.totalMs).toBeGreaterThan(0);
    expect(inside.minor.maxMs).toBeLessThanOrEqual(inside.minor.totalMs);
    expect(watch.between(to + 1, to + 2).minor).toEqual({ count: 0, totalMs: 0, maxMs: 0 });
  });

  it("reads the main thread's run-queue wait, and 0 for a process that does not exist", () => {
    const first = runQueueWaitMs("self");
    expect(first).toBeGreaterThanOrEqual(0);
    expect(runQueueWaitMs("self")).toBeGreaterThanOrEqual(first);
    expect(runQueueWaitMs(process.pid)).toBeGreaterThanOrEqual(first);
    expect(runQueueWaitMs(2 ** 30)).toBe(0);
  });
});
