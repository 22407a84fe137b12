#!/usr/bin/env -S node --max-semi-space-size=64
// The `clearline-node` executable (package.json "bin"): the operator's CLI compiled to JavaScript in
// the repository's dist/ (`npm run build:js`). `npm run node` runs the TypeScript without building.
// The V8 flag (a larger young generation: fewer GC pauses under load) is also in that script and in
// bench/lib/node.ts (NODE_PROCESS_FLAGS); docs/performance.md says why.
import { existsSync } from "node:fs";
import { enableCompileCache } from "node:module";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/channel-node/src/cli.js", import.meta.url);
if (!existsSync(entry)) {
  console.error(`clearline-node is not built (${fileURLToPath(entry)} is missing): run \`npm run build:js\`, or \`npm run node --\` to run it from the sources`);
  process.exit(1);
}
// Node's compile cache (in the system's temporary directory, keyed by each module's content): a
// restart reuses V8's compiled modules instead of compiling them again (docs/performance.md, restart).
enableCompileCache();
await import(entry.href);
