#!/usr/bin/env node
// The `clearline-issuer` executable for package.json's "bin": registers tsx's loader, then runs the
// TypeScript entry point (the same as `node --import tsx client/issuer/issuer.ts`).
import { register } from "tsx/esm/api";

register();
await import("./issuer.ts");
