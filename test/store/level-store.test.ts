import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { LevelStore, type LevelDb } from "../../client/store/level-store.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { ChannelStore } from "../../client/store/store.js";
import { newChannel, paymentUpdate, proposal, signedState } from "./fixtures.js";
import { expectStoreError, storeSuite } from "./store-suite.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CRASH_WRITER = fileURLToPath(new URL("./crash-writer.ts", import.meta.url));

const dirs: string[] = [];
const stores: LevelStore[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clearline-store-"));
  dirs.push(dir);
  return dir;
}

async function openStore(location: string | LevelDb): Promise<LevelStore> {
  const store = await LevelStore.open(location);
  stores.push(store);
  return store;
}

async function cleanup(): Promise<void> {
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
}

const locations = new WeakMap<LevelStore, string>();

storeSuite("LevelStore", {
  async create() {
    const dir = await tempDir();
    const store = await openStore(dir);
    locations.set(store, dir);
    return store;
  },
  async reopen(store) {
    const dir = locations.get(store)!;
    await store.close();
    const reopened = await openStore(dir);
    locations.set(reopened, dir);
    return reopened;
  },
  batches: (store) => store.stats.batches,
  cleanup,
});

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

describe("LevelStore specifics", () => {
  afterEach(cleanup);

  it("a failed batch writes neither the latest state nor its history entry, and poisons the store", async () => {
    const dir = await tempDir();
    const { db, control } = instrumentedDb(dir);
    const store = await openStore(db);
    const ch = newChannel(1);
    await store.channelCreated(ch);
    await store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
    await store.proposalRecorded(ch.channelId, proposal(ch, 2n, 0));

    control.fail = true;
    const failing = store.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n));
    const queuedBehind = store.blockProcessed(5);
    await expectStoreError(failing, "WRITE_FAILED");
    await expectStoreError(queuedBehind, "WRITE_FAILED");
    await expectStoreError(store.blockProcessed(6), "WRITE_FAILED");
    // Reads still show exactly what is on disk.
    expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
    expect((await store.channel(ch.channelId))?.pending?.signed.state.nonce).toBe(2n);
    expect(await store.history(ch.channelId)).toHaveLength(1);
    expect(await store.lastProcessedBlock()).toBeNull();

    await store.close();
    const reopened = await openStore(dir);
    const record = await reopened.channel(ch.channelId);
    expect(record?.latest?.state.nonce).toBe(1n);
    expect(record?.pending?.signed.state.nonce).toBe(2n);
    expect((await reopened.history(ch.channelId)).map((e) => e.signed.state.nonce)).toEqual([1n]);
    await reopened.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n));
  });

  it("neither acknowledges nor shows a write before its batch is on disk", async () => {
    const dir = await tempDir();
    const { db, control } = instrumentedDb(dir);
    const store = await openStore(db);
    const ch = newChannel(1);
    await store.channelCreated(ch);
    let open!: () => void;
    control.gate = new Promise((resolve) => (open = resolve));
    const write = store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
    let acknowledged = false;
    void write.then(() => (acknowledged = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(acknowledged, "acknowledged before its batch was written").toBe(false);
    expect((await store.channel(ch.channelId))?.latest).toBeNull();
    expect(await store.history(ch.channelId)).toEqual([]);
    // ...but later writes are validated against it already.
    await Promise.all([
      expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n)), "STALE_STATE"),
      (async () => {
        control.gate = null;
        open();
        await write;
      })(),
    ]);
    expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
  });

  it("never splits an event across batches, whatever the batch limit", async () => {
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

  it("reports damaged records and unknown schema versions as CORRUPT", async () => {
    const dir = await tempDir();
    const store = await openStore(dir);
    const ch = newChannel(1);
    await store.channelCreated(ch);
    await store.close();

    const raw = new Level<string, string>(dir);
    const good = await raw.get(`ch/${ch.channelId}`);
    await raw.put(`ch/${ch.channelId}`, good!.replace('"status":"proposed"', '"status":"lost"'));
    await raw.close();
    await expectStoreError(LevelStore.open(dir), "CORRUPT");

    const raw2 = new Level<string, string>(dir);
    await raw2.put(`ch/${ch.channelId}`, good!);
    await raw2.put("meta/version", "99");
    await raw2.close();
    await expectStoreError(LevelStore.open(dir), "CORRUPT");
  });

  it("behaves exactly like MemoryStore on random event sequences, across reopens", async () => {
    const channels = [newChannel(1), newChannel(2, 1)];
    const command = fc.oneof(
      fc.record({ op: fc.constant("agree" as const), ch: fc.nat(1), step: fc.integer({ min: -1, max: 2 }), signers: fc.constantFrom([true, true] as const, [true, false] as const) }),
      fc.record({ op: fc.constant("propose" as const), ch: fc.nat(1), step: fc.integer({ min: 0, max: 2 }), proposer: fc.constantFrom(0 as const, 1 as const) }),
      fc.record({ op: fc.constant("clear" as const), ch: fc.nat(1) }),
      fc.record({ op: fc.constant("open" as const), ch: fc.nat(1), ev: fc.nat(5) }),
      fc.record({ op: fc.constant("deposit" as const), ch: fc.nat(1), ev: fc.nat(5), asset: fc.nat(1), who: fc.constantFrom(0 as const, 1 as const), amount: fc.bigInt(0n, 1000n) }),
      fc.record({ op: fc.constant("withdraw" as const), ch: fc.nat(1), ev: fc.nat(5), nonce: fc.bigInt(0n, 10n) }),
      fc.record({ op: fc.constant("dispute" as const), ch: fc.nat(1), ev: fc.nat(5), nonce: fc.bigInt(0n, 10n), deadline: fc.bigInt(0n, 10_000n) }),
      fc.record({ op: fc.constant("conclude" as const), ch: fc.nat(1), ev: fc.nat(5), nonce: fc.bigInt(0n, 10n) }),
      fc.record({ op: fc.constant("block" as const), n: fc.nat(1_000_000) }),
      fc.record({ op: fc.constant("reopen" as const) }),
    );
    type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

    async function run(store: ChannelStore, cmd: Command, latest: (ch: number) => Promise<bigint>): Promise<unknown> {
      if (cmd.op === "block") return store.blockProcessed(cmd.n);
      if (cmd.op === "reopen") return undefined;
      const c = channels[cmd.ch]!;
      const id = c.channelId;
      switch (cmd.op) {
        case "agree":
          return store.stateAgreed(id, signedState(c, (await latest(cmd.ch)) + BigInt(cmd.step), { signers: cmd.signers }), paymentUpdate(1n));
        case "propose":
          return store.proposalRecorded(id, proposal(c, (await latest(cmd.ch)) + BigInt(cmd.step), cmd.proposer));
        case "clear":
          return store.proposalCleared(id);
        case "open":
          return store.channelOpened(id, `e${cmd.ev}`);
        case "deposit":
          return store.depositConfirmed(id, { assetIndex: cmd.asset, participant: cmd.who, amount: cmd.amount }, `e${cmd.ev}`);
        case "withdraw":
          return store.withdrawalObserved(id, cmd.nonce, `e${cmd.ev}`);
        case "dispute":
          return store.disputeObserved(id, { nonce: cmd.nonce, deadline: cmd.deadline }, `e${cmd.ev}`);
        case "conclude":
          return store.channelConcluded(id, cmd.nonce, `e${cmd.ev}`);
      }
    }

    const outcome = (p: Promise<unknown>) =>
      p.then(
        (value) => ({ ok: true, value }),
        (error: { code?: string }) => ({ ok: false, code: error.code ?? String(error) }),
      );

    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 40 }), async (commands) => {
        const dir = await tempDir();
        let level = await openStore(dir);
        const memory = new MemoryStore();
        for (const c of channels) {
          await level.channelCreated(c);
          await memory.channelCreated(c);
        }
        const latestOf = (store: ChannelStore) => async (i: number) =>
          (await store.channel(channels[i]!.channelId))?.latest?.state.nonce ?? 0n;
        for (const cmd of commands) {
          if (cmd.op === "reopen") {
            await level.close();
            level = await openStore(dir);
            continue;
          }
          const [a, b] = await Promise.all([outcome(run(level, cmd, latestOf(level))), outcome(run(memory, cmd, latestOf(memory)))]);
          expect(a).toEqual(b);
        }
        expect(await level.channels()).toEqual(await memory.channels());
        for (const c of channels) expect(await level.history(c.channelId)).toEqual(await memory.history(c.channelId));
        expect(await level.lastProcessedBlock()).toBe(await memory.lastProcessedBlock());
        for (let e = 0; e <= 5; e++) expect(await level.eventApplied(`e${e}`)).toBe(await memory.eventApplied(`e${e}`));
        await cleanup();
      }),
      { numRuns: 40 },
    );
  });

  it("every acknowledged state survives SIGKILL of the writing process (5 crashes, same directory)", async () => {
    const dir = await tempDir();
    const channels = Array.from({ length: 32 }, (_, i) => newChannel(i));
    const acked = new Map<number, bigint>();

    for (let round = 0; round < 5; round++) {
      // Kill after a varying number of acknowledgements so the kill lands at different points of a batch.
      const killAfter = 300 + Math.floor(Math.random() * 1500);
      const child = spawn(process.execPath, ["--import", "tsx", CRASH_WRITER, dir, String(channels.length)], {
        cwd: REPO,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
        child.on("exit", (code, signal) => resolve(signal ?? code)),
      );
      let buffered = "";
      let count = 0;
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split("\n");
        buffered = lines.pop() ?? "";
        for (const line of lines) {
          if (line === "ready") continue;
          const [index, nonce] = line.split(" ");
          const n = BigInt(nonce!);
          if (n > (acked.get(Number(index)) ?? 0n)) acked.set(Number(index), n);
          count += 1;
        }
        if (count >= killAfter && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      });
      // Never leave the child running if the test goes wrong.
      const guard = setTimeout(() => child.kill("SIGKILL"), 60_000);
      const ended = await exited;
      clearTimeout(guard);
      expect(ended, `writer ended on its own: ${stderr}`).toBe("SIGKILL");
      expect(count).toBeGreaterThanOrEqual(killAfter);

      const store = await openStore(dir);
      for (const [index, nonce] of acked) {
        const c = channels[index]!;
        const record = await store.channel(c.channelId);
        const latest = record?.latest?.state.nonce ?? 0n;
        expect(latest, `channel ${index}: acknowledged ${nonce}, stored ${latest}`).toBeGreaterThanOrEqual(nonce);
        const history = await store.history(c.channelId);
        // Complete and consistent: nonces 1..latest, the last one being the latest state (never split).
        expect(history.map((e) => e.signed.state.nonce)).toEqual(Array.from({ length: Number(latest) }, (_, i) => BigInt(i + 1)));
        expect(history.at(-1)?.signed).toEqual(record?.latest);
      }
      await store.close();
      stores.splice(stores.indexOf(store), 1);
    }
    expect(acked.size).toBe(channels.length);
  });
});
