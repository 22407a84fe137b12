// The console's built bundle (Vite's output, `npm run build`), served under /console/. Only files
// inside the bundle's directory are served; a missing bundle answers 503 naming the build command.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerResponse } from "node:http";

/**
 * Where `npm run build` (Vite, channel-node/console/vite.config.ts) writes the console, found from
 * the package the module belongs to (the nearest package.json above it, as Node decides): the same
 * directory whether the node runs from its sources or from the JavaScript compiled into dist/.
 */
export function bundleDirOf(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  let directory = start;
  while (!existsSync(join(directory, "package.json"))) {
    if (dirname(directory) === directory) throw new Error(`no package.json above ${start}`);
    directory = dirname(directory);
  }
  return join(directory, "channel-node", "console", "dist") + sep;
}

export const CONSOLE_BUNDLE_DIR: string = bundleDirOf(import.meta.url);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
};

/** The page's own scripts and styles only; no frames, no third parties. */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Clearline console not built</title>
<h1>The console is not built</h1><p>Run <code>npm run build</code> (it builds the console with Vite into channel-node/console/dist/) and reload this page.</p>`;

/** Serves `relative` (the path below /console/, "" for the page) from `dir`. */
export async function serveBundleFile(res: ServerResponse, relative: string, dir: string = CONSOLE_BUNDLE_DIR): Promise<void> {
  const name = relative === "" ? "index.html" : relative;
  const file = normalize(join(dir, name));
  const type = TYPES[extname(file)];
  if (!file.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`) || type === undefined) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("not found");
    return;
  }
  let body: Buffer;
  try {
    body = await readFile(file);
  } catch {
    if (name === "index.html") {
      res.writeHead(503, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS }).end(NOT_BUILT);
    } else {
      res.writeHead(404, { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS }).end("not found");
    }
    return;
  }
  // Vite names assets by their content hash: they never change; the page itself may.
  const cache = name.startsWith("assets/") ? "public, max-age=31536000, immutable" : "no-cache";
  res.writeHead(200, { "content-type": type, "content-length": body.length, "cache-control": cache, ...SECURITY_HEADERS }).end(body);
}
