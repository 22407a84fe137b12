#!/usr/bin/env node
// The `clearline` executable (package.json "bin"): the investor CLI compiled to JavaScript in dist/
// (`npm run build:js` in the repository; the @clearline/client package ships it). From a clone,
// `npm run clearline` runs the TypeScript without building.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/cli/clearline.js", import.meta.url);
if (!existsSync(entry)) {
  console.error(`clearline is not built (${fileURLToPath(entry)} is missing): run \`npm run build:js\`, or \`npm run clearline --\` to run it from the sources`);
  process.exit(1);
}
await import(entry.href);
