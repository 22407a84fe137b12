import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { measureGas, type GasFigures } from "../../scripts/gas-measure.js";

// The committed report is the bar: an operation may not cost more than 1% above it. Lower is fine;
// run `npm run gas` and commit the file when a change is worth recording.
const committed = JSON.parse(readFileSync(new URL("../../gas/gas-report.json", import.meta.url), "utf8")) as Record<
  string,
  GasFigures
>;

describe("gas", () => {
  it("no adjudicator operation costs more than 1% above the committed report", async () => {
    const measured = await measureGas();
    const regressions: string[] = [];
    for (const [configuration, figures] of Object.entries(measured)) {
      for (const [operation, gas] of Object.entries(figures)) {
        const bar = committed[configuration]?.[operation];
        expect(bar, `${configuration} / ${operation} is missing from gas/gas-report.json: run npm run gas`).toBeDefined();
        if (gas > bar! * 1.01) regressions.push(`${configuration} / ${operation}: ${gas} > ${bar} + 1%`);
      }
    }
    expect(regressions).toEqual([]);
  });
});
