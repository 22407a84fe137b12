// bench/report.md: the report's sections in order, each rendered by its own module.
import { connectionsSection } from "./connections.js";
import { cryptoSection } from "./crypto.js";
import { derive } from "./derive.js";
import { gasSection } from "./gas.js";
import { goalsSection } from "./goals.js";
import { headlineSection } from "./headline.js";
import { memorySection } from "./memory.js";
import { mirrorSection } from "./mirror.js";
import { openLoopSection } from "./open-loop.js";
import { peersSection } from "./peers.js";
import { postgresSection } from "./postgres.js";
import { profileSection } from "./profile.js";
import { threadsSection } from "./threads.js";
import { throughputSection } from "./throughput.js";
import { tradingSection } from "./trading.js";
import type { BenchReport } from "./types.js";
import { workersSection } from "./workers.js";

export function renderMarkdown(report: BenchReport): string {
  const d = derive(report);
  return [
    ...headlineSection(report),
    ...goalsSection(report),
    ...throughputSection(report, d),
    ...openLoopSection(report.openLoop),
    ...threadsSection(report),
    ...connectionsSection(report.connections),
    ...(report.postgres === undefined ? [] : postgresSection(report.postgres, report.throughput)),
    ...(report.workers === undefined ? [] : workersSection(report.workers)),
    ...cryptoSection(report, d),
    ...peersSection(report),
    ...profileSection(report),
    ...memorySection(report, d),
    ...(report.trading === undefined ? [] : tradingSection(report.trading)),
    ...mirrorSection(report.mirror ?? []),
    ...gasSection(report),
  ].join("\n");
}
