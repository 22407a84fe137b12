// `npm start`: the main job on an embedded local chain. Starts Hardhat's node on 127.0.0.1, deploys
// the whole system with Ignition, gives the demo venue and investors identities and tokens, writes
// the deployment to .clearline/deployment.json and runs until Ctrl-C, then stops what it started.
import hre from "hardhat";
import { mkdirSync, writeFileSync } from "node:fs";
import type { Contract } from "ethers";
import { startLocalChain } from "./lib/local-chain.js";
import { deploySystem, onboard } from "./lib/system.js";

const chain = await startLocalChain();
console.log(`local chain: ${chain.url} (hardhat node, pid ${chain.pid})`);
let stopping = false;
const stop = async (code: number) => {
  if (stopping) return;
  stopping = true;
  console.log("\nstopping…");
  await chain.stop();
  process.exit(code);
};
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  const connection = await hre.network.create({ network: "localhost", override: { url: chain.url } });
  const { ethers } = connection;
  const system = await deploySystem(connection, { deploymentId: `embedded-${chain.port}` });
  const [, venue, alice, bob, carol] = await ethers.getSigners();
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const demo = { venue: venue!, alice: alice!, bob: bob! };
  for (const account of Object.values(demo)) {
    const address = await account.getAddress();
    await onboard(system, address, now);
    await (await system.token.getFunction("mint")(address, 10_000n * 10n ** 18n)).wait();
    await (await system.cash.getFunction("mint")(address, 1_000_000n * 10n ** 6n)).wait();
  }
  // carol holds tokens but her KYC has lapsed: transfers to her are refused (rule 0x57)
  await onboard(system, await carol!.getAddress(), now, { expiresAt: now + 60n });

  const addresses: Record<string, string> = {};
  for (const [name, contract] of Object.entries(system)) addresses[name] = await (contract as Contract).getAddress();
  const deployment = {
    rpcUrl: chain.url,
    chainId: (await ethers.provider.getNetwork()).chainId.toString(),
    contracts: addresses,
    accounts: {
      venue: await venue!.getAddress(),
      alice: await alice!.getAddress(),
      bob: await bob!.getAddress(),
      carol: await carol!.getAddress(),
    },
  };
  mkdirSync(".clearline", { recursive: true });
  writeFileSync(".clearline/deployment.json", JSON.stringify(deployment, null, 2) + "\n");
  console.log("deployed with Ignition:");
  console.table(addresses);
  console.log("demo accounts (Hardhat's well-known test keys):");
  console.table(deployment.accounts);
  console.log("deployment written to .clearline/deployment.json — press Ctrl-C to stop.");
} catch (error) {
  console.error(error);
  await stop(1);
}
