// The node's saved compliance mirror at scale (channel-node/src/compliance-mirror.ts): what a save
// and a restart cost with many holders, before (one-call encoder, schema decoder, one event at a time)
// and after (sliced encoder, hand decoder, events in batches). Used by bench/mirror.ts (alone) and by
// bench/run.ts (section "The compliance mirror at scale" of the report). Saves and events work on the
// facts as the node holds them after a restart (decoded: persistent maps), not on the helper's plain
// `Map`s, which the first update would convert.
//
// Facts: one registry, rules contract and token; every holder has KYC, AML and COUNTRY attributes and
// a balance (test/helpers/large-facts.ts). Each figure is the median of `runs` runs in this process.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  MIRROR_SAVE_CPU_SHARE,
  MIRROR_SAVE_INTERVAL_MS,
  MIRROR_SAVE_SLICE_MS,
  decodeMirrorRecord,
  mirrorRecordText,
} from "../../channel-node/src/compliance-mirror.js";
import { runSliced } from "../../channel-node/src/run-sliced.js";
import { applyEvent, applyEvents, type ComplianceEvent, type ComplianceFacts } from "../../client/protocol/compliance/index.js";
import { complianceFactsFromJson, complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import type { Address } from "../../client/protocol/types.js";
import { LevelStore } from "../../client/store/level-store.js";
import { largeComplianceFacts } from "../../test/helpers/large-facts.js";
import { longestTimerGap } from "../../test/helpers/timer-gap.js";

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function timed(run: () => unknown): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

async function medianOf(runs: number, run: () => Promise<number> | number): Promise<number> {
  const results: number[] = [];
  for (let i = 0; i < runs; i++) results.push(await run());
  return median(results);
}

/** A watcher chunk: `size` events, half Transfers and half AttributeIssued, to existing holders. */
function chunkOf(facts: ComplianceFacts, size: number): ComplianceEvent[] {
  const [jurisdiction] = [...facts.jurisdictions.keys()] as Address[];
  const [token] = [...facts.tokens.keys()] as Address[];
  const holders = [...facts.tokens.values()][0]!.balances.keys();
  const validator = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
  const start = facts.cursor === null ? 1n : facts.cursor.blockNumber + 1n;
  return Array.from({ length: size }, (_, i): ComplianceEvent => {
    const holder = holders.next().value as Address;
    const position = { blockNumber: start + BigInt(i), logIndex: 0 };
    return i % 2 === 0
      ? { name: "Transfer", emitter: token!, from: holder, to: validator, value: 1n, position }
      : { name: "AttributeIssued", emitter: jurisdiction!, account: holder, typeId: 1n, validator, value: 1n, expiresAt: 5_000_000_000n, generation: 0, position };
  });
}

export interface MirrorRow {
  readonly holders: number;
  readonly recordBytes: number;
  readonly before: { readonly encodeMs: number; readonly storeCheckMs: number; readonly decodeMs: number; readonly chunkMs: number };
  readonly after: {
    readonly encodeCpuMs: number;
    readonly longestSliceMs: number;
    readonly slices: number;
    readonly storeWriteMs: number;
    readonly storeWriteLongestGapMs: number;
    readonly saveIntervalS: number;
    readonly decodeMs: number;
    readonly chunkMs: number;
  };
}

/** Measures a save and a restart of the mirror of `holders` holders, before and after; each figure the median of `runs` runs. */
export async function measureMirror(holders: number, runs = 3, chunkSize = 200): Promise<MirrorRow> {
  // The facts as the node holds them after a restart (decoded: persistent maps), for the save too.
  const built = largeComplianceFacts(holders);
  const facts = decodeMirrorRecord(JSON.stringify({ v: 1, startBlock: 0, block: holders, facts: complianceFactsToJson(built) })).facts;
  const record = { startBlock: 0, block: holders, facts };
  const oldText = (): string => JSON.stringify({ v: 1, startBlock: record.startBlock, block: record.block, facts: complianceFactsToJson(facts) });
  const text = oldText();
  const sliced = await runSliced(mirrorRecordText(record), MIRROR_SAVE_SLICE_MS);
  if (sliced.value !== text) throw new Error("the sliced encoder wrote another text than the one-call encoder");
  const runsSliced: { cpuMs: number; longestSliceMs: number; slices: number }[] = [];
  for (let i = 0; i < runs; i++) runsSliced.push(await runSliced(mirrorRecordText(record), MIRROR_SAVE_SLICE_MS));
  const encodeCpuMs = median(runsSliced.map((r) => r.cpuMs));

  const dir = await mkdtemp(join(tmpdir(), "clearline-bench-mirror-"));
  const store = await LevelStore.open(dir);
  let storeWriteMs = 0;
  let storeWriteLongestGapMs = 0;
  try {
    const writes: [number, number][] = [];
    for (let i = 0; i < runs; i++) {
      const start = performance.now();
      const gap = await longestTimerGap(() => store.factsSaved(text));
      writes.push([performance.now() - start, gap]);
    }
    storeWriteMs = median(writes.map(([ms]) => ms));
    storeWriteLongestGapMs = median(writes.map(([, gap]) => gap));
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }

  const chunk = chunkOf(facts, chunkSize);
  return {
    holders,
    recordBytes: Buffer.byteLength(text),
    before: {
      encodeMs: await medianOf(runs, () => timed(oldText)),
      storeCheckMs: await medianOf(runs, () => timed(() => JSON.parse(text))),
      decodeMs: await medianOf(runs, () => timed(() => {
        const value = JSON.parse(text) as { facts: unknown };
        complianceFactsFromJson(value.facts);
      })),
      chunkMs: await medianOf(runs, () => timed(() => chunk.reduce(applyEvent, facts))),
    },
    after: {
      encodeCpuMs,
      longestSliceMs: Math.max(...runsSliced.map((r) => r.longestSliceMs)),
      slices: median(runsSliced.map((r) => r.slices)),
      storeWriteMs,
      storeWriteLongestGapMs,
      saveIntervalS: Math.max(MIRROR_SAVE_INTERVAL_MS, encodeCpuMs / MIRROR_SAVE_CPU_SHARE) / 1_000,
      decodeMs: await medianOf(runs, () => timed(() => decodeMirrorRecord(text))),
      chunkMs: await medianOf(runs, () => timed(() => applyEvents(facts, chunk))),
    },
  };
}

