// bench/report.md and the console summary rendered from the committed bench/report.json: every
// section is there, in order, with the figures of its own rows (expected values recomputed here
// from the JSON, not a golden copy), and a skipped part leaves its section out or says why.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { renderConsole, renderMarkdown, type BenchReport } from "../../bench/lib/report/index.js";
import { goalsOf } from "../../bench/lib/goals.js";

const committed = JSON.parse(readFileSync(new URL("../../bench/report.json", import.meta.url), "utf8")) as BenchReport;
const int = (x: number) => Math.round(x).toLocaleString("en-US");
const cpuUs = (row: { updates: number; cpu: { node: number } }) => int((row.cpu.node * 1e6) / row.updates);
const refused = (refusals: Record<string, number>) => Object.entries(refusals).map(([code, n]) => `${code} ${n}`).join(", ") || "0";

const HEADINGS = [
  "# Clearline benchmark report",
  "## Headline (the top-level fields of report.json)",
  "## Against the goals of the performance issue",
  "## 1. Node throughput",
  "## 1.1 Latency at a fixed rate (open loop)",
  "## 1.1.1 The node's CPU per update by thread",
  "## 1.2 Many connections",
  "## 1.3 The node on PostgreSQL, and failover",
  "## 1.4 Workers: shard processes of one venue side by side",
  "## 2. Crypto ceiling (same run, one core)",
  "## 3. Against published peers",
  "## 4. Where the node's time goes (CPU profile)",
  "### 4.1 The same, per update: saturated and at half load",
  "## 5. Memory per open channel and restart time",
  "## 5.1 Trading: orders and settled fills",
  "## 5.2 The saved compliance mirror with many holders",
  "## 6. Gas of every adjudicator operation",
];

/** The lines of one section: after its heading, up to the next heading. */
function section(markdown: string, heading: string): string[] {
  const lines = markdown.split("\n");
  const start = lines.indexOf(heading);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = lines.findIndex((line, i) => i > start && line.startsWith("#"));
  return lines.slice(start + 1, end === -1 ? undefined : end);
}

/** The body rows of a section's tables (header and rule rows left out), as cells. */
function tableRows(lines: readonly string[]): string[][] {
  const rows: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const isHeader = lines[i + 1]?.startsWith("|---") ?? false;
    if (!line.startsWith("| ") || isHeader) continue;
    rows.push(line.slice(2, -2).split(" | "));
  }
  return rows;
}

