// The node's saved compliance mirror at scale, alone (bench/lib/mirror.ts): prints a table.
// Run: npx tsx bench/mirror.ts --holders 10000,100000 [--runs 3] [--chunk 200] [--json]
import { parseArgs } from "node:util";
import { measureMirror, type MirrorRow } from "./lib/mirror.js";

const { values } = parseArgs({
  options: {
    holders: { type: "string", default: "10000,100000" },
    runs: { type: "string", default: "3" },
    chunk: { type: "string", default: "200" },
    json: { type: "boolean", default: false },
  },
});
const holderCounts = values.holders.split(",").map(Number);
const RUNS = Number(values.runs);
const CHUNK = Number(values.chunk);

const rows: MirrorRow[] = [];
for (const holders of holderCounts) rows.push(await measureMirror(holders, RUNS, CHUNK));

if (values.json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  const ms = (x: number): string => x.toFixed(x < 10 ? 1 : 0);
  console.log(`median of ${RUNS} runs; a watcher chunk = ${CHUNK} events (half Transfer, half AttributeIssued)`);
  console.log("| holders | record | encode: one call → sliced CPU (longest slice, slices) | store check (JSON.parse, before) | LevelDB write (longest 5 ms timer gap) | save interval | decode: schema → hand | chunk: per event → batch |");
  console.log("|---:|---:|---|---:|---|---:|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.holders.toLocaleString("en-US")} | ${(r.recordBytes / 1e6).toFixed(1)} MB | ${ms(r.before.encodeMs)} ms → ${ms(r.after.encodeCpuMs)} ms (${ms(r.after.longestSliceMs)} ms, ${r.after.slices}) | ${ms(r.before.storeCheckMs)} ms | ${ms(r.after.storeWriteMs)} ms (${ms(r.after.storeWriteLongestGapMs)} ms) | ${r.after.saveIntervalS.toFixed(0)} s | ${ms(r.before.decodeMs)} ms → ${ms(r.after.decodeMs)} ms | ${ms(r.before.chunkMs)} ms → ${ms(r.after.chunkMs)} ms |`,
    );
  }
}
