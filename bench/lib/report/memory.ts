// Section 5: memory per open channel and restart time, over stores of growing size.
import type { Derived } from "./derive.js";
import { fixed, int, mib, table } from "./format.js";
import type { BenchReport } from "./types.js";

export function memorySection(report: BenchReport, d: Derived): string[] {
  const out = ["## 5. Memory per open channel and restart time", ""];
  out.push(
    `The node process started on a data directory holding N open channels (each with a confirmed deposit and ${report.settings.updatesPerChannel} agreed, doubly signed states ` +
      "in its history), filled with the LevelStore API; /metrics read 1 s after /health first answered, after a forced full GC. " +
      "Restart time = spawn of the node process (the compiled `clearline-node`, as a venue runs it; through tsx only where `dist/` is stale, and the bench log says so) → first 200 from /health; " +
      "the node loads every channel and restores its saved compliance mirror (the first start on a store the bench filled has none and rebuilds it from chain logs) before it listens.",
    "",
  );
  out.push(
    table(
      ["channels in store", "stored updates", "filled in s", "listed by /health", "restart → /health ms (faster of 2)", "both starts ms", "RSS MiB", "V8 heap used MiB", "external MiB"],
      report.memory.map((r) => [
        int(r.channels),
        int(r.storedUpdates),
        fixed(r.fillMs / 1000),
        int(r.listedAtHealth),
        int(r.startMs),
        r.startsMs.map(int).join(", "),
        mib(r.rssBytes),
        mib(r.heapUsedBytes),
        mib(r.externalBytes),
      ]),
    ),
    "",
  );
  if (d.memoryPerChannel !== undefined) {
    out.push(
      `**Per open channel: ${fixed(d.memoryPerChannel.heapBytes / 1024, 2)} KiB of V8 heap, ${fixed(d.memoryPerChannel.rssBytes / 1024, 2)} KiB of RSS** ` +
        `(slope between the smallest and the largest store); restart grows by ${int(d.restartPerThousandMs ?? 0)} ms per 1,000 channels. ` +
        `The throughput node after its runs: ${int(report.liveNode.channels)} channels, RSS ${mib(report.liveNode.rssBytes)} MiB, heap ${mib(report.liveNode.heapUsedBytes)} MiB (no forced GC); ` +
        `it restarted on its own data (${int(report.restartWithLiveChannels.channels)} channels with their full update history) in ${int(report.restartWithLiveChannels.ms)} ms.`,
      "",
    );
  }
  return out;
}
