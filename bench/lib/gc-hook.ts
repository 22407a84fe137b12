// Preloaded (`--expose-gc --import tsx --import bench/lib/gc-hook.ts`) into the node process
// by the memory benchmark only: SIGUSR2 runs a full garbage collection, so that heap and RSS readings
// from /metrics count live data rather than garbage awaiting collection. The node itself is unchanged.
process.on("SIGUSR2", () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.(); // a second pass frees what the first one's finalisers released
});
