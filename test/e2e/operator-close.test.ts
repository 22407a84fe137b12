// The operator's cooperative close and the venue's withdrawal of its own funds, against a node
// process, a chain process and investors' real SDKs: the venue proposes, the investor's SDK
// countersigns unasked (a final state of the latest balances, a withdrawal lowering only the venue's
// side), the node sends the agreed state on chain. Refused in words with a code, changing nothing:
// a withdrawal of more than the venue holds, a close of a channel with a pending lock, an offline
// investor (pointing at the forced close), a channel already concluded. And what the venue watches
// on /metrics, scraped while these happen.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { hexlify, randomBytes } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../channel-node/src/cli.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CASH = 0;
const SECURITY = 1;

interface ChannelSummary {
  channelId: string;
  status: string;
  nonce: string;
  balances: { venue: string; investor: string }[];
}

describe("operator: cooperative close and the venue's withdrawal", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  const investors: Record<"alice" | "bob" | "dave", OpenedClient | undefined> = { alice: undefined, bob: undefined, dave: undefined };
  const channels: Record<"alice" | "bob" | "dave", string> = { alice: "", bob: "", dave: "" };

  const operator = async (...args: string[]) => (await run(process.execPath, ["--import", "tsx", CLI, ...args, "--url", node.httpUrl, "--token-file", node.adminTokenFile], { cwd: ROOT })).stdout;
  /** The CLI's exit code and stderr for a command that must fail. */
  const fails = async (...args: string[]) => {
    try {
      await operator(...args);
    } catch (error) {
      const { code, stderr } = error as { code: number; stderr: string };
      return { code, stderr: stderr.trim() };
    }
    throw new Error("the command succeeded");
  };
  const post = async (path: string) => {
    const response = await fetch(`${node.httpUrl}/admin${path}`, { method: "POST", headers: { authorization: `Bearer ${node.adminToken}` } });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const summary = async (channelId: string) => (JSON.parse(await operator("channels", "--json")) as ChannelSummary[]).find((c) => c.channelId === channelId)!;
  const cashOf = async (address: string) => (await stack.system.cash.getFunction("balanceOf")(address)) as bigint;
  const venue = devWallet(ROLES.venue).address;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-operator-close-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.dave }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node") }), dir);
    for (const name of ["alice", "bob", "dave"] as const) {
      const opened = await openClient({ nodeUrl: node.url, privateKey: devWallet(ROLES[name]).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "clients") });
      investors[name] = opened;
      await opened.client.connect();
      // Dave's channel holds securities too (a transfer rule can refuse them).
      const assets = name === "dave" ? [stack.addresses.cash, stack.addresses.token] : [stack.addresses.cash];
      channels[name] = await opened.client.openChannel({ assets, deposit: { assetIndex: CASH, amount: 100n * CASH_UNIT } });
    }
    await investors.dave!.client.deposit(channels.dave, SECURITY, 5n * SECURITY_UNIT);
    // The venue's side of alice's channel holds what alice paid it.
    await investors.alice!.client.pay(channels.alice, { assetIndex: CASH, amount: 20n * CASH_UNIT });
  });

  afterAll(async () => {
    for (const opened of Object.values(investors)) await opened?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a withdrawal of more than the venue holds in the channel, in decimals (CLI) and in units (API), and changes nothing", async () => {
    const prefix = channels.alice.slice(0, 12);
    expect(await fails("withdraw", prefix, "--asset", "cUSD", "--amount", "20.000001")).toEqual({
      code: 1,
      stderr: `the venue holds 20 cUSD in ${channels.alice}, less than the 20.000001 cUSD to withdraw (INSUFFICIENT_BALANCE)`,
    });
    const answer = await post(`/channels/${channels.alice}/withdraw?asset=${CASH}&amount=${21n * CASH_UNIT}`);
    expect(answer).toMatchObject({ status: 409, body: { code: "INSUFFICIENT_BALANCE", held: (20n * CASH_UNIT).toString(), amount: (21n * CASH_UNIT).toString() } });
    expect(answer.body.error).toMatch(/^the venue holds 20000000 units of 0x[0-9a-fA-F]{40} in the channel, less than the 21000000 to withdraw$/);
    expect(await summary(channels.alice)).toMatchObject({ nonce: "1", balances: [{ venue: (20n * CASH_UNIT).toString() }] });
  });

  it("withdraws the venue's own funds: the investor's SDK countersigns unasked, the venue's wallet receives them", async () => {
    const before = await cashOf(venue);
    const out = await operator("withdraw", channels.alice.slice(0, 12), "--asset", "cusd", "--amount", "7.5");
    expect(out).toMatch(new RegExp(`^withdrew 7.5 cUSD of the venue's funds from ${channels.alice} \\(state #2, tx 0x[0-9a-f]{64}\\)`));
    expect(await cashOf(venue)).toBe(before + 7_500_000n);
    // The investor agreed it: its own store holds the venue's withdrawal, its balance is untouched.
    expect((await investors.alice!.client.history(channels.alice, 1))[0]).toMatchObject({ update: { kind: "withdrawal" } });
    expect(await investors.alice!.client.balances(channels.alice)).toEqual([expect.objectContaining({ venue: 12_500_000n, me: 80n * CASH_UNIT })]);
    expect(await summary(channels.alice)).toMatchObject({ nonce: "2", balances: [{ venue: "12500000", investor: (80n * CASH_UNIT).toString() }] });
  });

  it("refuses to close a channel with a pending lock (a payment in flight), and changes nothing", async () => {
    // The venue funds dave's side to forward a lock to him.
    await operator("deposit", channels.dave, "--asset", "cUSD", "--amount", "10");
    await eventually(() => summary(channels.dave), (c) => c.balances[CASH]?.venue === (10n * CASH_UNIT).toString());
    // Bob pays an invoice whose secret nobody holds: his lock stays unresolved until it expires.
    const invoice = { hashlock: hexlify(randomBytes(32)), token: stack.addresses.cash, amount: 3n * CASH_UNIT, to: investors.dave!.client.address };
    await investors.bob!.client.payInvoice(channels.bob, invoice);
    const nonce = (await summary(channels.bob)).nonce;
    const failed = await fails("close", channels.bob.slice(0, 12));
    expect(failed).toEqual({
      code: 1,
      stderr: "the channel has 1 unresolved lock (payments in flight): they must be claimed or expire before a final state, or force-close it with `close --force` (the node settles after the challenge period) (LOCKS_OUTSTANDING)",
    });
    expect((await summary(channels.bob)).nonce).toBe(nonce);
    expect((await investors.bob!.chain.channel(channels.bob)).phase).toBe("Open");
  });

  it("/metrics: value locked per asset, the venue's wallet, chain head and watcher lag, pending locks, refusals by rule, disputes with time to deadline", async () => {
    const scrape = async () => (await fetch(`${node.httpUrl}/metrics`)).text();
    /** The sample of `name` whose labels include `labels`, or undefined. */
    const sample = (text: string, name: string, labels: Record<string, string> = {}): number | undefined => {
      const line = text.split("\n").find((l) => (l.startsWith(`${name} `) || l.startsWith(`${name}{`)) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
      return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
    };
    const provider = investors.alice!.chain.provider;
    // Bob's lock to the venue and the venue's forwarded lock to dave.
    let text = await eventually(scrape, (t) => sample(t, "clearline_pending_locks") === 2);
    // Alice's 100 less the venue's 7.5 withdrawn, bob's 100, dave's 100 and the venue's 10 there; dave's 5 CLS.
    expect(sample(text, "clearline_value_locked", { asset: "cUSD" })).toBe(302.5);
    expect(sample(text, "clearline_value_locked", { asset: "CLS", token: stack.addresses.token })).toBe(5);
    expect(sample(text, "clearline_disputes")).toBe(0);
    expect(sample(text, "clearline_dispute_deadline_seconds")).toBeUndefined();
    const wallet = { cash: await cashOf(venue), securities: (await stack.system.token.getFunction("balanceOf")(venue)) as bigint };
    text = await eventually(scrape, (t) => sample(t, "clearline_venue_wallet_balance", { asset: "cUSD" }) === Number(wallet.cash) / 1e6);
    expect(sample(text, "clearline_venue_wallet_balance", { asset: "CLS" })).toBe(Number(wallet.securities / SECURITY_UNIT));
    expect(sample(text, "clearline_venue_wallet_eth", { venue })).toBeGreaterThan(0);
    const head = await provider.getBlockNumber();
    text = await eventually(scrape, (t) => sample(t, "clearline_chain_head_block") === head && sample(t, "clearline_watcher_lag_blocks", { watcher: "adjudicator" }) === 0);
    expect(sample(text, "clearline_watcher_lag_blocks", { watcher: "compliance" })).toBe(0);

    // Dave's securities are locked up: his payment of them is refused by that rule.
    const chainNow = BigInt((await provider.getBlock("latest"))!.timestamp);
    await (await stack.system.rules.getFunction("setLockup")(investors.dave!.client.address, chainNow + 30n * 24n * 3600n)).wait();
    await eventually(
      () => investors.dave!.client.pay(channels.dave, { assetIndex: SECURITY, amount: 1n }).then(() => "countersigned", (error: Error) => error.message),
      (outcome) => outcome.includes("SENDER_LOCKED"),
    );
    expect(sample(await scrape(), "clearline_compliance_refusals_total", { rule: "SENDER_LOCKED" })).toBeGreaterThanOrEqual(1);

    // Dave's channel force-closed: one dispute, its deadline one challenge period (1 h) ahead.
    await operator("close", channels.dave, "--force");
    text = await eventually(scrape, (t) => sample(t, "clearline_disputes") === 1);
    const left = sample(text, "clearline_dispute_deadline_seconds", { channel: channels.dave })!;
    expect(left).toBeGreaterThan(3_500);
    expect(left).toBeLessThanOrEqual(3_600);
  });

  it("an offline investor: the close and the withdrawal say so and point at the forced close, nothing is proposed", async () => {
    await investors.alice!.client.disconnect();
    await eventually(async () => (await fetch(`${node.httpUrl}/metrics`)).text(), (text) => /^clearline_connections 2$/m.test(text));
    const close = await fails("close", channels.alice);
    expect(close.code).toBe(1);
    expect(close.stderr).toBe(
      `the investor ${investors.alice!.client.address} is offline: a cooperative close needs its countersignature; try again when it is connected, or force-close it with \`close --force\` (the node settles after the challenge period) (INVESTOR_OFFLINE)`,
    );
    expect((await fails("withdraw", channels.alice, "--asset", "cUSD", "--amount", "1")).stderr).toMatch(/^the investor 0x[0-9a-fA-F]{40} is offline: the venue's withdrawal needs its countersignature; .* \(INVESTOR_OFFLINE\)$/);
    expect(await summary(channels.alice)).toMatchObject({ status: "open", nonce: "2" });
    await investors.alice!.client.connect();
  });

  it("closes cooperatively: a final state of the latest balances, both sides paid out at once; a second close is refused in words", async () => {
    const [venueBefore, aliceBefore] = [await cashOf(venue), await cashOf(investors.alice!.client.address)];
    const out = await operator("close", channels.alice.slice(0, 12));
    expect(out).toMatch(new RegExp(`^closed ${channels.alice} cooperatively with final state #3: both sides are paid out \\(tx 0x[0-9a-f]{64}\\)`));
    expect((await investors.alice!.chain.channel(channels.alice)).phase).toBe("Concluded");
    expect(await cashOf(venue)).toBe(venueBefore + 12_500_000n);
    expect(await cashOf(investors.alice!.client.address)).toBe(aliceBefore + 80n * CASH_UNIT);
    const latest = (await investors.alice!.client.channels()).find((c) => c.channelId === channels.alice)!.latest!;
    expect(latest.state).toMatchObject({ nonce: 3n, isFinal: true });
    await eventually(() => summary(channels.alice), (c) => c.status === "concluded");
    expect(await fails("close", channels.alice)).toEqual({ code: 1, stderr: "the channel is already concluded (CHANNEL_CONCLUDED)" });
    expect(await fails("withdraw", channels.alice, "--asset", "cUSD", "--amount", "1")).toEqual({ code: 1, stderr: "the channel is already concluded (CHANNEL_CONCLUDED)" });
  });
});
