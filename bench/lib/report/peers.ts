// Section 3: the best closed-loop rate against the published throughput of peer systems.
import { fixed, int, table } from "./format.js";
import type { BenchReport } from "./types.js";

/** Published throughput figures of peer systems. */
export const THROUGHPUT_ANCHORS = [
  { system: "Celer (published, one node)", paymentsPerSecond: 4_000 },
  { system: "Raiden (published)", paymentsPerSecond: 164 },
  { system: "LND (published, 2 vCPUs)", paymentsPerSecond: 22 },
] as const;

export function peersSection(report: BenchReport): string[] {
  const best = Math.max(...report.throughput.map((r) => r.updatesPerSecond));
  return [
    "## 3. Against published peers",
    "",
    table(
      ["system", "payments/s", "Clearline best here ÷ anchor"],
      [
        ["Clearline, this run (best row; compliance-checked, fsync'd, 2 cores shared with the load generator)", int(best), ""],
        ...THROUGHPUT_ANCHORS.map((a) => [a.system, int(a.paymentsPerSecond), `${fixed(best / a.paymentsPerSecond, 2)}×`]),
      ],
    ),
    "",
    "The anchors are published figures from other hardware and other definitions of a payment (see docs/performance.md); only the order of magnitude compares.",
    "",
  ];
}