describe("bench/report.md from the committed report.json", () => {
  const report = committed;
  const markdown = renderMarkdown(report);
  const rowsOf = (heading: string) => tableRows(section(markdown, heading));

  it("has every section, in order", () => {
    expect(markdown.split("\n").filter((line) => line.startsWith("#"))).toEqual(HEADINGS);
  });

  it("opens with the run's machine and the headline figures", () => {
    expect(markdown).toContain(`(commit ${report.machine.commit}) in ${report.durationSeconds} s on ${report.machine.cpus} × ${report.machine.cpuModel}`);
    const headline = new Map(rowsOf(HEADINGS[1]!).map(([figure, value]) => [figure!.replace(/.*`(\w+)`$/, "$1"), value]));
    expect(headline.get("node_cpu_us_per_update")).toBe(`${report.node_cpu_us_per_update.toFixed(1)} µs`);
    expect(headline.get("ceiling_ratio")).toBe(report.ceiling_ratio.toFixed(3));
    expect(headline.get("max_updates_per_s")).toBe(int(report.max_updates_per_s));
    expect(headline.get("p99_ms_at_half_load")).toBe(`${report.p99_ms_at_half_load!.toFixed(2)} ms`);
    expect(headline.get("updates_per_s_by_workers")).toBe(Object.entries(report.updates_per_s_by_workers).map(([w, r]) => `${w}: ${int(r)}`).join(", "));
    expect(headline.get("heap_bytes_per_channel")).toBe(`${int(report.heap_bytes_per_channel!)} bytes`);
    expect(section(markdown, HEADINGS[1]!)).toContain("Workers are shard processes of one venue, channels sharded by investor (section 1.4).");
  });

  it("gives one row per goal with its verdict", () => {
    const rows = rowsOf(HEADINGS[2]!);
    expect(rows.map((r) => r.slice(0, 4))).toEqual(goalsOf(report).map((g) => [g.goal, g.target, g.measured, g.met === undefined ? "not measured" : g.met ? "yes" : "**no**"]));
  });

  it("gives each closed-loop run's rate, latency and node CPU, and the cross-checks", () => {
    const rows = rowsOf(HEADINGS[3]!);
    expect(rows.map((r) => [r[0], r[1], r[2], r[4], r[7], r[11]])).toEqual(
      report.throughput.map((t) => [String(t.channels), int(t.updatesPerSecond), t.latencyMs.p50.toFixed(2), t.latencyMs.p99.toFixed(2), cpuUs(t), refused(t.refusals)]),
    );
    const lines = section(markdown, HEADINGS[3]!);
    const first = report.throughput[0]!;
    expect(lines.find((l) => l.startsWith("Cross-checks per run"))).toContain(`${first.channels}: node counted ${int(first.nodeMetrics.updates)}`);
    expect(lines.find((l) => l.startsWith("Disk:"))).toContain(`${report.disk.p50Ms.toFixed(3)} ms (p50; p99 ${report.disk.p99Ms.toFixed(3)} ms)`);
    expect(lines.find((l) => l.startsWith("Fairness"))).toContain(`${first.channels}: ${first.perChannel.min} / ${first.perChannel.max}`);
  });

  it("gives each open-loop run's offered share, p99 and store batches", () => {
    const rows = rowsOf(HEADINGS[4]!);
    expect(rows.map((r) => [r[0], r[1], r[2], r[5], r[9]])).toEqual(
      report.openLoop.map((o) => [String(o.channels), int(o.offeredPerSecond!), `${Math.round(o.loadFraction * 100)}%`, o.latencyMs.p99.toFixed(2), cpuUs(o)]),
    );
    for (const [i, o] of report.openLoop.entries()) expect(rows[i]![10]).toMatch(new RegExp(`^${int(o.stalls.node.storeBatches!.count)} \\(`));
  });

  it("splits every run's node CPU by thread", () => {
    const rows = rowsOf(HEADINGS[5]!);
    expect(rows.map((r) => [r[0], r[1], r[8]])).toEqual([
      ...report.throughput.map((t) => ["closed", String(t.channels), cpuUs(t)]),
      ...report.openLoop.map((o) => [`open, ${Math.round(o.loadFraction * 100)}%`, String(o.channels), cpuUs(o)]),
    ]);
    for (const [i, t] of report.throughput.entries()) {
      const main = t.cpu.nodeThreads!["main"]!;
      expect(rows[i]!.slice(3, 5)).toEqual([int((main.userSeconds * 1e6) / t.updates), int((main.systemSeconds * 1e6) / t.updates)]);
    }
    // The parts add up to the total (each rounded on its own).
    for (const r of rows) {
      const parts = r.slice(3, 8).map((cell) => Number(cell.replace(/,/g, "")));
      expect(Math.abs(parts.reduce((a, b) => a + b, 0) - Number(r[8]!.replace(/,/g, "")))).toBeLessThanOrEqual(5);
    }
  });

  it("counts the connections of the many-connections runs", () => {
    expect(rowsOf(HEADINGS[6]!).map((r) => [r[0], r[1], r[6]])).toEqual(report.connections.map((c) => [int(c.channels + c.idleConnections), String(c.channels), cpuUs(c)]));
  });

  it("puts PostgreSQL beside LevelDB and gives the failover rounds", () => {
    const pg = report.postgres!;
    if (pg.skipped !== undefined) throw new Error("the committed report measured PostgreSQL");
    const level = new Map(report.throughput.map((t) => [t.channels, t.updatesPerSecond]));
    const rows = rowsOf(HEADINGS[7]!);
    const pgRows = rows.filter((r) => r.length === 8);
    expect(pgRows.map((r) => [r[0], r[1], r[2], r[3]])).toEqual(
      pg.throughput.map((t) => [String(t.channels), int(level.get(t.channels)!), int(t.updatesPerSecond), `${((t.updatesPerSecond / level.get(t.channels)!) * 100).toFixed(0)}%`]),
    );
    expect(rows.filter((r) => r.length === 3).map((r) => r[2])).toEqual(pg.failover.samples.map((s) => int(s.ms)));
    expect(section(markdown, HEADINGS[7]!)).toContain(`**Failover: median ${int(pg.failover.medianMs)} ms, max ${int(pg.failover.maxMs)} ms** with the default lease.`);
  });

  it("gives each workers round with its shards", () => {
    const w = report.workers!;
    const rows = rowsOf(HEADINGS[8]!);
    expect(rows.map((r) => [r[0], r[1]])).toEqual(w.rows.map((row) => [String(row.workers), int(row.updatesPerSecond)]));
    for (const [i, row] of w.rows.entries()) expect(rows[i]![2]!.split("; ")).toHaveLength(row.perShard.length);
  });

  it("gives the crypto ceiling: one native verify and one native sign", () => {
    const native = report.crypto.signers.find((s) => s.implementation === "native")!;
    const ceiling = 1 / (1 / native.signPerSecond + 1 / native.verifyPerSecond);
    const rows = rowsOf(HEADINGS[9]!);
    expect(rows).toContainEqual(["**ceiling: 1 native verify + 1 native sign per update**", `**${int(ceiling)}**`]);
    expect(rows).toContainEqual(["sign (native)", int(native.signPerSecond)]);
    const first = report.throughput[0]!;
    expect(rows).toContainEqual(expect.arrayContaining([String(first.channels), int(first.updatesPerSecond), `${((first.updatesPerSecond / ceiling) * 100).toFixed(1)}%`]));
  });

  it("sets the best rate against the published peers", () => {
    const best = Math.max(...report.throughput.map((t) => t.updatesPerSecond));
    const rows = rowsOf(HEADINGS[10]!);
    expect(rows[0]![1]).toBe(int(best));
    expect(rows).toContainEqual(["Celer (published, one node)", "4,000", `${(best / 4_000).toFixed(2)}×`]);
  });

  it("lists the profile's components, and per update at half load", () => {
    const p = report.profile!;
    const lines = section(markdown, HEADINGS[11]!);
    expect(lines.join("\n")).toContain(`(${int(p.summary.samples)} samples, 1 ms interval)`);
    const components = tableRows(lines.slice(0, lines.findIndex((l) => l.startsWith("| function"))));
    expect(components.map((r) => r[0])).toEqual(p.summary.byComponent.map((e) => e.name));
    const half = report.profileAtHalfLoad!;
    const perUpdate = rowsOf(HEADINGS[12]!);
    const top = half.summary.byComponent.reduce((a, b) => (b.ms / half.updates > a.ms / half.updates ? b : a));
    expect(perUpdate[0]![0]).toBe(top.name);
    expect(perUpdate[0]![2]).toBe(((top.ms * 1000) / half.updates).toFixed(1));
  });

  it("gives memory and restart per store size, and the slope per channel", () => {
    const rows = rowsOf(HEADINGS[13]!);
    expect(rows.map((r) => [r[0], r[1], r[4]])).toEqual(report.memory.map((m) => [int(m.channels), int(m.storedUpdates), int(m.startMs)]));
    const [first, last] = [report.memory[0]!, report.memory[report.memory.length - 1]!];
    const heapKiB = (last.heapUsedBytes - first.heapUsedBytes) / (last.channels - first.channels) / 1024;
    expect(section(markdown, HEADINGS[13]!).join("\n")).toContain(`**Per open channel: ${heapKiB.toFixed(2)} KiB of V8 heap`);
  });

  it("gives the trading rates and their profile", () => {
    const t = report.trading!;
    const rows = rowsOf(HEADINGS[14]!);
    expect(rows[0]!.slice(0, 2)).toEqual([t.ordersAcceptedPerSecond.toFixed(1), t.fillsSettledPerSecond.toFixed(1)]);
    expect(rows[0]![8]).toBe(`${int(t.settledTotal)} / ${int(t.failedTotal)}`);
    expect(rows.slice(1, 1 + t.profile!.byComponent.length).map((r) => r[0])).toEqual(t.profile!.byComponent.map((e) => e.name));
  });

  it("gives the saved mirror per holder count", () => {
    expect(rowsOf(HEADINGS[15]!).map((r) => [r[0], r[1]])).toEqual(report.mirror!.map((m) => [int(m.holders), `${(m.recordBytes / 1e6).toFixed(1)} MB`]));
  });

  it("gives the gas of every operation against its anchor, and the issuer's paths", () => {
    const { oneAsset, twoAssets, anchors, issuer } = report.gas;
    const rows = rowsOf(HEADINGS[16]!);
    const operations = Object.keys({ ...oneAsset, ...twoAssets });
    expect(rows.slice(0, operations.length).map((r) => r.slice(0, 3))).toEqual(operations.map((o) => [o, int(oneAsset[o]!), int(twoAssets[o]!)]));
    const anchored = operations.find((o) => anchors[o] !== undefined)!;
    const [, , , anchor, verdict] = rows[operations.indexOf(anchored)]!;
    expect(anchor).toBe(int(anchors[anchored]!));
    expect(verdict).toMatch(oneAsset[anchored]! <= anchors[anchored]! ? /^-?\d+\.\d% \(at or below\)$/ : /^\+\d+\.\d%$/);
    expect(rows.slice(operations.length)).toEqual(Object.entries(issuer).map(([o, gas]) => [o, int(gas)]));
  });
});

