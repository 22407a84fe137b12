// Section 6: gas of every adjudicator operation against the anchors, and of the issuer's paths.
import { fixed, int, table } from "./format.js";
import type { BenchReport } from "./types.js";

/** Per operation: 1 asset, 2 assets, the anchor, and the 1-asset figure against the anchor (cells "" where absent). */
export function gasRows(report: BenchReport): (string | number)[][] {
  const { oneAsset, twoAssets, anchors } = report.gas;
  return Object.keys({ ...oneAsset, ...twoAssets }).map((operation) => {
    const one = oneAsset[operation];
    const two = twoAssets[operation];
    const anchor = anchors[operation];
    const verdict = anchor === undefined || one === undefined ? "" : one <= anchor ? `${fixed(((one - anchor) / anchor) * 100)}% (at or below)` : `+${fixed(((one - anchor) / anchor) * 100)}%`;
    return [operation, one === undefined ? "" : int(one), two === undefined ? "" : int(two), anchor === undefined ? "" : int(anchor), verdict];
  });
}

export function gasSection(report: BenchReport): string[] {
  return [
    "## 6. Gas of every adjudicator operation",
    "",
    "Hardhat 3 / EDR default hardfork, in-process chain, the whole system deployed by Ignition (scripts/gas-measure.ts). " +
      "Anchors: the cheapest of Nitro 0.17 and Vector 0.2 per operation, one ERC-20 asset.",
    "",
    table(["operation", "1 asset (ERC-20)", "2 assets (security + cash)", "anchor", "1 asset vs anchor"], gasRows(report)),
    "",
    table(["issuer / restricted-token path", "gas"], Object.entries(report.gas.issuer).map(([operation, gas]) => [operation, int(gas)])),
    "",
  ];
}
