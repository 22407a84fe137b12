// The report's "Against the goals" rows (bench/lib/goals.ts) from a report, without running load:
// met and unmet goals, the measured limits they quote, and the per-thread and per-profile arithmetic.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { goalsOf, profileSplit, threadUsPerUpdate } from "../../bench/lib/goals.js";
import { storeBatchTotalsOf, storeBatchesBetween } from "../../bench/lib/stalls.js";
import type { BenchReport, OpenLoopRow, ProfiledRun, ThroughputRow } from "../../bench/lib/report/index.js";

const committed = JSON.parse(readFileSync("bench/report.json", "utf8")) as BenchReport;

function row(updates: number, threads: Record<string, { userSeconds: number; systemSeconds: number }>): ThroughputRow {
  const groups = Object.fromEntries(Object.entries(threads).map(([name, t]) => [name, { threads: 1, ...t }]));
  const node = Object.values(threads).reduce((sum, t) => sum + t.userSeconds + t.systemSeconds, 0);
  return { ...committed.throughput[1]!, channels: 64, updates, cpu: { ...committed.throughput[1]!.cpu, node, nodeThreads: groups } };
}

/** A row's node stalls without the store batches (older reports have none). */
function withoutBatches<T extends { storeBatches?: unknown }>(node: T): Omit<T, "storeBatches"> {
  const { storeBatches: _batches, ...rest } = node;
  return rest;
}

/** The committed report with its worst half-load row made the 9,000 ms tail and changed by `change`; its latency goal row. */
function latencyGoalWith(change: (row: OpenLoopRow) => OpenLoopRow) {
  const worst = committed.openLoop.filter((r) => r.loadFraction === 0.5).sort((a, b) => b.latencyMs.p99 - a.latencyMs.p99)[0]!;
  const report: BenchReport = {
    ...committed,
    p99_ms_at_half_load: 9_000,
    openLoop: committed.openLoop.map((r) => (r === worst ? change({ ...r, latencyMs: { ...r.latencyMs, p99: 9_000 } }) : r)),
  };
  return goalsOf(report).find((g) => g.goal.startsWith("Latency"))!;
}

