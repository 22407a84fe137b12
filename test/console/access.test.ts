// Who may read the console's data (loopback + loopback name, or the console token) and how the
// bundle is served (only files inside it; a missing bundle is a 503 page naming the build).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkConsoleAccess, isConsoleRefusal } from "../../channel-node/src/console/access.js";
import { CONSOLE_BUNDLE_DIR, bundleDirOf, serveBundleFile } from "../../channel-node/src/console/static-files.js";

const request = (remoteAddress: string, headers: Record<string, string>) => ({ socket: { remoteAddress }, headers }) as unknown as IncomingMessage;

function refusalCode(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    if (isConsoleRefusal(error)) return error.code;
    throw error;
  }
}

describe("console access", () => {
  it("without a token: a loopback client that named the node by a loopback name only", () => {
    for (const host of ["127.0.0.1:7545", "localhost:7545", "LOCALHOST", "[::1]:80"]) expect(refusalCode(() => checkConsoleAccess(request("127.0.0.1", { host }), undefined)), host).toBeUndefined();
    expect(refusalCode(() => checkConsoleAccess(request("::ffff:127.0.0.1", { host: "127.0.0.1" }), undefined))).toBeUndefined();
    expect(refusalCode(() => checkConsoleAccess(request("10.1.2.3", { host: "127.0.0.1:7545" }), undefined))).toBe("CONSOLE_NOT_LOOPBACK");
    // DNS rebinding: a page of attacker.example whose name now resolves to 127.0.0.1.
    for (const host of ["attacker.example:7545", "127.0.0.1.attacker.example", "localhost.attacker.example", ""]) {
      expect(refusalCode(() => checkConsoleAccess(request("127.0.0.1", { host }), undefined)), host).toBe("CONSOLE_BAD_HOST");
    }
  });

  it("with a token: any address presenting it as a bearer token, nothing else", () => {
    const token = "ab".repeat(32);
    expect(refusalCode(() => checkConsoleAccess(request("10.1.2.3", { host: "venue.example", authorization: `Bearer ${token}` }), token))).toBeUndefined();
    for (const authorization of [undefined, "", `Bearer ${"cd".repeat(32)}`, `Basic ${token}`, token, `Bearer ${token}x`, "Bearer "]) {
      const headers: Record<string, string> = authorization === undefined ? { host: "127.0.0.1" } : { host: "127.0.0.1", authorization };
      expect(refusalCode(() => checkConsoleAccess(request("127.0.0.1", headers), token)), String(authorization)).toBe("CONSOLE_UNAUTHORIZED");
    }
  });
});

describe("console bundle files", () => {
  let dir: string;
  let server: Server;
  let base: string;
  let bundle: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-console-files-"));
    bundle = join(dir, "bundle");
    mkdirSync(join(bundle, "assets"), { recursive: true });
    writeFileSync(join(bundle, "index.html"), "<!doctype html><title>console</title>");
    writeFileSync(join(bundle, "assets", "app-123.js"), "console.log(1)");
    writeFileSync(join(dir, "secret.json"), '{"secret":true}');
    server = createServer((req, res) => {
      const [which, ...rest] = (req.url ?? "/").slice(1).split("/");
      void serveBundleFile(res, decodeURIComponent(rest.join("/")), which === "missing" ? join(dir, "nothing") : bundle);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves the page and its hashed assets with their types and a content security policy", async () => {
    const page = await fetch(`${base}/ok/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("cache-control")).toBe("no-cache");
    const asset = await fetch(`${base}/ok/assets/app-123.js`);
    expect(asset.headers.get("content-type")).toMatch(/^text\/javascript/);
    expect(asset.headers.get("cache-control")).toContain("immutable");
  });

  it("serves nothing outside the bundle, nor an unknown type", async () => {
    for (const path of ["/ok/..%2Fsecret.json", "/ok/assets%2F..%2F..%2Fsecret.json", "/ok/assets/nothing.js", "/ok/index.txt"]) {
      const answer = await fetch(`${base}${path}`);
      expect(answer.status, path).toBe(404);
      expect(await answer.text()).not.toContain("secret");
    }
  });

  it("the bundle is found from the package root, from the sources and from the compiled dist/ alike", () => {
    const root = join(dir, "package");
    for (const module of [join(root, "channel-node", "src", "console", "static-files.ts"), join(root, "dist", "channel-node", "src", "console", "static-files.js")]) {
      mkdirSync(dirname(module), { recursive: true });
    }
    writeFileSync(join(root, "package.json"), '{"version":"0.0.0"}');
    for (const module of [join(root, "channel-node", "src", "console", "static-files.ts"), join(root, "dist", "channel-node", "src", "console", "static-files.js")]) {
      expect(bundleDirOf(pathToFileURL(module).href)).toBe(join(root, "channel-node", "console", "dist") + sep);
    }
    expect(CONSOLE_BUNDLE_DIR).toBe(fileURLToPath(new URL("../../channel-node/console/dist/", import.meta.url)));
  });

  it("a missing bundle answers 503 with a page naming `npm run build`", async () => {
    const answer = await fetch(`${base}/missing/`);
    expect(answer.status).toBe(503);
    expect(await answer.text()).toContain("npm run build");
  });
});
