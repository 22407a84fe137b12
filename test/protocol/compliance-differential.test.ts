/**
 * The compliance mirror against the deployed contracts: over rounds of random facts (attributes
 * present, expired, revoked, issued by a validator later removed or removed and re-approved, flags
 * of value 1 or another value; countries; lock-ups; maximum balance; accreditation; frozen accounts;
 * custodians; controllers and a treasury as recovery recipients, granted and revoked; mint and burn
 * addresses; a replaced rules contract; a pause) the mirror's code equals
 * `RestrictedToken.detectTransferRestriction` for every (from, to, amount) asked.
 *
 * The mirror is built only from the deployment's logs (decodeComplianceLog + applyEvents), as the
 * node builds it, so the test also checks that the reducers read the contracts' events correctly.
 */
import { beforeAll, describe, expect, it } from "vitest";
import hre from "hardhat";
import fc from "fast-check";
import { Wallet, ZeroAddress, type Log } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import {
  RESTRICTION_TABLE,
  applyEvents,
  decodeComplianceLog,
  detectRestriction,
  emptyComplianceFacts,
  messageFor,
  trackJurisdiction,
  trackRules,
  trackToken,
  type ComplianceEvent,
  type ComplianceFacts,
} from "../../client/protocol/index.js";
import { ATTRIBUTE, ONE_YEAR, deployCompliance, type ComplianceFixture, type TransferRules } from "../helpers/compliance.js";

type AttributeFate = "absent" | "valid" | "validFromB" | "expired" | "revoked";
type ValidatorBFate = "kept" | "removed" | "reapproved";
type LockupFate = "none" | "past" | "future";
type Flag = Exclude<keyof typeof ATTRIBUTE, "COUNTRY">;

interface HolderPlan {
  attributes: Record<keyof typeof ATTRIBUTE, AttributeFate>;
  /** The value issued for each flag attribute: mostly 1, sometimes one that must not count. */
  flagValues: Record<Flag, bigint>;
  country: bigint;
  lockup: LockupFate;
  frozen: boolean;
  balance: bigint;
}

interface RoundPlan {
  holders: HolderPlan[];
  /** Which holder becomes a controller this round (the previous round's one loses the role). */
  controller: number;
  /** Which holder the issuer designates as treasury, or none. */
  treasury: number | null;
  validatorB: Record<keyof typeof ATTRIBUTE, ValidatorBFate>;
  accreditationRequired: boolean;
  blockedCountries: bigint[];
  maxBalance: bigint;
}

const COUNTRIES = [840n, 276n, 826n, 0n];
const HOLDERS_PER_ROUND = 9;
const ROUNDS = 5;
/** Expiring attributes expire this many seconds after they are issued; each round then advances 2×. */
const SHORT_LIFE = 60n;

const fate = (weights: [AttributeFate, number][]) => fc.oneof(...weights.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
const eligibility = fate([["valid", 6], ["validFromB", 3], ["absent", 1], ["expired", 1], ["revoked", 1]]);
const accreditation = fate([["valid", 4], ["validFromB", 2], ["absent", 2], ["expired", 1], ["revoked", 1]]);
const rare = fate([["absent", 6], ["valid", 2], ["validFromB", 1], ["expired", 1], ["revoked", 1]]);
const flagValue = fc.constantFrom(1n, 1n, 1n, 1n, 1n, 0n, 2n);
const holderPlan: fc.Arbitrary<HolderPlan> = fc.record({
  attributes: fc.record({ KYC: eligibility, AML: eligibility, ACCREDITED: accreditation, COUNTRY: eligibility, CUSTODIAN: rare }),
  flagValues: fc.record({ KYC: flagValue, AML: flagValue, ACCREDITED: flagValue, CUSTODIAN: flagValue }),
  country: fc.constantFrom(...COUNTRIES),
  lockup: fc.constantFrom<LockupFate>("none", "none", "past", "future"),
  frozen: fc.oneof({ arbitrary: fc.constant(false), weight: 8 }, { arbitrary: fc.constant(true), weight: 1 }),
  balance: fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 2_000n })),
});
const bFate = fc.constantFrom<ValidatorBFate>("kept", "kept", "removed", "reapproved");
const roundPlan: fc.Arbitrary<RoundPlan> = fc.record({
  holders: fc.array(holderPlan, { minLength: HOLDERS_PER_ROUND, maxLength: HOLDERS_PER_ROUND }),
  controller: fc.nat({ max: HOLDERS_PER_ROUND - 1 }),
  treasury: fc.option(fc.nat({ max: HOLDERS_PER_ROUND - 1 }), { nil: null }),
  validatorB: fc.record({ KYC: bFate, AML: bFate, ACCREDITED: bFate, COUNTRY: bFate, CUSTODIAN: bFate }),
  accreditationRequired: fc.boolean(),
  blockedCountries: fc.subarray(COUNTRIES),
  maxBalance: fc.oneof(fc.constant(0n), fc.bigInt({ min: 500n, max: 3_000n })),
});

