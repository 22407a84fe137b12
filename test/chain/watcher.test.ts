import { beforeEach, describe, expect, it, vi } from "vitest";
import { type Contract, type Filter, type Log } from "ethers";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import {
  ChainWatcher,
  isComplianceEvent,
  type ChainEvent,
  type ChainWatcherOptions,
  type WatcherProvider,
  type WatcherTimer,
} from "../../client/chain/watcher.js";
import {
  applyEvents,
  detectRestriction,
  emptyComplianceFacts,
  trackJurisdiction,
  trackRules,
  trackToken,
} from "../../client/protocol/compliance/index.js";
import { chainFixture, type ChainFixture } from "./fixture.js";

/** A cursor store and an idempotent event store keyed by eventId, as a real handler would keep. */
function memoryStore(initialCursor: number | null = null) {
  const state = { cursor: initialCursor, saves: [] as number[], events: new Map<string, ChainEvent>(), deliveries: [] as string[] };
  return {
    state,
    loadCursor: async () => state.cursor,
    saveCursor: async (block: number) => {
      state.cursor = block;
      state.saves.push(block);
    },
    handler: async (event: ChainEvent) => {
      state.deliveries.push(event.eventId);
      state.events.set(event.eventId, event);
    },
  };
}

/** Wraps a provider to record getLogs ranges and optionally refuse wide ones. */
function recordingProvider(inner: WatcherProvider, maxSpan = Infinity) {
  const ranges: [number, number][] = [];
  const provider: WatcherProvider = {
    getBlockNumber: () => inner.getBlockNumber(),
    getBlock: (n) => inner.getBlock(n),
    async getLogs(filter: Filter): Promise<Log[]> {
      const from = Number(filter.fromBlock);
      const to = Number(filter.toBlock);
      if (to - from + 1 > maxSpan) throw new Error("query returned more than 10000 results");
      ranges.push([from, to]);
      return inner.getLogs(filter);
    },
  };
  return { provider, ranges };
}