describe("goals of the performance issue", () => {
  it("splits a row's node CPU per update by thread group", () => {
    const r = row(10_000, { main: { userSeconds: 2.5, systemSeconds: 0.5 }, "libuv-worker": { userSeconds: 0.2, systemSeconds: 0.6 }, node: { userSeconds: 0.3, systemSeconds: 0 }, DelayedTaskSche: { userSeconds: 0.1, systemSeconds: 0 } });
    expect(threadUsPerUpdate(r)).toEqual({ main: 300, mainSystem: 50, libuv: 80, other: 40 });
    expect(threadUsPerUpdate({ ...r, cpu: { ...r.cpu, nodeThreads: undefined } })).toBeUndefined();
  });

  it("groups the profile's components into crypto, sockets, store, core and the rest, per update", () => {
    const run: ProfiledRun = {
      channels: 64,
      updates: 1_000,
      updatesPerSecond: 200,
      summary: {
        samples: 1,
        wallMs: 5_000,
        busyMs: 400,
        idleMs: 4_600,
        topSelf: [],
        topInclusive: [],
        byComponent: [
          { name: "libsecp256k1 (native sign/recover)", ms: 160, percent: 0 },
          { name: "Node.js runtime (net, streams, JSON, timers)", ms: 60, percent: 0 },
          { name: "ws (WebSocket framing)", ms: 10, percent: 0 },
          { name: "LevelDB binding (level)", ms: 20, percent: 0 },
          { name: "store: record encoding, group commit", ms: 25, percent: 0 },
          { name: "core: channel rules", ms: 30, percent: 0 },
          { name: "keccak-256 (core: keccak.ts)", ms: 15, percent: 0 },
          { name: "node: engine, transport", ms: 40, percent: 0 },
          { name: "garbage collection", ms: 5, percent: 0 },
        ],
      },
    };
    expect(profileSplit(run)).toEqual({ crypto: 160, sockets: 70, store: 45, core: 45, rest: 45 });
  });

  it("marks an unmet goal and quotes this run's measured limit; a met goal quotes none", () => {
    const goals = goalsOf(committed);
    const ratio = goals.find((g) => g.goal.startsWith("Per-update efficiency"))!;
    expect(ratio.met).toBe(committed.ceiling_ratio >= 0.7);
    if (ratio.met === false) expect(ratio.limit).toContain(`${Math.round(committed.node_cpu_us_per_update)} µs per update`);

    const better = goalsOf({ ...committed, ceiling_ratio: 0.75, p99_ms_at_half_load: 4.2, heap_bytes_per_channel: 4_000 });
    expect(better.find((g) => g.goal.startsWith("Per-update efficiency"))).toMatchObject({ met: true, limit: "" });
    expect(better.find((g) => g.goal.startsWith("Latency"))).toMatchObject({ met: true, measured: "4.2 ms", limit: "" });
    const heap = better.find((g) => g.goal.startsWith("Heap"))!;
    expect(heap.met).toBe(false);
    expect(heap.limit).not.toBe("");
  });

  it("says a latency tail measured the machine when the node waited for a core, and its own queueing otherwise", () => {
    const withWait = (waitMs: number) => latencyGoalWith((r) => ({ ...r, stalls: { ...r.stalls, node: { ...withoutBatches(r.stalls.node), runQueueWaitMs: waitMs } } }));
    const starved = withWait(2_000);
    expect(starved.met).toBe(false);
    expect(starved.limit).toContain("mostly the machine's");
    const quiet = withWait(10);
    expect(quiet.limit).toContain("its own queueing");
    expect(quiet.limit).toContain("p99 9000.0 ms");
  });

  it("names slow store batches as the tail's cause when the node did not wait for a core", () => {
    const withBatches = (over50ms: number) =>
      latencyGoalWith((r) => ({
        ...r,
        stalls: { ...r.stalls, node: { ...r.stalls.node, runQueueWaitMs: 10, storeBatches: { count: 3_000, meanMs: 0.8, over10ms: over50ms, over50ms, over250ms: over50ms, allWithinMs: over50ms > 0 ? 500 : 5 } } },
      }));
    const slowDisk = withBatches(1);
    expect(slowDisk.limit).toContain("3000 in the window, mean 0.8 ms, 1 over 50 ms and 1 over 250 ms, all within 500 ms");
    expect(slowDisk.limit).toContain("this tail is the disk's");
    expect(withBatches(0).limit).toContain("its own queueing");
  });

  it("says when the load generator's own send lag is most of the tail", () => {
    const withLag = (lagP99: number) => latencyGoalWith((r) => ({ ...r, sendLagMs: { ...r.latencyMs, p99: lagP99 } }));
    expect(withLag(8_500).limit).toContain("the load generator sending late");
    expect(withLag(3).limit).not.toContain("the load generator sending late");
  });

  it("counts a window's store batches from two readings of the node's histogram", () => {
    const reading = (count: number, seconds: number, cumulative: number[]) =>
      storeBatchTotalsOf(new Map([...[0.005, 0.01, 0.05, 0.25, 0.5].map((le, i): [string, number] => [`clearline_store_batch_seconds_bucket{le="${le}"}`, cumulative[i]!]), ["clearline_store_batch_seconds_count", count], ["clearline_store_batch_seconds_sum", seconds]]));
    const before = reading(100, 0.1, [90, 95, 99, 100, 100]);
    const after = reading(1_100, 1.6, [1_050, 1_080, 1_096, 1_099, 1_100]);
    expect(storeBatchesBetween(before, after)).toEqual({ count: 1_000, meanMs: 1.5, over10ms: 15, over50ms: 3, over250ms: 1, allWithinMs: 500 });
  });

  it("leaves a goal the run did not measure as not measured", () => {
    const { workers: _workers, restart_s_100k_channels: _restart, ...rest } = committed;
    const goals = goalsOf(rest as BenchReport);
    expect(goals.find((g) => g.goal.startsWith("Every core"))).toMatchObject({ met: undefined, measured: "not measured" });
    expect(goals.find((g) => g.goal.startsWith("Restart"))).toMatchObject({ met: undefined, measured: "not measured" });
  });
});
