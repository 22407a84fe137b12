// The benchmark's report (bench/report.json, bench/report.md and the console summary): its shape
// (types.ts), one module per section of report.md, and the two renderings.
export type { BenchReport, MemoryRow, OpenLoopRow, ProfiledRun, ThroughputRow } from "./types.js";
export { renderMarkdown } from "./markdown.js";
export { renderConsole } from "./console.js";
