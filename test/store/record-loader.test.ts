// The record decoder a store uses when it opens (client/store/record-loader.ts): it must give exactly
// what the schema decoder gives for every record, refuse what the schema refuses (CORRUPT), and
// share the values repeated across records.
import { describe, expect, it } from "vitest";
import { decodeRecord, encodeRecord } from "../../client/store/codec.js";
import { isStoreError } from "../../client/store/errors.js";
import { RecordLoader } from "../../client/store/record-loader.js";
import type { ChannelRecord } from "../../client/store/store.js";
import { HASHLOCK, fakeSignature, newChannel, proposal, signedState, openRecord } from "./fixtures.js";

const KEY = "ch/test";

function corrupt(text: string): unknown {
  try {
    new RecordLoader().decode(text, KEY);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("RecordLoader", () => {
  const channel = newChannel(7);
  const shapes: [string, ChannelRecord][] = [
    ["open with an agreed state", openRecord(1)],
    ["proposed, no state yet", openRecord(2, { status: "proposed", latest: null, deposits: [[0n, 0n], [0n, 0n]] })],
    ["disputed", openRecord(3, { status: "disputed", dispute: { nonce: 2n, deadline: 1_800_000_000n } })],
    ["concluded", openRecord(4, { status: "concluded", dispute: { nonce: 3n, deadline: 1n }, concludedNonce: 3n, checkpointNonce: 2n })],
    ["negative net, withdrawals", openRecord(5, { latest: signedState(newChannel(5), 9n, { net: [-4n, 77n], withdrawn: [1n, 2n] }) })],
    ["half-signed latest", openRecord(6, { latest: signedState(newChannel(6), 1n, { signers: [true, false] }) })],
    ["with locks (schema path)", openRecord(7, { latest: signedState(channel, 2n, { locks: [{ assetIndex: 1, sender: 1, amount: 5n, hashlock: HASHLOCK, expiry: 99n }] }) })],
    ["with a pending proposal (schema path)", openRecord(8, { pending: proposal(newChannel(8), 4n, 1) })],
    ["with a voided proposal (schema path)", openRecord(9, { pending: { ...proposal(newChannel(9), 4n, 0), voided: true } })],
  ];

  it.each(shapes)("decodes a record %s exactly as the schema decoder does", (_, value) => {
    const text = encodeRecord(value);
    expect(new RecordLoader().decode(text, KEY)).toEqual(decodeRecord(text, KEY));
    expect(new RecordLoader().decode(text, KEY)).toEqual(value);
  });

  it("shares the deployment, addresses, asset lists, equal amounts, allocations and deposit pairs across records (frozen), and a state's channel id with its record", () => {
    const loader = new RecordLoader();
    const a = loader.decode(encodeRecord(openRecord(1)), KEY);
    const b = loader.decode(encodeRecord(openRecord(2)), KEY);
    expect(a.deployment).toBe(b.deployment);
    expect(Object.isFrozen(a.deployment)).toBe(true);
    expect(a.params.participants[0]).toBe(b.params.participants[0]);
    expect(a.params.assets[1]).toBe(b.params.assets[1]);
    expect(a.latest!.state.allocations[0]!.token).toBe(a.params.assets[0]);
    expect(a.latest!.state.channelId).toBe(a.channelId);
    expect(a.latest!.state.locks).toBe(b.latest!.state.locks);
    expect(Object.isFrozen(a.latest!.state.locks)).toBe(true);
    expect(a.params.assets).toBe(b.params.assets);
    expect(a.deposits[1]).toBe(b.deposits[1]);
    expect(a.latest!.state.allocations[1]).toBe(b.latest!.state.allocations[1]);
    expect(Object.isFrozen(a.deposits[1]) && Object.isFrozen(a.params.assets) && Object.isFrozen(a.latest!.state.allocations[1])).toBe(true);
    expect(a.params.participants[1]).not.toBe(b.params.participants[1]);
  });

  it("lowercases signatures and the salt as the schema does", () => {
    const value = openRecord(1);
    const json = JSON.parse(encodeRecord(value)) as { params: { salt: string }; latest: { signatures: string[] } };
    json.params.salt = json.params.salt.toUpperCase().replace("0X", "0x");
    json.latest.signatures[0] = fakeSignature(0, 3n).toUpperCase().replace("0X", "0x");
    const decoded = new RecordLoader().decode(JSON.stringify(json), KEY);
    expect(decoded).toEqual(value);
  });

  it("refuses numbers where the store writes decimal strings, also when an equal value is already shared", () => {
    const loader = new RecordLoader();
    const good = encodeRecord(openRecord(1));
    loader.decode(good, KEY);
    const json = JSON.parse(good) as { deposits: unknown[][]; latest: { state: { allocations: Record<string, unknown>[] } } };
    const numbers = JSON.stringify({ ...json, deposits: json.deposits.map((pair) => pair.map(Number)) });
    expect(() => loader.decode(numbers, KEY)).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    json.latest.state.allocations[0]!.net = Number(json.latest.state.allocations[0]!.net);
    expect(() => loader.decode(JSON.stringify(json), KEY)).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });

  const base = (): Record<string, unknown> => JSON.parse(encodeRecord(openRecord(1))) as Record<string, unknown>;
  const damaged: [string, (json: Record<string, unknown>) => unknown][] = [
    ["not JSON", () => "{"],
    ["an extra field", (json) => ({ ...json, extra: 1 })],
    ["a missing field", ({ dispute: _dispute, ...json }) => json],
    ["a non-hex channel id", (json) => ({ ...json, channelId: "0x" + "zz".repeat(32) })],
    ["a non-decimal deposit", (json) => ({ ...json, deposits: [["1e3", "0"], ["0", "0"]] })],
    ["one deposit pair too few", (json) => ({ ...json, deposits: [["0", "0"]] })],
    ["an unknown status", (json) => ({ ...json, status: "paused" })],
    ["a participant index 2", (json) => ({ ...json, me: 2 })],
    ["a fractional creation time", (json) => ({ ...json, createdAt: 1.5 })],
    ["a malformed address", (json) => ({ ...json, params: { ...(json.params as object), participants: ["0x1234", (json.params as { participants: string[] }).participants[1]] } })],
    ["a challenge period out of bounds", (json) => ({ ...json, params: { ...(json.params as object), challengePeriod: "1" } })],
    ["twice the same participant", (json) => ({ ...json, params: { ...(json.params as object), participants: [(json.params as { participants: string[] }).participants[0], (json.params as { participants: string[] }).participants[0]] } })],
    ["a nonce above uint64", (json) => ({ ...json, latest: { ...(json.latest as object), state: { ...(json.latest as { state: object }).state, nonce: (2n ** 64n).toString() } } })],
    ["a short signature", (json) => ({ ...json, latest: { ...(json.latest as object), signatures: ["0x1b", null] } })],
    ["a dispute without a deadline", (json) => ({ ...json, dispute: { nonce: "1" } })],
  ];

  it.each(damaged)("refuses a record with %s as CORRUPT, like the schema decoder", (_, damage) => {
    const changed = damage(base());
    const text = typeof changed === "string" ? changed : JSON.stringify(changed);
    const error = corrupt(text);
    expect(isStoreError(error, "CORRUPT")).toBe(true);
    expect(() => decodeRecord(text, KEY)).toThrow(error as Error);
  });
});