describe("bench/report.md of a run that skipped parts", () => {
  const report: BenchReport = {
    ...committed,
    updates_per_s_by_workers: { "1": committed.max_updates_per_s },
    throughput: committed.throughput.map((t, i) => (i === 0 ? { ...t, refusals: { BUSY: 3, RATE_LIMITED: 1 } } : t)),
    openLoop: [],
    connections: [],
    profileAtHalfLoad: undefined,
    postgres: { skipped: "PostgreSQL is not installed" },
    workers: undefined,
    trading: undefined,
    mirror: [],
  };
  const markdown = renderMarkdown(report);

  it("leaves out the sections it did not measure and says why PostgreSQL is missing", () => {
    expect(markdown.split("\n").filter((line) => line.startsWith("#"))).toEqual(HEADINGS.filter((_, i) => ![4, 6, 8, 12, 14, 15].includes(i)));
    expect(section(markdown, HEADINGS[7]!)).toEqual(["", "Not measured in this run: PostgreSQL is not installed.", ""]);
    expect(section(markdown, HEADINGS[1]!)).toContain("Only the 1-worker figure: the workers section (shard processes side by side) was skipped in this run.");
    expect(tableRows(section(markdown, HEADINGS[3]!))[0]![11]).toBe("BUSY 3, RATE_LIMITED 1");
    // The thread split keeps the closed-loop runs only.
    expect(tableRows(section(markdown, HEADINGS[5]!)).map((r) => r[0])).toEqual(report.throughput.map(() => "closed"));
  });

  it("prints the skipped PostgreSQL run on the console", () => {
    expect(renderConsole(report).split("\n")).toContain("postgres: skipped (PostgreSQL is not installed)");
  });
});

