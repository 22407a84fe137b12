// Section 4: where the node's time goes under the CPU profiler, and (4.1) the same per update,
// saturated against half load; empty when the profiled run was skipped.
import { fixed, int, table } from "./format.js";
import type { BenchReport, ProfiledRun } from "./types.js";

export function profileSection(report: BenchReport): string[] {
  const p = report.profile;
  if (p === undefined) return [];
  return [
    "## 4. Where the node's time goes (CPU profile)",
    "",
    `One extra run of ${p.channels} channels with the node under \`--cpu-prof\` (${int(p.updatesPerSecond)} updates/s under the profiler). ` +
      `Only the samples inside the load generator's measurement window count (${int(p.summary.samples)} samples, 1 ms interval): ` +
      `${int(p.summary.wallMs)} ms wall, ${int(p.summary.busyMs)} ms busy on the node's main thread, ${int(p.summary.idleMs)} ms idle. ` +
      "Percentages are of busy time. Native work (libsecp256k1, LevelDB's JS side) is charged to the JS function that calls it; fsync runs on libuv's thread pool and is not in the main thread's profile.",
    "",
    table(["component (self time)", "ms", "%"], p.summary.byComponent.map((e) => [e.name, int(e.ms), fixed(e.percent)])),
    "",
    table(["function (self time)", "ms", "%"], p.summary.topSelf.slice(0, 15).map((e) => [`\`${e.name}\``, int(e.ms), fixed(e.percent)])),
    "",
    table(["node/core function (inclusive time)", "ms", "%"], p.summary.topInclusive.slice(0, 15).map((e) => [`\`${e.name}\``, int(e.ms), fixed(e.percent)])),
    "",
    ...perUpdateSection(p, report.profileAtHalfLoad),
  ];
}

/** Main-thread µs per update by component. */
const perUpdate = (run: ProfiledRun) => new Map(run.summary.byComponent.map((e) => [e.name, (e.ms * 1000) / run.updates]));

/** Section 4.1; empty without the half-load profile or when either run counted no update. */
function perUpdateSection(saturated: ProfiledRun, half: ProfiledRun | undefined): string[] {
  if (half === undefined || saturated.updates === 0 || half.updates === 0) return [];
  const a = perUpdate(saturated);
  const b = perUpdate(half);
  const names = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (b.get(y) ?? 0) - (b.get(x) ?? 0));
  return [
    "### 4.1 The same, per update: saturated and at half load",
    "",
    `The node's main-thread time per update by part, in the closed loop above (${int(saturated.updatesPerSecond)} updates/s) and then, on the same node under the same profiler, in the open loop at half the maximum ` +
      `(${int(half.updatesPerSecond)} updates/s, ${half.channels} channels): ${fixed((saturated.summary.busyMs * 1000) / saturated.updates, 0)} against ${fixed((half.summary.busyMs * 1000) / half.updates, 0)} µs busy per update. ` +
      "What grows at the lower rate is paid per wake-up and per store batch, not per update (socket reads and writes, the LevelDB batch call, timers and promises).",
    "",
    table(["component (self time)", "µs/update saturated", "µs/update at half load"], names.map((n) => [n, fixed(a.get(n) ?? 0, 1), fixed(b.get(n) ?? 0, 1)])),
    "",
  ];
}
