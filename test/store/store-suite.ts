// The API half of the ChannelStore contract, the one suite every implementation passes
// (memory-store.test.ts, level-store.test.ts and postgres-store.test.ts run it). What persisting
// stores add — durability, faults, corruption, the chain binding, crashes — is the storage half
// (storage-suite.ts); what truly differs between them lives next to each implementation's runner.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UINT64_MAX, type Bytes32 } from "../../client/protocol/types.js";
import { isStoreError, type ChannelStore, type StoreErrorCode } from "../../client/store/store.js";
import {
  HASHLOCK,
  addressOf,
  newChannel,
  paymentUpdate,
  proposal,
  signedState,
  tradeUpdate,
} from "./fixtures.js";

export interface StoreHarness<S extends ChannelStore = ChannelStore> {
  /** Opens a fresh, empty store. */
  create(): Promise<S>;
  /** Closes `store` and opens the same storage again; omitted when nothing outlives close(). */
  reopen?(store: S): Promise<S>;
  /** Disk batches written so far, for stores with group commit. */
  batches?(store: S): number;
  /** Frees everything create() allocated (closing stores still open). */
  cleanup(): Promise<void>;
}

/** Expects `promise` to reject with a StoreError of `code`. */
export async function expectStoreError(promise: Promise<unknown>, code: StoreErrorCode): Promise<void> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected StoreError ${code}`).toBeDefined();
  expect(isStoreError(caught), `expected a StoreError, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

