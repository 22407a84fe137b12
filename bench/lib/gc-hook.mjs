// Preloaded (`--expose-gc --import bench/lib/gc-hook.mjs`) into the node process by the memory
// benchmark only: SIGUSR2 runs a full garbage collection, so that heap and RSS readings from
// /metrics count live data rather than garbage awaiting collection. The node itself is unchanged.
// Plain JavaScript: the bench starts the compiled node, without tsx (bench/lib/node.ts).
process.on("SIGUSR2", () => {
  globalThis.gc?.();
  globalThis.gc?.(); // a second pass frees what the first one's finalisers released
});
