/**
 * The ABIs of the Clearline contracts, read from Hardhat's build output (`npx hardhat build` writes
 * `artifacts/contracts/**.json`). Paths resolve relative to the repository root through
 * `import.meta.url`, so they work from any working directory. Each ABI is read once and cached.
 *
 * `errorInterface()` knows every custom error of every contract (deduplicated by selector): a revert
 * of the adjudicator can carry a token's error (e.g. `TransferRestricted` from a deposit, OpenZeppelin's
 * `ERC20InsufficientAllowance`), so chain errors are decoded against all of them.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ErrorFragment, Interface, type JsonFragment } from "ethers";

export type ContractName = "Adjudicator" | "Jurisdiction" | "RestrictedToken" | "TransferRules" | "CashToken";

/** Where each contract's artifact lives under `artifacts/`. */
export const ARTIFACT_PATHS: Readonly<Record<ContractName, string>> = {
  Adjudicator: "contracts/Adjudicator.sol/Adjudicator.json",
  Jurisdiction: "contracts/identity/Jurisdiction.sol/Jurisdiction.json",
  RestrictedToken: "contracts/token/RestrictedToken.sol/RestrictedToken.json",
  TransferRules: "contracts/token/TransferRules.sol/TransferRules.json",
  CashToken: "contracts/token/CashToken.sol/CashToken.json",
};

/** `<repo>/artifacts`: this file is `<repo>/client/chain/abi.ts`. */
export const DEFAULT_ARTIFACTS_DIR: string = fileURLToPath(new URL("../../artifacts/", import.meta.url));

const abis = new Map<string, readonly JsonFragment[]>();
const interfaces = new Map<string, Interface>();

/**
 * The ABI of `name` from its Hardhat artifact. Throws a plain Error naming the missing file and the
 * command that creates it when the contracts have not been built.
 */
export function loadAbi(name: ContractName, artifactsDir: string = DEFAULT_ARTIFACTS_DIR): readonly JsonFragment[] {
  const path = new URL(ARTIFACT_PATHS[name], pathToFileURL(artifactsDir.endsWith("/") ? artifactsDir : `${artifactsDir}/`));
  const key = path.href;
  let abi = abis.get(key);
  if (abi === undefined) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      throw new Error(`ABI of ${name} not found at ${fileURLToPath(path)}: run \`npx hardhat build\` first`, { cause: error });
    }
    const artifact = JSON.parse(text) as { abi?: JsonFragment[] };
    if (!Array.isArray(artifact.abi)) throw new Error(`${fileURLToPath(path)} has no "abi" array`);
    abi = Object.freeze(artifact.abi);
    abis.set(key, abi);
  }
  return abi;
}

/** A cached ethers `Interface` of `name`. */
export function interfaceOf(name: ContractName, artifactsDir: string = DEFAULT_ARTIFACTS_DIR): Interface {
  const key = `${name}\u0000${artifactsDir}`;
  let iface = interfaces.get(key);
  if (iface === undefined) {
    iface = new Interface(loadAbi(name, artifactsDir) as JsonFragment[]);
    interfaces.set(key, iface);
  }
  return iface;
}

export const adjudicatorAbi = (dir?: string): readonly JsonFragment[] => loadAbi("Adjudicator", dir);
export const jurisdictionAbi = (dir?: string): readonly JsonFragment[] => loadAbi("Jurisdiction", dir);
export const restrictedTokenAbi = (dir?: string): readonly JsonFragment[] => loadAbi("RestrictedToken", dir);
export const transferRulesAbi = (dir?: string): readonly JsonFragment[] => loadAbi("TransferRules", dir);
/** A plain ERC-20 (the cash token's ABI: OpenZeppelin's ERC20 plus `mint` and Ownable). */
export const erc20Abi = (dir?: string): readonly JsonFragment[] => loadAbi("CashToken", dir);

let allErrors: Interface | undefined;

/** Every custom error of every Clearline contract and the OpenZeppelin code they use, one per selector. */
export function errorInterface(): Interface {
  if (allErrors === undefined) {
    const seen = new Set<string>();
    const fragments: ErrorFragment[] = [];
    for (const name of Object.keys(ARTIFACT_PATHS) as ContractName[]) {
      for (const fragment of interfaceOf(name).fragments) {
        if (fragment instanceof ErrorFragment && !seen.has(fragment.selector)) {
          seen.add(fragment.selector);
          fragments.push(fragment);
        }
      }
    }
    allErrors = new Interface(fragments);
  }
  return allErrors;
}
