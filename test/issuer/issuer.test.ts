// clearline-issuer end to end: every command is spawned as a child process against a real chain (a
// Hardhat node process on a free 127.0.0.1 port with the whole system deployed, started and stopped
// by this file) and the test asserts the on-chain effect and the output. Bad input exits 2 and
// changes nothing on chain.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contract, ZeroHash, toUtf8String, type Wallet } from "ethers";
import { startStack, devWallet, ROLES, SECURITY_UNIT, type Stack } from "../../devstack/stack.js";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { adjudicatorAbi, jurisdictionAbi, restrictedTokenAbi, transferRulesAbi } from "../../client/chain/abi.js";
import { adjudicatorDomain, paramsTuple, signBoth, stateOf, stateTuple } from "../helpers/channel.js";
import type { Address, Params } from "../../client/protocol/index.js";
import { ChildProcesses, type ProcessRun } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = "client/issuer/issuer.ts";

const issuer = devWallet(ROLES.issuer);
const venue = devWallet(ROLES.venue);
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);
const carol = devWallet(ROLES.carol);
const dave = devWallet(ROLES.dave);
const UNIT = SECURITY_UNIT;

let stack: Stack;
let dir: string;
let deploymentFile: string;
const children = new ChildProcesses();

/** Runs the CLI with `key` in CLEARLINE_ISSUER_KEY (null: no key at all). */
function cli(args: readonly string[], key: string | null = issuer.privateKey): Promise<ProcessRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.CLEARLINE_ISSUER_KEY;
  if (key !== null) env.CLEARLINE_ISSUER_KEY = key;
  return children.run(process.execPath, ["--import", "tsx", CLI, "--deployment", deploymentFile, ...args], { cwd: REPO, env });
}

