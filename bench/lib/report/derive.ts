// The figures the report derives from its raw measurements: the crypto ceiling, CPU per update of
// each closed-loop row, memory per channel and restart time per 1,000 channels.
import type { BenchReport, ThroughputRow } from "./types.js";

export interface Derived {
  readonly nativeSign: number;
  readonly nativeVerify: number;
  /** Updates/s one core could countersign if a verify and a sign were all an update cost. */
  readonly verifySignCeiling: number;
  /** The same with two state digests per update added (what the node computed before it reused the digest). */
  readonly verifySignDigestCeiling: number;
  readonly rows: readonly {
    readonly row: ThroughputRow;
    /** updates/s ÷ verifySignCeiling. */
    readonly ratio: number;
    /** Node CPU per update, µs. */
    readonly nodeCpuUs: number;
    /** Updates per second of node CPU: the rate one saturated core would give. */
    readonly perNodeCpuSecond: number;
    readonly nodeCorePercent: number;
    readonly loadCorePercent: number;
    /** Busy share of the whole machine (all cores, all processes). */
    readonly machinePercent: number;
  }[];
  readonly memoryPerChannel: { readonly rssBytes: number; readonly heapBytes: number } | undefined;
  readonly restartPerThousandMs: number | undefined;
}

/** The node's CPU per counted update of a run, µs (0 for a run that counted none). */
export const nodeCpuUsPerUpdate = (row: ThroughputRow) => (row.updates === 0 ? 0 : (row.cpu.node * 1e6) / row.updates);

export function derive(report: BenchReport): Derived {
  const native = report.crypto.signers.find((s) => s.implementation === "native") ?? report.crypto.signers[0]!;
  const verifySignCeiling = 1 / (1 / native.signPerSecond + 1 / native.verifyPerSecond);
  const verifySignDigestCeiling = 1 / (1 / native.signPerSecond + 1 / native.verifyPerSecond + 2 / report.crypto.stateDigestPerSecond);
  const rows = report.throughput.map((row) => ({
    row,
    ratio: row.updatesPerSecond / verifySignCeiling,
    nodeCpuUs: nodeCpuUsPerUpdate(row),
    perNodeCpuSecond: row.cpu.node === 0 ? 0 : row.updates / row.cpu.node,
    nodeCorePercent: (row.cpu.node / row.windowSeconds) * 100,
    loadCorePercent: (row.cpu.loadGenerator / row.windowSeconds) * 100,
    machinePercent: row.cpu.machineCapacity === 0 ? 0 : (row.cpu.machineBusy / row.cpu.machineCapacity) * 100,
  }));
  const sorted = [...report.memory].sort((a, b) => a.channels - b.channels);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  const span = first !== undefined && last !== undefined ? last.channels - first.channels : 0;
  return {
    nativeSign: native.signPerSecond,
    nativeVerify: native.verifyPerSecond,
    verifySignCeiling,
    verifySignDigestCeiling,
    rows,
    memoryPerChannel: span > 0 ? { rssBytes: (last!.rssBytes - first!.rssBytes) / span, heapBytes: (last!.heapUsedBytes - first!.heapUsedBytes) / span } : undefined,
    restartPerThousandMs: span > 0 ? ((last!.startMs - first!.startMs) / span) * 1000 : undefined,
  };
}
