// Store write throughput: synced writes one by one versus group commit under concurrency.
// Run: npx tsx bench/store.ts [writes]   (not a test; prints a table)
//
// Every "write" is one stateAgreed (channel record + history entry, one atomic synced batch share).
// Raw LevelDB puts are measured alongside as the floor/ceiling for the same disk.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { LevelStore } from "../client/store/level-store.js";
import { newChannel, paymentUpdate, signedState } from "../test/store/fixtures.js";

const WRITES = Number(process.argv[2] ?? 4000);
const CHANNELS = 100;

interface Row {
  readonly mode: string;
  readonly writes: number;
  readonly seconds: number;
  readonly batches?: number;
}

const rows: Row[] = [];
const dirs: string[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clearline-bench-store-"));
  dirs.push(dir);
  return dir;
}

async function time(run: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function rawLevel(): Promise<void> {
  const db = new Level<string, string>(await tempDir());
  await db.open();
  const value = "x".repeat(1500);
  const n = Math.min(WRITES, 2000);
  rows.push({
    mode: "raw LevelDB put, sync, one by one",
    writes: n,
    seconds: await time(async () => {
      for (let i = 0; i < n; i++) await db.put(`a/${i}`, value, { sync: true });
    }),
  });
  rows.push({
    mode: "raw LevelDB, one synced batch",
    writes: WRITES,
    seconds: await time(() => db.batch(Array.from({ length: WRITES }, (_, i) => ({ type: "put" as const, key: `b/${i}`, value })), { sync: true })),
    batches: 1,
  });
  await db.close();
}

/** A fresh store with CHANNELS channels and a generator of the next state for each. */
async function freshStore() {
  const store = await LevelStore.open(await tempDir());
  const channels = Array.from({ length: CHANNELS }, (_, i) => newChannel(i));
  await Promise.all(channels.map((c) => store.channelCreated(c)));
  const nonces = channels.map(() => 0n);
  const next = (i: number) => {
    const c = channels[i % CHANNELS]!;
    const nonce = (nonces[i % CHANNELS]! += 1n);
    return store.stateAgreed(c.channelId, signedState(c, nonce), paymentUpdate(nonce));
  };
  return { store, next, baseline: store.stats.batches };
}

async function oneByOne(): Promise<void> {
  const { store, next, baseline } = await freshStore();
  const n = Math.min(WRITES, 2000);
  const seconds = await time(async () => {
    for (let i = 0; i < n; i++) await next(i);
  });
  rows.push({ mode: "stateAgreed, awaited one by one", writes: n, seconds, batches: store.stats.batches - baseline });
  await store.close();
}

async function allAtOnce(): Promise<void> {
  const { store, next, baseline } = await freshStore();
  const seconds = await time(async () => {
    await Promise.all(Array.from({ length: WRITES }, (_, i) => next(i)));
  });
  rows.push({ mode: `stateAgreed, all ${WRITES} concurrent`, writes: WRITES, seconds, batches: store.stats.batches - baseline });
  await store.close();
}

/** `inFlight` independent writers, each awaiting its own write before the next (like sessions). */
async function writers(inFlight: number): Promise<void> {
  const { store, next, baseline } = await freshStore();
  let issued = 0;
  const seconds = await time(async () => {
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (issued < WRITES) await next(issued++);
      }),
    );
  });
  rows.push({ mode: `stateAgreed, ${inFlight} concurrent writers`, writes: WRITES, seconds, batches: store.stats.batches - baseline });
  await store.close();
}

try {
  await rawLevel();
  await oneByOne();
  await writers(16);
  await writers(64);
  await allAtOnce();

  console.log(`LevelDB store bench: ${WRITES} writes, ${CHANNELS} channels, dir ${tmpdir()}, Node ${process.version}\n`);
  console.log("| mode | writes | writes/s | ms/write | batches | writes/batch |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const perSecond = row.writes / row.seconds;
    const batches = row.batches ?? "";
    const perBatch = row.batches === undefined ? "" : (row.writes / row.batches).toFixed(1);
    console.log(`| ${row.mode} | ${row.writes} | ${Math.round(perSecond).toLocaleString("en")} | ${(1000 / perSecond).toFixed(3)} | ${batches} | ${perBatch} |`);
  }
} finally {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
