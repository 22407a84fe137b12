// Withdrawals, settlement and challenges on a provider that, like real ones, refuses `eth_getLogs`
// over more than a few blocks: a thin wrapper over the real Hardhat provider that counts every
// `getLogs` and throws a JSON-RPC refusal above its range. With the store's states no event search
// happens at all; without a store the search goes back from the head in ranges the provider accepts.
import { beforeEach, describe, expect, it } from "vitest";
import { makeError, toQuantity, type Filter, type HDNodeWallet, type Provider } from "ethers";
import { AdjudicatorClient, type AdjudicatorClientOptions } from "../../client/chain/adjudicator.js";
import { stateTuple } from "../../client/chain/tuples.js";
import { checkpointOf, storedCheckpoint } from "../../client/chain/checkpoint.js";
import { ChainError } from "../../client/chain/errors.js";
import { Watchtower, type ActionResult } from "../../client/chain/watchtower.js";
import type { Bytes32, Params, SignedState } from "../../client/protocol/types.js";
import { confirmedDeposits } from "../../client/sdk/deposits.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { chainFixture, type ChainFixture } from "./fixture.js";

const MAX_RANGE = 20;

interface LogQuery {
  readonly from: number;
  readonly to: number;
}

/** `inner` with a `getLogs` that records each query and refuses one over `maxRange` blocks. */
function refusingProvider(inner: Provider, maxRange: number): { provider: Provider; queries: LogQuery[] } {
  const queries: LogQuery[] = [];
  const blockOf = async (tag: Filter["fromBlock"]): Promise<number> => (typeof tag === "number" ? tag : await inner.getBlockNumber());
  const provider = new Proxy(inner, {
    get(target, property) {
      if (property === "getLogs") {
        return async (filter: Filter) => {
          const query = { from: await blockOf(filter.fromBlock), to: await blockOf(filter.toBlock) };
          queries.push(query);
          if (query.to - query.from + 1 > maxRange) {
            throw makeError("could not coalesce error", "UNKNOWN_ERROR", { error: { code: -32600, message: `eth_getLogs is limited to a ${maxRange} block range` } });
          }
          return target.getLogs(filter);
        };
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { provider, queries };
}

async function chainErrorOf(action: Promise<unknown>): Promise<ChainError> {
  const error: unknown = await action.then(
    () => expect.fail("expected a ChainError"),
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ChainError);
  return error as ChainError;
}

describe("event searches on a provider that bounds eth_getLogs", () => {
  let f: ChainFixture;
  let queries: LogQuery[];
  let provider: Provider;

  beforeEach(async () => {
    f = await chainFixture();
    ({ provider, queries } = refusingProvider(f.provider, MAX_RANGE));
  });

  /** The investor's client on the refusing provider. */
  const investorOn = (options: AdjudicatorClientOptions = {}): AdjudicatorClient =>
    new AdjudicatorClient(f.investorWallet.connect(provider) as HDNodeWallet, f.deployment, { pollIntervalMs: 5, ...options });

  const mineBlocks = (count: number): Promise<unknown> => f.provider.send("hardhat_mine", [toQuantity(count)]);

  /** A store holding the channel with `states` agreed, as the investor's would. */
  async function storeWith(channelId: Bytes32, params: Params, states: readonly SignedState[]): Promise<MemoryStore> {
    const store = new MemoryStore();
    await store.channelCreated({ channelId, params, deployment: f.deployment, me: 1, createdAt: 0 });
    await store.channelOpened(channelId, "opened");
    for (const signed of states) await store.stateAgreed(channelId, signed, { kind: "withdrawal", movements: [], at: 0 });
    return store;
  }

  it("withdraws twice and counts what was paid from the store's states, without a single eth_getLogs", async () => {
    const investor = investorOn({ startBlock: f.startBlock, maxLogRange: 10_000 });
    const { params, channelId } = await f.fundedChannel();
    const first = f.sign(f.stateOf(params, 1n, [0n, 0n], { withdrawn: [[0n, 100n], [0n, 0n]] }));
    const store = await storeWith(channelId, params, [first]);
    expect(await storedCheckpoint(investor, store, (await store.channel(channelId))!)).toBeNull();
    await investor.withdraw(params, first, await checkpointOf(investor, store, (await store.channel(channelId))!));
    await mineBlocks(3 * MAX_RANGE);

    // A payment, then the second withdrawal; the store has not seen the first Withdrawn event yet:
    // the adjudicator's record names the checkpoint's nonce, the store's history holds its state.
    const payment = f.sign(f.stateOf(params, 2n, [5n, 0n], { withdrawn: [[0n, 100n], [0n, 0n]] }));
    const second = f.sign(f.stateOf(params, 3n, [5n, 0n], { withdrawn: [[0n, 250n], [0n, 0n]] }));
    for (const signed of [payment, second]) await store.stateAgreed(channelId, signed, { kind: "payment", movements: [], at: 0 });
    expect((await store.channel(channelId))!.checkpointNonce).toBe(0n);
    const checkpoint = await checkpointOf(investor, store, (await store.channel(channelId))!);
    expect(checkpoint).toEqual(first.state);
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    await investor.withdraw(params, second, checkpoint);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 150n);

    const record = (await store.channel(channelId))!;
    expect(await investor.holdings(channelId, 0, await checkpointOf(investor, store, record))).toEqual({ available0: 1000n, available1: 750n, paid0: 0n, paid1: 250n });
    expect(await confirmedDeposits(record, investor, undefined, store)).toEqual([
      [1000n, 1000n],
      [1000n, 1000n],
    ]);
    expect(queries).toEqual([]);
  });

  it("without a store, reads the checkpoint back from the head in ranges the provider accepts; a refused range is LOG_RANGE_REFUSED naming it", async () => {
    const { params, channelId } = await f.fundedChannel();
    const first = f.sign(f.stateOf(params, 1n, [0n, 0n], { withdrawn: [[0n, 100n], [0n, 0n]] }));
    await f.venue.withdraw(params, first, null);
    await mineBlocks(3 * MAX_RANGE);
    const second = f.sign(f.stateOf(params, 2n, [0n, 0n], { withdrawn: [[0n, 160n], [0n, 0n]] }));
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);

    const unbounded = investorOn({ startBlock: f.startBlock });
    const refused = await chainErrorOf(unbounded.withdraw(params, second));
    const head = await f.provider.getBlockNumber();
    expect(refused.code).toBe("LOG_RANGE_REFUSED");
    expect(refused.shortMessage).toContain(`blocks ${f.startBlock}–${head}`);
    const noStart = await chainErrorOf(investorOn({ maxLogRange: MAX_RANGE }).withdraw(params, second));
    expect(noStart.code).toBe("LOG_START_UNKNOWN");
    expect(queries).toHaveLength(1); // the refused one; none without a start
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before);

    queries.length = 0;
    const bounded = investorOn({ startBlock: f.startBlock, maxLogRange: MAX_RANGE });
    expect(await bounded.checkpointedState(channelId)).toEqual(stateTuple(first.state));
    expect(queries.length).toBeGreaterThanOrEqual(3);
    expect(queries[0]).toEqual({ from: head - MAX_RANGE + 1, to: head });
    for (const q of queries) expect(q.to - q.from + 1).toBeLessThanOrEqual(MAX_RANGE);
    await bounded.withdraw(params, second);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 60n);
  });

  it("challenges a stale registration and settles the registered state: from the agreed state without eth_getLogs, or from the event in bounded ranges", async () => {
    const investor = investorOn({ startBlock: f.startBlock, maxLogRange: MAX_RANGE });
    const { params, channelId } = await f.fundedChannel();
    await mineBlocks(3 * MAX_RANGE);
    const latest = f.sign(f.stateOf(params, 5n, [-200n, 300n]));
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 3n, [10n, 10n])));
    const results: ActionResult[] = [];
    const tower = new Watchtower({ client: investor, channels: () => [{ params, latest }], safetyMargin: 300n, onResult: (r) => results.push(r) });
    await tower.check();
    expect((await f.venue.channel(channelId)).nonce).toBe(5n);
    await mineBlocks(3 * MAX_RANGE);
    expect(queries).toEqual([]);

    // A client that lost its store reads the registered outcome from the event, range by range.
    const registered = await investorOn({ startBlock: f.startBlock, maxLogRange: MAX_RANGE }).registeredOutcome(channelId);
    expect(registered).toMatchObject({ nonce: 5n, nets: [-200n, 300n], locks: [] });
    expect(queries.length).toBeGreaterThanOrEqual(4);
    for (const q of queries) expect(q.to - q.from + 1).toBeLessThanOrEqual(MAX_RANGE);

    queries.length = 0;
    await f.mineAt(registered!.deadline);
    await tower.check();
    expect(results.map((r) => `${r.action.kind}:${r.status}`)).toEqual(["challenge:done", "settle:done"]);
    expect((await f.venue.channel(channelId)).phase).toBe("Concluded");
    expect(queries).toEqual([]);
  });
  it("needs no search for a channel never withdrawn from; a registration no stored state explains is alerted when no search can find it", async () => {
    const investor = investorOn(); // no start block: any search would be refused
    const { params, channelId } = await f.fundedChannel();
    expect(await investor.holdings(channelId, 0)).toEqual({ available0: 1000n, available1: 1000n, paid0: 0n, paid1: 0n });
    expect(await investor.checkpointedState(channelId)).toBeNull();

    const latest = f.sign(f.stateOf(params, 2n, [1n, 0n]));
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 4n, [9n, 0n])));
    const alerts: string[] = [];
    const tower = new Watchtower({ client: investor, channels: () => [{ params, latest }], onAlert: (a) => alerts.push(a.code) });
    expect(await tower.check()).toEqual([
      expect.objectContaining({ status: "alerted" }),
      expect.objectContaining({ status: "alerted" }),
    ]);
    expect(alerts).toEqual(["REGISTERED_NEWER_THAN_LATEST", "UNKNOWN_REGISTERED_STATE"]);
    expect(queries).toEqual([]);
    expect((await chainErrorOf(investor.registeredOutcome(channelId))).code).toBe("LOG_START_UNKNOWN");
  });
});
