// `npm run build:js`: compiles the TypeScript to JavaScript that runs with plain `node`.
//   client/dist/     the @clearline/client package (SDK, clearline, clearline-issuer) with .d.ts types
//   dist/            the venue's node (clearline-node) and the client code it shares
// Then copies the contracts' ABIs, and the bytecode `clearline-issuer deploy` needs, from Hardhat's
// artifacts/ to where the compiled client/chain/abi.js looks for them (artifacts/ two directories
// above it): client/artifacts/ and dist/artifacts/. So nothing compiled reads the repository's
// Hardhat build output at run time. Old output is removed first: a deleted module must not linger.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ARTIFACT_PATHS, DEFAULT_ARTIFACTS_DIR, type ContractName } from "../client/chain/abi.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const TSC = join(ROOT, "node_modules", "typescript", "bin", "tsc");
const PROJECTS = [
  { config: join(ROOT, "client", "tsconfig.build.json"), output: join(ROOT, "client", "dist"), artifacts: join(ROOT, "client", "artifacts") },
  { config: join(ROOT, "tsconfig.build.json"), output: join(ROOT, "dist"), artifacts: join(ROOT, "dist", "artifacts") },
];

/** The parts of a Hardhat artifact the compiled code reads. */
function shippedArtifact(name: ContractName): string {
  const source = join(DEFAULT_ARTIFACTS_DIR, ARTIFACT_PATHS[name]);
  let artifact: { contractName?: unknown; abi?: unknown; bytecode?: unknown };
  try {
    artifact = JSON.parse(readFileSync(source, "utf8")) as typeof artifact;
  } catch (error) {
    throw new Error(`${source} is missing: run \`npx hardhat build\` before \`npm run build:js\``, { cause: error });
  }
  if (!Array.isArray(artifact.abi) || typeof artifact.bytecode !== "string") throw new Error(`${source} has no abi or bytecode`);
  return JSON.stringify({ contractName: artifact.contractName, abi: artifact.abi, bytecode: artifact.bytecode }) + "\n";
}

const artifacts = (Object.keys(ARTIFACT_PATHS) as ContractName[]).map((name) => ({ path: ARTIFACT_PATHS[name], text: shippedArtifact(name) }));
for (const project of PROJECTS) {
  rmSync(project.output, { recursive: true, force: true });
  rmSync(project.artifacts, { recursive: true, force: true });
  const compiled = spawnSync(process.execPath, [TSC, "-p", project.config], { stdio: "inherit" });
  if (compiled.status !== 0) {
    console.error(`tsc -p ${project.config} failed`);
    process.exit(compiled.status ?? 1);
  }
  for (const { path, text } of artifacts) {
    const file = join(project.artifacts, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}
