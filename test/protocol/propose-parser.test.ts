// The hand-written proposal parser against the zod schema it stands in for: on valid proposals and on
// proposals mutated at random places (wrong types, bounds, case, checksums, extra and missing keys,
// long arrays) both must accept the same inputs with the same output.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { parsePropose } from "../../client/protocol/propose-parser.js";
import { clientMessageSchema, parseClientMessage } from "../../client/protocol/wire.js";
import { stateToJson, type State } from "../../client/protocol/index.js";
import { address, bytes32, state } from "./arbitraries.js";

type JsonValue = unknown;

const hex = (length: number) => fc.stringMatching(new RegExp(`^[0-9a-fA-F]{${length}}$`)).map((s) => `0x${s}`);
const signature = hex(130);

const propose = fc.record(
  {
    v: fc.constant(1),
    type: fc.constant("propose"),
    id: fc.string({ minLength: 1, maxLength: 64 }),
    channelId: hex(64),
    state: state.map((s: State) => stateToJson(s) as JsonValue),
    signature,
    secrets: fc.array(fc.record({ hashlock: hex(64), secret: bytes32 }), { maxLength: 16 }),
    route: fc.record({ to: fc.oneof(address, address.map((a) => a.toLowerCase()), hex(40)) }),
  },
  { requiredKeys: ["v", "type", "id", "channelId", "state", "signature"] },
);

/** Values a hostile peer might put anywhere: other types, and strings at the edge of each field's rule. */
const junk: fc.Arbitrary<JsonValue> = fc.oneof(
  fc.constantFrom(null, undefined, true, false, 0, -0, 1, 2, 255, 256, -1, 1.5, Number.NaN, "", "0", "00", "-0", "-1", "01", " 1", "1 "),
  fc.constantFrom(`1${"0".repeat(79)}`, `1${"0".repeat(80)}`, `-1${"0".repeat(79)}`, "0x", "propose", "accepted", {}, []),
  fc.integer({ min: -300, max: 300 }),
  fc.double(),
  fc.string({ maxLength: 70 }),
  fc.constantFrom(39, 40, 41, 63, 64, 65, 129, 130, 131).chain((n) => hex(n)),
  // A checksummed address with one letter's case flipped: a wrong checksum.
  address.map((a) => a.replace(/[a-f]/, (c) => c.toUpperCase())),
  address.map((a) => a.toUpperCase().replace("0X", "0x")),
  fc.bigInt({ min: -(10n ** 81n), max: 10n ** 81n }).map((n) => n.toString()),
);

/** Every object or array inside `value` (itself included). */
function containers(value: JsonValue, into: (Record<string, unknown> | unknown[])[] = []): (Record<string, unknown> | unknown[])[] {
  if (typeof value === "object" && value !== null) {
    into.push(value as Record<string, unknown> | unknown[]);
    for (const child of Object.values(value)) containers(child, into);
  }
  return into;
}

const mutation: fc.Arbitrary<{ pick: number; kind: number; junk: JsonValue; key: string; size: number }> = fc.record({
  pick: fc.nat(),
  kind: fc.integer({ min: 0, max: 4 }),
  junk,
  key: fc.oneof(fc.constantFrom("__proto__", "extra", "secrets", "route", "fill", "v", "token", "to", "constructor"), fc.string({ maxLength: 8 })),
  size: fc.constantFrom(0, 2, 5, 17, 256),
});

function apply(root: JsonValue, m: { pick: number; kind: number; junk: JsonValue; key: string; size: number }): void {
  const all = containers(root);
  const target = all[m.pick % all.length]!;
  const keys = Object.keys(target);
  const key = keys.length === 0 ? m.key : keys[m.pick % keys.length]!;
  switch (m.kind) {
    case 0: // replace a value
      (target as Record<string, unknown>)[key] = m.junk;
      return;
    case 1: // delete a key or element
      if (Array.isArray(target)) target.splice(Number(key), 1);
      else delete target[key];
      return;
    case 2: // add a key (own property, also "__proto__", as JSON.parse makes it)
      Object.defineProperty(target, m.key, { value: m.junk, enumerable: true, writable: true, configurable: true });
      return;
    case 3: // resize an array, repeating its first element
      if (!Array.isArray(target)) return;
      if (target.length === 0) target.push(...Array.from({ length: m.size }, () => m.junk));
      else target.splice(0, target.length, ...Array.from({ length: m.size }, () => structuredClone(target[0])));
      return;
    default: // wrap a value in an array
      (target as Record<string, unknown>)[key] = [(target as Record<string, unknown>)[key]];
  }
}

