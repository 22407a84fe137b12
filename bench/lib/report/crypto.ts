// Section 2: the crypto ceiling measured in the same run on one core, and each closed-loop row against it.
import type { Derived } from "./derive.js";
import { fixed, int, table } from "./format.js";
import type { BenchReport } from "./types.js";

export function cryptoSection(report: BenchReport, d: Derived): string[] {
  return [
    "## 2. Crypto ceiling (same run, one core)",
    "",
    table(
      ["operation", "per second"],
      [
        ["keccak-256 of 64 bytes", int(report.crypto.keccak64PerSecond)],
        ["stateDigest (core, EIP-712)", int(report.crypto.stateDigestPerSecond)],
        ["TypedDataEncoder.hash (ethers)", int(report.crypto.ethersTypedDataHashPerSecond)],
        ...report.crypto.signers.flatMap((s) => [
          [`sign (${s.implementation})`, int(s.signPerSecond)],
          [`verify (${s.implementation})`, int(s.verifyPerSecond)],
          [`recover (${s.implementation})`, int(s.recoverPerSecond)],
        ]),
        ["**ceiling: 1 native verify + 1 native sign per update**", `**${int(d.verifySignCeiling)}**`],
        ["ceiling with 2 stateDigests per update added", int(d.verifySignDigestCeiling)],
      ],
    ),
    "",
    table(
      ["channels", "updates/s", "÷ verify+sign ceiling", "÷ ceiling with digests", "updates per node-CPU-second ÷ ceiling"],
      d.rows.map(({ row, ratio, perNodeCpuSecond }) => [
        row.channels,
        int(row.updatesPerSecond),
        `${fixed(ratio * 100)}%`,
        `${fixed((row.updatesPerSecond / d.verifySignDigestCeiling) * 100)}%`,
        `${fixed((perNodeCpuSecond / d.verifySignCeiling) * 100)}%`,
      ]),
    ),
    "",
  ];
}
