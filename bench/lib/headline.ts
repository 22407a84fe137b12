// The headline figures at the top level of bench/report.json (docs/performance.md, "Headline
// figures"), derived from the run's raw rows, and the schema they must satisfy. Figures a run did not
// measure (no latency runs, no store of 100,000 channels) are left out rather than estimated.
import { z } from "zod";

export class HeadlineError extends Error {
  readonly code = "BENCH_INCOMPLETE";
  constructor(message: string) {
    super(message);
    this.name = "HeadlineError";
  }
}

const nonNegative = z.number().finite().nonnegative();
const positive = z.number().finite().positive();

export const headlineSchema = z.object({
  /** Node CPU µs per update, best multi-channel closed-loop row. */
  node_cpu_us_per_update: positive,
  /** One native verify + one native sign, µs, measured in the same run. */
  crypto_floor_us_per_update: positive,
  /** crypto_floor_us_per_update ÷ node_cpu_us_per_update. The node does that verify and sign itself and
   *  more, so a ratio above 1 means its CPU was undercounted. */
  ceiling_ratio: positive.max(1),
  max_updates_per_s: positive,
  /** Worker count ("1", "2", …) → updates/s. */
  updates_per_s_by_workers: z.record(z.string().regex(/^[1-9][0-9]*$/), positive).refine((o) => "1" in o, "the 1-worker figure is required"),
  p99_ms_at_half_load: nonNegative.optional(),
  restart_s_100k_channels: positive.optional(),
  heap_bytes_per_channel: z.number().finite().optional(),
});

export type Headline = z.output<typeof headlineSchema>;

/** What the headline is derived from (a subset of the report). */
export interface HeadlineInput {
  readonly crypto: { readonly signers: readonly { readonly implementation: string; readonly signPerSecond: number; readonly verifyPerSecond: number }[] };
  /** Closed-loop rows. */
  readonly throughput: readonly { readonly channels: number; readonly updates: number; readonly updatesPerSecond: number; readonly cpu: { readonly node: number } }[];
  /** Open-loop rows, each with the fraction of max_updates_per_s it was offered. */
  readonly openLoop?: readonly { readonly loadFraction: number; readonly latencyMs: { readonly p99: number } }[];
  readonly memory: readonly { readonly channels: number; readonly startMs: number; readonly heapUsedBytes: number }[];
  /** The workers section (bench/workers.ts): worker count → updates/s, measured side by side. */
  readonly workers?: { readonly byWorkers: Readonly<Record<string, number>> };
}

/** The channel count whose restart the headline quotes. */
export const HEADLINE_RESTART_CHANNELS = 100_000;
export const HALF_LOAD = 0.5;

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

export function headlineOf(input: HeadlineInput): Headline {
  const native = input.crypto.signers.find((s) => s.implementation === "native");
  if (native === undefined) throw new HeadlineError("the crypto floor needs the native signer's figures");
  const multi = input.throughput.filter((row) => row.channels > 1 && row.updates > 0 && row.cpu.node > 0);
  if (multi.length === 0) throw new HeadlineError("node CPU per update needs a closed-loop row of more than one channel");
  const nodeCpuUs = Math.min(...multi.map((row) => (row.cpu.node * 1e6) / row.updates));
  const floorUs = 1e6 / native.signPerSecond + 1e6 / native.verifyPerSecond;
  const max = Math.max(...input.throughput.map((row) => row.updatesPerSecond));

  const half = (input.openLoop ?? []).filter((row) => row.loadFraction === HALF_LOAD);
  const restart = input.memory.find((row) => row.channels === HEADLINE_RESTART_CHANNELS);
  const stores = [...input.memory].sort((a, b) => a.channels - b.channels);
  const [first, last] = [stores[0], stores[stores.length - 1]];
  const span = first !== undefined && last !== undefined ? last.channels - first.channels : 0;

  return headlineSchema.parse({
    node_cpu_us_per_update: round(nodeCpuUs, 1),
    crypto_floor_us_per_update: round(floorUs, 1),
    ceiling_ratio: round(floorUs / nodeCpuUs, 3),
    max_updates_per_s: max,
    // The workers section's figures when it ran (same channels and window for every count, so the
    // ratio compares like with like); otherwise the best one-process row.
    updates_per_s_by_workers: input.workers?.byWorkers ?? { "1": max },
    ...(half.length === 0 ? {} : { p99_ms_at_half_load: Math.max(...half.map((row) => row.latencyMs.p99)) }),
    ...(restart === undefined ? {} : { restart_s_100k_channels: round(restart.startMs / 1000, 2) }),
    ...(span > 0 ? { heap_bytes_per_channel: Math.round((last!.heapUsedBytes - first!.heapUsedBytes) / span) } : {}),
  });
}
