// Preloaded (`--import`) into every Node process a test starts: the process exits once the test
// process that started it is gone, whatever way that ended. A vitest worker that is SIGKILLed or
// times out in a hook runs no cleanup, and its children would live on with pid 1 as their parent.
// When a parent dies its children are re-parented, so a changed parent pid is the signal. It exits
// through process.exit, so its own "exit" handlers still stop what it started (the dev stack's chain).
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(1);
}, 500).unref();
