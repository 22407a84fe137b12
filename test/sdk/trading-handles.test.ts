// client.trading(anchor) gives one TradingClient per venue log for the client's life: asked again (in
// any letter case) it is the same handle, so nothing piles up per call and its order nonces keep
// increasing; another anchor gets its own.
import { describe, expect, it } from "vitest";
import { NobleSigner, nobleVerifier, type Address } from "../../client/protocol/index.js";
import { ClearlineClient } from "../../client/sdk/index.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { CASH, SECURITY, deployment, keyOf } from "../node/engine-harness.js";

describe("client.trading(anchor)", () => {
  it("is one handle per anchor, however often it is asked for", () => {
    const client = new ClearlineClient({ nodeUrl: "ws://127.0.0.1:1", signer: new NobleSigner(keyOf(2)), verifier: nobleVerifier, store: new MemoryStore(), deployment, reconnect: false });
    const first = client.trading(SECURITY);
    for (let i = 0; i < 1_000; i++) expect(client.trading(SECURITY)).toBe(first);
    expect(client.trading(SECURITY.toLowerCase() as Address)).toBe(first);
    expect(first.domain.verifyingContract).toBe(SECURITY);
    const other = client.trading(CASH);
    expect(other).not.toBe(first);
    expect(other.domain.verifyingContract).toBe(CASH);
  });
});
