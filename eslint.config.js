import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The protocol core is pure: inputs in, state and effects out. No network, disk, chain or timers.
const forbiddenInCore = [
  { name: "ws", message: "The protocol core does no I/O." },
  { name: "level", message: "The protocol core does no I/O." },
  { name: "classic-level", message: "The protocol core does no I/O." },
  { name: "node:fs", message: "The protocol core does no I/O." },
  { name: "fs", message: "The protocol core does no I/O." },
  { name: "node:fs/promises", message: "The protocol core does no I/O." },
  { name: "node:net", message: "The protocol core does no I/O." },
  { name: "node:http", message: "The protocol core does no I/O." },
  { name: "node:timers", message: "The protocol core does no I/O." },
  { name: "node:child_process", message: "The protocol core does no I/O." },
  { name: "hardhat", message: "The protocol core does no I/O." },
  { name: "pino", message: "The protocol core does no I/O." },
];

export default tseslint.config(
  { ignores: ["node_modules/**", "artifacts/**", "dist/**", "client/dist/**", "client/artifacts/**", "channel-node/console/dist/**", "cache/**", "types/**", "ignition/deployments/**", "coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: "readonly", console: "readonly", Buffer: "readonly", setTimeout: "readonly", clearTimeout: "readonly", setInterval: "readonly", clearInterval: "readonly", URL: "readonly" } },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-throw-literal": "error",
    },
  },
  {
    files: ["client/protocol/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { paths: forbiddenInCore, patterns: [{ group: ["ethers/providers", "*/providers/*"], message: "No providers in the protocol core." }] }],
      "no-restricted-globals": ["error", "setTimeout", "setInterval", "fetch", "Date", "process"],
    },
  },
);
