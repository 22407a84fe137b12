// How long a piece of async work holds the event loop: a timer fires every 5 ms while it runs, and the
// longest gap between two firings is what a node's other work (an update waiting to be answered) would
// have waited at most. Used by the compliance mirror's tests and its benchmark (bench/lib/mirror.ts).

/** Runs `work` while a timer fires every 5 ms; returns the longest gap between two firings (ms). */
export async function longestTimerGap(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work();
    return Math.max(longest, performance.now() - last);
  } finally {
    clearInterval(timer);
  }
}
