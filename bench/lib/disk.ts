// How long one fsync'd LevelDB write takes on this disk: the floor under the latency of a lone
// channel, whose every update waits for its own synced batch (group commit only helps when many
// channels write at once).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";

export interface DiskBench {
  readonly syncedWrites: number;
  /** Median and 99th percentile of one synced put (≈1.5 kB, like a channel record), ms. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export async function measureSyncedWrites(count = 300): Promise<DiskBench> {
  const dir = mkdtempSync(join(tmpdir(), "clearline-bench-disk-"));
  const db = new Level<string, string>(dir);
  try {
    await db.open();
    const value = "x".repeat(1_500);
    const times: number[] = [];
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await db.put(`k/${i % 16}`, value, { sync: true });
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 1000) / 1000;
    return { syncedWrites: count, p50Ms: at(0.5), p99Ms: at(0.99) };
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
