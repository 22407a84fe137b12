// How long each phase of the node's start took, for its "channel node listening" log line: where a
// slow restart spends its time (chain, store, engine, watchers) without a profiler
// (docs/performance.md, "Restart and memory at scale").

/** Milliseconds per phase, in the order the phases ended. */
export type StartPhases = Readonly<Record<string, number>>;

export class StartTimer {
  private last = performance.now();
  private readonly phases: Record<string, number> = {};

  /** Ends `phase`: the time since the previous phase ended (or since the timer was made). */
  end(phase: string): void {
    const now = performance.now();
    this.phases[phase] = Math.round(now - this.last);
    this.last = now;
  }

  get durations(): StartPhases {
    return { ...this.phases };
  }
}
