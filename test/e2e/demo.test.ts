import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemoStory } from "../../devstack/demo-story.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, demoTrading, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, adminPost, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

describe("the demo story against a node process, a chain process and real WebSockets", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-demo-"));
    stack = await startStack({
      investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.carol, identity: { kyc: false }, securities: 0n }],
    });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node"), trading: demoTrading(stack) }), dir);
  });

  afterAll(async () => {
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("trades through the book, refuses the non-KYC buyer and transfer, verifies a receipt, challenges the stale close and pays everyone what they are owed", async () => {
    const lines: string[] = [];
    const outcome = await runDemoStory({
      stack,
      nodeUrl: node.url,
      dataDir: dir,
      venueDeposit: async (channelId, assetIndex, amount) => {
        await adminPost(node, `/channels/${channelId}/deposit?asset=${assetIndex}&amount=${amount}`);
      },
      say: (line) => lines.push(line),
    });
    expect(outcome.refusal).toEqual({ code: 0x57, rule: "RECEIVER_NOT_ELIGIBLE", message: "Receiver lacks valid KYC/AML" });
    // Bob's sell (maker) and Alice's buy (taker) matched at Bob's price and settled in both channels
    expect(outcome.fill).toEqual({ quantity: 3n * SECURITY_UNIT, price: 101n * CASH_UNIT, state: "settled", buyer: "taker", seller: "maker" });
    expect(outcome.settled).toEqual({ alice: [11n * SECURITY_UNIT, 8_672n * CASH_UNIT], bob: [49n * SECURITY_UNIT, 1_103n * CASH_UNIT] });
    expect(outcome.orderRefusal).toEqual({ reason: "NOT_COMPLIANT", code: 0x57, rule: "RECEIVER_NOT_ELIGIBLE" });
    // Alice's buy was the log's second entry (after Bob's sell); Carol's refused order never entered it
    expect(outcome.verifiedReceipt).toEqual({ sequence: 1n, receiptLogSize: 3n, checkpointSize: 3n });
    expect(lines.some((line) => line.includes("filled 3 CLS at 101 cUSD"))).toBe(true);
    expect(outcome.deltas).toEqual({
      alice: [11n * SECURITY_UNIT, -1_328n * CASH_UNIT],
      bob: [-1n * SECURITY_UNIT, 3n * CASH_UNIT],
      venue: [-10n * SECURITY_UNIT, 1_325n * CASH_UNIT],
    });
    const channels = await eventually(
      () => adminGet<{ status: string }[]>(node, "/channels"),
      (list) => list.every((c) => c.status === "concluded"),
    );
    expect(channels).toHaveLength(2);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/clearline_updates_total\{kind="trade",proposer="investor"\} 1/);
    expect(metrics).toMatch(/clearline_dispute_actions_total\{action="challenge:done"\} 1/);
    expect(metrics).toMatch(/clearline_fill_settlements_total\{outcome="settled"\} 1\n/);
    // Every agreed state went to disk in a timed batch.
    const batches = Number(/^clearline_store_batch_seconds_count (\d+)$/m.exec(metrics)?.[1]);
    expect(batches).toBeGreaterThan(0);
  });
});
