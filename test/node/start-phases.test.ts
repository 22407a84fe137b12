// The node's start timer: each phase's duration since the previous phase ended, in order, for the
// "channel node listening" log line.
import { describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { StartTimer } from "../../channel-node/src/start-phases.js";

describe("StartTimer", () => {
  it("times each phase from the end of the one before, in the order they ended", async () => {
    const began = performance.now();
    const timer = new StartTimer();
    await sleep(30);
    timer.end("store");
    timer.end("engine");
    await sleep(20);
    timer.end("listen");
    const elapsed = performance.now() - began;
    const phases = timer.durations;
    expect(Object.keys(phases)).toEqual(["store", "engine", "listen"]);
    expect(phases.store).toBeGreaterThanOrEqual(29);
    expect(phases.engine).toBeLessThan(10);
    expect(phases.listen).toBeGreaterThanOrEqual(19);
    expect(phases.store! + phases.engine! + phases.listen!).toBeLessThanOrEqual(Math.ceil(elapsed) + 2);
  });
});
