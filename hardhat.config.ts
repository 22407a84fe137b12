import { createRequire } from "node:module";
import { configVariable, defineConfig } from "hardhat/config";
import hardhatEthers from "@nomicfoundation/hardhat-ethers";
import hardhatIgnitionEthers from "@nomicfoundation/hardhat-ignition-ethers";

const require = createRequire(import.meta.url);

// solc-js from the npm `solc` package: compiling works offline (Hardhat cannot download solc here).
export default defineConfig({
  plugins: [hardhatEthers, hardhatIgnitionEthers],
  solidity: {
    version: "0.8.30",
    path: require.resolve("solc/soljson.js"),
    settings: {
      optimizer: { enabled: true, runs: 10_000 },
      evmVersion: "cancun",
    },
  },
  paths: {
    sources: "contracts",
    tests: { solidity: "contracts/test" },
  },
  networks: {
    localhost: { type: "http", url: process.env.CLEARLINE_RPC_URL ?? "http://127.0.0.1:8545" },
    // A real chain for Ignition (docs/operations.md, "Deploy to a real chain"); read only when used.
    chain: { type: "http", url: configVariable("CLEARLINE_RPC_URL"), accounts: [configVariable("CLEARLINE_DEPLOYER_KEY")] },
  },
});
