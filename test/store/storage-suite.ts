// The storage half of the ChannelStore contract, for every store that persists (LevelDB and
// PostgreSQL; level-store.test.ts and postgres-store.test.ts run it): a write is acknowledged only once
// durable, a failed write changes nothing and poisons the store, group commit never splits an event,
// damaged storage is CORRUPT, the store is bound to its chain, it behaves like MemoryStore across
// reopens, and every acknowledged state survives SIGKILL of the writing process. Each
// implementation supplies only how to reach its storage (StorageHarness).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { getAddress } from "ethers";
import { afterEach, describe, expect, it } from "vitest";
import { channelIdOf } from "../../client/protocol/encoding.js";
import type { ChainBinding } from "../../client/store/chain-binding.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { ChannelStore } from "../../client/store/store.js";
import { DEPLOYMENT, newChannel, paymentUpdate, proposal, signedState } from "./fixtures.js";
import { expectStoreError } from "./store-suite.js";
import { EXIT_WITH_PARENT } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
const CHAIN: ChainBinding = { ...DEPLOYMENT, genesisHash: `0x${"01".repeat(32)}` };

/** A persistent store: it knows the chain it is bound to. */
export type BoundStore = ChannelStore & { readonly chain: ChainBinding | null };

export interface StorageOptions {
  readonly chain?: ChainBinding;
  /** Group commit takes whole events up to this many writes (LevelDB: key writes, PostgreSQL: rows). */
  readonly maxBatchWrites?: number;
}

/** What committed so far: batches (transactions), events, and the key writes or rows they carried. */
export interface StorageStats {
  readonly batches: number;
  readonly events: number;
  readonly writes: number;
  readonly largestBatch: number;
}

/** A way to damage a closed store's storage so that it opens CORRUPT, and to repair it. */
export interface Damage {
  readonly what: string;
  apply(): Promise<void>;
  repair(): Promise<void>;
}

export interface StorageHarness<S extends BoundStore> {
  /** Opens a fresh, empty store. */
  create(options?: StorageOptions): Promise<S>;
  /** Opens the storage of `store` (closed) again; rejects as the open does. */
  openAgain(store: S, options?: StorageOptions): Promise<S>;
  stats(store: S): StorageStats;
  /** Makes the storage refuse the agreed state of nonce 2 (or every write); `undo` lets it accept writes again. */
  failWrites(store: S): Promise<{ undo(): Promise<void> }>;
  /** Holds every write at the storage (not yet durable) until `release`. */
  holdWrites(store: S): Promise<{ release(): Promise<void> }>;
  /** Ways to damage `store`'s storage (closed) so that an open is CORRUPT; `channelId` is a channel in it. */
  damages(store: S, channelId: string): readonly Damage[];
  /** The crash test's writer: the arguments after `node --import tsx` for a process writing to `store`'s storage (closed). */
  crashWriter(store: S, channels: number): string[];
  readonly crash: { readonly rounds: number; readonly channels: number; readonly killAfter: readonly [min: number, span: number]; readonly timeoutMs: number };
  /** What a WRONG_CHAIN message says to name `store`'s storage (its directory, its schema). */
  wrongChainNames(store: S): string;
  /** Closes every store opened and frees the storage. */
  cleanup(): Promise<void>;
}

