// The node's wiring of its compliance mirror (node.ts → compliance-mirror.ts), with a real Hardhat
// node process and the node's LevelDB store: a stopped node leaves its mirror in the store, and the
// restarted node restores it instead of rebuilding it from startBlock; a freeze mined while it was
// down is in its mirror (and saved) once it started.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Wallet } from "ethers";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LevelStore } from "../../client/store/level-store.js";
import { decodeMirrorRecord } from "../../channel-node/src/compliance-mirror.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { startStack, type Stack } from "../../devstack/stack.js";

function capture() {
  const messages: string[] = [];
  const logger = pino({ level: "info" }, { write: (line: string) => messages.push((JSON.parse(line) as { msg: string }).msg) });
  return { logger, messages };
}

describe("node restart with a saved compliance mirror", () => {
  let stack: Stack;
  let dir: string;
  const nodes: RunningNode[] = [];

  beforeAll(async () => {
    stack = await startStack({ investors: [] });
    dir = mkdtempSync(join(tmpdir(), "clearline-mirror-restart-"));
  }, 120_000);

  afterAll(async () => {
    for (const node of nodes) await node.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("restores the mirror it saved at stop, then catches up on what happened while it was down", async () => {
    const config = stack.nodeConfig({ dataDir: dir });
    const first = capture();
    const node = await startNode(config, { logger: first.logger });
    nodes.push(node);
    expect(first.messages).toContain("no saved compliance mirror: building it from startBlock");
    // A block without compliance events: not saved while running, saved by the stop.
    const provider = stack.connection.ethers.provider;
    await provider.send("evm_mine", []);
    const stoppedAt = await provider.getBlockNumber();
    await sleep(1_500); // the node polls every 200 ms
    await node.stop();
    const closed = await LevelStore.open(join(dir, "channels"));
    expect(decodeMirrorRecord((await closed.facts())!).block).toBe(stoppedAt);
    await closed.close();

    const frozen = Wallet.createRandom().address;
    await (await stack.system.token.getFunction("freeze")(frozen)).wait();

    const second = capture();
    const restarted = await startNode(config, { logger: second.logger });
    nodes.push(restarted);
    expect(second.messages).toContain("compliance mirror restored from the store");
    expect(second.messages.some((m) => m.includes("rebuilding"))).toBe(false);
    const saved = decodeMirrorRecord((await restarted.store.facts())!);
    expect(saved.block).toBe(await provider.getBlockNumber());
    expect(saved.facts.tokens.get(stack.addresses.token.toLowerCase())?.frozen.has(frozen.toLowerCase())).toBe(true);
  }, 120_000);
});
