// Section 5.2 (mirror): the saved compliance mirror with many holders (bench/lib/mirror.ts); empty when skipped.
import type { MirrorRow } from "../mirror.js";
import { fixed, int, table } from "./format.js";

/** ms with one decimal below 10, whole above. */
const ms = (x: number) => fixed(x, x < 10 ? 1 : 0);

export function mirrorSection(rows: readonly MirrorRow[]): string[] {
  if (rows.length === 0) return [];
  return [
    "## 5.2 The saved compliance mirror with many holders",
    "",
    "The node saves its mirror of the compliance facts (every holder's attributes and balance) in its store and restores it at restart. " +
      "Facts of one registry, rules contract and token; every holder with KYC, AML and COUNTRY attributes and a balance; medians in the bench's own process. " +
      "A save encodes the facts in slices across event-loop turns (the longest slice is the longest the node's loop waits for it), then writes one value to LevelDB; " +
      "a large mirror is saved less often (at most ~2 % of the main thread). \"Before\" is the one-call encoder, the schema decoder and events applied one at a time.",
    "",
    table(
      ["holders", "record", "encode before (one call)", "encode now (CPU, longest slice)", "LevelDB write (longest 5 ms timer gap)", "saved every", "decode at restart: before → now", "a watcher chunk: before → now"],
      rows.map((r) => [
        int(r.holders),
        `${fixed(r.recordBytes / 1e6, 1)} MB`,
        `${ms(r.before.encodeMs)} ms`,
        `${ms(r.after.encodeCpuMs)} ms (${ms(r.after.longestSliceMs)} ms)`,
        `${ms(r.after.storeWriteMs)} ms (${ms(r.after.storeWriteLongestGapMs)} ms)`,
        `${fixed(r.after.saveIntervalS, 0)} s`,
        `${ms(r.before.decodeMs)} → ${ms(r.after.decodeMs)} ms`,
        `${ms(r.before.chunkMs)} → ${ms(r.after.chunkMs)} ms`,
      ]),
    ),
    "",
  ];
}
