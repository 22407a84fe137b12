// The version of the package a module belongs to: the nearest package.json above the module, the
// same rule Node uses to decide which package a file is part of. So `--version` is right from a
// clone (client/package.json for the investor's and issuer's CLIs, the repository's for the node),
// from the compiled JavaScript in dist/, and from an installed @clearline/client.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The `version` of the nearest package.json above `moduleUrl` (pass `import.meta.url`). */
export function packageVersionOf(moduleUrl: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let directory = start; ; directory = dirname(directory)) {
    const file = join(directory, "package.json");
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    if (text !== undefined) {
      const { version } = JSON.parse(text) as { version?: unknown };
      if (typeof version !== "string") throw new Error(`${file} has no "version"`);
      return version;
    }
    if (dirname(directory) === directory) throw new Error(`no package.json above ${start}`);
  }
}
