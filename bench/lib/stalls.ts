// What stalls a process besides its own work, for the latency runs (bench/load.ts): garbage-collection
// pauses by V8's kind, and how long its main thread was ready to run but waited for a core (the
// kernel's run-queue wait, /proc/<pid>/schedstat). Both the node (its /metrics, its pid) and the load
// generator (this process) are read, so a tail can be put down to GC, to CPU starvation on a shared
// machine, or to neither (then to the node's own work, its store or its disk).
import { readFileSync } from "node:fs";
import { PerformanceObserver, constants } from "node:perf_hooks";

export type GcKind = "minor" | "major" | "incremental" | "weakcb";
export const GC_KINDS: readonly GcKind[] = ["minor", "major", "incremental", "weakcb"];

/** Pauses by kind: how many, their total and (where known) the longest, ms. */
export type GcPauses = Record<GcKind, { readonly count: number; readonly totalMs: number; readonly maxMs?: number }>;

/** GC seconds and counts by kind since the node started, from its /metrics (prom-client's `nodejs_gc_duration_seconds`). */
export type GcTotals = Record<GcKind, { readonly seconds: number; readonly count: number }>;

const round3 = (x: number) => Math.round(x * 1000) / 1000;

export function gcTotalsOf(metrics: ReadonlyMap<string, number> | undefined): GcTotals {
  return Object.fromEntries(
    GC_KINDS.map((kind) => [kind, { seconds: metrics?.get(`nodejs_gc_duration_seconds_sum{kind="${kind}"}`) ?? 0, count: metrics?.get(`nodejs_gc_duration_seconds_count{kind="${kind}"}`) ?? 0 }]),
  ) as GcTotals;
}

/** The pauses between two readings of the totals. */
export function gcPausesBetween(before: GcTotals, after: GcTotals): GcPauses {
  return Object.fromEntries(
    GC_KINDS.map((kind) => [kind, { count: after[kind].count - before[kind].count, totalMs: round3((after[kind].seconds - before[kind].seconds) * 1000) }]),
  ) as GcPauses;
}

/** How long the main thread of process `pid` has waited on a run queue for a core so far, ms; 0 where the kernel does not say. */
export function runQueueWaitMs(pid: number | "self"): number {
  try {
    const waitNs = Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[1]);
    return Number.isFinite(waitNs) ? waitNs / 1e6 : 0;
  } catch {
    return 0;
  }
}

/** This process's GC pauses, as V8 reports them; `between` counts those starting inside a window. */
export class GcWatch {
  private readonly pauses: { at: number; ms: number; kind: GcKind }[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.pauses.push({ at: entry.startTime, ms: entry.duration, kind: gcKindOf((entry as { detail?: { kind?: number } }).detail?.kind) });
  });

  constructor() {
    this.observer.observe({ entryTypes: ["gc"] });
  }

  stop(): void {
    this.observer.disconnect();
  }

  /** Pauses starting in [from, to] (performance.now() ms). */
  between(from: number, to: number): GcPauses {
    const inside = this.pauses.filter((p) => p.at >= from && p.at <= to);
    return Object.fromEntries(
      GC_KINDS.map((kind) => {
        const of = inside.filter((p) => p.kind === kind).map((p) => p.ms);
        return [kind, { count: of.length, totalMs: round3(of.reduce((a, b) => a + b, 0)), maxMs: round3(Math.max(0, ...of)) }];
      }),
    ) as GcPauses;
  }
}

function gcKindOf(flag: number | undefined): GcKind {
  if (flag === constants.NODE_PERFORMANCE_GC_MAJOR) return "major";
  if (flag === constants.NODE_PERFORMANCE_GC_INCREMENTAL) return "incremental";
  if (flag === constants.NODE_PERFORMANCE_GC_WEAKCB) return "weakcb";
  return "minor";
}

/** The node's store batch histogram (`clearline_store_batch_seconds`) as read from /metrics: cumulative counts by upper bound (s), total count and sum. */
export interface StoreBatchTotals {
  readonly buckets: ReadonlyMap<number, number>;
  readonly count: number;
  readonly seconds: number;
}

/** Store batches in a window: how many, their mean, how many took over 10, 50 and 250 ms, and the bucket bound all of them stayed within (ms; null: some exceeded every bound). */
export interface StoreBatches {
  readonly count: number;
  readonly meanMs: number;
  readonly over10ms: number;
  readonly over50ms: number;
  readonly over250ms: number;
  readonly allWithinMs: number | null;
}

export function storeBatchTotalsOf(metrics: ReadonlyMap<string, number> | undefined): StoreBatchTotals {
  const buckets = new Map<number, number>();
  for (const [name, value] of metrics ?? []) {
    const bound = /^clearline_store_batch_seconds_bucket\{le="([0-9.e+-]+)"\}$/.exec(name)?.[1];
    if (bound !== undefined) buckets.set(Number(bound), value);
  }
  return { buckets, count: metrics?.get("clearline_store_batch_seconds_count") ?? 0, seconds: metrics?.get("clearline_store_batch_seconds_sum") ?? 0 };
}

export function storeBatchesBetween(before: StoreBatchTotals, after: StoreBatchTotals): StoreBatches {
  const count = after.count - before.count;
  const within = (bound: number) => (after.buckets.get(bound) ?? 0) - (before.buckets.get(bound) ?? 0);
  const bounds = [...after.buckets.keys()].sort((a, b) => a - b);
  const allWithin = bounds.find((bound) => within(bound) === count);
  return {
    count,
    meanMs: count === 0 ? 0 : round3(((after.seconds - before.seconds) / count) * 1000),
    over10ms: count - within(0.01),
    over50ms: count - within(0.05),
    over250ms: count - within(0.25),
    allWithinMs: count === 0 ? 0 : allWithin === undefined ? null : allWithin * 1000,
  };
}
