#!/usr/bin/env node
// The `clearline-node` executable for package.json's "bin": registers tsx's loader, then runs the
// operator CLI (the same as `node --import tsx channel-node/src/cli.ts`).
import { register } from "tsx/esm/api";

register();
await import("./src/cli.ts");