let c: ComplianceFixture;
let validatorB: HardhatEthersSigner;
let rulesContracts: [TransferRules, TransferRules];
/** Funds the holders (by forced transfers); fully eligible. */
let bank: string;
/** A CUSTODIAN-only account holding tokens, so that its payments to recovery recipients are asked. */
let custodian: string;
/** The current round's holder with CONTROLLER_ROLE, and the previous round's (which lost it). */
let roundController: string | null = null;
let formerController: string | null = null;
let facts: ComplianceFacts;
let nextBlock = 0;

/** Applies the logs mined since the last call, the way the node's watcher feeds the mirror. */
async function catchUp(): Promise<void> {
  const latest = await c.ethers.provider.getBlockNumber();
  const logs: Log[] = await c.ethers.provider.getLogs({ fromBlock: nextBlock, toBlock: latest });
  const events = logs.map((log) => decodeComplianceLog(log)).filter((e): e is ComplianceEvent => e !== null);
  facts = applyEvents(facts, events);
  nextBlock = latest + 1;
}

async function send(tx: Promise<{ wait: () => Promise<unknown> }>): Promise<void> {
  await (await tx).wait();
}

async function issue(by: HardhatEthersSigner, account: string, typeId: bigint, value: bigint, expiresAt: bigint): Promise<void> {
  await send(c.jurisdiction.connect(by).issueAttribute(account, typeId, value, expiresAt));
}

beforeAll(async () => {
  const { ethers } = await hre.network.create();
  c = await deployCompliance(ethers);
  validatorB = c.unusedSigners.shift()!;
  const second = (await ethers.deployContract("TransferRules", [await c.jurisdiction.getAddress(), c.admin.address], c.admin)) as unknown as TransferRules;
  rulesContracts = [c.rules, second];
  bank = Wallet.createRandom().address;
  custodian = Wallet.createRandom().address;
  await c.issueAttributes(bank, { expiresAt: (await c.time.latest()) + 10n * ONE_YEAR });
  await c.issueAttributes(custodian, { kyc: false, aml: false, accredited: false, country: null, custodian: true, expiresAt: (await c.time.latest()) + 10n * ONE_YEAR });
  await send(c.token.mint(bank, 10n ** 12n));
  await send(c.token.mint(custodian, 1_000n));

  // What the node does at start: track the contracts it is configured with, then catch up on logs.
  const jurisdiction = await c.jurisdiction.getAddress();
  facts = trackJurisdiction(emptyComplianceFacts(), jurisdiction);
  for (const rules of rulesContracts) facts = trackRules(facts, await rules.getAddress(), await rules.jurisdiction());
  facts = trackToken(facts, await c.token.getAddress());
  await catchUp();
});

/** Sets one round's facts on chain; returns its holders. */
async function setUpRound(plan: RoundPlan, round: number): Promise<string[]> {
  const now = await c.time.latest();
  const names = Object.keys(ATTRIBUTE) as (keyof typeof ATTRIBUTE)[];
  for (const name of names) {
    if (!(await c.jurisdiction.isValidator(ATTRIBUTE[name], validatorB.address))) await send(c.jurisdiction.approveValidator(ATTRIBUTE[name], validatorB.address));
  }

  const holders = plan.holders.map(() => Wallet.createRandom().address);
  for (const [i, holder] of plan.holders.entries()) {
    const account = holders[i]!;
    for (const name of names) {
      const value = name === "COUNTRY" ? holder.country : holder.flagValues[name];
      const attributeFate = holder.attributes[name];
      if (attributeFate === "absent") continue;
      const by = attributeFate === "validFromB" ? validatorB : c.validator;
      await issue(by, account, ATTRIBUTE[name], value, attributeFate === "expired" ? now + SHORT_LIFE : now + ONE_YEAR);
      if (attributeFate === "revoked") await send(c.jurisdiction.connect(c.validator).revokeAttribute(account, ATTRIBUTE[name]));
    }
    if (holder.balance > 0n) await send(c.token.forceTransfer(bank, account, holder.balance, "0x"));
    if (holder.frozen) await send(c.token.freeze(account));
  }
  for (const name of names) {
    const bPlan = plan.validatorB[name];
    if (bPlan === "kept") continue;
    await send(c.jurisdiction.removeValidator(ATTRIBUTE[name], validatorB.address));
    if (bPlan === "reapproved") await send(c.jurisdiction.approveValidator(ATTRIBUTE[name], validatorB.address));
  }

  // Recovery recipients: the mirror must follow RoleGranted/RoleRevoked and TreasuryChanged.
  const controllerRole = await c.token.CONTROLLER_ROLE();
  if (roundController !== null) await send(c.token.revokeRole(controllerRole, roundController));
  formerController = roundController;
  roundController = holders[plan.controller]!;
  await send(c.token.grantRole(controllerRole, roundController));
  await send(c.token.setTreasury(plan.treasury === null ? ZeroAddress : holders[plan.treasury]!));

  // Alternate the rules contract, so the mirror must follow RulesReplaced.
  const rules = rulesContracts[round % 2]!;
  if ((await c.token.rules()) !== (await rules.getAddress())) await send(c.token.replaceRules(await rules.getAddress()));
  await send(rules.setAccreditationRequired(plan.accreditationRequired));
  for (const country of COUNTRIES) await send(rules.setCountryBlocked(country, plan.blockedCountries.includes(country)));
  await send(rules.setMaxBalance(plan.maxBalance));
  for (const [i, holder] of plan.holders.entries()) {
    if (holder.lockup !== "none") await send(rules.setLockup(holders[i]!, holder.lockup === "past" ? now - 1_000n : now + ONE_YEAR));
  }

  // Expiring attributes lapse; nothing else is near a boundary, so the chain's exact call time is irrelevant.
  await c.time.increase(2n * SHORT_LIFE);
  return holders;
}

