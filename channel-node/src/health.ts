// The node's health, as /health reports it: the chain answers, the chain watchers keep up with it,
// the data directory (the store's disk) accepts a synced write. Each check is bounded in time; one
// check runs at a time and its result is reused for `cacheMs`, so a flood of /health requests costs
// the chain and the disk nothing.
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { NodeMetrics } from "./metrics.js";

export type HealthCheckName = "chain" | "watcher" | "store";

export interface HealthCheck {
  readonly ok: boolean;
  /** Why the check failed. */
  readonly error?: string;
  readonly [fact: string]: unknown;
}

export interface HealthReport {
  readonly healthy: boolean;
  /** The checks that failed, in order. */
  readonly failed: readonly HealthCheckName[];
  readonly checks: Readonly<Record<HealthCheckName, HealthCheck>>;
}

export interface HealthOptions {
  /** The chain's latest block number. */
  chainHead(): Promise<number>;
  /** Each watcher's last processed block, by name (null: none yet). */
  watchers(): Record<string, number | null>;
  confirmations: number;
  maxLagBlocks: number;
  /** A synced write to the store. */
  storeProbe(): Promise<void>;
  timeoutMs: number;
  cacheMs: number;
  metrics: NodeMetrics;
}

async function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split("\n")[0]!.slice(0, 200);

export class HealthMonitor {
  private last: { at: number; report: HealthReport } | undefined;
  private running: Promise<HealthReport> | undefined;

  constructor(private readonly options: HealthOptions) {}

  /** The latest report, checked now unless a report younger than `cacheMs` exists or a check is running. */
  check(): Promise<HealthReport> {
    if (this.last !== undefined && Date.now() - this.last.at < this.options.cacheMs) return Promise.resolve(this.last.report);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<HealthReport> {
    const { options } = this;
    const [head, store] = await Promise.allSettled([within(options.chainHead(), options.timeoutMs), within(options.storeProbe(), options.timeoutMs)]);
    const chain: HealthCheck = head.status === "fulfilled" ? { ok: true, head: head.value } : { ok: false, error: `chain unreachable: ${reason(head.reason)}` };
    const checks: Record<HealthCheckName, HealthCheck> = {
      chain,
      watcher: head.status === "fulfilled" ? this.lag(head.value) : { ok: false, error: "the chain's head is unknown" },
      store: store.status === "fulfilled" ? { ok: true } : { ok: false, error: `store not writable: ${reason(store.reason)}` },
    };
    const failed = (Object.keys(checks) as HealthCheckName[]).filter((name) => !checks[name].ok);
    for (const name of Object.keys(checks) as HealthCheckName[]) options.metrics.healthy.set({ check: name }, checks[name].ok ? 1 : 0);
    const report: HealthReport = { healthy: failed.length === 0, failed, checks };
    this.last = { at: Date.now(), report };
    return report;
  }

  /** How far each watcher is behind the block it should have reached (`head − confirmations`). */
  private lag(head: number): HealthCheck {
    const target = Math.max(0, head - this.options.confirmations);
    const lag: Record<string, number> = {};
    for (const [name, block] of Object.entries(this.options.watchers())) lag[name] = target - (block ?? -1);
    const worst = Math.max(0, ...Object.values(lag));
    return worst <= this.options.maxLagBlocks
      ? { ok: true, lag }
      : { ok: false, lag, error: `a chain watcher is ${worst} blocks behind (bound ${this.options.maxLagBlocks})` };
  }
}

/** A synced write into `dir` (the node's data directory, where the store lives): the disk accepts writes. */
export async function syncedWriteProbe(dir: string): Promise<void> {
  const file = await open(join(dir, ".health-probe"), "w");
  try {
    await file.writeFile(String(Date.now()));
    await file.sync();
  } finally {
    await file.close();
  }
}
