// The operator's cooperative close and withdrawal (channel-node/src/admin-actions.ts) over the real
// engine, where the investor does not behave: it never answers (INVESTOR_UNRESPONSIVE, and the
// proposal stays pending: PROPOSAL_PENDING until it is void), it refuses (INVESTOR_REFUSED), it is
// offline (INVESTOR_OFFLINE, nothing proposed), a lock is unresolved (LOCKS_OUTSTANDING), its resting
// orders reserve funds (FUNDS_RESERVED), the
// venue holds less than the withdrawal (INSUFFICIENT_BALANCE). None of these reaches the chain:
// the chain given here fails the test if it is used. The happy paths run end to end in
// test/e2e/operator-close.test.ts.
import { beforeEach, describe, expect, it } from "vitest";
import { NobleSigner, hashlockOf } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage } from "../../client/protocol/wire.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import type { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { AdminActions, OperatorActionError } from "../../channel-node/src/admin-actions.js";
import { CASH, FakeSession, keyOf, makeEngine, openFunded, propose, proposalTo, type Harness } from "./engine-harness.js";
import { pino } from "pino";

const investor = new NobleSigner(keyOf(2));
const CASH_INDEX = 1;

/** A chain that must not be reached: every refusal happens before any transaction. */
const untouchedChain = new Proxy({} as AdjudicatorClient, {
  get: (_target, name) => {
    throw new Error(`the chain was used (${String(name)})`);
  },
});

async function refusal(promise: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof OperatorActionError) return { code: error.code, status: error.status, message: error.message };
    throw error;
  }
  throw new Error("the action succeeded");
}

describe("operator actions with an investor that does not behave", () => {
  let h: Harness;
  let store: MemoryStore;
  let session: FakeSession;
  let actions: AdminActions;
  let channelId: string;

  beforeEach(async () => {
    store = new MemoryStore();
    h = makeEngine(store, { responseTimeoutMs: 150 });
    session = new FakeSession(1, investor.address);
    h.engine.onAuthenticated(session);
    const channel = await openFunded(h.engine, store, session, [
      [0n, 0n],
      [40n, 100n],
    ]);
    channelId = channel.channelId;
    actions = new AdminActions({ engine: h.engine, chain: untouchedChain, store, reservedOf: () => 0n, logger: pino({ level: "silent" }) });
  });

  it("an investor that never answers: INVESTOR_UNRESPONSIVE (504); the proposal stays pending, a second close is PROPOSAL_PENDING", async () => {
    expect(await refusal(actions.closeCooperatively(channelId))).toMatchObject({ code: "INVESTOR_UNRESPONSIVE", status: 504, message: expect.stringContaining("`close --force`") });
    expect((await proposalTo(session, 1)).state).toMatchObject({ nonce: 1n, isFinal: true });
    expect(await refusal(actions.withdraw(channelId, CASH_INDEX, 1n))).toMatchObject({ code: "PROPOSAL_PENDING", status: 409 });
    expect(session.proposals()).toHaveLength(1);
  });

  it("an investor whose client refuses: INVESTOR_REFUSED with its reason; the proposal is void", async () => {
    const closing = refusal(actions.closeCooperatively(channelId));
    const offered = await proposalTo(session, 1);
    await h.engine.onMessage(session, { v: PROTOCOL_VERSION, type: "rejected", id: offered.id, channelId, code: "BUSY", message: "a proposal of the investor's is in flight" } as ClientMessage);
    expect(await closing).toEqual({ code: "INVESTOR_REFUSED", status: 409, message: "the investor's client refused a cooperative close: BUSY a proposal of the investor's is in flight" });
    expect(h.engine.record(channelId)!.pending).toMatchObject({ voided: true });
  });

  it("an offline investor: INVESTOR_OFFLINE pointing at the forced close, nothing proposed", async () => {
    h.engine.onClosed(session);
    const close = await refusal(actions.closeCooperatively(channelId));
    expect(close).toEqual({
      code: "INVESTOR_OFFLINE",
      status: 409,
      message: `the investor ${investor.address} is offline: a cooperative close needs its countersignature; try again when it is connected, or force-close it with \`close --force\` (the node settles after the challenge period)`,
    });
    expect(await refusal(actions.withdraw(channelId, CASH_INDEX, 1n))).toMatchObject({ code: "INVESTOR_OFFLINE" });
    expect(session.proposals()).toHaveLength(0);
    expect(h.engine.record(channelId)!.pending).toBeNull();
  });

  it("a withdrawal of more than the venue holds, and a close with a lock outstanding, are refused before anything is proposed", async () => {
    expect(await refusal(actions.withdraw(channelId, CASH_INDEX, 41n))).toMatchObject({ code: "INSUFFICIENT_BALANCE", message: expect.stringMatching(/^the venue holds 40 units of 0x[0-9a-fA-F]{40} in the channel, less than the 41 to withdraw$/) });
    const lock = { assetIndex: CASH_INDEX, sender: 1 as const, amount: 5n, hashlock: hashlockOf("0x" + "07".repeat(32)), expiry: h.now.value + 600n };
    await h.engine.onMessage(session, propose(h.engine.channel(channelId)!, h.engine.latest(channelId)!.state, { kind: "addLock", lock }, investor, "p1").message);
    expect(session.last()).toMatchObject({ type: "accepted" });
    expect(await refusal(actions.closeCooperatively(channelId))).toMatchObject({
      code: "LOCKS_OUTSTANDING",
      status: 409,
      message: "the channel has 1 unresolved lock (payments in flight): they must be claimed or expire before a final state, or force-close it with `close --force` (the node settles after the challenge period)",
    });
    expect(session.proposals()).toHaveLength(0);
  });

  it("a close while the investor's resting orders reserve funds: FUNDS_RESERVED naming the token, nothing proposed", async () => {
    const reserving = new AdminActions({ engine: h.engine, chain: untouchedChain, store, reservedOf: (_investor, token) => (token === CASH ? 7n : 0n), logger: pino({ level: "silent" }) });
    expect(await refusal(reserving.closeCooperatively(channelId))).toEqual({
      code: "FUNDS_RESERVED",
      status: 409,
      message: `the investor's resting orders reserve 7 units of ${CASH}: they must be filled or cancelled before the channel closes`,
    });
    expect(session.proposals()).toHaveLength(0);
  });

  it("the admin route answers a refusal with its status and code, and a malformed withdrawal with 400 ADMIN_BAD_REQUEST", async () => {
    h.engine.onClosed(session);
    const parts = ["channels", channelId];
    expect(await actions.route("POST", [...parts, "cooperative-close"], new URLSearchParams())).toMatchObject({ status: 409, body: { code: "INVESTOR_OFFLINE", investor: investor.address } });
    expect(await actions.route("POST", [...parts, "withdraw"], new URLSearchParams("asset=1&amount=0"))).toMatchObject({ status: 400, body: { code: "ADMIN_BAD_REQUEST" } });
    expect(await actions.route("POST", [...parts, "withdraw"], new URLSearchParams("asset=2&amount=1"))).toMatchObject({ status: 400, body: { code: "ADMIN_BAD_REQUEST" } });
    expect(await actions.route("GET", [...parts, "withdraw"], new URLSearchParams())).toBeUndefined();
    expect(await actions.route("POST", [...parts, "history"], new URLSearchParams())).toBeUndefined();
  });
});
