// The investor's installable package, as an investor gets it: `npm run build:js`, `npm pack` of
// client/ (@clearline/client) and one `npm install` of the tarball into an empty directory (from
// npm's cache, the registry for what the cache lacks). Then, from that directory only: the bins run
// with plain node, the SDK imports as ESM, examples/sdk-quickstart.ts (docs/sdk.md) type-checks
// against the installed types and runs against a local stack whose venue node is the compiled one
// (dist/, through channel-node/bin.mjs), and clearline-issuer deploys a token from the bytecode
// shipped in the package. Nothing installed may read the repository's artifacts/.
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, stopProcess } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { EXIT_WITH_PARENT } from "../helpers/child-processes.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLIENT = join(ROOT, "client");
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const clientManifest = JSON.parse(readFileSync(join(CLIENT, "package.json"), "utf8")) as { name: string; version: string; dependencies: Record<string, string> };
const rootManifest = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };

let dir: string;
let app: string;
let packed: { filename: string; files: { path: string }[] };

/** A clean environment (no npm_* settings of the test run), with this Node first on the PATH for the bins' `#!/usr/bin/env node`. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!name.toLowerCase().startsWith("npm_")) env[name] = value;
  return { ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ""}`, ...extra };
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = cleanEnv()): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, env, encoding: "utf8", timeout: 240_000 });
  if (result.error) throw result.error;
  return result;
}

function succeeded(result: SpawnSyncReturns<string>): string {
  if (result.status !== 0) throw new Error(`exit ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

/** Runs a command asynchronously (the stack and node answer from this process meanwhile). */
function runAsync(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

const bin = (name: string): string => join(app, "node_modules", ".bin", name);

/** The venue's node compiled to dist/, started through its bin with plain node; resolves once /health answers. */
async function startCompiledNode(config: object): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const file = join(dir, "node.json");
  writeFileSync(file, JSON.stringify({ ...config, port }));
  const child = spawn(process.execPath, [...EXIT_WITH_PARENT, join(ROOT, "channel-node", "bin.mjs"), "start", "--config", file], { cwd: dir, env: cleanEnv(), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr!.on("data", (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the compiled node exited with ${child.exitCode}: ${output}`);
    const healthy = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (healthy) return { url: `ws://127.0.0.1:${port}`, child };
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`the compiled node did not answer /health within 60 s: ${output}`);
    }
    await sleep(200);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "clearline-pack-"));
  succeeded(run("npm", ["run", "build:js"], ROOT));
  packed = (JSON.parse(succeeded(run("npm", ["pack", "--json", "--pack-destination", dir], CLIENT))) as (typeof packed)[])[0]!;
  app = join(dir, "app");
  mkdirSync(app);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "investor-app", private: true, type: "module" }));
  succeeded(run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", join(dir, packed.filename)], app));
}, 600_000);

afterAll(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the tarball", () => {
  it("holds the compiled JavaScript with types, the bins and the contract artifacts, and no TypeScript sources", () => {
    const files = packed.files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(["package.json", "README.md", "cli/bin.mjs", "issuer/bin.mjs", "dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/cli/clearline.js", "dist/issuer/issuer.js"]));
    for (const artifact of ["Adjudicator.sol/Adjudicator.json", "token/RestrictedToken.sol/RestrictedToken.json", "token/TransferRules.sol/TransferRules.json"]) {
      expect(files).toContain(`artifacts/contracts/${artifact}`);
    }
    expect(files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).toEqual([]);
    expect(files.filter((f) => f.startsWith("dist/") && !/\.(js|d\.ts)$/.test(f))).toEqual([]);
  });

  it("has the repository's version (the CLIs and the node report the same release)", () => {
    expect(clientManifest.version).toBe(rootManifest.version);
    expect(succeeded(run(process.execPath, [join(ROOT, "channel-node", "bin.mjs"), "--version"], dir)).trim()).toBe(rootManifest.version);
  });
});

