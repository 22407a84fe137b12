// `--version` of the three CLIs: the version of the nearest package.json above the module, from the
// sources, from dist/ and from an installed package alike.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { packageVersionOf } from "../../client/package-version.js";

const dir = mkdtempSync(join(tmpdir(), "clearline-version-"));
const moduleIn = (...parts: string[]): string => pathToFileURL(join(dir, ...parts, "module.js")).href;

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("packageVersionOf", () => {
  it("reads the nearest package.json above the module, not an outer one", () => {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "outer", version: "1.0.0" }));
    mkdirSync(join(dir, "inner", "dist", "cli"), { recursive: true });
    writeFileSync(join(dir, "inner", "package.json"), JSON.stringify({ name: "inner", version: "2.3.4" }));
    expect(packageVersionOf(moduleIn("inner", "dist", "cli"))).toBe("2.3.4");
    mkdirSync(join(dir, "dist", "node"), { recursive: true });
    expect(packageVersionOf(moduleIn("dist", "node"))).toBe("1.0.0");
  });

  it("refuses a package.json without a version instead of printing undefined", () => {
    mkdirSync(join(dir, "versionless"), { recursive: true });
    writeFileSync(join(dir, "versionless", "package.json"), JSON.stringify({ name: "versionless" }));
    expect(() => packageVersionOf(moduleIn("versionless"))).toThrow(/has no "version"/);
  });

  it("the repository's CLIs: client/package.json for clearline and clearline-issuer, the root's for the node", () => {
    const client = JSON.parse(readFileSync(new URL("../../client/package.json", import.meta.url), "utf8")) as { version: string };
    const root = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
    expect(packageVersionOf(new URL("../../client/cli/clearline.ts", import.meta.url).href)).toBe(client.version);
    expect(packageVersionOf(new URL("../../channel-node/src/cli.ts", import.meta.url).href)).toBe(root.version);
  });
});
