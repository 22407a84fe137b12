// The node's compliance mirror across restarts (channel-node/src/compliance-mirror.ts), on a real
// Hardhat chain and a real LevelDB store: a mirror restored from the store catches up from its saved
// block (no rescan from startBlock) and then equals one rebuilt from startBlock; a saved mirror of
// another configuration, or one that does not parse, is rebuilt and the reason logged; saves happen
// only when the mirror changed, at most once per interval, and once more at stop. A large mirror
// (40,000 holders) is saved without holding the event loop, and less often the more a save costs;
// a poll of many events copies its maps once, not once per event.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import type { Filter, Log } from "ethers";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import { LevelStore } from "../../client/store/level-store.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import {
  MIRROR_SAVE_CPU_SHARE,
  MIRROR_SAVE_INTERVAL_MS,
  decodeMirrorRecord,
  encodeMirrorRecord,
  openComplianceMirror,
  type ComplianceMirror,
  type MirroredContracts,
} from "../../channel-node/src/compliance-mirror.js";
import type { BackfillProvider } from "../../channel-node/src/rules-backfill.js";
import { largeComplianceFacts } from "../helpers/large-facts.js";
import { ATTRIBUTE, deployCompliance, type ComplianceFixture, type RestrictedToken, type TransferRules } from "../helpers/compliance.js";
import { longestTimerGap } from "../helpers/timer-gap.js";

const START_BLOCK = 0;
/** Holders of the large mirror: its one-call encoding took ~0.4 s; the sliced one holds the loop for ms. */
const LARGE_HOLDERS = 40_000;
/** The longest gap allowed between two firings of a 5 ms timer while the large mirror is saved. */
const MAX_TIMER_GAP_MS = 100;

let c: ComplianceFixture;
let contracts: MirroredContracts;
/** A second security (its own rules), for a changed configuration. */
let other: { token: string; rules: string };
const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];

/** The chain's provider, recording the first block of every getLogs. */
function recording(): { provider: BackfillProvider; fromBlocks: number[] } {
  const inner = c.ethers.provider;
  const fromBlocks: number[] = [];
  const provider: BackfillProvider = {
    getBlockNumber: () => inner.getBlockNumber(),
    call: (request) => inner.call(request),
    getBlock: (n) => inner.getBlock(n),
    async getLogs(filter: Filter): Promise<Log[]> {
      fromBlocks.push(Number(filter.fromBlock));
      return inner.getLogs(filter);
    },
  };
  return { provider, fromBlocks };
}