/** The admin (a controller throughout), the round's controller, and the round's treasury. */
function isRecoveryRecipient(account: string, plan: RoundPlan, holders: string[]): boolean {
  return account === c.admin.address || account === holders[plan.controller] || (plan.treasury !== null && account === holders[plan.treasury]);
}

interface Case {
  from: string;
  to: string;
  amount: bigint;
}

/** Every ordered pair of the round's accounts (and mint/burn), with amounts around each threshold. */
function casesOf(accounts: string[], maxBalance: bigint): Case[] {
  const balance = (account: string) => facts.tokens.get((c.token.target as string).toLowerCase())?.balances.get(account.toLowerCase()) ?? 0n;
  const cases: Case[] = [];
  const parties = [...accounts, ZeroAddress];
  for (const from of parties) {
    for (const to of parties) {
      if (from === ZeroAddress && to === ZeroAddress) continue;
      const amounts = new Set([1n, balance(from), balance(from) + 1n]);
      if (maxBalance > 0n && maxBalance > balance(to)) amounts.add(maxBalance - balance(to)).add(maxBalance - balance(to) + 1n);
      for (const amount of amounts) cases.push({ from, to, amount });
    }
  }
  return cases;
}

async function compare(cases: Case[]): Promise<Map<number, number>> {
  const now = await c.time.latest();
  const token = c.token.target as string;
  const onChain = await Promise.all(cases.map(({ from, to, amount }) => c.token.detectTransferRestriction(from, to, amount)));
  const seen = new Map<number, number>();
  cases.forEach((testCase, i) => {
    const mirrored = detectRestriction(facts, token, testCase.from, testCase.to, testCase.amount, now);
    expect(mirrored, `${testCase.from} → ${testCase.to}, ${testCase.amount}`).toBe(Number(onChain[i]));
    seen.set(mirrored, (seen.get(mirrored) ?? 0) + 1);
  });
  return seen;
}

describe("compliance mirror equals RestrictedToken.detectTransferRestriction", () => {
  it(`on ${ROUNDS} rounds of random facts, well over 1,000 cases, every code reached`, async () => {
    const plans = fc.sample(roundPlan, { numRuns: ROUNDS, seed: 1404 });
    const codes = new Map<number, number>();
    let total = 0;
    let recoveryCases = 0;
    for (const [round, plan] of plans.entries()) {
      const holders = await setUpRound(plan, round);
      await catchUp();
      const former = formerController === null ? [] : [formerController];
      const cases = casesOf([...holders, ...former, bank, custodian, c.admin.address], plan.maxBalance);
      recoveryCases += cases.filter((x) => x.from === custodian && isRecoveryRecipient(x.to, plan, holders)).length;
      for (const [code, count] of await compare(cases)) codes.set(code, (codes.get(code) ?? 0) + count);
      total += cases.length;
    }

    // A pause overrides everything.
    await send(c.token.pause());
    await catchUp();
    const paused = casesOf([bank, custodian], 0n);
    for (const [code, count] of await compare(paused)) codes.set(code, (codes.get(code) ?? 0) + count);
    total += paused.length;
    await send(c.token.unpause());
    await catchUp();

    expect(total).toBeGreaterThanOrEqual(1_000);
    expect(recoveryCases).toBeGreaterThanOrEqual(ROUNDS * 2);
    expect([...codes.keys()].sort((a, b) => a - b)).toEqual(RESTRICTION_TABLE.map((e) => e.code));
  });

  it("messageForTransferRestriction equals the code table for every uint8", async () => {
    const codes = Array.from({ length: 256 }, (_, code) => code);
    const messages = await Promise.all(codes.map((code) => c.token.messageForTransferRestriction(code)));
    codes.forEach((code, i) => expect(messages[i], `code ${code}`).toBe(messageFor(code)));
  });
});
