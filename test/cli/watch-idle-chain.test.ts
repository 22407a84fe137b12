// `clearline watch` settles after the deadline on an idle chain: Hardhat's node with automine mines
// no block until a transaction arrives, so its latest block's time stands still while the chain's
// clock runs on. The investor force-closed with its latest state, the venue is gone, the challenge
// period passes on the chain's clock (`evm_increaseTime`, nothing mined) — and one `watch --once`
// settles, judging the deadline by the time its own transaction will get.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { EXIT_WITH_PARENT } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const alice = devWallet(ROLES.alice);

describe("clearline watch on an idle chain", () => {
  let stack: Stack;
  let node: RunningNode | undefined;
  let investor: OpenedClient | undefined;
  let provider: JsonRpcProvider;
  let dir: string;
  let deploymentFile: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-watch-idle-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
    node = await startNode(stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "silent" }));
    deploymentFile = join(dir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: stack.chain.url, chainId: stack.chainId.toString(), contracts: stack.addresses, nodeUrl: node.url, accounts: { alice: alice.address } }));
  });

  afterAll(async () => {
    await investor?.close();
    await node?.stop();
    provider?.destroy();
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  /** `clearline --json watch --once` as alice: its exit code and events. */
  function watchOnce(): Promise<{ code: number | null; events: Record<string, unknown>[]; stderr: string }> {
    const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", "client/cli/clearline.ts", "--deployment", deploymentFile, "--data-dir", join(dir, "clients"), "--json", "watch", "--once"], {
      cwd: REPO,
      env: { ...process.env, CLEARLINE_KEY: alice.privateKey },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) =>
        resolve({
          code,
          stderr,
          events: stdout
            .split("\n")
            .filter((line) => line.trim() !== "")
            .map((line) => JSON.parse(line) as Record<string, unknown>),
        }),
      );
    });
  }

  it("settles once the challenge period has passed on the chain's clock, though no block was mined since", async () => {
    investor = await openClient({ nodeUrl: node!.url, privateKey: alice.privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "clients") });
    await investor.client.connect();
    const channelId = await investor.client.openChannel({ assets: [stack.addresses.cash], challengePeriod: 60n, deposit: { assetIndex: 0, amount: 100n * CASH_UNIT } });
    await investor.client.pay(channelId, { assetIndex: 0, amount: 30n * CASH_UNIT });
    // The venue is gone (its own watchtower would settle too); the investor registers its latest state.
    await node!.stop();
    node = undefined;
    await investor.client.forceClose(channelId);
    const { deadline } = await investor.chain.channel(channelId);
    await investor.close();
    investor = undefined;

    const latest = (await provider.getBlock("latest"))!;
    await provider.send("evm_increaseTime", [Number(deadline) - latest.timestamp + 1]);
    // Idle: the chain's clock passed the deadline, its latest block did not.
    expect(await provider.getBlockNumber()).toBe(latest.number);
    expect(BigInt((await provider.getBlock("latest"))!.timestamp)).toBeLessThan(deadline);

    const cashBefore = (await stack.system.cash.getFunction("balanceOf")(alice.address)) as bigint;
    const run = await watchOnce();
    expect(run.code, run.stderr).toBe(0);
    expect(run.events).toContainEqual(expect.objectContaining({ event: "action", action: "settle", status: "done", channelId }));
    expect((await stack.system.cash.getFunction("balanceOf")(alice.address)) as bigint).toBe(cashBefore + 70n * CASH_UNIT);
  });
});
