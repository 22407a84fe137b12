// A store belongs to one chain (chain id, adjudicator, genesis block): real LevelDB directories,
// opened, closed and reopened against the same chain, a restarted chain and another deployment.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Level } from "level";
import { afterEach, describe, expect, it } from "vitest";
import { getAddress } from "ethers";
import { channelIdOf } from "../../client/protocol/encoding.js";
import type { ChainBinding } from "../../client/store/chain-binding.js";
import { LevelStore, type LevelStoreOptions } from "../../client/store/level-store.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { isStoreError, type NewChannel } from "../../client/store/store.js";
import { DEPLOYMENT, newChannel, paymentUpdate, signedState } from "./fixtures.js";
import { expectStoreError } from "./store-suite.js";

const CHAIN: ChainBinding = { ...DEPLOYMENT, genesisHash: `0x${"01".repeat(32)}` };
/** The same chain id and adjudicator address after a restart: only the genesis block differs. */
const RESTARTED: ChainBinding = { ...CHAIN, genesisHash: `0x${"02".repeat(32)}` };
const OTHER_ADJUDICATOR = getAddress(`0x${"be".repeat(20)}`);

const dirs: string[] = [];
const stores: LevelStore[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clearline-binding-"));
  dirs.push(dir);
  return dir;
}

async function open(dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
  const store = await LevelStore.open(dir, options);
  stores.push(store);
  return store;
}

async function closeAll(): Promise<void> {
  await Promise.all(stores.splice(0).map((s) => s.close()));
}

