// The venue operator's CLI against a running node process: decimals with symbols in and out, a
// channel named by a unique prefix of its id, getinfo, the venue wallet's balances, a deposit to the
// venue's side, a force-close (`close --force`) of an unresponsive investor's channel, failures in words with a code
// and an exit code — each with the node's admin token, which the node wrote into its data directory
// readable by its owner only.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { freePort } from "../../devstack/local-chain.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../channel-node/src/cli.ts", import.meta.url));
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("operator CLI", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  let alice: OpenedClient;
  let channelId: string;
  let second: string;

  const operatorAt = async (url: string, tokenFile: string, ...args: string[]) => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", CLI, ...args, "--url", url, "--token-file", tokenFile], { cwd: ROOT });
    return stdout;
  };
  const operatorWith = (tokenFile: string, ...args: string[]) => operatorAt(node.httpUrl, tokenFile, ...args);
  const operator = (...args: string[]) => operatorWith(node.adminTokenFile, ...args);
  /** The CLI's exit code and stderr for a command that must fail. */
  const failsAt = async (url: string, tokenFile: string, ...args: string[]) => {
    try {
      await operatorAt(url, tokenFile, ...args);
    } catch (error) {
      const { code, stderr } = error as { code: number; stderr: string };
      return { code, stderr: stderr.trim() };
    }
    throw new Error("the command succeeded");
  };
  const operatorFails = (tokenFile: string, ...args: string[]) => failsAt(node.httpUrl, tokenFile, ...args);
  const fails = (...args: string[]) => operatorFails(node.adminTokenFile, ...args);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-operator-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node") }), dir);
    alice = await openClient({ nodeUrl: node.url, privateKey: devWallet(ROLES.alice).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "client") });
    await alice.client.connect();
    channelId = await alice.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], deposit: { assetIndex: 1, amount: 500n * CASH_UNIT } });
    await alice.client.pay(channelId, { assetIndex: 1, amount: 20n * CASH_UNIT });
    // A second channel, closed cooperatively by the investor: concluded on chain.
    second = await alice.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], deposit: { assetIndex: 1, amount: 10n * CASH_UNIT } });
    await alice.client.close(second);
    await eventually(async () => JSON.parse(await operator("channels", "--json")) as { channelId: string; status: string }[], (l) => l.find((c) => c.channelId === second)?.status === "concluded");
  });

  afterAll(async () => {
    await alice?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the node wrote its admin token readable by its owner only (0600)", () => {
    expect(statSync(node.adminTokenFile).mode & 0o777).toBe(0o600);
    expect(node.adminToken).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses to run without the token, with a wrong token, or with a token file others can read", async () => {
    expect(await operatorFails(join(dir, "absent"), "channels")).toEqual({ code: 1, stderr: expect.stringMatching(/^no admin token at .*absent/) });
    const wrong = join(dir, "wrong-token");
    writeFileSync(wrong, "ab".repeat(32), { mode: 0o600 });
    expect(await operatorFails(wrong, "channels")).toEqual({ code: 1, stderr: expect.stringMatching(/^the node refused the request: send the node's admin token.*\(ADMIN_UNAUTHORIZED\)$/) });
    const exposed = join(dir, "exposed-token");
    writeFileSync(exposed, node.adminToken, { mode: 0o644 });
    expect(await operatorFails(exposed, "channels")).toEqual({ code: 1, stderr: expect.stringMatching(/readable by other users \(mode 644\)/) });
  });

  it("a node that is not running: one sentence naming the address, exit 1", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    expect(await failsAt(url, node.adminTokenFile, "getinfo")).toEqual({ code: 1, stderr: `the node is not running at ${url} (nothing answers there; start it with \`npm run node -- start\` or pass --url) (NODE_UNREACHABLE)` });
  });

  it("start on a busy port: exits 1 with one line naming the port and CLEARLINE_PORT", async () => {
    const config = join(dir, "second-node.json");
    writeFileSync(config, JSON.stringify({ ...stack.nodeConfig({ dataDir: join(dir, "second-node"), logLevel: "silent" }), port: node.port }));
    const failed = await run(process.execPath, ["--import", "tsx", CLI, "start", "--config", config], { cwd: ROOT }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr.trim() }),
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr.split("\n")).toEqual([`port ${node.port} on 127.0.0.1 is already in use: set CLEARLINE_PORT (or "port" in the config file) to a free port`]);
  });

  it("logs human-readable lines with CLEARLINE_LOG_FORMAT=pretty (a terminal's default), JSON otherwise; a bad format is one line", async () => {
    const config = join(dir, "log-node.json");
    writeFileSync(config, JSON.stringify({ ...stack.nodeConfig({ dataDir: join(dir, "log-node"), logLevel: "info" }), port: node.port }));
    const start = (format: string) =>
      run(process.execPath, ["--import", "tsx", CLI, "start", "--config", config], { cwd: ROOT, env: { ...process.env, CLEARLINE_LOG_FORMAT: format } }).then(
        () => ({ code: 0, stdout: "", stderr: "" }),
        (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr.trim() }),
      );
    const pretty = await start("pretty");
    expect(pretty.code).toBe(1); // the port is taken: it logged its start, then stopped
    expect(pretty.stdout).toMatch(/^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] INFO: starting channel node$/m);
    expect(pretty.stdout).not.toContain('"level"');
    const json = await start("json");
    expect(JSON.parse(json.stdout.split("\n")[0]!)).toMatchObject({ level: 30, msg: "starting channel node" });
    expect(await start("xml")).toMatchObject({ code: 1, stderr: 'CLEARLINE_LOG_FORMAT is "xml": write json or pretty' });
  });

  it("getinfo: version, venue, chain, block and watcher lag", async () => {
    const info = JSON.parse(await operator("getinfo", "--json")) as { version: string; venue: string; chainId: string; block: number; lastProcessedBlock: number; watcherLagBlocks: number; channels: number };
    expect(info).toMatchObject({ version: "0.1.0", venue: devWallet(ROLES.venue).address, chainId: "31337", channels: 2 });
    expect(info.block).toBeGreaterThan(0);
    expect(info.watcherLagBlocks).toBe(Math.max(0, info.block - info.lastProcessedBlock));
    const text = await operator("getinfo");
    expect(text).toContain("clearline-node 0.1.0");
    expect(text).toContain(`venue        ${devWallet(ROLES.venue).address}`);
    expect(text).toMatch(/watcher \d+ blocks? behind/);
  });

  it("balances: the venue wallet's tokens in decimals with symbols, and ETH for gas", async () => {
    const balances = JSON.parse(await operator("balances", "--json")) as { eth: string; assets: { symbol: string; decimals: number; amount: string; units: string }[] };
    expect(Number(balances.eth)).toBeGreaterThan(0);
    expect(balances.assets.map((a) => [a.symbol, a.decimals])).toEqual([["CLS", 18], ["cUSD", 6]]);
    const cls = balances.assets[0]!;
    expect(BigInt(cls.units)).toBe(100_000n * SECURITY_UNIT);
    expect(cls.amount).toBe("100000");
    const text = await operator("balances");
    expect(text).toMatch(/ETH {2}\d+(\.\d+)? \(gas\)/);
    expect(text.split("\n")).toContain("  CLS  100000");
  });

  it("lists channels with balances in decimals (JSON keeps smallest units)", async () => {
    const list = JSON.parse(await operator("channels", "--json")) as { channelId: string; status: string; nonce: string; balances: { venue: string; investor: string }[] }[];
    expect(list.find((c) => c.channelId === channelId)).toMatchObject({ status: "open", nonce: "1", balances: [expect.anything(), { venue: (20n * CASH_UNIT).toString(), investor: (480n * CASH_UNIT).toString() }] });
    const text = await operator("channels");
    expect(text).toContain(`${channelId}  open`);
    expect(text).toContain("cUSD   venue 20 cUSD  investor 480 cUSD");
  });

  it("names a channel by a unique prefix; an ambiguous or unknown prefix is a typed error (exit 2)", async () => {
    const prefix = channelId.slice(0, 12);
    expect(JSON.parse(await operator("history", prefix, "--json"))).toEqual([expect.objectContaining({ nonce: "1", kind: "payment" })]);
    const ambiguous = await fails("history", "0x");
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/^0x is ambiguous: it starts 2 channels \(.*\); give more digits \(UNKNOWN_CHANNEL\)$/);
    expect(ambiguous.stderr).toContain(channelId);
    expect(ambiguous.stderr).toContain(second);
    const other = [channelId, second].map((id) => id[2]).includes("f") ? "0x0000000000" : "0xf";
    expect(await fails("history", other)).toEqual({ code: 2, stderr: `the node has no channel ${other} (UNKNOWN_CHANNEL)` });
    expect(await fails("history", "0xzz")).toEqual({ code: 2, stderr: `"0xzz" is not a channel id or a prefix of one (hex digits) (USAGE)` });
  });

  it("deposit speaks symbols and decimals; a bad amount or asset changes nothing (exit 2)", async () => {
    const prefix = channelId.slice(0, 12);
    expect(await fails("deposit", prefix, "--asset", "CLS", "--amount", "0.0000000000000000001")).toEqual({ code: 2, stderr: expect.stringMatching(/too many decimals: CLS has at most 18 decimals \(INVALID_AMOUNT\)$/) });
    expect(await fails("deposit", prefix, "--asset", "cUSD", "--amount", "0.0000001")).toEqual({ code: 2, stderr: "0.0000001 has too many decimals: cUSD has at most 6 decimals (INVALID_AMOUNT)" });
    expect(await fails("deposit", prefix, "--asset", "XYZ", "--amount", "1")).toEqual({ code: 2, stderr: "the channel holds no asset XYZ; it holds CLS, cUSD (UNKNOWN_ASSET)" });
    expect(await fails("deposit", prefix, "--asset", "CLS", "--amount", "-1")).toMatchObject({ code: 2 });
    expect(await operator("deposit", prefix, "--asset", "cls", "--amount", "2.5")).toMatch(new RegExp(`^deposited 2.5 CLS to the venue's side of ${channelId} \\(tx 0x[0-9a-f]{64}\\)`));
    await eventually(async () => (await alice.client.balances(channelId))[0]!.venue, (v) => v === (5n * SECURITY_UNIT) / 2n);
    expect(await operator("channels")).toContain("CLS    venue 2.5 CLS  investor 0 CLS");
  });

  it("a deposit the chain refuses: the cause in words, exit 1, one warn line in the node's log without a stack", async () => {
    const failed = await fails("deposit", channelId, "--asset", "CLS", "--amount", "1000000");
    expect(failed.code).toBe(1);
    // The venue holds 100,000 CLS: the token's ERC-1404 rule, decoded from the revert into words.
    expect(failed.stderr).toBe("refused on chain (deposit): sender's balance is insufficient (ERC-1404 0x52 INSUFFICIENT_BALANCE) (REVERTED)");
    const lines = node.output().split("\n").filter((line) => line.includes("admin request failed"));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, status: 409 });
    expect(lines[0]).not.toContain("stack");
  });

  it("force-closes an unresponsive investor's channel by prefix; a second close or a concluded channel is refused in words", async () => {
    expect(await fails("close", second.slice(0, 12), "--force")).toEqual({ code: 1, stderr: "the channel is already concluded (CHANNEL_CONCLUDED)" });
    await alice.client.disconnect(); // the investor stops answering
    expect(await operator("close", channelId.slice(0, 12), "--force")).toMatch(/registered the venue's latest state of .* on chain/);
    const record = await eventually(() => alice.chain.channel(channelId), (c) => c.phase === "Disputed");
    expect(record.nonce).toBe(1n);
    const list = await eventually(
      async () => JSON.parse(await operator("channels", "--json")) as { channelId: string; status: string; dispute: { nonce: string } | null }[],
      (l) => l.find((c) => c.channelId === channelId)?.status === "disputed",
    );
    expect(list.find((c) => c.channelId === channelId)!.dispute?.nonce).toBe("1");
    expect(await operator("channels")).toMatch(/dispute #1 settles \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in /);
    expect(await fails("close", channelId, "--force")).toEqual({ code: 1, stderr: "the channel is already disputed on chain (CHANNEL_DISPUTED)" });
    expect(await fails("close", channelId)).toEqual({ code: 1, stderr: "the channel is already disputed on chain (CHANNEL_DISPUTED)" });
  });
});
