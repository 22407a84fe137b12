#!/usr/bin/env node
// The `clearline-issuer` executable (package.json "bin"): the issuer's CLI compiled to JavaScript in
// dist/ (`npm run build:js` in the repository; the @clearline/client package ships it). From a
// clone, `npm run issuer` runs the TypeScript without building.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const entry = new URL("../dist/issuer/issuer.js", import.meta.url);
if (!existsSync(entry)) {
  console.error(`clearline-issuer is not built (${fileURLToPath(entry)} is missing): run \`npm run build:js\`, or \`npm run issuer --\` to run it from the sources`);
  process.exit(1);
}
await import(entry.href);