describe("the console summary from the committed report.json", () => {
  const report = committed;
  const lines = renderConsole(report).split("\n");

  it("starts with the headline figures", () => {
    expect(lines[1]).toMatch(new RegExp(`^headline: node CPU ${report.node_cpu_us_per_update.toFixed(1)} µs/update, crypto floor ${report.crypto_floor_us_per_update.toFixed(1)} µs, ratio ${report.ceiling_ratio.toFixed(3)}, max ${int(report.max_updates_per_s)}/s`));
  });

  it("gives one line per closed-loop run, then the ceiling, the profile, memory, PostgreSQL, trading and gas", () => {
    const header = lines.findIndex((l) => l.startsWith("channels "));
    expect(lines.slice(header + 1, header + 1 + report.throughput.length).map((l) => l.split(/\s+/).slice(0, 2))).toEqual(report.throughput.map((t) => [String(t.channels), int(t.updatesPerSecond)]));
    expect(lines.some((l) => l.startsWith("crypto ceiling (native, one core): "))).toBe(true);
    expect(lines).toContain(`profile (${report.profile!.channels} channels), top components of the node's busy time:`);
    expect(lines.filter((l) => / channels: \/health after /.test(l))).toHaveLength(report.memory.length);
    expect(lines.some((l) => l.startsWith("node on PostgreSQL "))).toBe(true);
    expect(lines.some((l) => l.startsWith(`trading (${report.trading!.pairs} pairs in closed loop): `))).toBe(true);
    const gas = lines.indexOf("gas (1 asset | 2 assets | anchor)");
    const operations = Object.keys({ ...report.gas.oneAsset, ...report.gas.twoAssets });
    expect(lines.slice(gas + 1).map((l) => l.slice(2, 42).trimEnd())).toEqual(operations.map((o) => o.slice(0, 40)));
  });
});
