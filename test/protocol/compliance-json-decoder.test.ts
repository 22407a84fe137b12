// The hand decoder of the saved compliance mirror (client/protocol/compliance-json-decoder.ts) and
// the schema (compliance-json.ts) agree: on the stored form of any facts both give the same facts,
// and on randomly altered forms both give the same facts or both refuse (the hand decoder by
// returning undefined, the schema with MALFORMED).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { complianceFactsFromJson, complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import { complianceFactsFromJsonFast } from "../../client/protocol/compliance-json-decoder.js";
import { isProtocolError, type ComplianceFacts } from "../../client/protocol/index.js";
import { largeComplianceFacts } from "../helpers/large-facts.js";
import { facts } from "./compliance-arbitraries.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** What the schema makes of `value`: the facts, or "refused" (MALFORMED). */
function bySchema(value: unknown): ComplianceFacts | "refused" {
  try {
    return complianceFactsFromJson(value);
  } catch (error) {
    if (isProtocolError(error, "MALFORMED")) return "refused";
    throw error;
  }
}

const byHand = (value: unknown): ComplianceFacts | "refused" => complianceFactsFromJsonFast(value) ?? "refused";

/** Every path to a value inside `json` (the root excluded). */
function paths(json: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (json === null || typeof json !== "object") return [];
  const children: [string | number, Json][] = Array.isArray(json) ? json.map((v, i) => [i, v]) : Object.entries(json);
  return children.flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

// Values close to valid ones, so alterations often reach the checks deep inside.
const replacement: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, 1, -1, 1.5, 2 ** 32 - 1, 2 ** 32, "", "0", "1", "-1", "01", "-0", "1e3", [], {}, ["1"], [["1", "2"]]),
  fc.constantFrom<Json>(`0x${"ab".repeat(20)}`, `0x${"AB".repeat(20)}`, `0x${"00".repeat(20)}`, `0x${"ff".repeat(20)}`, "0x1234", "1".repeat(81)),
  fc.bigInt({ min: -(2n ** 256n), max: 2n ** 256n }).map((n) => n.toString()),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

type Alteration = { kind: "replace"; value: Json } | { kind: "remove" } | { kind: "duplicate" } | { kind: "swap" } | { kind: "extra"; name: string };
const alteration: fc.Arbitrary<Alteration> = fc.oneof(
  { weight: 4, arbitrary: replacement.map((value) => ({ kind: "replace" as const, value })) },
  fc.constant({ kind: "remove" as const }),
  fc.constant({ kind: "duplicate" as const }),
  fc.constant({ kind: "swap" as const }),
  fc.constantFrom("x", "v", "__proto__", "value").map((name) => ({ kind: "extra" as const, name })),
);

/** `json` altered at `path` (a deep copy; `json` is unchanged). */
function altered(json: Json, path: readonly (string | number)[], change: Alteration): Json {
  const copy = structuredClone(json);
  let parent = copy as Record<string | number, Json>;
  for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, Json>;
  const last = path.at(-1)!;
  const target = parent[last]!;
  switch (change.kind) {
    case "replace":
      parent[last] = change.value;
      break;
    case "remove":
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      break;
    case "duplicate":
      if (Array.isArray(parent)) parent.splice(last as number, 0, structuredClone(target));
      else parent[last] = [target, target];
      break;
    case "swap":
      if (Array.isArray(parent) && (last as number) > 0) [parent[(last as number) - 1], parent[last as number]] = [target, parent[(last as number) - 1]!];
      else parent[last] = typeof target === "string" ? target.toUpperCase() : target;
      break;
    case "extra":
      if (target !== null && typeof target === "object" && !Array.isArray(target)) Object.defineProperty(target, change.name, { value: 1, enumerable: true, configurable: true, writable: true });
      else parent[last] = { [change.name]: target };
      break;
  }
  return copy;
}

describe("the hand decoder of compliance facts", () => {
  it("decodes the stored form of any facts exactly as the schema does", () => {
    fc.assert(
      fc.property(facts, (f) => {
        const json: unknown = JSON.parse(JSON.stringify(complianceFactsToJson(f)));
        expect(complianceFactsFromJsonFast(json)).toEqual(f);
        expect(byHand(json)).toEqual(bySchema(json));
      }),
      { numRuns: 300 },
    );
  });

  it("agrees with the schema on randomly altered stored forms: the same facts, or both refuse", () => {
    let refused = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        facts.filter((f) => f.jurisdictions.size + f.rules.size + f.tokens.size > 0),
        fc.array(fc.tuple(fc.nat(), alteration), { minLength: 1, maxLength: 3 }),
        (f, changes) => {
          let json = JSON.parse(JSON.stringify(complianceFactsToJson(f))) as Json;
          for (const [at, change] of changes) {
            const all = paths(json);
            if (all.length === 0) break;
            json = altered(json, all[at % all.length]!, change);
          }
          const schema = bySchema(json);
          runs += 1;
          if (schema === "refused") refused += 1;
          expect(byHand(json)).toEqual(schema);
        },
      ),
      { numRuns: 3_000 },
    );
    // Most alterations are refused; some (e.g. a boolean flipped) are still valid facts.
    expect(refused).toBeGreaterThan(runs / 2);
    expect(refused).toBeLessThan(runs);
  });

  it("refuses what is no stored form at all, and decodes a large mirror like the schema", () => {
    for (const value of [null, 1, "facts", [], {}, { v: 1 }, undefined]) expect(complianceFactsFromJsonFast(value)).toBeUndefined();
    const json: unknown = JSON.parse(JSON.stringify(complianceFactsToJson(largeComplianceFacts(2_000))));
    expect(complianceFactsFromJsonFast(json)).toEqual(bySchema(json));
  });
});
