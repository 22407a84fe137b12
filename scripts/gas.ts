// `npm run gas`: measures every adjudicator operation, writes gas/gas-report.json and prints a table
// next to the published peers' figures (docs/gas.md). The committed file is the regression bar of test/contracts/gas.test.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { ANCHORS, measureGas } from "./gas-measure.js";

const REPORT = new URL("../gas/gas-report.json", import.meta.url);

const figures = await measureGas();
mkdirSync(new URL("../gas/", import.meta.url), { recursive: true });
writeFileSync(REPORT, JSON.stringify(figures, null, 2) + "\n");

const rows = Object.keys({ ...figures.oneAsset, ...figures.twoAssets }).map((operation) => {
  const one = figures.oneAsset[operation];
  const two = figures.twoAssets[operation];
  const anchor = ANCHORS[operation];
  const verdict = anchor === undefined || one === undefined ? "" : one <= anchor ? "at or below" : `+${(((one - anchor) / anchor) * 100).toFixed(1)}%`;
  return { operation, "1 asset (ERC-20)": one ?? "", "2 assets (security + cash)": two ?? "", anchor: anchor ?? "", "vs anchor": verdict };
});
console.table(rows);
console.table(Object.entries(figures.issuer).map(([operation, gas]) => ({ operation, gas })));
console.log(`written to ${REPORT.pathname}`);