afterEach(async () => {
  await closeAll();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The channel `newChannel(i)` deployed at another adjudicator. */
function foreignChannel(i: number): NewChannel {
  const channel = newChannel(i);
  const deployment = { chainId: DEPLOYMENT.chainId, adjudicator: OTHER_ADJUDICATOR };
  return { ...channel, deployment, channelId: channelIdOf(channel.params, deployment.chainId, deployment.adjudicator) };
}

async function rejection(promise: Promise<unknown>): Promise<{ code: string; message: string; details: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (isStoreError(error)) return error as never;
    throw error;
  }
  throw new Error("expected a StoreError");
}

describe("LevelStore bound to its chain", () => {
  it("binds a new store to the chain it is first opened against, and reopens on that chain", async () => {
    const dir = await tempDir();
    const store = await open(dir, { chain: CHAIN });
    expect(store.chain).toEqual(CHAIN);
    await store.channelCreated(newChannel(1, 1));
    await closeAll();
    const again = await open(dir, { chain: CHAIN });
    expect((await again.channels()).length).toBe(1);
    await closeAll();
    // Without a binding to check, the store opens as it is (the node, tools) and reports its chain.
    expect((await open(dir)).chain).toEqual(CHAIN);
  });

  it("refuses a restarted chain (same id and adjudicator, new genesis) with WRONG_CHAIN that says what to do, and changes nothing", async () => {
    const dir = await tempDir();
    const store = await open(dir, { chain: CHAIN });
    await store.channelCreated(newChannel(1, 1));
    await closeAll();

    const error = await rejection(LevelStore.open(dir, { chain: RESTARTED }));
    expect(error.code).toBe("WRONG_CHAIN");
    expect(error.message).toContain("the chain was restarted or replaced");
    expect(error.message).toContain("separate data directory per chain");
    expect(error.message).toContain(CHAIN.genesisHash);
    expect(error.message).toContain(RESTARTED.genesisHash);
    expect(error.details).toMatchObject({ location: dir, storedGenesisHash: CHAIN.genesisHash, genesisHash: RESTARTED.genesisHash });
    await expectStoreError(LevelStore.open(dir, { chain: { ...CHAIN, adjudicator: OTHER_ADJUDICATOR } }), "WRONG_CHAIN");
    await expectStoreError(LevelStore.open(dir, { chain: { ...CHAIN, chainId: 1n } }), "WRONG_CHAIN");

    // The refused opens released the directory and left it bound to its own chain.
    const back = await open(dir, { chain: CHAIN });
    expect(back.chain).toEqual(CHAIN);
    expect((await back.channels()).map((r) => r.channelId)).toEqual([newChannel(1, 1).channelId]);
  });

  it("a bound store refuses a channel of another deployment (WRONG_CHAIN)", async () => {
    const store = await open(await tempDir(), { chain: CHAIN });
    await expectStoreError(store.channelCreated(foreignChannel(1)), "WRONG_CHAIN");
    expect(await store.channels()).toEqual([]);
    const memory = new MemoryStore({ chain: CHAIN });
    await expectStoreError(memory.channelCreated(foreignChannel(1)), "WRONG_CHAIN");
    await memory.channelCreated(newChannel(1));
    expect((await memory.channels()).length).toBe(1);
  });

  it("binds a store written before binding when its channels belong to the chain", async () => {
    const dir = await tempDir();
    const legacy = await open(dir);
    await legacy.channelCreated(newChannel(1, 1));
    await closeAll();
    const seen: string[][] = [];
    const adopted = await open(dir, { chain: CHAIN, adoptLegacy: async (channels) => (seen.push(channels.map((c) => c.channelId)), true) });
    expect(seen).toEqual([[newChannel(1, 1).channelId]]);
    expect(adopted.chain).toEqual(CHAIN);
    await closeAll();
    await expectStoreError(LevelStore.open(dir, { chain: RESTARTED }), "WRONG_CHAIN");
  });

  it("refuses to bind an old store whose channels are not on the chain, and leaves it unbound", async () => {
    const dir = await tempDir();
    const legacy = await open(dir);
    await legacy.channelCreated(newChannel(1, 1));
    await closeAll();
    const error = await rejection(LevelStore.open(dir, { chain: RESTARTED, adoptLegacy: async () => false }));
    expect(error.code).toBe("WRONG_CHAIN");
    expect(error.message).toContain("channels the chain does not know");
    expect((await open(dir)).chain).toBeNull();
    await closeAll();

    const foreign = await open(await tempDir());
    await foreign.channelCreated(foreignChannel(2));
    const location = (foreign as unknown as { db: Level<string, string> }).db.location;
    await closeAll();
    const mismatch = await rejection(LevelStore.open(location, { chain: CHAIN }));
    expect(mismatch.code).toBe("WRONG_CHAIN");
    expect(mismatch.message).toContain(OTHER_ADJUDICATOR);
  });

  it("refuses a malformed binding (INVALID_ARGUMENT) and a damaged stored one (CORRUPT)", async () => {
    const dir = await tempDir();
    await expectStoreError(LevelStore.open(dir, { chain: { ...CHAIN, genesisHash: "0x12" } }), "INVALID_ARGUMENT");
    await expectStoreError(LevelStore.open(dir, { chain: { ...CHAIN, adjudicator: CHAIN.adjudicator.toLowerCase() } }), "INVALID_ARGUMENT");
    const db = new Level<string, string>(dir);
    await db.put("meta/chain", '{"chainId":"x"}');
    await db.close();
    await expectStoreError(LevelStore.open(dir), "CORRUPT");
  });
});

describe("LevelStore: an abandoned channel is gone from disk", () => {
  it("its record and history are deleted durably; a channel created again under its id starts empty", async () => {
    const dir = await tempDir();
    const store = await open(dir, { chain: CHAIN });
    const ch = newChannel(1, 1);
    await store.channelCreated(ch);
    for (let n = 1n; n <= 3n; n++) await store.stateAgreed(ch.channelId, signedState(ch, n), paymentUpdate(n));
    await store.channelAbandoned(ch.channelId);
    await closeAll();
    const reopened = await open(dir, { chain: CHAIN });
    expect(await reopened.channels()).toEqual([]);
    await reopened.channelCreated(ch);
    expect(await reopened.history(ch.channelId)).toEqual([]);
    await closeAll();
    const db = new Level<string, string>(dir);
    const keys = await db.keys({ gt: "hist/", lt: "hist0" }).all();
    await db.close();
    expect(keys).toEqual([]);
  });
});
