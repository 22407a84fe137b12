// `npm run demo`: the scripted story of devstack/demo-story.ts on an embedded chain with the
// venue's node, printed step by step. Exits non-zero if any outcome differs from what is owed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startNode } from "../channel-node/src/node.js";
import { runDemoStory } from "../devstack/demo-story.js";
import { ROLES, demoTrading, startStack } from "../devstack/stack.js";

const dataDir = mkdtempSync(join(tmpdir(), "clearline-demo-"));
console.log("Starting an embedded chain, deploying Clearline with Ignition, starting the venue's node…");
const stack = await startStack({
  investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.carol, identity: { kyc: false }, securities: 0n }],
});
const node = await startNode(stack.nodeConfig({ dataDir: join(dataDir, "node"), logLevel: "warn", trading: demoTrading(stack) }));
let exitCode = 0;
try {
  await runDemoStory({
    stack,
    nodeUrl: node.url,
    dataDir,
    venueDeposit: async (channelId, assetIndex, amount) => {
      await node.deposit(channelId, assetIndex, amount);
    },
    say: (line) => console.log(line),
  });
  console.log("\nDemo complete: every balance is exactly what is owed.");
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await node.stop();
  await stack.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