describe("ChainWatcher", () => {
  let f: ChainFixture;
  let contracts: ChainWatcherOptions["contracts"];

  beforeEach(async () => {
    f = await chainFixture();
    contracts = { adjudicators: [f.adjudicatorAddress], jurisdictions: [f.jurisdiction], tokens: [f.token], rules: [f.rules] };
  });

  function watcher(store: ReturnType<typeof memoryStore>, extra: Partial<ChainWatcherOptions> = {}) {
    return new ChainWatcher({ provider: f.provider, contracts, ...store, ...extra });
  }

  it("catches up from the stored block on events that happened while it was down, in order", async () => {
    const down = await f.provider.getBlockNumber();
    const { params, channelId } = await f.fundedChannel();
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 2n, [5n, -5n])));
    const head = await f.provider.getBlockNumber();

    const store = memoryStore(down);
    const result = await watcher(store).pollOnce();
    expect(result).toMatchObject({ fromBlock: down + 1, toBlock: head, head });
    expect(store.state.saves).toEqual([head]);

    const events = [...store.state.events.values()];
    // Nothing at or before the stored block (the onboarding and minting) is delivered again.
    expect(events.every((e) => e.position.blockNumber > BigInt(down))).toBe(true);
    const adjudicatorEvents = events.filter((e) => e.source === "adjudicator").map((e) => e.name);
    expect(adjudicatorEvents).toEqual(["ChannelOpened", "Deposited", "Deposited", "Deposited", "Deposited", "StateRegistered"]);
    // Deposits move tokens: the RestrictedToken's Transfer to the adjudicator is a compliance event.
    expect(events.filter((e) => e.name === "Transfer" && e.to === f.adjudicatorAddress)).toHaveLength(2);

    const positions = events.map((e) => e.position);
    const sorted = [...positions].sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : Number(a.blockNumber - b.blockNumber)));
    expect(positions).toEqual(sorted);
    for (const event of events) {
      expect(event.eventId).toBe(`${event.position.blockNumber}:${event.position.logIndex}`);
      const block = await f.provider.getBlock(Number(event.position.blockNumber));
      expect(event.blockTimestamp).toBe(BigInt(block!.timestamp));
      expect(event.blockHash).toBe(block!.hash);
    }
    const opened = events.find((e) => e.name === "ChannelOpened");
    expect(opened).toMatchObject({
      channelId,
      participant0: f.venueWallet.address,
      participant1: f.investorWallet.address,
      assets: [f.token, f.cash],
      challengePeriod: 3600n,
      salt: params.salt,
      emitter: f.adjudicatorAddress,
    });
    const registered = events.find((e) => e.name === "StateRegistered");
    expect(registered).toMatchObject({ channelId, nonce: 2n, nets: [5n, -5n] });
  });

  it("delivers every adjudicator event kind", async () => {
    const store = memoryStore(await f.provider.getBlockNumber());
    const { params } = await f.fundedChannel({ venue: [0n, 0n], investor: [100n, 100n] });
    await f.investor.withdraw(params, f.sign(f.stateOf(params, 1n, [0n, 0n], { withdrawn: [[0n, 10n], [0n, 0n]] })));
    const secret = `0x${"ab".repeat(32)}`;
    await f.venue.revealSecret(secret);
    await (await f.system.token.getFunction("freeze")(f.investorWallet.address)).wait();
    await f.venue.closeCooperatively(params, f.sign(f.stateOf(params, 2n, [0n, 0n], { withdrawn: [[0n, 10n], [0n, 0n]], isFinal: true })));
    // The deployer (account 0) is the token's controller.
    const [admin] = await f.ethers.getSigners();
    const controller = new AdjudicatorClient(admin!, f.deployment);
    await controller.recoverClaimable(f.token, f.investorWallet.address, f.venueWallet.address);
    await (await f.system.token.getFunction("unfreeze")(f.investorWallet.address)).wait();
    // A claim: the venue's payout of another channel is deferred while it is frozen.
    const second = await f.fundedChannel({ venue: [50n, 0n], investor: [0n, 1n] });
    await (await f.system.token.getFunction("freeze")(f.venueWallet.address)).wait();
    await f.investor.closeCooperatively(second.params, f.sign(f.stateOf(second.params, 1n, [0n, 0n], { isFinal: true })));
    await (await f.system.token.getFunction("unfreeze")(f.venueWallet.address)).wait();
    await f.venue.claim(f.token);
    await watcher(store).pollOnce();
    const names = new Set([...store.state.events.values()].filter((e) => e.source === "adjudicator").map((e) => e.name));
    expect([...names].sort()).toEqual(
      ["ChannelConcluded", "ChannelOpened", "Claimed", "ClaimableRecovered", "Deposited", "PayoutDeferred", "SecretRevealed", "Withdrawn"].sort(),
    );
    const revealed = [...store.state.events.values()].find((e) => e.name === "SecretRevealed");
    expect(revealed).toMatchObject({ secret });
    const recovered = [...store.state.events.values()].find((e) => e.name === "ClaimableRecovered");
    expect(recovered).toMatchObject({ token: f.token, holder: f.investorWallet.address, recipient: f.venueWallet.address, amount: 90n, controller: admin!.address });
  });

  it("feeds the core's compliance mirror so that it agrees with the token's detectTransferRestriction", async () => {
    const store = memoryStore();
    const [admin] = await f.ethers.getSigners();
    const rules = f.system.rules;
    await (await rules.getFunction("setLockup")(f.investorWallet.address, (await f.now()) + 10_000n)).wait();
    await (await rules.getFunction("setMaxBalance")(2_000_000n)).wait();
    await (await rules.getFunction("setCountryBlocked")(840n, true)).wait();
    await (await f.system.token.getFunction("freeze")(f.outsiderWallet.address)).wait();
    await (await f.system.token.getFunction("pause")()).wait();
    await (await f.system.token.getFunction("unpause")()).wait();
    await (await f.system.jurisdiction.getFunction("revokeAttribute")(f.venueWallet.address, 2n)).wait();
    await (await f.system.jurisdiction.getFunction("issueAttribute")(f.venueWallet.address, 2n, 1n, (await f.now()) + 100_000n)).wait();
    await (await f.system.jurisdiction.getFunction("issueAttribute")(f.outsiderWallet.address, 4n, 840n, (await f.now()) + 100_000n)).wait();

    await watcher(store).pollOnce();
    const compliance = [...store.state.events.values()].filter(isComplianceEvent);
    const names = new Set(compliance.map((e) => e.name));
    for (const name of ["ValidatorApproved", "AttributeIssued", "AttributeRevoked", "RulesReplaced", "Transfer", "LockupChanged", "MaxBalanceChanged", "CountryBlockChanged", "AddressFrozen", "Paused", "Unpaused"]) {
      expect(names, name).toContain(name);
    }

    let facts = emptyComplianceFacts();
    facts = trackJurisdiction(facts, f.jurisdiction);
    facts = trackRules(facts, f.rules, f.jurisdiction);
    facts = trackToken(facts, f.token);
    facts = applyEvents(facts, compliance);
    // Applying the same events again (a re-delivery) changes nothing.
    expect(applyEvents(facts, compliance)).toBe(facts);

    const now = await f.now();
    const accounts = [f.venueWallet.address, f.investorWallet.address, f.outsiderWallet.address, admin!.address, f.adjudicatorAddress];
    for (const from of accounts) {
      for (const to of accounts) {
        for (const amount of [1n, 1_500_000n]) {
          const onChain = Number(await f.system.token.getFunction("detectTransferRestriction")(from, to, amount));
          expect(detectRestriction(facts, f.token, from, to, amount, now), `${from} → ${to} ${amount}`).toBe(onChain);
        }
      }
    }
  });

  it("re-delivers an unfinished chunk after a handler failure or a crash; an idempotent store ends up with each event once", async () => {
    const down = await f.provider.getBlockNumber();
    await f.fundedChannel();
    const head = await f.provider.getBlockNumber();
    const store = memoryStore(down);
    let failures = 1;
    const flaky = async (event: ChainEvent) => {
      if (store.state.deliveries.length === 3 && failures-- > 0) throw new Error("disk full");
      await store.handler(event);
    };
    const first = watcher(store, { handler: flaky, chunkSize: 1_000 });
    await expect(first.pollOnce()).rejects.toThrow("disk full");
    expect(store.state.cursor).toBe(down); // nothing persisted for the unfinished chunk
    const delivered = [...store.state.deliveries];
    expect(delivered).toHaveLength(3);

    // Retry in the same process …
    await first.pollOnce();
    expect(store.state.cursor).toBe(head);
    expect(store.state.deliveries.slice(3, 6)).toEqual(delivered); // the same ids again, in the same order
    const all = [...store.state.events.keys()];

    // … and a "crash" after handling but before saving: a new watcher re-delivers from the stored cursor.
    store.state.cursor = down;
    const before = store.state.deliveries.length;
    await watcher(store).pollOnce();
    expect(store.state.deliveries.slice(before)).toEqual(all);
    expect([...store.state.events.keys()]).toEqual(all);
  });

  it("processes a block only once `confirmations` blocks are built on it", async () => {
    const store = memoryStore(await f.provider.getBlockNumber());
    const w = watcher(store, { confirmations: 2 });
    await f.investor.open(f.newParams());
    const opened = await f.provider.getBlockNumber();

    let result = await w.pollOnce();
    expect(result).toMatchObject({ head: opened, fromBlock: opened, toBlock: opened - 1, delivered: 0 }); // nothing yet
    expect(store.state.deliveries).toEqual([]);
    await f.mine();
    await w.pollOnce();
    expect(store.state.deliveries).toEqual([]);
    expect(w.lastProcessedBlock).toBe(opened - 1);
    await f.mine();
    result = await w.pollOnce();
    expect(result.toBlock).toBe(opened);
    expect([...store.state.events.values()].map((e) => e.name)).toEqual(["ChannelOpened"]);
    expect(store.state.cursor).toBe(opened);
  });

  it("reads in bounded chunks and halves a chunk the node refuses", async () => {
    const all = memoryStore();
    await watcher(all).pollOnce();
    const head = await f.provider.getBlockNumber();
    expect(head).toBeGreaterThan(20);

    const chunked = memoryStore();
    const recorded = recordingProvider(f.provider);
    const result = await watcher(chunked, { provider: recorded.provider, chunkSize: 4 }).pollOnce();
    expect(recorded.ranges[0]![0]).toBe(0);
    for (const [i, [from, to]] of recorded.ranges.entries()) {
      expect(to - from + 1).toBeLessThanOrEqual(4);
      if (i > 0) expect(from).toBe(recorded.ranges[i - 1]![1] + 1);
    }
    expect(recorded.ranges.at(-1)![1]).toBe(head);
    expect(chunked.state.saves).toEqual(recorded.ranges.map(([, to]) => to));
    expect(result.requests).toBe(recorded.ranges.length);
    expect(chunked.state.deliveries).toEqual(all.state.deliveries);

    const narrow = memoryStore();
    const refusing = recordingProvider(f.provider, 3);
    await watcher(narrow, { provider: refusing.provider, chunkSize: 100 }).pollOnce();
    expect(refusing.ranges.every(([from, to]) => to - from + 1 <= 3)).toBe(true);
    expect(narrow.state.deliveries).toEqual(all.state.deliveries);
  });

  it("follows a token's new rules contract from its RulesReplaced on, within the same chunk", async () => {
    const [admin] = await f.ethers.getSigners();
    const store = memoryStore(await f.provider.getBlockNumber());
    const newRules = (await f.ethers.deployContract("TransferRules", [f.jurisdiction, admin!.address])) as unknown as Contract;
    const newRulesAddress = (await newRules.getAddress()) as string;
    await (await newRules.getFunction("setLockup")(f.investorWallet.address, 1n)).wait(); // before: not followed
    await (await f.system.token.getFunction("replaceRules")(newRulesAddress)).wait();
    await (await newRules.getFunction("setMaxBalance")(77n)).wait();

    const w = watcher(store, { chunkSize: 1_000 });
    await w.pollOnce();
    const events = [...store.state.events.values()];
    expect(events.map((e) => e.name)).toEqual(["RulesReplaced", "MaxBalanceChanged"]);
    expect(events[1]).toMatchObject({ emitter: newRulesAddress, maxBalance: 77n });
    expect(w.contracts().rules).toContain(newRulesAddress.toLowerCase());

    // Contracts added from a handler are read from that event on as well.
    const store2 = memoryStore(await f.provider.getBlockNumber());
    const other = (await f.ethers.deployContract("TransferRules", [f.jurisdiction, admin!.address])) as unknown as Contract;
    await f.investor.open(f.newParams());
    await (await other.getFunction("setMaxBalance")(5n)).wait();
    const w2: ChainWatcher = watcher(store2, {
      handler: async (event) => {
        await store2.handler(event);
        if (event.name === "ChannelOpened") w2.watch("rules", (await other.getAddress()) as string);
      },
    });
    await w2.pollOnce();
    expect([...store2.state.events.values()].map((e) => e.name)).toEqual(["ChannelOpened", "MaxBalanceChanged"]);
  });

  it("polls on an injectable timer after catching up, and stops", async () => {
    const callbacks: (() => void)[] = [];
    const timer: WatcherTimer = { set: (callback) => callbacks.push(callback), clear: () => undefined };
    const store = memoryStore(await f.provider.getBlockNumber());
    await f.investor.open(f.newParams());
    const errors: unknown[] = [];
    const w = watcher(store, { timer, onError: (e) => errors.push(e) });
    await w.start();
    expect(store.state.deliveries).toHaveLength(1);
    expect(callbacks).toHaveLength(1);

    await f.investor.open(f.newParams());
    callbacks.shift()!();
    await w.pollOnce(); // joins the poll the timer started
    expect(store.state.deliveries).toHaveLength(2);
    await new Promise((r) => setTimeout(r, 0));
    expect(callbacks).toHaveLength(1); // rescheduled
    await w.stop();
    expect(errors).toEqual([]);
  });
  it("polls at once when woken (a new block announced), and again right after a poll that read the head too early", async () => {
    const store = memoryStore(await f.provider.getBlockNumber());
    // A timer that never fires: only wake() can make the watcher poll after its start.
    const idle: WatcherTimer = { set: () => "idle", clear: () => undefined };
    let heads = 0;
    let gate: Promise<void> | undefined;
    const provider: WatcherProvider = {
      async getBlockNumber() {
        heads += 1;
        const head = await f.provider.getBlockNumber();
        await gate;
        return head;
      },
      getLogs: (filter) => f.provider.getLogs(filter),
      getBlock: (n) => f.provider.getBlock(n),
    };
    const w = new ChainWatcher({ provider, contracts, ...store, timer: idle });
    await w.start();
    const names = () => [...store.state.events.values()].map((e) => e.name);

    await (await f.system.token.getFunction("freeze")(f.investorWallet.address)).wait();
    w.wake();
    await vi.waitFor(() => expect(names()).toContain("AddressFrozen"));
    expect(heads).toBe(2);

    // A poll in progress has read the head before the next block: the wake must not be lost in it.
    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    w.wake();
    await vi.waitFor(() => expect(heads).toBe(3));
    await (await f.system.token.getFunction("unfreeze")(f.investorWallet.address)).wait();
    w.wake();
    gate = undefined;
    open();
    await vi.waitFor(() => expect(names()).toContain("AddressUnfrozen"));
    expect(heads).toBe(4);
    await w.stop();
    w.wake(); // stopped: nothing happens
    expect(heads).toBe(4);
  });
});
