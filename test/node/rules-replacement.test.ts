// The node's compliance mirror across a rules replacement (channel-node/src/rules-backfill.ts), on a
// real Hardhat chain: when a security's RulesReplaced names a rules contract the node does not mirror,
// its configuration set before the replacement (lock-ups, maximum balance, blocked countries) and the
// registry it reads are backfilled from startBlock; until then the token fails closed. The mirror
// decides as the token does on chain, equals a mirror rebuilt from startBlock, and keeps the new rules
// across a restart from the saved mirror (also when the restart interrupts the backfill).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { Wallet, type Filter, type Log } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { pino } from "pino";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import { addressKey, detectRestriction } from "../../client/protocol/compliance/index.js";
import { isProtocolError } from "../../client/protocol/errors.js";
import { RESTRICTION_CODES } from "../../client/protocol/restriction-codes.js";
import { LevelStore } from "../../client/store/level-store.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import {
  configurationMismatch,
  decodeMirrorRecord,
  openComplianceMirror,
  type ComplianceMirror,
  type MirroredContracts,
} from "../../channel-node/src/compliance-mirror.js";
import type { BackfillProvider } from "../../channel-node/src/rules-backfill.js";
import { ATTRIBUTE, ONE_YEAR, deployCompliance, type ComplianceFixture, type Jurisdiction, type TransferRules } from "../helpers/compliance.js";

const START_BLOCK = 0;

let c: ComplianceFixture;
let contracts: MirroredContracts;
let token: string;
let [alice, bob, carol, dave, erin]: HardhatEthersSigner[] = [];
const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];

interface Hooks {
  /** Runs before every getLogs (may wait or throw). */
  beforeGetLogs?: (filter: Filter) => Promise<void> | void;
}

/** The chain's provider, with a hook before getLogs. */
function providerWith(hooks: Hooks = {}): BackfillProvider {
  const inner = c.ethers.provider;
  return {
    getBlockNumber: () => inner.getBlockNumber(),
    getBlock: (n) => inner.getBlock(n),
    call: (request) => inner.call(request),
    async getLogs(filter: Filter): Promise<Log[]> {
      await hooks.beforeGetLogs?.(filter);
      return inner.getLogs(filter);
    },
  };
}

/** Whether a getLogs is a backfill's (one address) of `address`. */
const backfillOf = (filter: Filter, address: string) => typeof filter.address === "string" && addressKey(filter.address) === addressKey(address);

/** A promise the test resolves by hand. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

async function mirrorOn(store: LevelStore | MemoryStore, hooks: Hooks = {}, backfill?: { maxEventsKept: number }) {
  const lines: { level: number; msg: string; err?: { code?: string } }[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const mirror = await openComplianceMirror({
    provider: providerWith(hooks),
    store,
    contracts,
    startBlock: START_BLOCK,
    confirmations: 0,
    pollIntervalMs: 3_600_000, // the tests poll by hand
    logger,
    ...(backfill === undefined ? {} : { backfill }),
  });
  open.push({ close: () => mirror.stop() });
  return { mirror, lines };
}

async function levelStore(): Promise<LevelStore> {
  const dir = mkdtempSync(join(tmpdir(), "clearline-rules-"));
  dirs.push(dir);
  const store = await LevelStore.open(dir);
  open.push(store);
  return store;
}

const mine = () => c.ethers.provider.send("evm_mine", []);
const textOf = (mirror: ComplianceMirror) => JSON.stringify(complianceFactsToJson(mirror.facts()));

/** Polls (mining a block when a registry waits for the next chunk) until no backfill is left but `stuck`. */
async function settle(mirror: ComplianceMirror, stuck: readonly string[] = []): Promise<void> {
  for (let round = 0; round < 4; round++) {
    await mirror.watcher.pollOnce();
    await mirror.backfilled();
    if (mirror.backfilling().every((contract) => stuck.includes(contract))) return;
    await mine();
  }
  throw new Error(`backfills left: ${mirror.backfilling().join(", ")}`);
}

/** A mirror rebuilt from startBlock, settled. */
async function rebuilt(stuck: readonly string[] = []): Promise<ComplianceMirror> {
  const { mirror } = await mirrorOn(new MemoryStore());
  await mirror.start();
  await settle(mirror, stuck);
  return mirror;
}

