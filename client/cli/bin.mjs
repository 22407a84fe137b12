#!/usr/bin/env node
// The `clearline` executable for package.json's "bin": registers tsx's loader, then runs the
// TypeScript entry point (the same as `node --import tsx client/cli/clearline.ts`).
import { register } from "tsx/esm/api";

register();
await import("./clearline.ts");
