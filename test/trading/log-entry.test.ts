import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { bytesToHex } from "@noble/hashes/utils.js";
import { UINT64_MAX } from "../../client/protocol/index.js";
import {
  decodeEntry,
  encodeEntry,
  entryLeafHash,
  isTradingError,
  leafHash,
  type FillEntry,
  type LogEntry,
} from "../../client/protocol/trading/index.js";
import { address, anyOrder, bytes32, order } from "./fixtures.js";

const uint64 = fc.bigInt({ min: 0n, max: UINT64_MAX });
const uint128 = fc.bigInt({ min: 0n, max: (1n << 128n) - 1n });
const signature = fc.uint8Array({ minLength: 65, maxLength: 65 }).map((b) => `0x${bytesToHex(b)}`);

const anyEntry: fc.Arbitrary<LogEntry> = fc.oneof(
  fc.record({ kind: fc.constant("order" as const), sequence: uint64, receivedAt: uint64, signed: fc.record({ order: anyOrder, signature }) }),
  fc.record({
    kind: fc.constant("cancel" as const),
    sequence: uint64,
    receivedAt: uint64,
    target: uint64,
    signed: fc.record({ cancel: fc.record({ investor: address, orderHash: bytes32 }), signature }),
  }),
  fc.record({ kind: fc.constant("fill" as const), sequence: uint64, makerSequence: uint64, takerSequence: uint64, quantity: uint128, price: uint128 }),
);

const word = (value: bigint, bytes: number): string => value.toString(16).padStart(2 * bytes, "0");
const raw = (hex: string): string => hex.slice(2).toLowerCase();

function codeOf(call: () => unknown): string {
  try {
    call();
    return "none";
  } catch (error) {
    if (isTradingError(error)) return error.code;
    throw error;
  }
}

describe("log entry encoding", () => {
  it("round-trips every entry, and distinct entries have distinct leaves", () => {
    fc.assert(
      fc.property(anyEntry, anyEntry, (a, b) => {
        expect(decodeEntry(encodeEntry(a))).toEqual(a);
        const same = bytesToHex(encodeEntry(a)) === bytesToHex(encodeEntry(b));
        expect(bytesToHex(entryLeafHash(a)) === bytesToHex(entryLeafHash(b))).toBe(same);
      }),
      { numRuns: 300 },
    );
  });

  it("lays out an order entry exactly as documented", () => {
    const o = order({ side: "sell", timeInForce: "GTC", expiresAt: 1_700_000_100n, nonce: 7n });
    const signature = `0x${"ab".repeat(64)}1c`;
    const entry: LogEntry = { kind: "order", sequence: 42n, receivedAt: 1_700_000_000n, signed: { order: o, signature } };
    const expected =
      "01" + word(42n, 8) + word(1_700_000_000n, 8) + raw(o.investor) + raw(o.security) + raw(o.cash) + "01" +
      word(o.quantity, 16) + word(o.price, 16) + word(o.lotSize, 16) + "00" + word(o.expiresAt, 8) + raw(o.clientOrderId) +
      word(7n, 8) + raw(signature);
    expect(bytesToHex(encodeEntry(entry))).toBe(expected);
    expect(bytesToHex(entryLeafHash(entry))).toBe(bytesToHex(leafHash(encodeEntry(entry))));
  });

  it("lays out cancel and fill entries exactly as documented", () => {
    const orderHash = `0x${"cd".repeat(32)}`;
    const signature = `0x${"ef".repeat(64)}1b`;
    const investor = order().investor;
    expect(bytesToHex(encodeEntry({ kind: "cancel", sequence: 9n, receivedAt: 5n, target: 3n, signed: { cancel: { investor, orderHash }, signature } }))).toBe(
      "02" + word(9n, 8) + word(5n, 8) + word(3n, 8) + raw(investor) + raw(orderHash) + raw(signature),
    );
    const fill: FillEntry = { kind: "fill", sequence: 10n, makerSequence: 3n, takerSequence: 9n, quantity: 2_000n, price: 77n };
    expect(bytesToHex(encodeEntry(fill))).toBe("03" + word(10n, 8) + word(3n, 8) + word(9n, 8) + word(2_000n, 16) + word(77n, 16));
  });

  it("lays out a venue cancel with its reason: 0 the investor disconnected, 1 not compliant; 2 is unknown", () => {
    for (const [reason, byte] of [["disconnected", 0], ["notCompliant", 1]] as const) {
      const entry: LogEntry = { kind: "venueCancel", sequence: 7n, receivedAt: 9n, target: 3n, reason };
      const bytes = encodeEntry(entry);
      expect(bytes.length).toBe(26);
      expect([bytes[0], bytes[25]]).toEqual([0x04, byte]);
      expect(decodeEntry(bytes)).toEqual(entry);
    }
    const unknown = encodeEntry({ kind: "venueCancel", sequence: 7n, receivedAt: 9n, target: 3n, reason: "notCompliant" });
    unknown[25] = 2;
    expect(() => decodeEntry(unknown)).toThrow(expect.objectContaining({ code: "MALFORMED" }));
  });

  it("refuses unknown tags, wrong lengths and unknown codes with MALFORMED", () => {
    const fill = encodeEntry({ kind: "fill", sequence: 1n, makerSequence: 0n, takerSequence: 1n, quantity: 1n, price: 1n });
    const orderBytes = encodeEntry({ kind: "order", sequence: 0n, receivedAt: 0n, signed: { order: order(), signature: `0x${"11".repeat(65)}` } });
    const badSide = Uint8Array.from(orderBytes);
    badSide[1 + 8 + 8 + 60] = 2;
    const badTif = Uint8Array.from(orderBytes);
    badTif[1 + 8 + 8 + 60 + 1 + 48] = 9;
    for (const bytes of [new Uint8Array(0), Uint8Array.of(4, ...fill.subarray(1)), fill.subarray(0, 56), Uint8Array.of(...fill, 0), badSide, badTif]) {
      expect(codeOf(() => decodeEntry(bytes))).toBe("MALFORMED");
    }
  });

  it("refuses to encode fields that do not fit", () => {
    expect(codeOf(() => encodeEntry({ kind: "fill", sequence: UINT64_MAX + 1n, makerSequence: 0n, takerSequence: 0n, quantity: 1n, price: 1n }))).toBe(
      "OUT_OF_RANGE",
    );
    expect(codeOf(() => encodeEntry({ kind: "fill", sequence: 0n, makerSequence: -1n, takerSequence: 0n, quantity: 1n, price: 1n }))).toBe("OUT_OF_RANGE");
    expect(
      codeOf(() => encodeEntry({ kind: "cancel", sequence: 0n, receivedAt: 0n, target: 0n, signed: { cancel: { investor: "0x12", orderHash: `0x${"00".repeat(32)}` }, signature: `0x${"11".repeat(65)}` } })),
    ).toBe("MALFORMED");
  });
});