/** The mirror's code for a transfer now; COMPLIANCE_UNKNOWN as a string. */
async function mirrored(mirror: ComplianceMirror, from: HardhatEthersSigner, to: HardhatEthersSigner, amount: bigint): Promise<number | "COMPLIANCE_UNKNOWN"> {
  const now = BigInt((await c.ethers.provider.getBlock("latest"))!.timestamp);
  try {
    return detectRestriction(mirror.facts(), token, from.address, to.address, amount, now);
  } catch (error) {
    if (isProtocolError(error, "COMPLIANCE_UNKNOWN")) return "COMPLIANCE_UNKNOWN";
    throw error;
  }
}

/** The token's own answer on chain. */
async function onChain(from: HardhatEthersSigner, to: HardhatEthersSigner, amount: bigint): Promise<number> {
  return Number(await c.token.detectTransferRestriction(from.address, to.address, amount));
}

async function newRules(jurisdiction: string = contracts.jurisdiction): Promise<TransferRules> {
  return (await c.ethers.deployContract("TransferRules", [jurisdiction, c.admin.address], c.admin)) as unknown as TransferRules;
}

beforeAll(async () => {
  const { ethers } = await hre.network.create();
  c = await deployCompliance(ethers);
  token = await c.token.getAddress();
  contracts = { jurisdiction: await c.jurisdiction.getAddress(), securities: [{ token, rules: await c.rules.getAddress() }] };
  [alice, bob, carol, dave, erin] = [await c.makeInvestor(), await c.makeInvestor(), await c.makeInvestor({ country: 276 }), await c.makeInvestor(), await c.makeInvestor()];
  for (const holder of [alice!, bob!, dave!]) await (await c.token.mint(holder.address, 1_000n)).wait();
}, 60_000);

