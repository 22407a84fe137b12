// `deploy`: a new restricted token with its own TransferRules on an existing identity registry
// (Jurisdiction). The signer becomes admin, issuer and controller of the token and admin of the
// rules, as the Ignition module does for the system's token. Bytecode comes from Hardhat's
// artifacts, the same build output the ABIs are read from.
import { readFileSync } from "node:fs";
import { Contract, ContractFactory, getAddress, isAddress } from "ethers";
import { ARTIFACT_PATHS, DEFAULT_ARTIFACTS_DIR, jurisdictionAbi } from "../chain/abi.js";
import { toChainError } from "../chain/errors.js";
import { CliError } from "../cli/errors.js";
import type { Address } from "../protocol/index.js";
import type { IssuerContext } from "./context.js";

function factory(ctx: IssuerContext, name: "RestrictedToken" | "TransferRules"): ContractFactory {
  const path = `${DEFAULT_ARTIFACTS_DIR}${ARTIFACT_PATHS[name]}`;
  let artifact: { abi: never; bytecode: string };
  try {
    artifact = JSON.parse(readFileSync(path, "utf8")) as { abi: never; bytecode: string };
  } catch (error) {
    throw new Error(`artifact of ${name} not found at ${path}: run \`npx hardhat build\` first`, { cause: error });
  }
  return new ContractFactory(artifact.abi, artifact.bytecode, ctx.signer);
}

async function deployOne(ctx: IssuerContext, name: "RestrictedToken" | "TransferRules", args: unknown[]): Promise<{ address: Address; transactionHash: string }> {
  let contract;
  try {
    contract = await factory(ctx, name).deploy(...args);
  } catch (error) {
    throw toChainError(error, `deploy ${name}`);
  }
  const tx = contract.deploymentTransaction()!;
  ctx.output.progress({ stage: "submitted", action: `deploy ${name}`, hash: tx.hash });
  let receipt;
  try {
    receipt = await tx.wait(ctx.settings.confirmations, 600_000);
  } catch (error) {
    throw toChainError(error, `deploy ${name}`, tx.hash);
  }
  ctx.output.progress({ stage: "confirmed", action: `deploy ${name}`, hash: tx.hash, blockNumber: receipt!.blockNumber, confirmations: ctx.settings.confirmations });
  return { address: getAddress(await contract.getAddress()), transactionHash: tx.hash };
}

export async function deployCommand(ctx: IssuerContext, options: { name: string; symbol: string; decimals: string; jurisdiction?: string }): Promise<void> {
  const name = options.name.trim();
  const symbol = options.symbol.trim();
  if (name === "" || name.length > 64) throw new CliError("USAGE", "--name must be 1 to 64 characters");
  if (!/^[A-Za-z0-9.\-_]{1,16}$/.test(symbol)) throw new CliError("USAGE", `--symbol "${options.symbol}" must be 1 to 16 letters, digits, '.', '-' or '_'`);
  if (!/^\d{1,2}$/.test(options.decimals) || Number(options.decimals) > 18) throw new CliError("USAGE", `--decimals must be a whole number from 0 to 18, not "${options.decimals}"`);
  let jurisdiction: Address;
  if (options.jurisdiction !== undefined) {
    if (!isAddress(options.jurisdiction)) throw new CliError("USAGE", `--jurisdiction: "${options.jurisdiction}" is not an address`);
    jurisdiction = getAddress(options.jurisdiction);
  } else {
    jurisdiction = getAddress((await ctx.view(await ctx.rules(), "jurisdiction")) as string);
  }
  // A registry is recognised by answering attributeTypeExists; anything else would brick the rules.
  try {
    await new Contract(jurisdiction, jurisdictionAbi() as never, ctx.provider).getFunction("attributeTypeExists").staticCall(1n);
  } catch {
    throw new CliError("USAGE", `--jurisdiction: ${jurisdiction} is not an identity registry (Jurisdiction)`);
  }
  const admin = ctx.signer.address;
  const rules = await deployOne(ctx, "TransferRules", [jurisdiction, admin]);
  const token = await deployOne(ctx, "RestrictedToken", [name, symbol, Number(options.decimals), admin, rules.address]);
  ctx.output.result(
    [`deployed ${symbol} at ${token.address}`, `rules ${rules.address} on identity registry ${jurisdiction}`, `admin, issuer and controller: ${admin}`],
    { action: "deploy", token: token.address, rules: rules.address, jurisdiction, name, symbol, decimals: Number(options.decimals), admin, transactions: [rules.transactionHash, token.transactionHash] },
  );
}
