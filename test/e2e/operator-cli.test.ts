// The venue operator's CLI against a running node process: list channels with balances, show a
// channel's history, fund the venue's side, force-close an unresponsive investor's channel — each with
// the node's admin token, which the node wrote into its data directory readable by its owner only.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../scripts/lib/stack.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const run = promisify(execFile);
const CLI = fileURLToPath(new URL("../../channel-node/src/cli.ts", import.meta.url));

describe("operator CLI", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  let alice: OpenedClient;
  let channelId: string;

  const operatorWith = async (tokenFile: string, ...args: string[]) => {
    const { stdout } = await run(process.execPath, ["--import", "tsx", CLI, ...args, "--url", node.httpUrl, "--token-file", tokenFile], { cwd: fileURLToPath(new URL("../../", import.meta.url)) });
    return stdout;
  };
  const operator = (...args: string[]) => operatorWith(node.adminTokenFile, ...args);
  /** The CLI's exit code and stderr for a command that must fail. */
  const operatorFails = async (tokenFile: string, ...args: string[]) => {
    try {
      await operatorWith(tokenFile, ...args);
    } catch (error) {
      const { code, stderr } = error as { code: number; stderr: string };
      return { code, stderr: stderr.trim() };
    }
    throw new Error("the command succeeded");
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-operator-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node") }), dir);
    alice = await openClient({ nodeUrl: node.url, privateKey: devWallet(ROLES.alice).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "client") });
    await alice.client.connect();
    channelId = await alice.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], deposit: { assetIndex: 1, amount: 500n * CASH_UNIT } });
    await alice.client.pay(channelId, { assetIndex: 1, amount: 20n * CASH_UNIT });
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
    expect(await operatorFails(wrong, "channels")).toEqual({ code: 1, stderr: expect.stringMatching(/^the node answered 401: send the node's admin token/) });
    const exposed = join(dir, "exposed-token");
    writeFileSync(exposed, node.adminToken, { mode: 0o644 });
    expect(await operatorFails(exposed, "channels")).toEqual({ code: 1, stderr: expect.stringMatching(/readable by other users \(mode 644\)/) });
  });

  it("start on a busy port: exits 1 with one line naming the port and CLEARLINE_PORT", async () => {
    const config = join(dir, "second-node.json");
    writeFileSync(config, JSON.stringify({ ...stack.nodeConfig({ dataDir: join(dir, "second-node"), logLevel: "silent" }), port: node.port }));
    const failed = await run(process.execPath, ["--import", "tsx", CLI, "start", "--config", config], { cwd: fileURLToPath(new URL("../../", import.meta.url)) }).then(
      () => ({ code: 0, stderr: "" }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr.trim() }),
    );
    expect(failed.code).toBe(1);
    expect(failed.stderr.split("\n")).toEqual([`port ${node.port} on 127.0.0.1 is already in use: set CLEARLINE_PORT (or "port" in the config file) to a free port`]);
  });

  it("lists channels with balances, human and JSON", async () => {
    const list = JSON.parse(await operator("channels", "--json")) as { channelId: string; status: string; nonce: string; balances: { venue: string; investor: string }[] }[];
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ channelId, status: "open", nonce: "1" });
    expect(list[0]!.balances[1]).toEqual({ venue: (20n * CASH_UNIT).toString(), investor: (480n * CASH_UNIT).toString() });
    expect(await operator("channels")).toContain(`${channelId}  open`);
  });

  it("shows a channel's history", async () => {
    const history = JSON.parse(await operator("history", channelId, "--json")) as { nonce: string; kind: string }[];
    expect(history).toEqual([expect.objectContaining({ nonce: "1", kind: "payment" })]);
  });

  it("funds the venue's side and force-closes the channel of an unresponsive investor", async () => {
    expect(await operator("deposit", channelId, "--asset", "0", "--amount", (5n * SECURITY_UNIT).toString())).toMatch(/deposited \(tx 0x[0-9a-f]{64}\)/);
    await eventually(async () => (await alice.client.balances(channelId))[0]!.venue, (v) => v === 5n * SECURITY_UNIT);
    await alice.client.disconnect(); // the investor stops answering
    expect(await operator("close", channelId)).toMatch(/registered the venue's latest state on chain/);
    const record = await eventually(() => alice.chain.channel(channelId), (c) => c.phase === "Disputed");
    expect(record.nonce).toBe(1n);
    const [listed] = await eventually(
      async () => JSON.parse(await operator("channels", "--json")) as { status: string; dispute: { nonce: string } | null }[],
      (list) => list[0]?.status === "disputed",
    );
    expect(listed!.dispute?.nonce).toBe("1");
  });
});