afterEach(async () => {
  for (const resource of open.splice(0).reverse()) await resource.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("compliance mirror across a rules replacement", () => {
  it("backfills the new rules (settings made before the replacement enforced), fails closed until then, and equals a mirror rebuilt from startBlock", async () => {
    const rules = await newRules();
    const rulesAddress = await rules.getAddress();
    const far = BigInt((await c.ethers.provider.getBlock("latest"))!.timestamp) + ONE_YEAR;
    // Before the replacement: the node does not follow this contract yet.
    await (await rules.setLockup(alice!.address, far)).wait();
    await (await rules.setMaxBalance(1_500n)).wait();
    await (await rules.setCountryBlocked(276n, true)).wait();
    await (await rules.setCountryBlocked(124n, true)).wait();
    await (await rules.setCountryBlocked(124n, false)).wait();

    const held = gate();
    const { mirror, lines } = await mirrorOn(new MemoryStore(), { beforeGetLogs: (filter) => (backfillOf(filter, rulesAddress) ? held.wait : undefined) });
    await mirror.start();
    expect(await mirrored(mirror, alice!, bob!, 10n)).toBe(RESTRICTION_CODES.SUCCESS);

    await (await c.token.replaceRules(rulesAddress)).wait();
    await mirror.watcher.pollOnce();
    // The watcher follows the new rules, the backfill waits for its logs: fail closed, never open.
    expect(mirror.facts().tokens.get(addressKey(token))!.rules).toBe(rulesAddress);
    expect(mirror.backfilling()).toEqual([addressKey(rulesAddress)]);
    expect(await mirrored(mirror, alice!, bob!, 10n)).toBe("COMPLIANCE_UNKNOWN");
    expect(await mirrored(mirror, dave!, erin!, 10n)).toBe("COMPLIANCE_UNKNOWN");
    expect(lines.some((l) => l.msg.startsWith("rules replaced: backfilling"))).toBe(true);

    // A change after the replacement, while the backfill still runs: kept and applied after it.
    await (await rules.setLockup(bob!.address, far)).wait();
    await mirror.watcher.pollOnce();
    expect(await mirrored(mirror, bob!, erin!, 10n)).toBe("COMPLIANCE_UNKNOWN");

    held.open();
    await mirror.backfilled();
    expect(mirror.backfilling()).toEqual([]);
    const cases: [HardhatEthersSigner, HardhatEthersSigner, bigint, number][] = [
      [alice!, erin!, 10n, RESTRICTION_CODES.SENDER_LOCKED],
      [bob!, erin!, 10n, RESTRICTION_CODES.SENDER_LOCKED],
      [dave!, carol!, 10n, RESTRICTION_CODES.RECEIVER_COUNTRY_BLOCKED],
      [dave!, alice!, 600n, RESTRICTION_CODES.MAX_BALANCE_EXCEEDED],
      [dave!, erin!, 10n, RESTRICTION_CODES.SUCCESS],
    ];
    for (const [from, to, amount, code] of cases) {
      expect(await mirrored(mirror, from, to, amount)).toBe(code);
      expect(await onChain(from, to, amount)).toBe(code);
    }
    const facts = mirror.facts().rules.get(addressKey(rulesAddress))!;
    expect(new Map(facts.lockups)).toEqual(new Map([[addressKey(alice!.address), far], [addressKey(bob!.address), far]]));
    expect(facts.maxBalance).toBe(await rules.maxBalance());
    expect([...facts.blockedCountries]).toEqual(await rules.blockedCountries());

    const reference = await rebuilt();
    expect(mirror.facts()).toEqual(reference.facts());
    expect(textOf(mirror)).toBe(textOf(reference));
  }, 60_000);

  it("bounds the events kept during a backfill: past the bound it reads further instead, and still equals a rebuild", async () => {
    const rules = await newRules();
    const rulesAddress = await rules.getAddress();
    await (await rules.setMaxBalance(5_000n)).wait();
    const held = gate();
    const { mirror, lines } = await mirrorOn(new MemoryStore(), { beforeGetLogs: (filter) => (backfillOf(filter, rulesAddress) ? held.wait : undefined) }, { maxEventsKept: 1 });
    await mirror.start();
    await settle(mirror);
    await (await c.token.replaceRules(rulesAddress)).wait();
    await mirror.watcher.pollOnce();
    for (const country of [100n, 200n, 300n]) {
      await (await rules.setCountryBlocked(country, true)).wait();
      await mirror.watcher.pollOnce();
    }
    expect(lines.filter((l) => l.msg.startsWith("too many events during a backfill")).length).toBe(2);
    expect(await mirrored(mirror, dave!, erin!, 10n)).toBe("COMPLIANCE_UNKNOWN");
    held.open();
    await settle(mirror);
    expect(new Set(mirror.facts().rules.get(addressKey(rulesAddress))!.blockedCountries)).toEqual(new Set([100n, 200n, 300n]));
    expect(mirror.facts().rules.get(addressKey(rulesAddress))!.maxBalance).toBe(5_000n);
    expect(mirror.facts()).toEqual((await rebuilt()).facts());
  }, 60_000);

  it("a failed backfill is logged, keeps the token fail-closed and is retried after the next chunk", async () => {
    const rules = await newRules();
    const rulesAddress = await rules.getAddress();
    await (await rules.setMaxBalance(1_005n)).wait();
    let refusing = true;
    const { mirror, lines } = await mirrorOn(new MemoryStore(), {
      beforeGetLogs: (filter) => {
        if (backfillOf(filter, rulesAddress) && refusing) throw new Error("node unreachable");
      },
    });
    await mirror.start();
    await settle(mirror);

    await (await c.token.replaceRules(rulesAddress)).wait();
    await mirror.watcher.pollOnce();
    await mirror.backfilled();
    expect(lines.find((l) => l.msg.startsWith("backfilling a contract reached through a rules replacement failed"))?.level).toBe(40);
    expect(mirror.backfilling()).toEqual([addressKey(rulesAddress)]);
    expect(await mirrored(mirror, dave!, erin!, 10n)).toBe("COMPLIANCE_UNKNOWN");

    refusing = false;
    await settle(mirror);
    expect(mirror.backfilling()).toEqual([]);
    expect(await mirrored(mirror, dave!, erin!, 10n)).toBe(RESTRICTION_CODES.SUCCESS);
    expect(await onChain(dave!, erin!, 10n)).toBe(RESTRICTION_CODES.SUCCESS);
    expect(await mirrored(mirror, dave!, alice!, 10n)).toBe(RESTRICTION_CODES.MAX_BALANCE_EXCEEDED);
    expect(await onChain(dave!, alice!, 10n)).toBe(RESTRICTION_CODES.MAX_BALANCE_EXCEEDED);
    expect(mirror.facts()).toEqual((await rebuilt()).facts());
  }, 60_000);

  it("keeps the new rules across a restart from the saved mirror, also when the restart interrupts their backfill", async () => {
    const store = await levelStore();
    const first = await mirrorOn(store);
    await first.mirror.start();
    await settle(first.mirror);
    await first.mirror.stop();
    const savedRules = first.mirror.facts().tokens.get(addressKey(token))!.rules!;

    const second = await mirrorOn(store);
    expect(second.lines.some((l) => l.msg === "compliance mirror restored from the store")).toBe(true);
    // Restored with the rules in force: decides before the watcher even starts.
    expect(second.mirror.facts().rules.has(addressKey(savedRules))).toBe(true);
    expect(await mirrored(second.mirror, dave!, alice!, 10n)).toBe(await onChain(dave!, alice!, 10n));
    expect(await mirrored(second.mirror, dave!, alice!, 10n)).toBe(RESTRICTION_CODES.MAX_BALANCE_EXCEEDED);

    // Replaced again; the node stops before the backfill completes.
    const rules = await newRules();
    const rulesAddress = await rules.getAddress();
    const far = BigInt((await c.ethers.provider.getBlock("latest"))!.timestamp) + ONE_YEAR;
    await (await rules.setLockup(dave!.address, far)).wait();
    const held = gate();
    const third = await mirrorOn(store, { beforeGetLogs: (filter) => (backfillOf(filter, rulesAddress) ? held.wait : undefined) });
    await third.mirror.start();
    await (await c.token.replaceRules(rulesAddress)).wait();
    await third.mirror.watcher.pollOnce();
    expect(third.mirror.backfilling()).toEqual([addressKey(rulesAddress)]);
    const stopping = third.mirror.stop();
    held.open();
    await stopping;
    const saved = decodeMirrorRecord((await store.facts())!);
    expect(saved.facts.tokens.get(addressKey(token))!.rules).toBe(rulesAddress);
    expect(saved.facts.rules.has(addressKey(rulesAddress))).toBe(false);
    expect(configurationMismatch(saved, contracts, START_BLOCK)).toBeNull();
    // A change while the node is down.
    await (await rules.setMaxBalance(2_000n)).wait();

    const fourth = await mirrorOn(store);
    expect(fourth.lines.some((l) => l.msg === "compliance mirror restored from the store")).toBe(true);
    expect(fourth.mirror.backfilling()).toEqual([addressKey(rulesAddress)]);
    expect(await mirrored(fourth.mirror, dave!, erin!, 10n)).toBe("COMPLIANCE_UNKNOWN");
    await fourth.mirror.start();
    await settle(fourth.mirror);
    expect(await mirrored(fourth.mirror, dave!, erin!, 10n)).toBe(RESTRICTION_CODES.SENDER_LOCKED);
    expect(await onChain(dave!, erin!, 10n)).toBe(RESTRICTION_CODES.SENDER_LOCKED);
    expect(fourth.mirror.facts().rules.get(addressKey(rulesAddress))!.maxBalance).toBe(2_000n);
    expect(fourth.mirror.facts()).toEqual((await rebuilt()).facts());
  }, 60_000);

  it("follows and backfills a registry the new rules read that the node did not mirror", async () => {
    const registry = (await c.ethers.deployContract("Jurisdiction", [c.admin.address], c.admin)) as unknown as Jurisdiction;
    const registryAddress = await registry.getAddress();
    const setup = [
      ...Object.entries(ATTRIBUTE).map(([name, id]) => registry.interface.encodeFunctionData("addAttributeType", [id, name])),
      ...Object.values(ATTRIBUTE).map((id) => registry.interface.encodeFunctionData("approveValidator", [id, c.validator.address])),
    ];
    await (await registry.multicall(setup)).wait();
    const expiresAt = BigInt((await c.ethers.provider.getBlock("latest"))!.timestamp) + ONE_YEAR;
    const issue = async (account: string, attributes: bigint[]) => {
      const calls = attributes.map((typeId) => registry.interface.encodeFunctionData("issueAttribute", [account, typeId, typeId === ATTRIBUTE.COUNTRY ? 840n : 1n, expiresAt]));
      await (await registry.connect(c.validator).multicall(calls)).wait();
    };
    const eligible = [ATTRIBUTE.KYC, ATTRIBUTE.AML, ATTRIBUTE.ACCREDITED, ATTRIBUTE.COUNTRY];
    // Known to the new registry before the replacement: bob and alice; erin only later.
    await issue(bob!.address, eligible);
    await issue(alice!.address, eligible);
    const rules = await newRules(registryAddress);
    const rulesAddress = await rules.getAddress();

    const store = await levelStore();
    const { mirror } = await mirrorOn(store);
    await mirror.start();
    await settle(mirror);
    await (await c.token.replaceRules(rulesAddress)).wait();
    await mirror.watcher.pollOnce();
    await mirror.backfilled();
    // The rules are mirrored; their registry is followed from the next chunk and backfilled: until then, closed.
    expect(mirror.facts().rules.get(addressKey(rulesAddress))?.jurisdiction).toBe(registryAddress);
    expect(mirror.backfilling()).toEqual([addressKey(registryAddress)]);
    expect(await mirrored(mirror, bob!, alice!, 10n)).toBe("COMPLIANCE_UNKNOWN");
    await settle(mirror);
    expect(mirror.facts().jurisdictions.has(addressKey(registryAddress))).toBe(true);
    expect(mirror.watcher.contracts().jurisdictions).toContain(addressKey(registryAddress));

    const cases: [HardhatEthersSigner, HardhatEthersSigner, number][] = [
      [bob!, alice!, RESTRICTION_CODES.SUCCESS],
      [bob!, erin!, RESTRICTION_CODES.RECEIVER_NOT_ELIGIBLE],
      [dave!, alice!, RESTRICTION_CODES.SENDER_NOT_ELIGIBLE],
    ];
    for (const [from, to, code] of cases) {
      expect(await mirrored(mirror, from, to, 10n)).toBe(code);
      expect(await onChain(from, to, 10n)).toBe(code);
    }
    // Followed live from now on.
    await issue(erin!.address, eligible);
    await mirror.watcher.pollOnce();
    expect(await mirrored(mirror, bob!, erin!, 10n)).toBe(RESTRICTION_CODES.SUCCESS);
    expect(await onChain(bob!, erin!, 10n)).toBe(RESTRICTION_CODES.SUCCESS);

    const reference = await rebuilt();
    await mirror.watcher.pollOnce();
    expect(mirror.facts()).toEqual(reference.facts());
    expect(textOf(mirror)).toBe(textOf(reference));

    // After a restart from the saved mirror the registry is still followed.
    await mirror.stop();
    await (await registry.connect(c.validator).revokeAttribute(erin!.address, ATTRIBUTE.KYC)).wait();
    const restarted = await mirrorOn(store);
    await restarted.mirror.start();
    expect(restarted.lines.some((l) => l.msg === "compliance mirror restored from the store")).toBe(true);
    expect(await mirrored(restarted.mirror, bob!, erin!, 10n)).toBe(RESTRICTION_CODES.RECEIVER_NOT_ELIGIBLE);
    expect(await onChain(bob!, erin!, 10n)).toBe(RESTRICTION_CODES.RECEIVER_NOT_ELIGIBLE);
  }, 60_000);

  it("a saved mirror may hold rules and registries reached through replacements, nothing else", async () => {
    const store = await levelStore();
    const { mirror } = await mirrorOn(store);
    await mirror.start();
    await settle(mirror);
    await mirror.stop();
    const record = decodeMirrorRecord((await store.facts())!);
    expect(record.facts.rules.size).toBeGreaterThan(1);
    expect(configurationMismatch(record, contracts, START_BLOCK)).toBeNull();

    const stray = "0x00000000000000000000000000000000000000aa";
    const withStray = { ...record, facts: { ...record.facts, jurisdictions: new Map([...record.facts.jurisdictions, [stray, { approvals: new Map(), attributes: new Map() }]]) } };
    expect(configurationMismatch(withStray, contracts, START_BLOCK)).toBe("a jurisdiction no rules contract reads");
    const configuredRules = addressKey(contracts.securities[0]!.rules);
    const withoutConfigured = { ...record, facts: { ...record.facts, rules: new Map([...record.facts.rules].filter(([key]) => key !== configuredRules)) } };
    expect(configurationMismatch(withoutConfigured, contracts, START_BLOCK)).toBe("other rules contracts");
    const readingStray = new Map(record.facts.rules).set(configuredRules, { ...record.facts.rules.get(configuredRules)!, jurisdiction: stray });
    expect(configurationMismatch({ ...record, facts: { ...record.facts, rules: readingStray } }, contracts, START_BLOCK)).toBe("rules reading another jurisdiction");
    const withoutToken = { ...record, facts: { ...record.facts, tokens: new Map() } };
    expect(configurationMismatch(withoutToken, contracts, START_BLOCK)).toBe("other securities");
  }, 60_000);

  it("a replacement by a contract that is no TransferRules keeps the token fail-closed, and the node running", async () => {
    const { mirror, lines } = await mirrorOn(new MemoryStore());
    await mirror.start();
    await settle(mirror);
    const inForce = mirror.facts().tokens.get(addressKey(token))!.rules!;
    const cash = await c.cash.getAddress();
    await (await c.token.replaceRules(cash)).wait();
    await settle(mirror, [addressKey(cash)]);
    expect(mirror.backfilling()).toEqual([addressKey(cash)]);
    // The cash token has no jurisdiction(): the call reverts.
    expect(lines.find((l) => l.msg.startsWith("backfilling a contract reached through a rules replacement failed"))?.err?.code).toBe("REVERTED");
    expect(await mirrored(mirror, bob!, alice!, 10n)).toBe("COMPLIANCE_UNKNOWN");
    // An account without code answers nothing.
    await (await c.token.replaceRules(erin!.address)).wait();
    await settle(mirror, [addressKey(cash), addressKey(erin!.address)]);
    expect(lines.find((l) => l.msg.startsWith("backfilling a contract") && l.err?.code === "RULES_WITHOUT_JURISDICTION")).toBeDefined();
    expect(await mirrored(mirror, bob!, alice!, 10n)).toBe("COMPLIANCE_UNKNOWN");

    // Back to rules the node mirrors: decided again at once.
    await (await c.token.replaceRules(inForce)).wait();
    await mirror.watcher.pollOnce();
    expect(await mirrored(mirror, bob!, alice!, 10n)).toBe(await onChain(bob!, alice!, 10n));
  }, 60_000);

  it("retries a backfill that keeps failing after 1, 2, 4, … chunks, not after every chunk", async () => {
    const { mirror, lines } = await mirrorOn(new MemoryStore());
    await mirror.start();
    await mirror.watcher.pollOnce();
    await mirror.backfilled();
    const inForce = mirror.facts().tokens.get(addressKey(token))!.rules!;
    // An account without code: its backfill fails every time (RULES_WITHOUT_JURISDICTION).
    const nothing = Wallet.createRandom().address;
    await (await c.token.replaceRules(nothing)).wait();
    const messages = () =>
      lines.filter((l) => (l as { contract?: string }).contract === nothing && l.msg.startsWith("backfilling a contract")).map((l) => l.msg.slice(l.msg.lastIndexOf("retrying")));
    // The chunk with the replacement, then 10 more: attempts in it and after 1, 3 and 7 more.
    for (let chunk = 0; chunk <= 10; chunk++) {
      if (chunk > 0) await mine();
      await mirror.watcher.pollOnce();
      await mirror.backfilled();
    }
    expect(messages()).toEqual(["retrying after the next chunk", "retrying after 2 chunks", "retrying after 4 chunks", "retrying after 8 chunks"]);
    expect(mirror.backfilling()).toContain(addressKey(nothing));
    await (await c.token.replaceRules(inForce)).wait();
    await mirror.watcher.pollOnce();
    expect(await mirrored(mirror, bob!, alice!, 10n)).toBe(await onChain(bob!, alice!, 10n));
  }, 60_000);
});