export function storageSuite<S extends BoundStore>(name: string, harness: StorageHarness<S>): void {
  describe(`ChannelStore storage: ${name}`, () => {
    afterEach(() => harness.cleanup());

    it("a failed write commits neither the latest state nor its history entry, and poisons the store", async () => {
      const store = await harness.create();
      const ch = newChannel(1);
      await store.channelCreated(ch);
      await store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
      await store.proposalRecorded(ch.channelId, proposal(ch, 2n, 0));

      const fault = await harness.failWrites(store);
      const failing = store.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n));
      const queuedBehind = store.blockProcessed(5);
      await expectStoreError(failing, "WRITE_FAILED");
      await expectStoreError(queuedBehind, "WRITE_FAILED");
      await expectStoreError(store.blockProcessed(6), "WRITE_FAILED");
      // Reads still show exactly what is stored.
      expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
      expect((await store.channel(ch.channelId))?.pending?.signed.state.nonce).toBe(2n);
      expect(await store.history(ch.channelId)).toHaveLength(1);
      expect(await store.lastProcessedBlock()).toBeNull();

      await store.close();
      await fault.undo();
      const reopened = await harness.openAgain(store);
      const record = await reopened.channel(ch.channelId);
      expect(record?.latest?.state.nonce).toBe(1n);
      expect(record?.pending?.signed.state.nonce).toBe(2n);
      expect((await reopened.history(ch.channelId)).map((e) => e.signed.state.nonce)).toEqual([1n]);
      expect(await reopened.lastProcessedBlock()).toBeNull();
      await reopened.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n));
    });

    it("neither acknowledges nor shows a write before it is durable", async () => {
      const store = await harness.create();
      const ch = newChannel(1);
      await store.channelCreated(ch);
      const hold = await harness.holdWrites(store);
      const write = store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
      let acknowledged = false;
      void write.then(() => (acknowledged = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(acknowledged, "acknowledged before it was durable").toBe(false);
      expect((await store.channel(ch.channelId))?.latest).toBeNull();
      expect(await store.history(ch.channelId)).toEqual([]);
      // ...but later writes are validated against it already.
      await Promise.all([
        expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n)), "STALE_STATE"),
        (async () => {
          await hold.release();
          await write;
        })(),
      ]);
      expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
      expect(await store.history(ch.channelId)).toHaveLength(1);
    });

    it("concurrent channels share one batch; a channel written many times in it keeps the last record", async () => {
      const store = await harness.create({ maxBatchWrites: 1_000_000 });
      const channels = Array.from({ length: 20 }, (_, i) => newChannel(i));
      await Promise.all(channels.map((c) => store.channelCreated(c)));
      const before = harness.stats(store).batches;
      await Promise.all(channels.flatMap((c) => [1n, 2n, 3n].map((n) => store.stateAgreed(c.channelId, signedState(c, n), paymentUpdate(n)))));
      expect(harness.stats(store).batches - before).toBe(1);
      expect(harness.stats(store).largestBatch).toBe(60);
      await store.close();
      const reopened = await harness.openAgain(store);
      for (const c of channels) {
        expect((await reopened.channel(c.channelId))?.latest?.state.nonce).toBe(3n);
        expect((await reopened.history(c.channelId)).map((e) => e.signed.state.nonce)).toEqual([1n, 2n, 3n]);
      }
    });

    it("never splits an event across batches, whatever the batch limit", async () => {
      const store = await harness.create({ maxBatchWrites: 5 });
      const channels = Array.from({ length: 10 }, (_, i) => newChannel(i));
      await Promise.all(channels.map((c) => store.channelCreated(c)));
      const before = harness.stats(store);
      await Promise.all(channels.flatMap((c) => [1n, 2n, 3n].map((n) => store.stateAgreed(c.channelId, signedState(c, n), paymentUpdate(n)))));
      const after = harness.stats(store);
      // Two writes per agreed state (record and history entry), at most five per batch: two states each, never one and a half.
      expect(after.batches - before.batches).toBe(15);
      expect(after.writes - before.writes).toBe(60);
      expect(after.events - before.events).toBe(30);
    });

    it("reports damaged storage as CORRUPT at open, and opens again once repaired", async () => {
      const store = await harness.create();
      const ch = newChannel(1);
      await store.channelCreated(ch);
      await store.close();
      const damages = harness.damages(store, ch.channelId);
      expect(damages.length).toBeGreaterThan(0);
      for (const damage of damages) {
        await damage.apply();
        await expectStoreError(harness.openAgain(store), "CORRUPT");
        await damage.repair();
      }
      expect((await (await harness.openAgain(store)).channels()).map((r) => r.channelId)).toEqual([ch.channelId]);
    });

    it("is bound to one chain: a restarted chain is refused with WRONG_CHAIN and the store stays as it was; a channel of another deployment is refused", async () => {
      const store = await harness.create({ chain: CHAIN });
      expect(store.chain).toEqual(CHAIN);
      await store.channelCreated(newChannel(1));
      await store.close();
      const restarted = { ...CHAIN, genesisHash: `0x${"02".repeat(32)}` };
      const error = await harness.openAgain(store, { chain: restarted }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: "WRONG_CHAIN" });
      expect(String((error as Error).message)).toContain("the chain was restarted or replaced");
      expect(String((error as Error).message)).toContain(harness.wrongChainNames(store));
      const again = await harness.openAgain(store, { chain: CHAIN });
      expect((await again.channels()).length).toBe(1);
      const foreign = newChannel(2);
      const deployment = { chainId: DEPLOYMENT.chainId, adjudicator: getAddress(`0x${"be".repeat(20)}`) };
      await expectStoreError(again.channelCreated({ ...foreign, deployment, channelId: channelIdOf(foreign.params, deployment.chainId, deployment.adjudicator) }), "WRONG_CHAIN");
      expect((await again.channels()).length).toBe(1);
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
        fc.record({ op: fc.constant("facts" as const), n: fc.nat(1_000_000) }),
        fc.record({ op: fc.constant("reopen" as const) }),
      );
      type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

      async function run(store: ChannelStore, cmd: Command, latest: (ch: number) => Promise<bigint>): Promise<unknown> {
        if (cmd.op === "block") return store.blockProcessed(cmd.n);
        if (cmd.op === "facts") return store.factsSaved(JSON.stringify({ block: cmd.n }));
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
          let stored = await harness.create();
          const memory = new MemoryStore();
          for (const c of channels) {
            await stored.channelCreated(c);
            await memory.channelCreated(c);
          }
          const latestOf = (store: ChannelStore) => async (i: number) => (await store.channel(channels[i]!.channelId))?.latest?.state.nonce ?? 0n;
          for (const cmd of commands) {
            if (cmd.op === "reopen") {
              await stored.close();
              stored = await harness.openAgain(stored);
              continue;
            }
            const [a, b] = await Promise.all([outcome(run(stored, cmd, latestOf(stored))), outcome(run(memory, cmd, latestOf(memory)))]);
            expect(a).toEqual(b);
          }
          expect(await stored.channels()).toEqual(await memory.channels());
          for (const c of channels) expect(await stored.history(c.channelId)).toEqual(await memory.history(c.channelId));
          expect(await stored.lastProcessedBlock()).toBe(await memory.lastProcessedBlock());
          expect(await stored.facts()).toBe(await memory.facts());
          for (let e = 0; e <= 5; e++) expect(await stored.eventApplied(`e${e}`)).toBe(await memory.eventApplied(`e${e}`));
          await harness.cleanup();
        }),
        { numRuns: 40 },
      );
    }, 120_000);

    it("every acknowledged state survives SIGKILL of the writing process, again and again on the same storage", async () => {
      const { rounds, channels: channelCount, killAfter: [minimum, span] } = harness.crash;
      const store = await harness.create();
      await store.close();
      const channels = Array.from({ length: channelCount }, (_, i) => newChannel(i));
      const acked = new Map<number, bigint>();
      for (let round = 0; round < rounds; round++) {
        // Kill after a varying number of acknowledgements so the kill lands at different points of a batch.
        const killAfter = minimum + Math.floor(Math.random() * span);
        const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", ...harness.crashWriter(store, channels.length)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
        let buffered = "";
        let count = 0;
        child.stdout.on("data", (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split("\n");
          buffered = lines.pop() ?? "";
          for (const line of lines) {
            if (!/^\d+ \d+$/.test(line)) continue;
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

        const reopened = await harness.openAgain(store);
        for (const [index, nonce] of acked) {
          const c = channels[index]!;
          const record = await reopened.channel(c.channelId);
          const latest = record?.latest?.state.nonce ?? 0n;
          expect(latest, `channel ${index}: acknowledged ${nonce}, stored ${latest}`).toBeGreaterThanOrEqual(nonce);
          const history = await reopened.history(c.channelId);
          // Complete and consistent: nonces 1..latest, the last one being the latest state (never split).
          expect(history.map((e) => e.signed.state.nonce)).toEqual(Array.from({ length: Number(latest) }, (_, i) => BigInt(i + 1)));
          expect(history.at(-1)?.signed).toEqual(record?.latest);
        }
        await reopened.close();
      }
      expect(acked.size).toBe(channels.length);
    }, harness.crash.timeoutMs);
  });
}
