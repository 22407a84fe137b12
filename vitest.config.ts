import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // CI has 2 cores; each worker runs its own in-process EVM.
    maxWorkers: 2,
  },
});
