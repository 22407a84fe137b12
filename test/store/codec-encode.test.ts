// The record and history encoders build their JSON from parts (the channel's constant part once per
// channel, an agreed state's JSON once for its record and history entry): the text must decode to
// exactly what was encoded, keep the record's key order, and never reuse a part that does not fit.
import { describe, expect, it } from "vitest";
import { decodeHistoryEntry, decodeRecord, encodeHistoryEntry, encodeRecord } from "../../client/store/codec.js";
import type { ChannelRecord } from "../../client/store/store.js";
import { HASHLOCK, newChannel, paymentUpdate, proposal, signedState, tradeUpdate, openRecord } from "./fixtures.js";

const KEYS = ["channelId", "params", "deployment", "me", "createdAt", "status", "latest", "pending", "deposits", "checkpointNonce", "dispute", "concludedNonce"];

describe("encodeRecord / encodeHistoryEntry", () => {
  it("decodes to the record, in the record's key order, for every shape and for successive states of one channel", () => {
    const base = openRecord(1);
    const shapes: ChannelRecord[] = [
      base,
      { ...base, latest: signedState(newChannel(1), 4n, { net: [-4n, 77n], withdrawn: [1n, 2n] }) },
      { ...base, latest: signedState(newChannel(1), 5n, { locks: [{ assetIndex: 1, sender: 1, amount: 5n, hashlock: HASHLOCK, expiry: 99n }] }) },
      { ...base, status: "disputed", dispute: { nonce: 2n, deadline: 1_800_000_000n }, pending: proposal(newChannel(1), 6n, 1) },
      { ...base, status: "concluded", dispute: { nonce: 3n, deadline: 1n }, concludedNonce: 3n, checkpointNonce: 2n },
      openRecord(2, { status: "proposed", latest: null }),
    ];
    for (const value of shapes) {
      const text = encodeRecord(value);
      expect(decodeRecord(text, "ch/x")).toEqual(value);
      expect(Object.keys(JSON.parse(text) as object)).toEqual(KEYS);
    }
  });

  it("does not reuse a channel's constant part for a record with the same parameters but another id, role, time or deployment", () => {
    const base = openRecord(3);
    encodeRecord(base);
    const others: ChannelRecord[] = [
      { ...base, createdAt: base.createdAt + 1 },
      { ...base, me: base.me === 0 ? 1 : 0 },
      { ...base, deployment: { ...base.deployment, chainId: base.deployment.chainId + 1n } },
    ];
    for (const other of others) {
      expect(decodeRecord(encodeRecord(other), "ch/x")).toEqual(other);
      expect(decodeRecord(encodeRecord(base), "ch/x")).toEqual(base);
    }
  });

  it("encodes each history entry with its own state, also after another state was encoded", () => {
    const channel = newChannel(4);
    const a = signedState(channel, 7n);
    const b = signedState(channel, 8n, { net: [-1n, 1n] });
    const entries: [typeof a, ReturnType<typeof tradeUpdate>][] = [
      [a, paymentUpdate(1n)],
      [b, tradeUpdate(2n, 1_700_000_000_001, "memo")],
      [a, tradeUpdate(3n)],
    ];
    for (const [signed, update] of entries) {
      expect(decodeHistoryEntry(encodeHistoryEntry(signed, update), "hist/x")).toEqual({ signed, update });
      encodeRecord({ ...openRecord(4), latest: signed === a ? b : a });
    }
  });
});
