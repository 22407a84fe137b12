// Latency percentiles by the nearest-rank method: the q-quantile of n sorted samples is the
// ⌈q·n⌉-th smallest, so p99.9 of 1,000 samples is the largest and never an interpolated value.

export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p999: number;
  readonly max: number;
  readonly mean: number;
}

/** The nearest-rank `q`-quantile of ascending `sorted` (0 when empty). */
export function nearestRank(sorted: ArrayLike<number>, q: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`a quantile must be in (0, 1], got ${q}`);
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Percentiles of `samples` (any order; not modified), rounded to µs when in milliseconds. */
export function percentilesOf(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const x of sorted) sum += x;
  return {
    count: sorted.length,
    p50: round3(nearestRank(sorted, 0.5)),
    p90: round3(nearestRank(sorted, 0.9)),
    p99: round3(nearestRank(sorted, 0.99)),
    p999: round3(nearestRank(sorted, 0.999)),
    max: round3(sorted[sorted.length - 1] ?? 0),
    mean: sorted.length === 0 ? 0 : round3(sum / sorted.length),
  };
}
