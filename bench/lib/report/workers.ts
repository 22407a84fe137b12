// Section 1.4: shard processes of one venue side by side (bench/workers.ts).
import type { WorkersBench } from "../../workers.js";
import { fixed, int, table } from "./format.js";

export function workersSection(w: WorkersBench): string[] {
  return [
    "## 1.4 Workers: shard processes of one venue side by side",
    "",
    `Each worker is a shard process (its own store, engine and port), with a load generator of its own driving ${int(w.channels)} channels of its investors in closed loop; ` +
      `rounds of each worker count take turns, ${w.windowSeconds} s windows started together. updates/s by workers is the median of its rounds; scaling ${fixed(w.scaling, 2)}×.`,
    "",
    table(
      ["workers", "updates/s", "per shard: updates/s, node CPU, generator CPU, generator µs/update, p99 ms", "machine busy", "other processes (% of 1 core)"],
      w.rows.map((row) => [
        row.workers,
        int(row.updatesPerSecond),
        row.perShard.map((s) => `${s.shard}: ${int(s.updatesPerSecond)}, ${fixed(s.nodeCorePercent, 0)}%, ${fixed(s.loadGeneratorCorePercent, 0)}%, ${int(s.loadGeneratorCpuUsPerUpdate)} µs, ${fixed(s.p99Ms, 1)}`).join("; "),
        `${fixed(row.machineBusyPercent, 0)}%`,
        `${fixed(row.otherCorePercent, 0)}%`,
      ]),
    ),
    "",
  ];
}
