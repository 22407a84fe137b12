// The LevelDB store: the shared store suite (store-suite.ts) and storage suite (storage-suite.ts) on
// real LevelDB directories, through a Level instance whose batches the tests can fail, hold and
// record; then what only LevelDB has: the keys a batch writes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { LevelStore, type LevelStoreOptions } from "../../client/store/level-store.js";
import { newChannel, paymentUpdate, signedState } from "./fixtures.js";
import { storeSuite } from "./store-suite.js";
import { storageSuite, type StorageOptions } from "./storage-suite.js";

const CRASH_WRITER = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));

const dirs: string[] = [];
const stores: LevelStore[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clearline-store-"));
  dirs.push(dir);
  return dir;
}

async function cleanup(): Promise<void> {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

/** A Level instance whose batch() can be made to fail or wait, and which records every batch. */
function instrumentedDb(dir: string) {
  const db = new Level<string, string>(dir);
  const batches: { key: string }[][] = [];
  const control = { fail: false, gate: null as Promise<void> | null };
  const original = db.batch.bind(db) as (ops: unknown, options: unknown) => Promise<void>;
  (db as unknown as { batch: (ops: { key: string }[], options: unknown) => Promise<void> }).batch = async (ops, options) => {
    if (control.gate !== null) await control.gate;
    if (control.fail) throw new Error("injected disk failure");
    batches.push(ops);
    return original(ops, options);
  };
  return { db, batches, control };
}

type Control = ReturnType<typeof instrumentedDb>["control"];
const opened = new WeakMap<LevelStore, { dir: string; control: Control }>();

/** Opens the store in `dir` through an instrumented Level instance. */
async function openAt(dir: string, options: StorageOptions = {}): Promise<LevelStore> {
  const { db, control } = instrumentedDb(dir);
  const levelOptions: LevelStoreOptions = {
    ...(options.chain === undefined ? {} : { chain: options.chain }),
    ...(options.maxBatchWrites === undefined ? {} : { maxBatchOps: options.maxBatchWrites }),
  };
  const store = await LevelStore.open(db, levelOptions).catch(async (error: unknown) => {
    await db.close().catch(() => undefined);
    throw error;
  });
  stores.push(store);
  opened.set(store, { dir, control });
  return store;
}

const of = (store: LevelStore) => opened.get(store)!;

/** Rewrites one key of the (closed) store in `dir`; resolves with its previous value. */
async function rewrite(dir: string, key: string, value: (old: string | undefined) => string): Promise<string | undefined> {
  const raw = new Level<string, string>(dir);
  try {
    const old = await raw.get(key);
    await raw.put(key, value(old));
    return old;
  } finally {
    await raw.close();
  }
}

storeSuite("LevelStore", {
  create: async () => openAt(await tempDir()),
  async reopen(store) {
    await store.close();
    return openAt(of(store).dir);
  },
  batches: (store) => store.stats.batches,
  cleanup,
});

storageSuite("LevelStore", {
  create: async (options) => openAt(await tempDir(), options),
  openAgain: (store, options) => openAt(of(store).dir, options),
  stats: (store) => ({ batches: store.stats.batches, events: store.stats.events, writes: store.stats.ops, largestBatch: store.stats.largestBatch }),
  async failWrites(store) {
    const { control } = of(store);
    control.fail = true;
    return { undo: async () => void (control.fail = false) };
  },
  async holdWrites(store) {
    const { control } = of(store);
    let open!: () => void;
    control.gate = new Promise((resolve) => (open = resolve));
    return {
      async release() {
        control.gate = null;
        open();
      },
    };
  },
  damages(store, channelId) {
    const { dir } = of(store);
    let good: string | undefined;
    let version: string | undefined;
    return [
      {
        what: "a channel record with an unknown status",
        apply: async () => void (good = await rewrite(dir, `ch/${channelId}`, (old) => old!.replace('"status":"proposed"', '"status":"lost"'))),
        repair: async () => void (await rewrite(dir, `ch/${channelId}`, () => good!)),
      },
      {
        what: "an unknown schema version",
        apply: async () => void (version = await rewrite(dir, "meta/version", () => "99")),
        repair: async () => void (await rewrite(dir, "meta/version", () => version!)),
      },
    ];
  },
  crashWriter: (store, channels) => [CRASH_WRITER, of(store).dir, String(channels)],
  crash: { rounds: 5, channels: 32, killAfter: [300, 1500], timeoutMs: 120_000 },
  wrongChainNames: (store) => of(store).dir,
  cleanup,
});

describe("LevelStore specifics", () => {
  afterEach(cleanup);

  it("a batch writes each agreed state's record and history entry together, whatever the batch limit (the keys on disk)", async () => {
    const dir = await tempDir();
    const { db, batches } = instrumentedDb(dir);
    const store = await LevelStore.open(db, { maxBatchOps: 5 });
    stores.push(store);
    const channels = Array.from({ length: 10 }, (_, i) => newChannel(i));
    await Promise.all(channels.map((c) => store.channelCreated(c)));
    batches.length = 0;
    await Promise.all(
      channels.flatMap((c) => [1n, 2n, 3n].map((n) => store.stateAgreed(c.channelId, signedState(c, n), paymentUpdate(n)))),
    );
    expect(batches.length).toBeGreaterThan(1);
    for (const ops of batches) {
      expect(ops.length % 2).toBe(0);
      expect(ops.length).toBeLessThanOrEqual(5);
      for (let i = 0; i < ops.length; i += 2) {
        const id = ops[i]!.key.slice("ch/".length);
        expect(ops[i]!.key.startsWith("ch/")).toBe(true);
        expect(ops[i + 1]!.key.startsWith(`hist/${id}/`)).toBe(true);
      }
    }
    expect(batches.flat()).toHaveLength(60);
  });

  it("opens a store of more records and event ids than one read step holds (read together, the next step while one decodes); a damaged record past the first step is CORRUPT and leaves the directory to reopen", async () => {
    const dir = await tempDir();
    const first = await LevelStore.open(dir, { sync: false });
    const channels = Array.from({ length: 2_500 }, (_, i) => newChannel(i));
    await Promise.all(channels.flatMap((c, i) => [first.channelCreated(c), first.channelOpened(c.channelId, `opened-${i}`), first.stateAgreed(c.channelId, signedState(c, 1n), paymentUpdate(1n))]));
    await first.close();

    const store = await LevelStore.open(dir);
    expect((await store.channels()).map((r) => r.channelId)).toEqual(channels.map((c) => c.channelId).sort());
    expect((await store.channel(channels[2_222]!.channelId))?.latest?.state.nonce).toBe(1n);
    // Applied event ids are known from memory: applying one again writes nothing.
    expect(await store.channelOpened(channels[2_400]!.channelId, "opened-2400")).toBe(false);
    await store.close();

    const damaged = [...channels.map((c) => c.channelId)].sort()[2_100]!;
    const good = await rewrite(dir, `ch/${damaged}`, (old) => old!.replace('"status":"open"', '"status":"lost"'));
    await expect(LevelStore.open(dir)).rejects.toMatchObject({ code: "CORRUPT", details: { key: `ch/${damaged}` } });
    await rewrite(dir, `ch/${damaged}`, () => good!);
    const again = await LevelStore.open(dir);
    stores.push(again);
    expect(await again.channels()).toHaveLength(2_500);
  });
});
