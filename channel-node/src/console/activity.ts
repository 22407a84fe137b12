// The console's live charts: the node's agreed-update counter and countersigning-latency histogram
// (metrics.ts), sampled once a second into a bounded ring, so a page opened now shows the last
// minutes at once and polling it costs the node nothing but a copy.
import type { NodeMetrics } from "../metrics.js";

interface Sample {
  /** Host time, ms. */
  readonly at: number;
  readonly updates: number;
  readonly latencySum: number;
  readonly latencyCount: number;
}

export interface ActivityPoints {
  /** Unix seconds at the end of each interval. */
  readonly t: number[];
  /** Agreed updates per second in each interval. */
  readonly updatesPerSecond: number[];
  /** Mean time from proposal to countersignature in each interval, ms; null without an update. */
  readonly latencyMs: (number | null)[];
  /** Agreed updates since the node started. */
  readonly updatesTotal: number;
}

/** Reads the counters the charts are drawn from. */
export async function readActivity(metrics: NodeMetrics): Promise<Omit<Sample, "at">> {
  const [updates, latency] = await Promise.all([metrics.updates.get(), metrics.updateLatency.get()]);
  const total = updates.values.reduce((sum, v) => sum + v.value, 0);
  const sum = latency.values.find((v) => v.metricName === "clearline_update_seconds_sum")?.value ?? 0;
  const count = latency.values.find((v) => v.metricName === "clearline_update_seconds_count")?.value ?? 0;
  return { updates: total, latencySum: sum, latencyCount: count };
}

export class ActivitySeries {
  private readonly samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly read: () => Promise<Omit<Sample, "at">>,
    /** Samples kept: the oldest is dropped beyond it. */
    private readonly capacity: number,
    private readonly intervalMs = 1_000,
    private readonly clock: () => number = Date.now,
  ) {}

  start(): void {
    if (this.timer !== undefined) return;
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  async sample(): Promise<void> {
    const reading = await this.read().catch(() => undefined);
    if (reading === undefined) return;
    this.samples.push({ at: this.clock(), ...reading });
    if (this.samples.length > this.capacity + 1) this.samples.splice(0, this.samples.length - this.capacity - 1);
  }

  points(): ActivityPoints {
    const t: number[] = [];
    const updatesPerSecond: number[] = [];
    const latencyMs: (number | null)[] = [];
    for (let i = 1; i < this.samples.length; i++) {
      const [before, after] = [this.samples[i - 1]!, this.samples[i]!];
      const seconds = Math.max(0.001, (after.at - before.at) / 1000);
      const count = after.latencyCount - before.latencyCount;
      t.push(after.at / 1000);
      updatesPerSecond.push((after.updates - before.updates) / seconds);
      latencyMs.push(count > 0 ? ((after.latencySum - before.latencySum) / count) * 1000 : null);
    }
    return { t, updatesPerSecond, latencyMs, updatesTotal: this.samples.at(-1)?.updates ?? 0 };
  }
}
