// Runs a pausing computation (a generator that yields between small steps) on the main thread in
// slices of at most about `sliceMs`, giving the event loop a turn (setImmediate) between slices, so
// a long job (encoding the saved compliance mirror) never holds other work back for long.
import { setImmediate as nextTurn } from "node:timers/promises";

export interface SlicedRun<T> {
  readonly value: T;
  /** Main-thread time spent in the computation, over all slices (ms). */
  readonly cpuMs: number;
  /** The longest slice (ms). */
  readonly longestSliceMs: number;
  readonly slices: number;
}

export async function runSliced<T>(steps: Generator<void, T, void>, sliceMs: number): Promise<SlicedRun<T>> {
  let cpuMs = 0;
  let longestSliceMs = 0;
  let slices = 0;
  for (;;) {
    const start = performance.now();
    let next = steps.next();
    while (next.done !== true && performance.now() - start < sliceMs) next = steps.next();
    const spent = performance.now() - start;
    cpuMs += spent;
    longestSliceMs = Math.max(longestSliceMs, spent);
    slices += 1;
    if (next.done === true) return { value: next.value, cpuMs, longestSliceMs, slices };
    await nextTurn();
  }
}