function logs() {
  const lines: { level: number; msg: string; mismatch?: string }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function levelStore(): Promise<LevelStore> {
  const dir = mkdtempSync(join(tmpdir(), "clearline-mirror-"));
  dirs.push(dir);
  const store = await LevelStore.open(dir);
  open.push(store);
  return store;
}

async function mirrorOn(store: LevelStore | MemoryStore, options: { contracts?: MirroredContracts; startBlock?: number; clock?: () => number } = {}) {
  const { provider, fromBlocks } = recording();
  const { logger, lines } = logs();
  const mirror = await openComplianceMirror({
    provider,
    store,
    contracts: options.contracts ?? contracts,
    startBlock: options.startBlock ?? START_BLOCK,
    confirmations: 0,
    pollIntervalMs: 3_600_000, // the tests poll by hand
    logger,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  open.push({ close: () => mirror.stop() });
  return { mirror, fromBlocks, lines };
}

/** A mirror rebuilt from startBlock (nothing saved), caught up to the head. */
async function rebuilt(options: { contracts?: MirroredContracts } = {}): Promise<ComplianceMirror> {
  const { mirror, fromBlocks } = await mirrorOn(new MemoryStore(), options);
  await mirror.start();
  expect(fromBlocks[0]).toBe(START_BLOCK);
  return mirror;
}

const head = () => c.ethers.provider.getBlockNumber();

const textOf = (mirror: ComplianceMirror) => JSON.stringify(complianceFactsToJson(mirror.facts()));

beforeAll(async () => {
  const { ethers } = await hre.network.create();
  c = await deployCompliance(ethers);
  contracts = { jurisdiction: await c.jurisdiction.getAddress(), securities: [{ token: await c.token.getAddress(), rules: await c.rules.getAddress() }] };
  const jurisdiction = contracts.jurisdiction;
  const rules = (await ethers.deployContract("TransferRules", [jurisdiction, c.admin.address], c.admin)) as unknown as TransferRules;
  const token = (await ethers.deployContract("RestrictedToken", ["Other", "OTH", 18, c.admin.address, await rules.getAddress()], c.admin)) as unknown as RestrictedToken;
  other = { token: await token.getAddress(), rules: await rules.getAddress() };
}, 60_000);

afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("compliance mirror across restarts", () => {
  it("restarts from the saved mirror without rescanning from startBlock, and equals a mirror rebuilt from startBlock", async () => {
    const store = await levelStore();
    const [alice, bob, carol] = [await c.makeInvestor(), await c.makeInvestor(), await c.makeInvestor({ country: 276 })];
    await (await c.token.mint(alice.address, 1_000n)).wait();
    await (await c.token.connect(alice).transfer(bob.address, 300n)).wait();
    await (await c.token.freeze(carol.address)).wait();
    await (await c.rules.setLockup(bob.address, 4_000_000_000n)).wait();
    await (await c.rules.setMaxBalance(10_000n)).wait();

    const first = await mirrorOn(store);
    await first.mirror.start();
    expect(first.fromBlocks[0]).toBe(START_BLOCK);
    expect(first.lines.some((l) => l.msg.startsWith("no saved compliance mirror"))).toBe(true);
    await first.mirror.stop();
    const savedAt = await head();
    const saved = decodeMirrorRecord((await store.facts())!);
    expect(saved.block).toBe(savedAt);
    expect(saved.facts).toEqual(first.mirror.facts());

    // While the node is down.
    await (await c.token.unfreeze(carol.address)).wait();
    await (await c.token.connect(alice).transfer(carol.address, 50n)).wait();
    await (await c.jurisdiction.connect(c.validator).revokeAttribute(bob.address, ATTRIBUTE.AML)).wait();
    await (await c.rules.setCountryBlocked(276n, true)).wait();
    await (await c.rules.setLockup(bob.address, 0n)).wait();
    await (await c.token.freeze(alice.address)).wait();

    const second = await mirrorOn(store);
    expect(second.lines.some((l) => l.msg === "compliance mirror restored from the store")).toBe(true);
    // Restored: the facts as saved until the watcher catches up.
    expect(second.mirror.facts()).toEqual(saved.facts);
    await second.mirror.start();
    expect(second.fromBlocks[0]).toBe(savedAt + 1);

    const reference = await rebuilt();
    expect(second.mirror.facts()).toEqual(reference.facts());
    expect(textOf(second.mirror)).toBe(textOf(reference));
    const token = second.mirror.facts().tokens.get(contracts.securities[0]!.token.toLowerCase())!;
    expect(new Set(token.frozen)).toEqual(new Set([alice.address.toLowerCase()]));
    expect(token.balances.get(carol.address.toLowerCase())).toBe(50n);

    // And at the next restart the store holds the caught-up mirror.
    await second.mirror.stop();
    expect(decodeMirrorRecord((await store.facts())!).facts).toEqual(reference.facts());
  }, 60_000);

  it("rebuilds from startBlock when the configuration changed (another security, another startBlock)", async () => {
    const store = await levelStore();
    const first = await mirrorOn(store);
    await first.mirror.start();
    await first.mirror.stop();
    const withOther = { ...contracts, securities: [...contracts.securities, other] };

    const second = await mirrorOn(store, { contracts: withOther });
    expect(second.lines.find((l) => l.msg.includes("another configuration"))?.mismatch).toBe("other rules contracts");
    await second.mirror.start();
    expect(second.fromBlocks[0]).toBe(START_BLOCK);
    expect(second.mirror.facts()).toEqual((await rebuilt({ contracts: withOther })).facts());
    await second.mirror.stop();

    const third = await mirrorOn(store, { contracts: withOther, startBlock: 1 });
    expect(third.lines.find((l) => l.msg.includes("another configuration"))?.mismatch).toMatch(/startBlock 1/);
    await third.mirror.start();
    expect(third.fromBlocks[0]).toBe(1);
  }, 60_000);

  it("rebuilds from startBlock, logging why, when the saved mirror does not parse", async () => {
    const store = await levelStore();
    const reference = await rebuilt();
    const good = JSON.parse(encodeMirrorRecord({ startBlock: START_BLOCK, block: await head(), facts: reference.facts() }));
    const key = good.facts.tokens[0][0] as string;
    const corrupt = [
      JSON.stringify({ ...good, v: 2 }),
      JSON.stringify({ ...good, block: -1 }),
      // A frozen or balance key in another case would make a lookup miss: refused.
      JSON.stringify({ ...good, facts: { ...good.facts, tokens: [[key.toUpperCase().replace("0X", "0x"), good.facts.tokens[0][1]]] } }),
      JSON.stringify({ block: good.block }),
    ];
    for (const text of corrupt) {
      await store.factsSaved(text);
      const restarted = await mirrorOn(store);
      expect(restarted.lines.find((l) => l.msg.includes("does not parse"))?.level).toBe(40);
      await restarted.mirror.start();
      expect(restarted.fromBlocks[0]).toBe(START_BLOCK);
      expect(restarted.mirror.facts()).toEqual(reference.facts());
      await restarted.mirror.stop();
    }
  }, 60_000);

  it("saves only when events changed the mirror, at most once per interval, and once more at stop", async () => {
    const store = await levelStore();
    let now = 1_000_000;
    const { mirror } = await mirrorOn(store, { clock: () => now });
    await mirror.start();
    const afterStart = await store.facts();
    expect(decodeMirrorRecord(afterStart!).block).toBe(await head());

    // An event within the interval: not saved yet; once the interval passed, saved at the next poll.
    await (await c.rules.setMaxBalance(77n)).wait();
    now += MIRROR_SAVE_INTERVAL_MS - 1;
    await mirror.watcher.pollOnce();
    expect(await store.facts()).toBe(afterStart);
    now += 1;
    await c.ethers.provider.send("evm_mine", []);
    await mirror.watcher.pollOnce();
    const saved = await store.facts();
    expect(decodeMirrorRecord(saved!).block).toBe(await head());
    expect(decodeMirrorRecord(saved!).facts).toEqual(mirror.facts());
    expect(mirror.facts().rules.get(contracts.securities[0]!.rules.toLowerCase())?.maxBalance).toBe(77n);

    // Blocks without compliance events: nothing to save while running, however long.
    await c.ethers.provider.send("evm_mine", []);
    now += 10 * MIRROR_SAVE_INTERVAL_MS;
    await mirror.watcher.pollOnce();
    expect(await store.facts()).toBe(saved);

    // The stop saves the block reached even without events.
    await c.ethers.provider.send("evm_mine", []);
    await mirror.watcher.pollOnce();
    await mirror.stop();
    expect(decodeMirrorRecord((await store.facts())!).block).toBe(await head());
  }, 60_000);

  it("saves a large mirror in slices without holding the event loop, waits longer between saves that cost more, and applies a poll's events in one batch", async () => {
    const store = await levelStore();
    const [security] = contracts.securities;
    const large = largeComplianceFacts(LARGE_HOLDERS, { jurisdiction: contracts.jurisdiction, rules: security!.rules, token: security!.token, cursor: null });
    await store.factsSaved(encodeMirrorRecord({ startBlock: START_BLOCK, block: await head(), facts: large }));
    let now = 1_000_000;
    const { mirror, lines } = await mirrorOn(store, { clock: () => now });
    expect(lines.some((l) => l.msg === "compliance mirror restored from the store")).toBe(true);
    await mirror.start();

    // An event: the poll saves the mirror while a 5 ms timer keeps firing.
    await (await c.rules.setMaxBalance(123n)).wait();
    const gap = await longestTimerGap(() => mirror.watcher.pollOnce());
    const saved = await store.facts();
    expect(saved).toBe(encodeMirrorRecord({ startBlock: START_BLOCK, block: await head(), facts: mirror.facts() }));
    expect(decodeMirrorRecord(saved!).facts.jurisdictions.get(contracts.jurisdiction.toLowerCase())!.attributes.size).toBe(LARGE_HOLDERS);
    expect(gap).toBeLessThan(MAX_TIMER_GAP_MS);

    // That save cost more than 2 % of the base interval, so the next one waits longer than it.
    await (await c.rules.setMaxBalance(124n)).wait();
    now += MIRROR_SAVE_INTERVAL_MS;
    await mirror.watcher.pollOnce();
    expect(await store.facts()).toBe(saved);
    now += MIRROR_SAVE_INTERVAL_MS / MIRROR_SAVE_CPU_SHARE;
    await c.ethers.provider.send("evm_mine", []);
    await mirror.watcher.pollOnce();
    expect(decodeMirrorRecord((await store.facts())!).facts.rules.get(security!.rules.toLowerCase())?.maxBalance).toBe(124n);

    // A poll of many Transfers applies them as one batch: one copy of the 40,000 balances, not one per event.
    const investor = await c.makeInvestor();
    for (let i = 0; i < 30; i++) await (await c.token.mint(investor.address, 1n)).wait();
    const chunkGap = await longestTimerGap(() => mirror.watcher.pollOnce());
    expect(mirror.facts().tokens.get(security!.token.toLowerCase())!.balances.get(investor.address.toLowerCase())).toBe(30n);
    expect(chunkGap).toBeLessThan(MAX_TIMER_GAP_MS);
  }, 120_000);
});