export function storeSuite<S extends ChannelStore>(name: string, harness: StoreHarness<S>): void {
  describe(`ChannelStore: ${name}`, () => {
    let store: S;
    const ch = newChannel(1);
    const other = newChannel(2, 1);

    beforeEach(async () => {
      store = await harness.create();
    });
    afterEach(async () => {
      await harness.cleanup();
    });

    /** A channel opened on chain with deposits of 1000 units of each asset by both. */
    async function openChannel(channel = ch): Promise<void> {
      await store.channelCreated(channel);
      await store.channelOpened(channel.channelId, `open-${channel.channelId}`);
      for (const asset of [0, 1]) {
        for (const participant of [0, 1] as const) {
          await store.depositConfirmed(
            channel.channelId,
            { assetIndex: asset, participant, amount: 1000n },
            `dep-${channel.channelId}-${asset}-${participant}`,
          );
        }
      }
    }

    describe("channelCreated", () => {
      it("stores a proposed channel with no state, no proposal and zero deposits", async () => {
        await store.channelCreated(ch);
        expect(await store.channel(ch.channelId)).toEqual({
          ...ch,
          status: "proposed",
          latest: null,
          pending: null,
          deposits: [
            [0n, 0n],
            [0n, 0n],
          ],
          checkpointNonce: 0n,
          dispute: null,
          concludedNonce: null,
        });
        expect(await store.history(ch.channelId)).toEqual([]);
      });

      it("refuses a known channel id with DUPLICATE_CHANNEL and keeps the first", async () => {
        await store.channelCreated(ch);
        await expectStoreError(store.channelCreated({ ...ch, me: 1 }), "DUPLICATE_CHANNEL");
        expect((await store.channel(ch.channelId))?.me).toBe(0);
      });

      it("refuses an id that does not match the parameters and deployment", async () => {
        await expectStoreError(store.channelCreated({ ...ch, channelId: other.channelId }), "INVALID_ARGUMENT");
        await expectStoreError(
          store.channelCreated({ ...ch, deployment: { ...ch.deployment, chainId: 1n } }),
          "INVALID_ARGUMENT",
        );
        await expectStoreError(store.channelCreated({ ...ch, channelId: "0x1234" }), "INVALID_ARGUMENT");
        expect(await store.channels()).toEqual([]);
      });

      it("refuses parameters the adjudicator would refuse", async () => {
        const params = { ...ch.params, assets: [ch.params.assets[0]!, ch.params.assets[0]!] };
        await expectStoreError(store.channelCreated({ ...ch, params }), "INVALID_ARGUMENT");
        await expectStoreError(store.channelCreated({ ...ch, me: 2 as 0 }), "INVALID_ARGUMENT");
        await expectStoreError(store.channelCreated({ ...ch, createdAt: -1 }), "INVALID_ARGUMENT");
      });

      it("lists channels ordered by id, optionally filtered by status", async () => {
        const many = [5, 3, 9, 1].map((i) => newChannel(i));
        for (const c of many) await store.channelCreated(c);
        await store.channelOpened(many[0]!.channelId, "e1");
        const ids = (await store.channels()).map((r) => r.channelId);
        expect(ids).toEqual(many.map((c) => c.channelId).sort());
        expect((await store.channels({ status: "open" })).map((r) => r.channelId)).toEqual([many[0]!.channelId]);
        expect(await store.channels({ status: ["open", "proposed"] })).toHaveLength(4);
        expect(await store.channels({ status: "concluded" })).toEqual([]);
      });
    });

    describe("unknown channels", () => {
      const id = newChannel(77).channelId;
      const calls: [string, (s: ChannelStore) => Promise<unknown>][] = [
        ["proposalRecorded", (s) => s.proposalRecorded(id, proposal(newChannel(77), 1n, 0))],
        ["proposalCleared", (s) => s.proposalCleared(id)],
        ["stateAgreed", (s) => s.stateAgreed(id, signedState(newChannel(77), 1n), tradeUpdate(1n))],
        ["channelOpened", (s) => s.channelOpened(id, "u1")],
        ["depositConfirmed", (s) => s.depositConfirmed(id, { assetIndex: 0, participant: 0, amount: 1n }, "u2")],
        ["withdrawalObserved", (s) => s.withdrawalObserved(id, 1n, "u3")],
        ["disputeObserved", (s) => s.disputeObserved(id, { nonce: 1n, deadline: 100n }, "u4")],
        ["channelConcluded", (s) => s.channelConcluded(id, 1n, "u5")],
        ["history", (s) => s.history(id)],
      ];
      for (const [method, call] of calls) {
        it(`${method} rejects with UNKNOWN_CHANNEL`, async () => {
          await expectStoreError(call(store), "UNKNOWN_CHANNEL");
        });
      }

      it("channel() answers undefined, and a refused event is not marked applied", async () => {
        expect(await store.channel(id)).toBeUndefined();
        await expectStoreError(store.channelOpened(id, "u1"), "UNKNOWN_CHANNEL");
        expect(await store.eventApplied("u1")).toBe(false);
      });
    });

    describe("proposals", () => {
      it("records ours and the peer's, each replacing the previous one", async () => {
        await openChannel();
        const ours = proposal(ch, 1n, 0);
        await store.proposalRecorded(ch.channelId, ours);
        expect((await store.channel(ch.channelId))?.pending).toEqual(ours);
        const theirs = { ...proposal(ch, 1n, 1), update: tradeUpdate(3n, 1_700_000_000_999, "order 17") };
        await store.proposalRecorded(ch.channelId, theirs);
        expect((await store.channel(ch.channelId))?.pending).toEqual(theirs);
      });

      it("can be recorded before the channel is open (the funding state)", async () => {
        await store.channelCreated(ch);
        await store.proposalRecorded(ch.channelId, proposal(ch, 1n, 1));
        expect((await store.channel(ch.channelId))?.pending?.proposer).toBe(1);
      });

      it("proposalCleared clears it, and is a no-op when nothing is pending", async () => {
        await openChannel();
        await store.proposalCleared(ch.channelId);
        await store.proposalRecorded(ch.channelId, proposal(ch, 1n, 0));
        await store.proposalCleared(ch.channelId);
        expect((await store.channel(ch.channelId))?.pending).toBeNull();
        await store.proposalCleared(ch.channelId);
        expect((await store.channel(ch.channelId))?.pending).toBeNull();
      });

      it("refuses a nonce not above the latest agreed one (STALE_STATE)", async () => {
        await openChannel();
        await store.stateAgreed(ch.channelId, signedState(ch, 1n), tradeUpdate(1n));
        await expectStoreError(store.proposalRecorded(ch.channelId, proposal(ch, 1n, 0)), "STALE_STATE");
        await store.proposalRecorded(ch.channelId, proposal(ch, 2n, 0));
      });

      it("refuses a proposal without its proposer's signature, or of another channel", async () => {
        await openChannel();
        const unsigned = { ...proposal(ch, 1n, 0), signed: signedState(ch, 1n, { signers: [false, true] }) };
        await expectStoreError(store.proposalRecorded(ch.channelId, unsigned), "INVALID_ARGUMENT");
        await expectStoreError(store.proposalRecorded(ch.channelId, proposal(other, 1n, 0)), "WRONG_CHANNEL");
        expect((await store.channel(ch.channelId))?.pending).toBeNull();
      });
    });

    describe("stateAgreed", () => {
      it("writes the latest state, appends the history entry and clears the pending proposal", async () => {
        await openChannel();
        await store.proposalRecorded(ch.channelId, proposal(ch, 1n, 0));
        const signed = signedState(ch, 1n, {
          locks: [{ assetIndex: 1, sender: 1, amount: 5n, hashlock: HASHLOCK, expiry: 1_800_000_000n }],
        });
        const update = tradeUpdate(1n, 1_700_000_000_123, "order 1");
        await store.stateAgreed(ch.channelId, signed, update);
        const record = await store.channel(ch.channelId);
        expect(record?.latest).toEqual(signed);
        expect(record?.pending).toBeNull();
        expect(await store.history(ch.channelId)).toEqual([{ signed, update }]);
      });

      it("can agree states before the channel is open and during a dispute", async () => {
        await store.channelCreated(ch);
        await store.stateAgreed(ch.channelId, signedState(ch, 1n), tradeUpdate(1n));
        await store.channelOpened(ch.channelId, "o");
        await store.disputeObserved(ch.channelId, { nonce: 1n, deadline: 10_000n }, "d");
        await store.stateAgreed(ch.channelId, signedState(ch, 2n, { isFinal: true }), { kind: "final", movements: [], at: 5 });
        expect((await store.channel(ch.channelId))?.latest?.state.isFinal).toBe(true);
      });

      it("refuses a state lacking a signature (NOT_AGREED) and changes nothing", async () => {
        await openChannel();
        await store.proposalRecorded(ch.channelId, proposal(ch, 1n, 0));
        const before = await store.channel(ch.channelId);
        await expectStoreError(
          store.stateAgreed(ch.channelId, signedState(ch, 1n, { signers: [true, false] }), tradeUpdate(1n)),
          "NOT_AGREED",
        );
        expect(await store.channel(ch.channelId)).toEqual(before);
        expect(await store.history(ch.channelId)).toEqual([]);
      });

      it("refuses a nonce equal to or below the latest (STALE_STATE): neither latest nor history change", async () => {
        await openChannel();
        const two = signedState(ch, 2n);
        await store.stateAgreed(ch.channelId, two, tradeUpdate(2n));
        for (const nonce of [2n, 1n]) {
          await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, nonce, { net: [9n, 9n] }), tradeUpdate(9n)), "STALE_STATE");
        }
        expect((await store.channel(ch.channelId))?.latest).toEqual(two);
        expect(await store.history(ch.channelId)).toEqual([{ signed: two, update: tradeUpdate(2n) }]);
      });

      it("refuses malformed states and summaries with typed errors", async () => {
        await openChannel();
        const good = signedState(ch, 1n);
        await expectStoreError(store.stateAgreed(ch.channelId, signedState(other, 1n), tradeUpdate(1n)), "WRONG_CHANNEL");
        const wrongAssets = { ...good, state: { ...good.state, allocations: good.state.allocations.slice(0, 1) } };
        await expectStoreError(store.stateAgreed(ch.channelId, wrongAssets, tradeUpdate(1n)), "INVALID_ARGUMENT");
        const huge = signedState(ch, 1n, { net: [1n << 127n, 0n] });
        await expectStoreError(store.stateAgreed(ch.channelId, huge, tradeUpdate(1n)), "INVALID_ARGUMENT");
        const badSig = { ...good, signatures: ["0x12", good.signatures[1]] as const };
        await expectStoreError(store.stateAgreed(ch.channelId, badSig, tradeUpdate(1n)), "INVALID_ARGUMENT");
        const badAsset = { kind: "payment", movements: [{ assetIndex: 2, amount: 1n, from: 0 as const, to: 1 as const }], at: 1 };
        await expectStoreError(store.stateAgreed(ch.channelId, good, badAsset), "INVALID_ARGUMENT");
        await expectStoreError(store.stateAgreed(ch.channelId, good, { ...tradeUpdate(1n), kind: "" }), "INVALID_ARGUMENT");
        await expectStoreError(store.stateAgreed(ch.channelId, good, { ...tradeUpdate(1n), at: Number.NaN }), "INVALID_ARGUMENT");
        expect((await store.channel(ch.channelId))?.latest).toBeNull();
        expect(await store.history(ch.channelId)).toEqual([]);
      });

      it("refuses states once the channel is concluded (INVALID_TRANSITION)", async () => {
        await openChannel();
        await store.channelConcluded(ch.channelId, 0n, "c");
        await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 1n), tradeUpdate(1n)), "INVALID_TRANSITION");
        await expectStoreError(store.proposalRecorded(ch.channelId, proposal(ch, 1n, 0)), "INVALID_TRANSITION");
      });
    });

    describe("history", () => {
      it("is ordered by nonce across digit boundaries, with limits, direction and paging", async () => {
        await openChannel();
        const nonces = [1n, 2n, 9n, 10n, 11n, 99n, 100n, 1000n, UINT64_MAX - 1n, UINT64_MAX];
        for (const n of nonces) await store.stateAgreed(ch.channelId, signedState(ch, n), paymentUpdate(n));
        const of = (entries: readonly { signed: { state: { nonce: bigint } } }[]) => entries.map((e) => e.signed.state.nonce);
        expect(of(await store.history(ch.channelId))).toEqual(nonces);
        expect(of(await store.history(ch.channelId, { newestFirst: true }))).toEqual([...nonces].reverse());
        expect(of(await store.history(ch.channelId, { limit: 3 }))).toEqual([1n, 2n, 9n]);
        expect(of(await store.history(ch.channelId, { limit: 2, newestFirst: true }))).toEqual([UINT64_MAX, UINT64_MAX - 1n]);
        expect(of(await store.history(ch.channelId, { afterNonce: 9n, limit: 3 }))).toEqual([10n, 11n, 99n]);
        expect(of(await store.history(ch.channelId, { beforeNonce: 100n, newestFirst: true, limit: 2 }))).toEqual([99n, 11n]);
        expect(of(await store.history(ch.channelId, { afterNonce: 2n, beforeNonce: 11n }))).toEqual([9n, 10n]);
        expect(await store.history(ch.channelId, { limit: 0 })).toEqual([]);
        expect((await store.history(ch.channelId, { limit: 1 }))[0]?.update).toEqual(paymentUpdate(1n));
        await expectStoreError(store.history(ch.channelId, { limit: -1 }), "INVALID_ARGUMENT");
      });

      it("keeps each channel's history apart", async () => {
        await openChannel(ch);
        await openChannel(other);
        for (let n = 1n; n <= 5n; n++) {
          await store.stateAgreed(ch.channelId, signedState(ch, n), paymentUpdate(n));
          await store.stateAgreed(other.channelId, signedState(other, n * 2n), paymentUpdate(n * 2n));
        }
        const mine = await store.history(ch.channelId);
        expect(mine.every((e) => e.signed.state.channelId === ch.channelId)).toBe(true);
        expect(mine).toHaveLength(5);
        expect((await store.history(other.channelId)).map((e) => e.signed.state.nonce)).toEqual([2n, 4n, 6n, 8n, 10n]);
      });
    });

    describe("chain events", () => {
      it("open, deposits, withdrawal checkpoint, dispute, challenge and conclusion", async () => {
        await store.channelCreated(ch);
        expect(await store.channelOpened(ch.channelId, "0xaa:0")).toBe(true);
        expect((await store.channel(ch.channelId))?.status).toBe("open");

        expect(await store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 1, amount: 500n }, "0xaa:1")).toBe(true);
        expect(await store.depositConfirmed(ch.channelId, { assetIndex: 1, participant: 0, amount: 7n }, "0xbb:0")).toBe(true);
        expect(await store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 1, amount: 25n }, "0xbb:1")).toBe(true);
        expect((await store.channel(ch.channelId))?.deposits).toEqual([
          [0n, 525n],
          [7n, 0n],
        ]);

        await store.stateAgreed(ch.channelId, signedState(ch, 1n, { withdrawn: [0n, 5n] }), { kind: "withdrawal", movements: [{ assetIndex: 0, amount: 5n, from: 1, to: null }], at: 1 });
        expect(await store.withdrawalObserved(ch.channelId, 1n, "0xcc:0")).toBe(true);
        expect((await store.channel(ch.channelId))?.checkpointNonce).toBe(1n);

        await store.proposalRecorded(ch.channelId, proposal(ch, 2n, 1));
        expect(await store.disputeObserved(ch.channelId, { nonce: 0n, deadline: 1_000n }, "0xdd:0")).toBe(true);
        let record = await store.channel(ch.channelId);
        expect(record?.status).toBe("disputed");
        expect(record?.dispute).toEqual({ nonce: 0n, deadline: 1_000n });
        expect(await store.disputeObserved(ch.channelId, { nonce: 1n, deadline: 1_500n }, "0xdd:1")).toBe(true);
        expect((await store.channel(ch.channelId))?.dispute).toEqual({ nonce: 1n, deadline: 1_500n });

        expect(await store.channelConcluded(ch.channelId, 1n, "0xee:0")).toBe(true);
        record = await store.channel(ch.channelId);
        expect(record?.status).toBe("concluded");
        expect(record?.concludedNonce).toBe(1n);
        expect(record?.pending).toBeNull();
        expect(record?.dispute).toEqual({ nonce: 1n, deadline: 1_500n });
        expect(record?.latest?.state.nonce).toBe(1n);
      });

      it("a cooperative close concludes an open channel directly", async () => {
        await openChannel();
        await store.stateAgreed(ch.channelId, signedState(ch, 1n, { isFinal: true }), { kind: "final", movements: [], at: 1 });
        expect(await store.channelConcluded(ch.channelId, 1n, "close")).toBe(true);
        expect((await store.channel(ch.channelId))?.status).toBe("concluded");
      });

      it("a chain event on a proposed channel proves it open (its ChannelOpened went by before the record)", async () => {
        const late = [newChannel(10), newChannel(11), newChannel(12), newChannel(13)];
        for (const c of late) await store.channelCreated(c);
        expect(await store.depositConfirmed(late[0]!.channelId, { assetIndex: 1, participant: 1, amount: 9n }, "l0")).toBe(true);
        expect(await store.withdrawalObserved(late[1]!.channelId, 2n, "l1")).toBe(true);
        expect(await store.disputeObserved(late[2]!.channelId, { nonce: 0n, deadline: 5n }, "l2")).toBe(true);
        expect(await store.channelConcluded(late[3]!.channelId, 0n, "l3")).toBe(true);
        const statuses = await Promise.all(late.map(async (c) => (await store.channel(c.channelId))?.status));
        expect(statuses).toEqual(["open", "open", "disputed", "concluded"]);
        expect((await store.channel(late[0]!.channelId))?.deposits[1]).toEqual([0n, 9n]);
        expect((await store.channel(late[1]!.channelId))?.checkpointNonce).toBe(2n);
      });

      it("the same fact under another event id (re-mined) changes nothing", async () => {
        await openChannel();
        await store.disputeObserved(ch.channelId, { nonce: 0n, deadline: 5n }, "d");
        expect(await store.channelOpened(ch.channelId, "open-again")).toBe(true);
        expect((await store.channel(ch.channelId))?.status).toBe("disputed");
        await store.channelConcluded(ch.channelId, 3n, "c1");
        const concluded = await store.channel(ch.channelId);
        expect(await store.channelConcluded(ch.channelId, 3n, "c2")).toBe(true);
        expect(await store.channelOpened(ch.channelId, "open-once-more")).toBe(true);
        expect(await store.channel(ch.channelId)).toEqual(concluded);
      });

      it("refuses facts contradicting a concluded channel (INVALID_TRANSITION) and leaves them unapplied", async () => {
        await openChannel();
        await store.channelConcluded(ch.channelId, 0n, "c1");
        const concluded = await store.channel(ch.channelId);
        const contradictions: [string, () => Promise<unknown>][] = [
          ["x1", () => store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 0, amount: 1n }, "x1")],
          ["x2", () => store.disputeObserved(ch.channelId, { nonce: 0n, deadline: 1n }, "x2")],
          ["x3", () => store.channelConcluded(ch.channelId, 1n, "x3")],
          ["x4", () => store.withdrawalObserved(ch.channelId, 1n, "x4")],
        ];
        for (const [eventId, call] of contradictions) {
          await expectStoreError(call(), "INVALID_TRANSITION");
          expect(await store.eventApplied(eventId)).toBe(false);
        }
        expect(await store.channel(ch.channelId)).toEqual(concluded);
      });

      it("refuses malformed event arguments (INVALID_ARGUMENT)", async () => {
        await openChannel();
        const bad: (() => Promise<unknown>)[] = [
          () => store.depositConfirmed(ch.channelId, { assetIndex: 2, participant: 0, amount: 1n }, "b1"),
          () => store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 2 as 0, amount: 1n }, "b2"),
          () => store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 0, amount: -1n }, "b3"),
          () => store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 0, amount: 1n }, ""),
          () => store.disputeObserved(ch.channelId, { nonce: -1n, deadline: 1n }, "b4"),
          () => store.disputeObserved(ch.channelId, { nonce: 1n, deadline: UINT64_MAX + 1n }, "b5"),
          () => store.channelConcluded(ch.channelId, 1 as unknown as bigint, "b6"),
          () => store.withdrawalObserved(ch.channelId, -5n, "b7"),
        ];
        for (const call of bad) await expectStoreError(call(), "INVALID_ARGUMENT");
        expect((await store.channel(ch.channelId))?.status).toBe("open");
      });
    });

    describe("idempotent chain events", () => {
      it("applies an event id once; a replay resolves false and changes nothing", async () => {
        await openChannel();
        const deposit = { assetIndex: 1, participant: 1 as const, amount: 250n };
        expect(await store.depositConfirmed(ch.channelId, deposit, "0x01:3")).toBe(true);
        expect(await store.depositConfirmed(ch.channelId, deposit, "0x01:3")).toBe(false);
        expect(await store.eventApplied("0x01:3")).toBe(true);
        expect((await store.channel(ch.channelId))?.deposits[1]).toEqual([1000n, 1250n]);

        expect(await store.disputeObserved(ch.channelId, { nonce: 0n, deadline: 9n }, "0x02:0")).toBe(true);
        expect(await store.disputeObserved(ch.channelId, { nonce: 0n, deadline: 9n }, "0x02:0")).toBe(false);
        expect(await store.channelConcluded(ch.channelId, 0n, "0x03:0")).toBe(true);
        // A replay of an applied event is harmless even where the event would no longer fit.
        expect(await store.channelOpened(ch.channelId, `open-${ch.channelId}`)).toBe(false);
        expect(await store.disputeObserved(ch.channelId, { nonce: 0n, deadline: 9n }, "0x02:0")).toBe(false);
        expect(await store.channelConcluded(ch.channelId, 0n, "0x03:0")).toBe(false);
        expect((await store.channel(ch.channelId))?.status).toBe("concluded");
      });

      it("applies a duplicate issued concurrently exactly once", async () => {
        await openChannel();
        const deposit = { assetIndex: 0, participant: 0 as const, amount: 1n };
        const results = await Promise.all(
          Array.from({ length: 10 }, () => store.depositConfirmed(ch.channelId, deposit, "dup")),
        );
        expect(results.filter((r) => r)).toHaveLength(1);
        expect((await store.channel(ch.channelId))?.deposits[0]).toEqual([1001n, 1000n]);
      });
    });

    describe("watcher progress and compliance facts", () => {
      it("stores the last processed block (and lets it move back for a reorg)", async () => {
        expect(await store.lastProcessedBlock()).toBeNull();
        await store.blockProcessed(0);
        expect(await store.lastProcessedBlock()).toBe(0);
        await store.blockProcessed(1_234_567);
        expect(await store.lastProcessedBlock()).toBe(1_234_567);
        await store.blockProcessed(1_234_500);
        expect(await store.lastProcessedBlock()).toBe(1_234_500);
        for (const bad of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
          await expectStoreError(store.blockProcessed(bad), "INVALID_ARGUMENT");
        }
        expect(await store.lastProcessedBlock()).toBe(1_234_500);
      });

      it("stores the facts snapshot as opaque JSON text", async () => {
        expect(await store.facts()).toBeNull();
        const snapshot = JSON.stringify({ block: 12, holders: { [addressOf(5)]: { kyc: "1800000000" } } });
        await store.factsSaved(snapshot);
        expect(await store.facts()).toBe(snapshot);
        await store.factsSaved("[]");
        expect(await store.facts()).toBe("[]");
        await expectStoreError(store.factsSaved("{not json"), "INVALID_ARGUMENT");
        expect(await store.facts()).toBe("[]");
      });

      it("keeps the secrets it learnt, by hashlock, and refuses malformed ones", async () => {
        expect((await store.secrets()).size).toBe(0);
        const [h1, s1, h2, s2] = ["11", "22", "33", "44"].map((b) => `0x${b.repeat(32)}`) as [Bytes32, Bytes32, Bytes32, Bytes32];
        await Promise.all([store.secretLearned(h1, s1), store.secretLearned(h2, s2)]);
        expect(await store.secrets()).toEqual(new Map([[h1, s1], [h2, s2]]));
        await expectStoreError(store.secretLearned(h1, "0x12"), "INVALID_ARGUMENT");
        await expectStoreError(store.secretLearned(`0x${"AB".repeat(32)}`, s1), "INVALID_ARGUMENT");
        expect((await store.secrets()).get(h1)).toBe(s1);
      });
    });

    describe("abandoning a channel that never reached the chain", () => {
      it("deletes a proposed channel with its proposal and history; its id can be created again", async () => {
        await store.channelCreated(ch);
        await store.channelCreated(other);
        await store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
        await store.proposalRecorded(ch.channelId, proposal(ch, 2n, 1));
        await store.channelAbandoned(ch.channelId);
        expect(await store.channel(ch.channelId)).toBeUndefined();
        expect((await store.channels()).map((r) => r.channelId)).toEqual([other.channelId]);
        await expectStoreError(store.history(ch.channelId), "UNKNOWN_CHANNEL");
        await expectStoreError(store.channelOpened(ch.channelId, "late-open"), "UNKNOWN_CHANNEL");
        await store.channelCreated(ch);
        expect(await store.history(ch.channelId)).toEqual([]);
        expect((await store.channel(ch.channelId))?.latest).toBeNull();
      });

      it("refuses a channel seen on chain (INVALID_TRANSITION) or unknown, and changes nothing", async () => {
        await openChannel(ch);
        const before = await store.channel(ch.channelId);
        await expectStoreError(store.channelAbandoned(ch.channelId), "INVALID_TRANSITION");
        expect(await store.channel(ch.channelId)).toEqual(before);
        await expectStoreError(store.channelAbandoned(other.channelId), "UNKNOWN_CHANNEL");
      });

      it("is ordered with unawaited writes: before it they apply, after it the channel is unknown", async () => {
        await store.channelCreated(ch);
        const writes = [
          store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n)),
          store.channelAbandoned(ch.channelId),
          expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n)), "UNKNOWN_CHANNEL"),
          store.channelCreated(ch),
          store.blockProcessed(9),
        ];
        await Promise.all(writes);
        expect((await store.channel(ch.channelId))?.latest).toBeNull();
        expect(await store.history(ch.channelId)).toEqual([]);
        expect(await store.lastProcessedBlock()).toBe(9);
      });
    });

    describe("invoices", () => {
      const [h1, s1, h2, s2, h3, s3] = ["11", "12", "21", "22", "31", "32"].map((b) => `0x${b.repeat(32)}`) as Bytes32[];

      it("keeps an issued invoice's secret and expiry; paid, it stays a secret but is no longer pending", async () => {
        await store.invoiceIssued(h1!, s1!, 1_000);
        await store.invoiceIssued(h2!, s2!, 2_000);
        expect(await store.invoices()).toEqual(new Map([[h1, 1_000], [h2, 2_000]]));
        expect(await store.secrets()).toEqual(new Map([[h1, s1], [h2, s2]]));
        await store.invoicePaid(h1!);
        await store.invoicePaid(h3!); // not an invoice: nothing to do
        expect(await store.invoices()).toEqual(new Map([[h2, 2_000]]));
        expect((await store.secrets()).get(h1!)).toBe(s1);
      });

      it("deletes expired unpaid invoices with their secrets, and keeps those locked in a channel as paid", async () => {
        await store.channelCreated(ch);
        const lock = { assetIndex: 1, sender: 0 as const, amount: 5n, hashlock: h3!, expiry: 1_800_000_000n };
        await store.invoiceIssued(h1!, s1!, 1_000);
        await store.invoiceIssued(h2!, s2!, 5_000);
        await store.invoiceIssued(h3!, s3!, 1_000);
        await store.stateAgreed(ch.channelId, signedState(ch, 1n, { locks: [lock] }), paymentUpdate(1n));
        expect(await store.invoicesExpired(999)).toEqual([]);
        expect(await store.invoicesExpired(1_000)).toEqual([h1]);
        expect(await store.invoices()).toEqual(new Map([[h2, 5_000]]));
        expect(await store.secrets()).toEqual(new Map([[h2, s2], [h3, s3]]));
        expect(await store.invoicesExpired(1_000)).toEqual([]);
      });

      it("refuses malformed arguments (INVALID_ARGUMENT) and changes nothing", async () => {
        await expectStoreError(store.invoiceIssued(h1!, "0x12" as Bytes32, 1_000), "INVALID_ARGUMENT");
        await expectStoreError(store.invoiceIssued(h1!, s1!, -1), "INVALID_ARGUMENT");
        await expectStoreError(store.invoiceIssued(h1!, s1!, 1.5), "INVALID_ARGUMENT");
        await expectStoreError(store.invoicePaid("0x12" as Bytes32), "INVALID_ARGUMENT");
        await expectStoreError(store.invoicesExpired(Number.NaN), "INVALID_ARGUMENT");
        expect((await store.invoices()).size).toBe(0);
        expect((await store.secrets()).size).toBe(0);
      });
    });

    describe("concurrency", () => {
      it("validates unawaited writes in call order", async () => {
        const writes: Promise<unknown>[] = [store.channelCreated(ch), store.channelOpened(ch.channelId, "o")];
        for (let n = 1n; n <= 50n; n++) writes.push(store.stateAgreed(ch.channelId, signedState(ch, n), paymentUpdate(n)));
        const stale = expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 50n), paymentUpdate(50n)), "STALE_STATE");
        writes.push(store.depositConfirmed(ch.channelId, { assetIndex: 0, participant: 1, amount: 3n }, "d"));
        await Promise.all([...writes, stale]);
        const record = await store.channel(ch.channelId);
        expect(record?.latest?.state.nonce).toBe(50n);
        expect(record?.deposits[0]).toEqual([0n, 3n]);
        expect(await store.history(ch.channelId)).toHaveLength(50);
      });

      it("group commit: 1,000 concurrent writes are all stored, in few batches", async () => {
        const channels = Array.from({ length: 100 }, (_, i) => newChannel(1000 + i));
        await Promise.all(channels.map((c) => store.channelCreated(c)));
        const before = harness.batches?.(store) ?? 0;
        const writes: Promise<void>[] = [];
        for (let n = 1n; n <= 10n; n++) {
          for (const c of channels) writes.push(store.stateAgreed(c.channelId, signedState(c, n), paymentUpdate(n)));
        }
        expect(writes).toHaveLength(1000);
        await Promise.all(writes);
        if (harness.batches !== undefined) {
          const batches = harness.batches(store) - before;
          expect(batches).toBeGreaterThanOrEqual(1);
          expect(batches).toBeLessThanOrEqual(3);
        }
        for (const c of channels) {
          expect((await store.channel(c.channelId))?.latest?.state.nonce).toBe(10n);
          expect((await store.history(c.channelId)).map((e) => e.signed.state.nonce)).toEqual(
            Array.from({ length: 10 }, (_, i) => BigInt(i + 1)),
          );
        }
      });

      it("a resolved write implies every earlier write is visible", async () => {
        await store.channelCreated(ch);
        const first = store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
        const second = store.blockProcessed(42);
        await second;
        expect((await store.channel(ch.channelId))?.latest?.state.nonce).toBe(1n);
        await first;
      });
    });

    describe("close", () => {
      it("waits for writes in flight, then refuses everything with CLOSED", async () => {
        await store.channelCreated(ch);
        const pending = store.stateAgreed(ch.channelId, signedState(ch, 1n), paymentUpdate(1n));
        await store.close();
        await pending;
        await store.close();
        await expectStoreError(store.channel(ch.channelId), "CLOSED");
        await expectStoreError(store.blockProcessed(1), "CLOSED");
        await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 2n), paymentUpdate(2n)), "CLOSED");
      });
    });

    if (harness.reopen !== undefined) {
      const reopen = harness.reopen.bind(harness);
      describe("reopen", () => {
        it("finds everything after close and reopen", async () => {
          await openChannel(ch);
          await store.channelCreated(other);
          for (let n = 1n; n <= 12n; n++) {
            await store.stateAgreed(ch.channelId, signedState(ch, n), tradeUpdate(n, 1_700_000_000_000 + Number(n), `order ${n}`));
          }
          await store.proposalRecorded(ch.channelId, proposal(ch, 13n, 1));
          await store.withdrawalObserved(ch.channelId, 4n, "w");
          await store.disputeObserved(ch.channelId, { nonce: 12n, deadline: 1_700_003_600n }, "d");
          await store.proposalRecorded(other.channelId, { ...proposal(other, 1n, 0), voided: true }); // a void venue proposal
          await store.blockProcessed(777);
          await store.factsSaved('{"v":1}');
          await store.secretLearned(`0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`);
          await store.invoiceIssued(`0x${"cc".repeat(32)}`, `0x${"dd".repeat(32)}`, 1_234);

          const channels = await store.channels();
          const history = await store.history(ch.channelId);
          store = await reopen(store);

          expect(await store.channels()).toEqual(channels);
          expect(await store.history(ch.channelId)).toEqual(history);
          expect(await store.history(other.channelId)).toEqual([]);
          expect(await store.lastProcessedBlock()).toBe(777);
          expect(await store.facts()).toBe('{"v":1}');
          expect(await store.secrets()).toEqual(new Map([[`0x${"aa".repeat(32)}`, `0x${"bb".repeat(32)}`], [`0x${"cc".repeat(32)}`, `0x${"dd".repeat(32)}`]]));
          expect(await store.invoices()).toEqual(new Map([[`0x${"cc".repeat(32)}`, 1_234]]));
          expect(await store.eventApplied("d")).toBe(true);
          expect(await store.eventApplied("nope")).toBe(false);
          // Applied events stay applied; validation continues from the reopened state.
          expect(await store.disputeObserved(ch.channelId, { nonce: 12n, deadline: 1_700_003_600n }, "d")).toBe(false);
          await expectStoreError(store.stateAgreed(ch.channelId, signedState(ch, 12n), paymentUpdate(1n)), "STALE_STATE");
          await store.stateAgreed(ch.channelId, signedState(ch, 13n), paymentUpdate(13n));
          expect((await store.channel(ch.channelId))?.pending).toBeNull();
        });

        it("reopens an empty store", async () => {
          store = await reopen(store);
          expect(await store.channels()).toEqual([]);
          expect(await store.lastProcessedBlock()).toBeNull();
          expect(await store.facts()).toBeNull();
        });
      });
    }
  });
}