describe("installed into an empty directory", () => {
  it("pulls only the client's runtime dependencies: no Hardhat, solc, TypeScript, tsx or the node's server packages", () => {
    const installed = new Set(readdirSync(join(app, "node_modules")).flatMap((entry) => (entry.startsWith("@") ? readdirSync(join(app, "node_modules", entry)).map((scoped) => `${entry}/${scoped}`) : [entry])));
    for (const dependency of Object.keys(clientManifest.dependencies)) expect(installed).toContain(dependency);
    for (const unwanted of ["hardhat", "solc", "typescript", "tsx", "vitest", "pg", "pino", "prom-client", "@openzeppelin/contracts", "@nomicfoundation/hardhat-ethers"]) {
      expect(installed).not.toContain(unwanted);
    }
  });

  it("runs clearline and clearline-issuer with plain node: --version from package.json, --help", () => {
    expect(succeeded(run(bin("clearline"), ["--version"], app)).trim()).toBe(clientManifest.version);
    expect(succeeded(run(bin("clearline-issuer"), ["--version"], app)).trim()).toBe(clientManifest.version);
    const help = succeeded(run(bin("clearline"), ["--help"], app));
    expect(help).toContain("Usage: clearline");
    expect(help).toContain("Exit codes:");
    const wrong = run(bin("clearline"), ["no-such-command"], app);
    expect(wrong.status).toBe(2);
  });

  it("imports the SDK as an ES module by the package's name", () => {
    const script = 'import * as sdk from "@clearline/client"; console.log(JSON.stringify([typeof sdk.openClient, typeof sdk.ClearlineClient, typeof sdk.isClientError, typeof sdk.isChainError, typeof sdk.isProtocolError]));';
    expect(JSON.parse(succeeded(run(process.execPath, ["--input-type=module", "-e", script], app)))).toEqual(["function", "function", "function", "function", "function"]);
  });

  it("a bin whose compiled JavaScript is missing says how to build it (exit 1), not a module trace", () => {
    const bare = join(dir, "unbuilt", "cli");
    mkdirSync(bare, { recursive: true });
    copyFileSync(join(CLIENT, "cli", "bin.mjs"), join(bare, "bin.mjs"));
    const result = run(process.execPath, [join(bare, "bin.mjs"), "--version"], dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("clearline is not built");
    expect(result.stderr).toContain("npm run build:js");
  });
});

describe("against a local stack, from the installed package only", () => {
  let stack: Stack;
  let node: { url: string; child: ChildProcess };

  beforeAll(async () => {
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startCompiledNode(stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "warn" }));
  }, 240_000);

  afterAll(async () => {
    if (node !== undefined) await stopProcess(node.child);
    await stack?.stop();
  });

  it("examples/sdk-quickstart.ts type-checks against the installed types and runs: open, pay, deposit, trade, withdraw, a typed refusal, close", async () => {
    copyFileSync(join(ROOT, "examples", "sdk-quickstart.ts"), join(app, "sdk-quickstart.ts"));
    writeFileSync(
      join(app, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"], outDir: "out", skipLibCheck: false },
        files: ["sdk-quickstart.ts"],
      }),
    );
    // Asynchronously: a blocked event loop would stall the node and the chain connection of this process.
    const compiled = await runAsync(process.execPath, [TSC, "-p", "tsconfig.json"], app, cleanEnv());
    if (compiled.status !== 0) throw new Error(`the example does not type-check against the installed package\n${compiled.stdout}${compiled.stderr}`);
    expect(existsSync(join(app, "out", "sdk-quickstart.js"))).toBe(true);

    const alice = devWallet(ROLES.alice).address;
    const balances = async (): Promise<[bigint, bigint]> => [(await stack.system.token.getFunction("balanceOf")(alice)) as bigint, (await stack.system.cash.getFunction("balanceOf")(alice)) as bigint];
    const [securityBefore, cashBefore] = await balances();
    const result = await runAsync(
      process.execPath,
      [join(app, "out", "sdk-quickstart.js")],
      app,
      cleanEnv({
        CLEARLINE_NODE_URL: node.url,
        CLEARLINE_RPC_URL: stack.chain.url,
        CLEARLINE_ADJUDICATOR: stack.addresses.adjudicator,
        CLEARLINE_SECURITY: stack.addresses.token,
        CLEARLINE_CASH: stack.addresses.cash,
        CLEARLINE_KEY: devWallet(ROLES.alice).privateKey,
        CLEARLINE_DATA_DIR: join(dir, "alice"),
      }),
    );
    if (result.status !== 0) throw new Error(`the example failed (exit ${result.status})\n${result.stdout}\n${result.stderr}`);
    expect(result.stdout).toContain("refused: INSUFFICIENT_BALANCE");
    expect(result.stdout).toMatch(/closed in block \d+; \d+ states agreed/);
    // On chain, after the close: 25 cash paid to the venue, 0.1 CLS sold to it for 10 cash.
    const [securityAfter, cashAfter] = await balances();
    expect(securityAfter - securityBefore).toBe(-SECURITY_UNIT / 10n);
    expect(cashAfter - cashBefore).toBe(-15n * CASH_UNIT);
  });

  it("clearline-issuer deploys a restricted token from the bytecode shipped in the package", async () => {
    const result = await runAsync(
      bin("clearline-issuer"),
      ["deploy", "--name", "Fund B", "--symbol", "FUNDB", "--decimals", "0", "--rpc", stack.chain.url, "--token", stack.addresses.token, "--jurisdiction", stack.addresses.jurisdiction, "--json"],
      app,
      cleanEnv({ CLEARLINE_ISSUER_KEY: devWallet(ROLES.issuer).privateKey }),
    );
    if (result.status !== 0) throw new Error(`deploy failed (exit ${result.status})\n${result.stdout}\n${result.stderr}`);
    const deployed = JSON.parse(result.stdout) as { token: string; symbol: string };
    expect(deployed.symbol).toBe("FUNDB");
    expect(await stack.connection.ethers.provider.getCode(deployed.token)).not.toBe("0x");
  });
});
