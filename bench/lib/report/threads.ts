// Section 1.1.1: the node's CPU per update split by thread (main, libuv workers, the rest), user and
// kernel time, for every closed- and open-loop run that measured its threads.
import { nodeCpuUsPerUpdate } from "./derive.js";
import { fixed, int, table } from "./format.js";
import type { BenchReport, OpenLoopRow, ThroughputRow } from "./types.js";

type TimeKind = "userSeconds" | "systemSeconds";

/** µs per update that the node's threads whose name `pick` accepts spent in `kind` time. */
const groupUs = (row: ThroughputRow, pick: (name: string) => boolean, kind: TimeKind) =>
  (Object.entries(row.cpu.nodeThreads ?? {}).filter(([name]) => pick(name)).reduce((sum, [, g]) => sum + g[kind], 0) * 1e6) / row.updates;
const isMain = (name: string) => name === "main";
const isLibuv = (name: string) => name === "libuv-worker";
const isOther = (name: string) => !isMain(name) && !isLibuv(name);

export function threadsSection(report: BenchReport): string[] {
  const rows = [...report.throughput, ...report.openLoop].filter((row) => row.updates > 0 && row.cpu.nodeThreads !== undefined);
  if (rows.length === 0) return [];
  return [
    "## 1.1.1 The node's CPU per update by thread",
    "",
    "From /proc/<pid>/task at the window's edges: the main thread (the JavaScript event loop: parsing, checks, crypto, the store's encoding, socket reads and writes), " +
      "libuv's workers (LevelDB's writes and the fsync of every batch), V8's helper threads (concurrent GC and compilation, named `node`) and the rest; " +
      "user and kernel (sys) time, µs per counted update. Fewer updates per store batch and per wake-up (the open loop at a fixed rate) cost each update more.",
    "",
    table(
      ["run", "channels", "updates/s", "main user", "main sys", "libuv workers user", "libuv workers sys", "other threads", "node total µs/update"],
      rows.map((row) => [
        row.mode === "open" ? `open, ${fixed(((row as OpenLoopRow).loadFraction ?? 0) * 100, 0)}%` : "closed",
        row.channels,
        int(row.updatesPerSecond),
        int(groupUs(row, isMain, "userSeconds")),
        int(groupUs(row, isMain, "systemSeconds")),
        int(groupUs(row, isLibuv, "userSeconds")),
        int(groupUs(row, isLibuv, "systemSeconds")),
        int(groupUs(row, isOther, "userSeconds") + groupUs(row, isOther, "systemSeconds")),
        int(nodeCpuUsPerUpdate(row)),
      ]),
    ),
    "",
  ];
}
