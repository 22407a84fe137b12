// Where a process's CPU goes by thread, for the load runs (bench/load.ts): its main thread (the
// JavaScript event loop) apart from libuv's workers (fsync, LevelDB's reads and writes), V8's
// helpers (GC, compilation) and any other thread, each split into user and kernel time. A node that
// is busy on its main thread is CPU-bound there; kernel time on the main thread is its socket work.
import { readFileSync, readdirSync } from "node:fs";

const CLOCK_TICKS_PER_SECOND = 100;

export interface ThreadCpu {
  readonly name: string;
  readonly userSeconds: number;
  readonly systemSeconds: number;
}

/** CPU by thread of process `pid` so far (tid → name, user and system seconds); empty where /proc does not say. */
export function threadCpuOf(pid: number): Map<number, ThreadCpu> {
  const threads = new Map<number, ThreadCpu>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      threads.set(Number(tid), { name, userSeconds: Number(fields[11]) / CLOCK_TICKS_PER_SECOND, systemSeconds: Number(fields[12]) / CLOCK_TICKS_PER_SECOND });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

export type ThreadGroups = Record<string, { readonly threads: number; readonly userSeconds: number; readonly systemSeconds: number }>;

/**
 * CPU spent between two readings, by group: `main` (tid = pid) and otherwise the thread's name
 * (`libuv-worker`, `V8 DefaultWorke`, ...). A thread that ended in between is not counted.
 */
export function threadGroupsBetween(pid: number, before: ReadonlyMap<number, ThreadCpu>, after: ReadonlyMap<number, ThreadCpu>): ThreadGroups {
  const groups: Record<string, { threads: number; userSeconds: number; systemSeconds: number }> = {};
  for (const [tid, end] of after) {
    const start = before.get(tid) ?? { userSeconds: 0, systemSeconds: 0 };
    const key = tid === pid ? "main" : end.name;
    const group = (groups[key] ??= { threads: 0, userSeconds: 0, systemSeconds: 0 });
    group.threads += 1;
    group.userSeconds = round2(group.userSeconds + end.userSeconds - start.userSeconds);
    group.systemSeconds = round2(group.systemSeconds + end.systemSeconds - start.systemSeconds);
  }
  return groups;
}

const round2 = (x: number) => Math.round(x * 100) / 100;
