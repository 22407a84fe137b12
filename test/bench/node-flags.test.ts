// The node process runs with the same V8 flags however it is started: `clearline-node` (bin.mjs's
// shebang), `npm run node`, and the bench (NODE_PROCESS_FLAGS), so the latency measured is the one
// operators get.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { NODE_PROCESS_FLAGS } from "../../bench/lib/node.js";

const ROOT = new URL("../../", import.meta.url);

describe("node process flags", () => {
  it("bin.mjs, npm run node and the bench start the node with the same V8 flags", () => {
    expect(NODE_PROCESS_FLAGS).toContain("--max-semi-space-size=64");
    const shebang = readFileSync(new URL("channel-node/bin.mjs", ROOT), "utf8").split("\n")[0]!;
    expect(shebang).toBe(`#!/usr/bin/env -S node ${NODE_PROCESS_FLAGS.join(" ")}`);
    const script = (JSON.parse(readFileSync(new URL("package.json", ROOT), "utf8")) as { scripts: Record<string, string> }).scripts.node;
    expect(script).toBe(`tsx ${NODE_PROCESS_FLAGS.join(" ")} channel-node/src/cli.ts`);
  });
});