async function okJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const run = await cli(["--json", ...args]);
  if (run.code !== 0) throw new Error(`clearline-issuer ${args.join(" ")} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** A command that must fail with `exitCode` and the typed error `code` (--json). */
async function fails(exitCode: number, code: string, ...args: string[]): Promise<{ code: string; message: string; revert?: { name: string }; restriction?: { code: number } }> {
  const run = await cli(["--json", ...args]);
  expect(run.code, run.stdout + run.stderr).toBe(exitCode);
  const { error } = JSON.parse(run.stdout) as { error: { code: string; message: string; revert?: { name: string }; restriction?: { code: number } } };
  expect(error.code, error.message).toBe(code);
  return error;
}

const provider = () => stack.connection.ethers.provider;
const token = () => new Contract(stack.addresses.token, restrictedTokenAbi() as never, provider());
const rules = () => new Contract(stack.addresses.rules, transferRulesAbi() as never, provider());
const jurisdiction = () => new Contract(stack.addresses.jurisdiction, jurisdictionAbi() as never, provider());
const balanceOf = async (who: string): Promise<bigint> => (await token().getFunction("balanceOf")(who)) as bigint;
const supply = async (): Promise<bigint> => (await token().getFunction("totalSupply")()) as bigint;
const isFrozen = async (who: string): Promise<boolean> => (await token().getFunction("isFrozen")(who)) as boolean;

async function adjudicatorAs(wallet: { privateKey: string }): Promise<AdjudicatorClient> {
  const { Wallet } = await import("ethers");
  return AdjudicatorClient.connect(new Wallet(wallet.privateKey, provider()) as Wallet, stack.addresses.adjudicator as Address);
}

interface CapRow {
  address: string;
  frozen: boolean;
  wallet: string;
  walletUnits: string;
  channels: string;
  channelsUnits: string;
  claimableUnits: string;
  heldUnits: string;
  total: string;
  totalUnits: string;
  channelIds: string[];
}
interface CapTable {
  symbol: string;
  decimals: number;
  totalSupplyUnits: string;
  holders: CapRow[];
  channels: { channelId: string; phase: string; amountsUnits: string[] }[];
  custody: { balanceUnits: string; attributedUnits: string; unattributedUnits: string };
}
const rowOf = (table: CapTable, who: string): CapRow | undefined => table.holders.find((r) => r.address === who);

let channel: Params;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "clearline-issuer-"));
  stack = await startStack({
    investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.carol, identity: { kyc: false }, securities: 0n }],
  });
  deploymentFile = join(dir, "deployment.json");
  writeFileSync(
    deploymentFile,
    JSON.stringify({
      rpcUrl: stack.chain.url,
      chainId: stack.chainId.toString(),
      contracts: stack.addresses,
      accounts: { issuer: issuer.address, venue: venue.address, alice: alice.address, bob: bob.address, carol: carol.address, dave: dave.address },
    }),
  );
  // alice (10 CLS) and the venue (5 CLS) fund a channel on chain.
  channel = {
    participants: [alice.address as Address, venue.address as Address],
    assets: [stack.addresses.token as Address],
    challengePeriod: 60n,
    salt: ZeroHash as Params["salt"],
  };
  await (await adjudicatorAs(alice)).open(channel, 0, 10n * UNIT);
  await (await adjudicatorAs(venue)).deposit(channel, 0, 5n * UNIT);
}, 180_000);

afterAll(async () => {
  children.killAll();
  await stack?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("clearline-issuer", () => {
  it("prints its version and refuses an unknown command with exit code 2", async () => {
    const version = await cli(["--version"]);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    await fails(2, "USAGE", "no-such-command");
    const human = await cli(["freeze", "0x1234"]);
    expect(human.code).toBe(2);
    expect(human.stdout).toBe("");
    expect(human.stderr).toMatch(/^clearline-issuer: freeze <account>: "0x1234" is neither an address nor an account/);
  });

  it("cap table: wallets plus what each holds inside channels, reconciled with the adjudicator's custody", async () => {
    const table = await okJson<CapTable>("cap-table");
    expect(table.symbol).toBe("CLS");
    expect(table.decimals).toBe(18);
    const a = rowOf(table, alice.address)!;
    expect([a.wallet, a.channels, a.total]).toEqual(["990", "10", "1000"]);
    expect(a.totalUnits).toBe((1_000n * UNIT).toString());
    const v = rowOf(table, venue.address)!;
    expect([v.channels, v.total]).toEqual(["5", "100000"]);
    expect(a.channelIds).toEqual(v.channelIds);
    expect(table.channels).toEqual([{ channelId: a.channelIds[0], phase: "Open", participants: [alice.address, venue.address], amounts: ["10", "5"], amountsUnits: [(10n * UNIT).toString(), (5n * UNIT).toString()] }]);
    // The adjudicator is custody, not a holder; everything it holds is attributed.
    expect(rowOf(table, stack.addresses.adjudicator)).toBeUndefined();
    expect(table.custody).toMatchObject({ balanceUnits: (15n * UNIT).toString(), attributedUnits: (15n * UNIT).toString(), unattributedUnits: "0" });
    const sum = table.holders.reduce((s, r) => s + BigInt(r.totalUnits), 0n);
    expect(sum).toBe(await supply());
    expect(table.totalSupplyUnits).toBe((await supply()).toString());
    // carol holds nothing and is left out; the issuer never held any.
    expect(rowOf(table, carol.address)).toBeUndefined();

    const human = await cli(["cap-table"]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`${alice.address}\\s+990\\s+10\\s+0\\s+0\\s+1000`));
    expect(human.stdout).toContain("the adjudicator holds 15 (15 attributed above)");
  });

  it("cap table: bounds and the block are checked (exit 2); small log chunks give the same table", async () => {
    const before = await provider().getBlockNumber();
    await fails(2, "USAGE", "cap-table", "--block", String(before + 1000));
    await fails(2, "USAGE", "cap-table", "--max-accounts", "2");
    await fails(2, "USAGE", "cap-table", "--log-chunk", "0");
    const chunked = await okJson<CapTable>("cap-table", "--log-chunk", "3");
    expect(rowOf(chunked, alice.address)!.total).toBe("1000");
  });

  it("freezes and unfreezes; a malformed account exits 2 and changes nothing", async () => {
    await fails(2, "USAGE", "freeze", "0x1234");
    await fails(2, "USAGE", "freeze", "mallory");
    expect(await isFrozen(bob.address)).toBe(false);
    const frozen = await cli(["--json", "freeze", "bob"]);
    expect(frozen.code, frozen.stderr).toBe(0);
    expect(JSON.parse(frozen.stdout)).toMatchObject({ action: "freeze", account: bob.address, frozen: true });
    expect(frozen.stderr).toMatch(/"progress":"submitted"/);
    expect(await isFrozen(bob.address)).toBe(true);
    expect(rowOf(await okJson<CapTable>("cap-table"), bob.address)!.frozen).toBe(true);
    // Freezing twice is the token's refusal: exit 1 with the decoded revert.
    const again = await fails(1, "REVERTED", "freeze", bob.address);
    expect(again.revert?.name).toBe("AccountAlreadyFrozen");
    await okJson("unfreeze", bob.address);
    expect(await isFrozen(bob.address)).toBe(false);
  });

  it("a key without the issuer role is refused on chain; a missing or malformed key exits 2", async () => {
    const refused = await cli(["--json", "freeze", "bob"], alice.privateKey);
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stdout).error.revert.name).toBe("AccessControlUnauthorizedAccount");
    const none = await cli(["--json", "freeze", "bob"], null);
    expect(none.code).toBe(2);
    expect(JSON.parse(none.stdout).error.code).toBe("INVALID_KEY");
    const bad = await cli(["--json", "freeze", "bob"], "0xnot-a-key");
    expect(bad.code).toBe(2);
    expect(bad.stdout).not.toContain("not-a-key");
    expect(await isFrozen(bob.address)).toBe(false);
  });

  it("issues and revokes attributes with expiry; bad types, values and expiries exit 2", async () => {
    const attr = async (type: bigint) => (await jurisdiction().getFunction("attributeOf")(dave.address, type)) as [bigint, bigint, string, boolean];
    await fails(2, "USAGE", "issue", "dave", "--type", "passport", "--expires", "30d");
    await fails(2, "USAGE", "issue", "dave", "--type", "kyc", "--expires", "2001-01-01");
    await fails(2, "USAGE", "issue", "dave", "--type", "kyc", "--expires", "soon");
    await fails(2, "USAGE", "issue", "dave", "--type", "country", "--expires", "30d");
    await fails(2, "USAGE", "issue", "dave", "--type", "country", "--value", "1000", "--expires", "30d");
    expect((await attr(1n))[1]).toBe(0n);

    const now = BigInt((await provider().getBlock("latest"))!.timestamp);
    const issued = await okJson<{ expiresAt: number; value: string; type: string }>("issue", "dave", "--type", "kyc", "--expires", "30d");
    expect(issued.type).toBe("KYC");
    const [value, expiresAt, validator, valid] = await attr(1n);
    expect([value, validator, valid]).toEqual([1n, issuer.address, true]);
    expect(expiresAt).toBe(BigInt(issued.expiresAt));
    expect(expiresAt - now).toBeGreaterThanOrEqual(30n * 86_400n);
    expect(expiresAt - now).toBeLessThan(30n * 86_400n + 600n);
    await okJson("issue", "dave", "--type", "country", "--value", "840", "--expires", "2099-12-31");
    expect((await attr(4n))[0]).toBe(840n);
    expect((await attr(4n))[1]).toBe(BigInt(Date.parse("2099-12-31") / 1000));

    const shown = await okJson<{ attributes: { type: string; value: string; valid: boolean }[] }>("identity", "dave");
    expect(shown.attributes.filter((a) => a.valid).map((a) => [a.type, a.value])).toEqual([["KYC", "1"], ["COUNTRY", "840"]]);

    await okJson("revoke", "dave", "--type", "kyc");
    expect((await attr(1n))[3]).toBe(false);
    // Revoking what is not there is the registry's refusal.
    expect((await fails(1, "REVERTED", "revoke", "dave", "--type", "aml")).revert?.name).toBe("AttributeNotFound");
  });

  it("appoints and removes a validator per attribute type; a removed validator's attributes stop counting", async () => {
    const isValidator = async () => (await jurisdiction().getFunction("isValidator")(3n, carol.address)) as boolean;
    await okJson("appoint-validator", "carol", "--type", "accredited");
    expect(await isValidator()).toBe(true);
    const asCarol = await cli(["--json", "issue", "dave", "--type", "accredited", "--expires", "10d"], carol.privateKey);
    expect(asCarol.code, asCarol.stdout).toBe(0);
    expect((await jurisdiction().getFunction("hasValidFlag")(dave.address, 3n)) as boolean).toBe(true);
    // carol is no KYC validator
    const notValidator = await cli(["--json", "issue", "dave", "--type", "kyc", "--expires", "10d"], carol.privateKey);
    expect(notValidator.code).toBe(1);
    expect(JSON.parse(notValidator.stdout).error.revert.name).toBe("NotValidator");
    await okJson("remove-validator", "carol", "--type", "accredited");
    expect(await isValidator()).toBe(false);
    expect((await jurisdiction().getFunction("hasValidFlag")(dave.address, 3n)) as boolean).toBe(false);
  });

  it("mints and burns in the token's units; a refused receiver exits 1 with the ERC-1404 rule; bad amounts exit 2", async () => {
    const total = await supply();
    await fails(2, "INVALID_AMOUNT", "mint", "bob", "1.2.3");
    await fails(2, "INVALID_AMOUNT", "mint", "bob", "-5");
    await fails(2, "INVALID_AMOUNT", "mint", "bob", "0.0000000000000000001");
    await fails(2, "INVALID_AMOUNT", "mint", "bob", "0");
    expect(await supply()).toBe(total);

    const minted = await okJson<{ amount: string; amountUnits: string; symbol: string }>("mint", "bob", "2.5");
    expect(minted).toMatchObject({ amount: "2.5", amountUnits: (25n * UNIT / 10n).toString(), symbol: "CLS" });
    expect(await balanceOf(bob.address)).toBe(1_002n * UNIT + UNIT / 2n);

    const refused = await fails(1, "REVERTED", "mint", "carol", "1");
    expect(refused.restriction?.code).toBe(0x57);
    expect(refused.message).toContain("RECEIVER_NOT_ELIGIBLE");

    await okJson("burn", "bob", "2.5");
    expect(await balanceOf(bob.address)).toBe(1_000n * UNIT);
    expect(await supply()).toBe(total);
  });

  it("forces a transfer with a reason recorded on chain; an empty reason exits 2", async () => {
    await fails(2, "USAGE", "force-transfer", "--from", "bob", "--to", "carol", "--amount", "3", "--reason", "  ");
    await fails(2, "USAGE", "force-transfer", "--from", "bob", "--to", "bob", "--amount", "3", "--reason", "x");
    await fails(2, "USAGE", "force-transfer", "--from", "bob", "--to", "carol", "--amount", "3", "--reason", "x".repeat(1025));
    await fails(2, "USAGE", "force-transfer", "--from", "bob", "--amount", "3", "--reason", "x");
    expect(await balanceOf(carol.address)).toBe(0n);
    // carol has no KYC: only a forced transfer can reach her.
    const done = await okJson<{ transactionHash: string; reason: string }>("force-transfer", "--from", "bob", "--to", "carol", "--amount", "3", "--reason", "court order 2026/17");
    expect(await balanceOf(carol.address)).toBe(3n * UNIT);
    const receipt = (await provider().getTransactionReceipt(done.transactionHash))!;
    const event = receipt.logs.map((l) => token().interface.parseLog(l)).find((e) => e?.name === "ForcedTransferred")!;
    expect(toUtf8String(event.args.getValue("reason") as string)).toBe("court order 2026/17");
    // A forced transfer never takes the adjudicator's custody.
    const custody = await fails(1, "REVERTED", "force-transfer", "--from", stack.addresses.adjudicator, "--to", "bob", "--amount", "1", "--reason", "x");
    expect(custody.revert?.name).toBe("CustodyProtected");
  });

  it("recovers a frozen holder's claimable balance from the adjudicator to the controller", async () => {
    await fails(2, "USAGE", "recover", "alice", "--to", "issuer"); // not frozen
    await okJson("freeze", "alice");
    await fails(2, "USAGE", "recover", "alice", "--to", "issuer"); // nothing claimable yet
    // The venue closes without a state; at settlement alice's payout cannot reach her frozen wallet.
    const venueAdjudicator = await adjudicatorAs(venue);
    await venueAdjudicator.forceCloseWithoutState(channel);
    const disputed = await okJson<CapTable>("cap-table");
    expect(disputed.channels[0]!.phase).toBe("Disputed");
    expect(rowOf(disputed, alice.address)!.channels).toBe("10");
    const disputedAt = await provider().getBlockNumber();
    await provider().send("evm_increaseTime", [61]);
    await provider().send("evm_mine", []);
    await venueAdjudicator.settle(channel, [0n], []);

    const settled = await okJson<CapTable>("cap-table");
    const a = rowOf(settled, alice.address)!;
    expect([a.wallet, a.channels, a.claimableUnits, a.total]).toEqual(["990", "0", (10n * UNIT).toString(), "1000"]);
    expect(settled.custody).toMatchObject({ balanceUnits: (10n * UNIT).toString(), unattributedUnits: "0" });
    expect(settled.holders.reduce((s, r) => s + BigInt(r.totalUnits), 0n)).toBe(await supply());

    // Only a frozen holder's claimable balance is recovered: refused before sending while unfrozen.
    await okJson("unfreeze", "alice");
    expect((await fails(2, "USAGE", "recover", "alice", "--to", "issuer")).message).toContain("is not frozen");
    await okJson("freeze", "alice");
    const before = await balanceOf(issuer.address);
    const recovered = await okJson<{ amount: string; recipient: string }>("recover", "alice", "--to", "issuer");
    expect(recovered).toMatchObject({ amount: "10", recipient: issuer.address });
    expect(await balanceOf(issuer.address)).toBe(before + 10n * UNIT);
    const after = await okJson<CapTable>("cap-table");
    expect(rowOf(after, alice.address)!.total).toBe("990");
    expect(rowOf(after, issuer.address)!.total).toBe("10");
    expect(after.custody.balanceUnits).toBe("0");
    // As of the block while it was disputed, the table is what it was then.
    const then = await okJson<CapTable>("cap-table", "--block", String(disputedAt));
    expect(rowOf(then, alice.address)!.channels).toBe("10");
    expect(rowOf(then, issuer.address)).toBeUndefined();
    expect(then.channels[0]!.phase).toBe("Disputed");
    await fails(2, "USAGE", "release-held", "--from", "alice", "--to", "bob");
    await okJson("unfreeze", "alice");
  });

  it("counts a movement the adjudicator holds for its sender, and releases it to the receiver", async () => {
    // bob pays the venue 2 CLS inside a channel and registers that state; bob is locked up before
    // settlement, so the adjudicator holds the movement instead of paying it to the venue.
    const params = { participants: [bob.address, venue.address] as [Address, Address], assets: [stack.addresses.token as Address], challengePeriod: 60n, salt: ZeroHash as Params["salt"] };
    const bobAdjudicator = await adjudicatorAs(bob);
    const { channelId } = await bobAdjudicator.open(params, 0, 4n * UNIT);
    const state = stateOf(channelId, params, 1n, [2n * UNIT]);
    const [sig0, sig1] = signBoth([bob, venue], adjudicatorDomain(stack.chainId, stack.addresses.adjudicator), state);
    const asBob = new Contract(stack.addresses.adjudicator, adjudicatorAbi() as never, bob.connect(provider()));
    await (await asBob.getFunction("forceClose")(paramsTuple(params), stateTuple(state), sig0, sig1, [])).wait();
    // While disputed, the registered net says who gets what: bob 2, the venue 2 of bob's 4.
    const disputed = await okJson<CapTable>("cap-table");
    expect(disputed.channels.find((c) => c.channelId === channelId)).toMatchObject({ phase: "Disputed", amountsUnits: [(2n * UNIT).toString(), (2n * UNIT).toString()] });
    expect(rowOf(disputed, bob.address)!.channelsUnits).toBe((2n * UNIT).toString());
    await okJson("lockup", "bob", "--until", "2099-01-01");
    await provider().send("evm_increaseTime", [61]);
    await provider().send("evm_mine", []);
    await (await asBob.getFunction("settle")(paramsTuple(params), [2n * UNIT], [])).wait();

    const table = await okJson<CapTable>("cap-table");
    const b = rowOf(table, bob.address)!;
    expect([b.channels, b.heldUnits]).toEqual(["0", (2n * UNIT).toString()]);
    expect(table.custody).toMatchObject({ balanceUnits: (2n * UNIT).toString(), unattributedUnits: "0" });
    expect(table.holders.reduce((sum, r) => sum + BigInt(r.totalUnits), 0n)).toBe(await supply());

    await fails(2, "USAGE", "release-held", "--from", "venue", "--to", "bob");
    const venueBefore = await balanceOf(venue.address);
    const released = await okJson<{ amount: string; recipient: string }>("release-held", "--from", "bob", "--to", "venue");
    expect(released).toMatchObject({ amount: "2", recipient: venue.address });
    expect(await balanceOf(venue.address)).toBe(venueBefore + 2n * UNIT);
    expect(rowOf(await okJson<CapTable>("cap-table"), bob.address)!.heldUnits).toBe("0");
    await okJson("lockup", "bob", "--until", "none");
  });

  it("pauses, sets lock-ups, the maximum balance, blocked countries and accreditation", async () => {
    await okJson("pause");
    expect((await token().getFunction("paused")()) as boolean).toBe(true);
    expect((await token().getFunction("detectTransferRestriction")(alice.address, bob.address, 1n)) as bigint).toBe(0x54n);
    await okJson("unpause");
    expect((await token().getFunction("paused")()) as boolean).toBe(false);

    await fails(2, "USAGE", "lockup", "alice", "--until", "tomorrow");
    await okJson("lockup", "alice", "--until", "2099-01-01");
    expect((await rules().getFunction("lockupOf")(alice.address)) as bigint).toBe(BigInt(Date.parse("2099-01-01") / 1000));
    await okJson("lockup", "alice", "--until", "none");
    expect((await rules().getFunction("lockupOf")(alice.address)) as bigint).toBe(0n);

    await fails(2, "INVALID_AMOUNT", "max-balance", "lots");
    await okJson("max-balance", "5000.5");
    expect((await rules().getFunction("maxBalance")()) as bigint).toBe(5_000n * UNIT + UNIT / 2n);
    await okJson("max-balance", "none");
    expect((await rules().getFunction("maxBalance")()) as bigint).toBe(0n);

    await fails(2, "USAGE", "block-country", "DE");
    await fails(2, "USAGE", "block-country", "0");
    await okJson("block-country", "276");
    expect((await rules().getFunction("isCountryBlocked")(276n)) as boolean).toBe(true);
    expect((await token().getFunction("detectTransferRestriction")(alice.address, bob.address, 1n)) as bigint).toBe(0xa3n);
    const shown = await okJson<{ blockedCountries: number[]; accreditationRequired: boolean }>("rules");
    expect(shown.blockedCountries).toEqual([276]);
    await okJson("unblock-country", "276");
    expect((await rules().getFunction("isCountryBlocked")(276n)) as boolean).toBe(false);

    await fails(2, "USAGE", "accreditation", "maybe");
    await okJson("accreditation", "off");
    expect((await rules().getFunction("accreditationRequired")()) as boolean).toBe(false);
  });

  it("designates a treasury, deploys a new token with its rules and replaces the rules of the token", async () => {
    await okJson("set-treasury", "dave");
    expect((await token().getFunction("treasury")()) as string).toBe(dave.address);

    await fails(2, "USAGE", "deploy", "--name", "Bad", "--symbol", "B D");
    await fails(2, "USAGE", "deploy", "--name", "Bad", "--symbol", "BD", "--decimals", "19");
    await fails(2, "USAGE", "deploy", "--name", "Bad", "--symbol", "BD", "--jurisdiction", stack.addresses.cash);
    const deployed = await okJson<{ token: string; rules: string; jurisdiction: string }>("deploy", "--name", "Fund B", "--symbol", "FUNDB", "--decimals", "0");
    expect(deployed.jurisdiction).toBe(stack.addresses.jurisdiction);
    const fresh = new Contract(deployed.token, restrictedTokenAbi() as never, provider());
    expect([await fresh.getFunction("symbol")(), await fresh.getFunction("decimals")(), await fresh.getFunction("rules")()]).toEqual(["FUNDB", 0n, deployed.rules]);
    // the new token is administered with --token; 0 decimals: whole units only
    await fails(2, "INVALID_AMOUNT", "--token", deployed.token, "mint", "bob", "1.5");
    await okJson("--token", deployed.token, "mint", "bob", "7");
    expect((await fresh.getFunction("balanceOf")(bob.address)) as bigint).toBe(7n);
    expect(rowOf(await okJson<CapTable>("--token", deployed.token, "cap-table"), bob.address)!.total).toBe("7");

    await fails(2, "USAGE", "replace-rules", bob.address); // no contract there
    await okJson("replace-rules", deployed.rules);
    expect((await token().getFunction("rules")()) as string).toBe(deployed.rules);
  });
});