function zodVerdict(value: JsonValue) {
  const result = clientMessageSchema.safeParse(value);
  return result.success && result.data.type === "propose" ? result.data : undefined;
}

describe("parsePropose (the hot-path parser of proposals)", () => {
  it("accepts every valid proposal with zod's output", () => {
    fc.assert(
      fc.property(propose, (message) => {
        const expected = zodVerdict(message);
        expect(expected).toBeDefined();
        expect(parsePropose(message)).toStrictEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("accepts exactly what the zod schema accepts, with the same output, on mutated proposals", () => {
    fc.assert(
      fc.property(propose, fc.array(mutation, { minLength: 1, maxLength: 3 }), (message, mutations) => {
        const value: JsonValue = message;
        for (const m of mutations) apply(value, m);
        const expected = zodVerdict(value);
        expect(parsePropose(value)).toStrictEqual(expected);
      }),
      { numRuns: 1_000 },
    );
  });

  it("agrees with zod on every field of a proposal set to each edge value", () => {
    const lockJson = { assetIndex: 1, sender: 1, amount: "5", hashlock: `0x${"Ab".repeat(32)}`, expiry: "99" };
    const allocationJson = (token: string) => ({ token, net: "-3", withdrawn0: "0", withdrawn1: "7" });
    const valid = {
      v: 1,
      type: "propose",
      id: "p-1",
      channelId: `0x${"CD".repeat(32)}`,
      state: {
        channelId: `0x${"cd".repeat(32)}`,
        nonce: "18446744073709551615",
        allocations: [allocationJson("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"), allocationJson("0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359")],
        locks: [lockJson],
        isFinal: false,
      },
      signature: `0x${"Ef".repeat(65)}`,
      secrets: [{ hashlock: `0x${"01".repeat(32)}`, secret: `0x${"02".repeat(32)}` }],
      route: { to: "0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359" },
    };
    expect(parsePropose(valid)).toStrictEqual(zodVerdict(valid));
    expect(parsePropose(valid)).toBeDefined();
    const edges: JsonValue[] = [
      null, true, false, 0, -0, 1, 2, 255, 256, -1, 1.5, "", "0", "00", "-0", "-1", "01", " 1", `1${"0".repeat(79)}`, `1${"0".repeat(80)}`,
      `-1${"0".repeat(79)}`, `-1${"0".repeat(80)}`, "x".repeat(64), "x".repeat(65), `0x${"a".repeat(40)}`, `0x${"A".repeat(40)}`,
      "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", `0x${"a".repeat(39)}`, `0x${"a".repeat(63)}`, `0x${"a".repeat(65)}`, `0x${"g".repeat(64)}`,
      `0x${"a".repeat(129)}`, `0x${"a".repeat(131)}`, {}, [], [lockJson], Array.from({ length: 17 }, () => lockJson), Array.from({ length: 256 }, () => lockJson),
    ];
    const leaves = (value: JsonValue, path: (string | number)[] = []): (string | number)[][] =>
      typeof value === "object" && value !== null ? Object.entries(value).flatMap(([k, v]) => [[...path, Array.isArray(value) ? Number(k) : k], ...leaves(v, [...path, Array.isArray(value) ? Number(k) : k])]) : [];
    let compared = 0;
    for (const path of leaves(valid)) {
      for (const edge of edges) {
        const message = structuredClone(valid) as Record<string | number, unknown>;
        let parent = message;
        for (const step of path.slice(0, -1)) parent = parent[step] as Record<string | number, unknown>;
        parent[path.at(-1)!] = edge;
        expect(parsePropose(message), `${path.join(".")} = ${JSON.stringify(edge)}`).toStrictEqual(zodVerdict(message));
        compared += 1;
      }
    }
    expect(compared).toBeGreaterThan(1_000);
  });

  it("returns nothing for other messages and non-objects", () => {
    for (const value of [null, 1, "propose", [], { v: 1, type: "accepted" }, { v: 1, type: "auth", address: "0x", signature: "0x" }]) {
      expect(parsePropose(value)).toBeUndefined();
    }
  });

  it("leaves the error of a malformed proposal to zod: the wire answer is MALFORMED naming the field", () => {
    const bad = { v: 1, type: "propose", id: "x", channelId: `0x${"ab".repeat(32)}`, state: {}, signature: `0x${"1".repeat(130)}` };
    expect(() => parseClientMessage(JSON.stringify(bad))).toThrow(expect.objectContaining({ code: "MALFORMED", message: expect.stringContaining("state") }));
  });
});
