// The pausing writer of the saved compliance mirror (client/protocol/compliance-json-writer.ts): its
// text is exactly the canonical JSON text (`JSON.stringify(complianceFactsToJson(facts))`) for any
// facts, also for maps large enough to be sorted in runs and merged, and it pauses between steps.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import { complianceFactsJsonText, runSteps } from "../../client/protocol/compliance-json-writer.js";
import type { ComplianceFacts } from "../../client/protocol/index.js";
import { largeComplianceFacts } from "../helpers/large-facts.js";
import { facts, reversed } from "./compliance-arbitraries.js";

const canonical = (f: ComplianceFacts): string => JSON.stringify(complianceFactsToJson(f));

describe("the compliance facts writer", () => {
  it("writes exactly the canonical JSON text of any facts", () => {
    fc.assert(
      fc.property(facts, (f) => {
        expect(runSteps(complianceFactsJsonText(f))).toBe(canonical(f));
        expect(runSteps(complianceFactsJsonText(reversed(f), "[", "]"))).toBe(`[${canonical(f)}]`);
      }),
      { numRuns: 300 },
    );
  });

  it("writes large maps (sorted in runs, then merged) exactly, pausing between small steps", () => {
    // 5,000 holders: keys inserted in scattered order, more than one sorted run per map.
    const f = largeComplianceFacts(5_000);
    const steps = complianceFactsJsonText(f);
    let pauses = 0;
    let next = steps.next();
    while (next.done !== true) {
      pauses += 1;
      next = steps.next();
    }
    expect(next.value).toBe(canonical(f));
    expect(pauses).toBeGreaterThan(100);
  });
});
