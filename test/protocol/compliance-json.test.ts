// The stored form of the compliance mirror (client/protocol/compliance-json.ts): every kind of fact
// survives the round trip through JSON text exactly, equal facts give the same text whatever order
// their maps were filled in, and altered or foreign JSON is refused (MALFORMED), never trusted.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  CONTROLLER_ROLE,
  addressKey,
  applyEvents,
  emptyComplianceFacts,
  isProtocolError,
  trackJurisdiction,
  trackRules,
  trackToken,
  type ComplianceFacts,
} from "../../client/protocol/index.js";
import { complianceFactsFromJson, complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import { facts, reversed } from "./compliance-arbitraries.js";

const textOf = (f: ComplianceFacts): string => JSON.stringify(complianceFactsToJson(f));
const decode = (text: string): ComplianceFacts => complianceFactsFromJson(JSON.parse(text));

function expectMalformed(value: unknown): void {
  let caught: unknown;
  try {
    complianceFactsFromJson(value);
  } catch (error) {
    caught = error;
  }
  expect(isProtocolError(caught, "MALFORMED"), `refused: ${JSON.stringify(value)?.slice(0, 200)}`).toBe(true);
}

const A = "0x1111111111111111111111111111111111111111";
const B = "0x2222222222222222222222222222222222222222";
const VALIDATOR = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

/** Facts with at least one fact of every kind, built by the reducers. */
function sample(): ComplianceFacts {
  let f = trackToken(trackRules(trackJurisdiction(emptyComplianceFacts(), A), B, A), A);
  const at = (logIndex: number) => ({ position: { blockNumber: 7n, logIndex } });
  f = applyEvents(f, [
    { ...at(0), name: "ValidatorApproved", emitter: A, typeId: 1n, validator: VALIDATOR, generation: 2 },
    { ...at(1), name: "AttributeIssued", emitter: A, account: B, typeId: 1n, validator: VALIDATOR, value: 1n, expiresAt: 99n, generation: 2 },
    { ...at(2), name: "CountryBlockChanged", emitter: B, country: 840n, blocked: true },
    { ...at(3), name: "LockupChanged", emitter: B, holder: A, until: 50n },
    { ...at(4), name: "MaxBalanceChanged", emitter: B, maxBalance: 1000n },
    { ...at(5), name: "AccreditationRequirementChanged", emitter: B, required: true },
    { ...at(6), name: "Paused", emitter: A },
    { ...at(7), name: "AddressFrozen", emitter: A, account: B },
    { ...at(8), name: "RulesReplaced", emitter: A, newRules: B },
    { ...at(9), name: "Transfer", emitter: A, from: "0x0000000000000000000000000000000000000000", to: B, value: 5n },
    { ...at(10), name: "Transfer", emitter: A, from: A, to: B, value: 2n },
    { ...at(11), name: "RoleGranted", emitter: A, role: CONTROLLER_ROLE, account: B },
    { ...at(12), name: "TreasuryChanged", emitter: A, newTreasury: VALIDATOR },
  ]);
  return f;
}

describe("compliance facts as JSON", () => {
  it("round-trips any facts exactly through JSON text, and the text is canonical", () => {
    fc.assert(
      fc.property(facts, (f) => {
        const text = textOf(f);
        const back = decode(text);
        expect(back).toEqual(f);
        expect(textOf(back)).toBe(text);
        expect(textOf(reversed(f))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips facts built by the reducers from every kind of event", () => {
    const f = sample();
    const token = f.tokens.get(addressKey(A))!;
    // Every kind of fact is present, so the round trip below covers each.
    expect(token.balances.get(addressKey(A))).toBe(-2n);
    expect([token.paused, token.frozen.size, token.controllers.size, token.rules, token.treasury]).toEqual([true, 1, 1, B, VALIDATOR]);
    expect(f.rules.get(addressKey(B))).toMatchObject({ accreditationRequired: true, maxBalance: 1000n });
    expect(decode(textOf(f))).toEqual(f);
    expect(decode(textOf(f)).cursor).toEqual({ blockNumber: 7n, logIndex: 12 });
  });

  it("refuses JSON that is not exactly the stored form (MALFORMED)", () => {
    const good = complianceFactsToJson(sample());
    const REMOVED = Symbol("removed");
    /** The stored form of `sample()` with the value at `path` replaced (or removed). */
    const altered = (path: readonly (string | number)[], value: unknown): unknown => {
      const json: unknown = structuredClone(good);
      let parent = json as Record<string | number, unknown>;
      for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
      const last = path.at(-1)!;
      if (value === REMOVED) delete parent[last];
      else parent[last] = value;
      return json;
    };
    expect(complianceFactsFromJson(altered(["v"], 1))).toEqual(sample());
    for (const garbage of [null, 1, "facts", [], {}, { v: 1 }]) expectMalformed(garbage);
    const token = ["tokens", 0, 1];
    const rulesOfB = ["rules", 0, 1];
    const approvalEntry = ["jurisdictions", 0, 1, "approvals", 0, 1, 0, 1];
    const attributeEntry = ["jurisdictions", 0, 1, "attributes", 0, 1, 0];
    const frozenKey = good.tokens[0]![1].frozen[0]!;
    const alterations: [readonly (string | number)[], unknown][] = [
      [["v"], 2],
      [["v"], REMOVED],
      [["extra"], true],
      [["tokens"], REMOVED],
      [["cursor", "blockNumber"], 7],
      [["cursor", "blockNumber"], "-7"],
      [["cursor", "blockNumber"], "07"],
      [["cursor", "logIndex"], -1],
      [["cursor", "logIndex"], 1.5],
      [["tokens", 0, 0], `0x${"AA".repeat(20)}`],
      [["tokens", 0, 0], "0x1234"],
      [["tokens"], [good.tokens[0], good.tokens[0]]],
      [[...token, "frozen"], [frozenKey, frozenKey]],
      [[...token, "balances"], [...good.tokens[0]![1].balances, ["0x0000000000000000000000000000000000000001", "3"]]],
      [[...token, "balances", 0, 1], "1e3"],
      [[...token, "paused"], "true"],
      [[...token, "treasury"], "nobody"],
      [[...token, "rules"], REMOVED],
      [[...rulesOfB, "blockedCountries"], ["100", "20"]],
      [[...rulesOfB, "lockups", 0, 1], "-1"],
      [[...rulesOfB, "maxBalance"], "1" + "0".repeat(80)],
      [[...approvalEntry, "generation"], 2 ** 32],
      [[...approvalEntry, "approved"], 1],
      [[...attributeEntry, 1, "expiresAt"], 99],
      [attributeEntry, ["1", "x"]],
    ];
    for (const [path, value] of alterations) expectMalformed(altered(path, value));
  });
});
