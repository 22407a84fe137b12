// The trading desk without a chain (channel-node/src/trading/desk.ts): real LevelDB log, real
// signatures, sessions that record what the desk sends. Covers the refusals the end-to-end test does
// not reach (another investor's order, a bad signature, an expired order, proofs outside the log)
// and that each refusal changes nothing; receipts and proofs verify; a replaced session's orders rest.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ProtocolError, nobleVerifier, type Address } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, parseClientMessage, type NodeMessage } from "../../client/protocol/wire.js";
import { receiptCoversEntry, signCancel, signOrder, signedCancelToJson, signedOrderToJson, verifyCheckpoint, verifyReceipt, type Order } from "../../client/protocol/trading/index.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import type { Session } from "../../channel-node/src/transport.js";
import { DOMAIN, MARKET, NOW, alice, bob, order, venue } from "./fixtures.js";
import { deskOptions } from "./desk-options.js";

type Sent = NodeMessage & { id?: string; code?: string };

class RecordingSession implements Session {
  static next = 1;
  readonly id = RecordingSession.next++;
  readonly sent: Sent[] = [];
  constructor(readonly address: Address) {}
  send(message: NodeMessage): void {
    this.sent.push(message as Sent);
  }
  close(): void {}
}

describe("TradingDesk", () => {
  let dir: string;
  let log: LevelOrderLog;
  let desk: TradingDesk;
  let n = 0;
  /** The chain's time as the node's clock gives it; undefined: a stale view (the clock throws). */
  let chainTime: bigint | undefined;

  async function open(matching?: "builtIn" | "external"): Promise<TradingDesk> {
    log = await LevelOrderLog.open(join(dir, "orders"));
    return TradingDesk.open(
      deskOptions(log, {
        now: () => {
          if (chainTime === undefined) throw new ProtocolError("COMPLIANCE_UNKNOWN", "the node's view of the chain is stale");
          return chainTime;
        },
        cancelOnDisconnect: true,
        matching,
      }),
    );
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-desk-"));
    chainTime = NOW;
    desk = await open();
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function send(session: RecordingSession, message: Record<string, unknown>): Promise<Sent> {
    const id = `m${++n}`;
    // Through the wire schema, as the transport does.
    await desk.onMessage(session, parseClientMessage(JSON.stringify({ v: PROTOCOL_VERSION, id, ...message })) as never);
    const answer = session.sent.find((m) => m.id === id);
    if (answer === undefined) throw new Error("no answer");
    return answer;
  }

  const place = (session: RecordingSession, o: Order, signer = alice) => send(session, { type: "order", signed: signedOrderToJson(signOrder(o, DOMAIN, signer)) });

  it("answers an accepted order with a receipt that verifies and whose inclusion proof covers the entry", async () => {
    const session = new RecordingSession(alice.address);
    const signed = signOrder(order(), DOMAIN, alice);
    const answer = (await send(session, { type: "order", signed: signedOrderToJson(signed) })) as Extract<NodeMessage, { type: "order_accepted" }>;
    expect(answer.type).toBe("order_accepted");
    const receipt = { sequence: BigInt(answer.receipt.sequence), receivedAt: BigInt(answer.receipt.receivedAt), orderHash: answer.receipt.orderHash, logSize: BigInt(answer.receipt.logSize), logRoot: answer.receipt.logRoot };
    verifyReceipt({ receipt, signature: answer.signature }, DOMAIN, nobleVerifier, venue.address);
    const proof = (await send(session, { type: "log_inclusion", sequence: "0" })) as Extract<NodeMessage, { type: "log_proof" }>;
    expect(receiptCoversEntry(receipt, { kind: "order", sequence: 0n, receivedAt: NOW, signed }, proof.proof.map((h) => hexToBytes(h.slice(2))), DOMAIN)).toBe(true);
    const checkpoint = (await send(session, { type: "log_checkpoint" })) as Extract<NodeMessage, { type: "log_checkpoint" }>;
    expect(checkpoint.checkpoint.matching).toBe("builtIn");
    verifyCheckpoint({ checkpoint: { size: 1n, root: checkpoint.checkpoint.root, time: NOW, matching: "builtIn" }, signature: checkpoint.signature }, DOMAIN, nobleVerifier, venue.address);
    // The mode is signed: the same checkpoint claiming an external engine is not the venue's.
    expect(() => verifyCheckpoint({ checkpoint: { size: 1n, root: checkpoint.checkpoint.root, time: NOW, matching: "external" }, signature: checkpoint.signature }, DOMAIN, nobleVerifier, venue.address)).toThrow(/not signed by the venue/);
    expect(checkpoint.checkpoint.root).toBe(receipt.logRoot);
  });

  it("refuses another investor's order, a forged signature, an expired order and proofs outside the log, changing nothing", async () => {
    const session = new RecordingSession(alice.address);
    await place(session, order());
    const root = desk.root;
    expect((await place(session, order({ investor: bob.address, nonce: 2n }), bob)).code).toBe("NOT_YOUR_ORDER");
    expect((await place(session, order({ nonce: 3n }), bob)).code).toBe("BAD_SIGNATURE");
    expect((await place(session, order({ nonce: 4n, expiresAt: NOW }))).code).toBe("EXPIRED");
    expect((await place(session, order({ nonce: 5n, quantity: 1_500n }))).code).toBe("INVALID_ORDER");
    expect((await send(session, { type: "log_inclusion", sequence: "1" })).code).toBe("BAD_PROOF_REQUEST");
    expect((await send(session, { type: "log_inclusion", sequence: "0", size: "9".repeat(40) })).code).toBe("BAD_PROOF_REQUEST");
    expect((await send(session, { type: "log_consistency", first: "2" })).code).toBe("BAD_PROOF_REQUEST");
    const foreign = signCancel({ investor: bob.address, orderHash: `0x${"00".repeat(32)}` }, DOMAIN, bob);
    expect((await send(session, { type: "cancel", signed: signedCancelToJson(foreign) })).code).toBe("NOT_YOUR_ORDER");
    expect(desk.size).toBe(1);
    expect(desk.root).toBe(root);
    // The refused nonces were not spent.
    expect((await place(session, order({ nonce: 2n }))).type).toBe("order_accepted");
  });

  it("tells a maker its order traded, and keeps the orders of a session a newer one replaced", async () => {
    const first = new RecordingSession(alice.address);
    desk.onAuthenticated(first);
    await place(first, order({ side: "sell", quantity: 2_000n }));
    const second = new RecordingSession(alice.address);
    desk.onAuthenticated(second);
    desk.onClosed(first); // replaced: no cancel
    const taker = new RecordingSession(bob.address);
    const taken = (await place(taker, order({ investor: bob.address, quantity: 1_000n }), bob)) as Extract<NodeMessage, { type: "order_accepted" }>;
    expect(taken.fills).toHaveLength(1);
    expect(second.sent.filter((m) => m.type === "order_filled")).toHaveLength(1);
    expect(first.sent.filter((m) => m.type === "order_filled")).toHaveLength(0);
    // The newest session closes: the rest of the order leaves the book with a venue cancel.
    desk.onClosed(second);
    await send(taker, { type: "log_checkpoint" }); // queued behind the cancel
    expect(desk.size).toBe(4);
    expect(desk.books.isResting(0n)).toBe(false);
  });

  it("refuses orders and cancels while the node's view of the chain is stale (COMPLIANCE_UNKNOWN), changing nothing", async () => {
    const session = new RecordingSession(alice.address);
    const signed = signOrder(order(), DOMAIN, alice);
    await send(session, { type: "order", signed: signedOrderToJson(signed) });
    chainTime = undefined;
    expect((await place(session, order({ nonce: 2n }))).code).toBe("COMPLIANCE_UNKNOWN");
    expect(desk.size).toBe(1);
    expect(() => desk.reservedOf(alice.address, MARKET.cash)).toThrow(expect.objectContaining({ code: "COMPLIANCE_UNKNOWN" }));
    chainTime = NOW;
    expect((await place(session, order({ nonce: 2n }))).type).toBe("order_accepted");
  });

  it("restores the log after a reopen: same root, nonces spent", async () => {
    const session = new RecordingSession(alice.address);
    await place(session, order({ side: "sell", quantity: 2_000n }));
    await place(session, order({ nonce: 2n, quantity: 1_000n }));
    const root = desk.root;
    await log.close();
    desk = await open();
    expect(desk.size).toBe(3);
    expect(desk.root).toBe(root);
    expect((await place(session, order({ nonce: 2n }))).code).toBe("STALE_NONCE");
  });

  it("signs the matching mode it runs with in every checkpoint: a built-in log reopened with an external engine announces external", async () => {
    const session = new RecordingSession(alice.address);
    await place(session, order({ side: "sell" }));
    const checkpointOf = async () => (await send(session, { type: "log_checkpoint" })) as Extract<NodeMessage, { type: "log_checkpoint" }>;
    expect((await checkpointOf()).checkpoint.matching).toBe("builtIn");
    await log.close();
    desk = await open("external");
    const external = await checkpointOf();
    expect(external.checkpoint).toMatchObject({ size: "1", matching: "external" });
    const signed = { checkpoint: { size: 1n, root: external.checkpoint.root, time: NOW, matching: "external" as const }, signature: external.signature };
    verifyCheckpoint(signed, DOMAIN, nobleVerifier, venue.address);
    expect(() => verifyCheckpoint({ ...signed, checkpoint: { ...signed.checkpoint, matching: "builtIn" } }, DOMAIN, nobleVerifier, venue.address)).toThrow(/not signed by the venue/);
  });
});
