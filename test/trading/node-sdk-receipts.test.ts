// The SDK's trading client against the real desk (no socket): it returns only what checks out — a
// receipt signed by the venue whose inclusion proof covers the investor's own order — and refuses a
// node that answers with another venue's signature, another entry's receipt or a wrong proof, and a
// log entry that its inclusion proof does not place in the checkpoint.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { nobleVerifier } from "../../client/protocol/index.js";
import { parseClientMessage, type NodeMessage, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { TradingClient } from "../../client/sdk/trading.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import type { Session } from "../../channel-node/src/transport.js";
import { DOMAIN, MARKET, alice, bob, venue } from "./fixtures.js";
import { deskOptions } from "./desk-options.js";

type Tamper = (answer: NodeMessageParsed) => NodeMessageParsed;

describe("TradingClient against the desk", () => {
  let dir: string;
  let log: LevelOrderLog;
  let desk: TradingDesk;
  let tamper: Tamper;
  let n = 0;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-sdk-receipts-"));
    log = await LevelOrderLog.open(join(dir, "orders"));
    tamper = (answer) => answer;
    desk = await TradingDesk.open(deskOptions(log, { cancelOnDisconnect: true }));
  });
  afterEach(async () => {
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function client(): TradingClient {
    return new TradingClient(
      {
        signer: alice,
        verifier: nobleVerifier,
        venue: () => venue.address,
        newId: () => `r${++n}`,
        approveFills: () => undefined,
        async request(message) {
          const sent: NodeMessage[] = [];
          const session: Session = { id: 1, address: alice.address, send: (m) => void sent.push(m), close: () => undefined };
          await desk.onMessage(session, parseClientMessage(JSON.stringify(message)) as never);
          return tamper(JSON.parse(JSON.stringify(sent[0])) as NodeMessageParsed);
        },
      },
      DOMAIN,
    );
  }

  const sell = { ...MARKET, side: "sell" as const, quantity: 2_000n, price: 100n, timeInForce: "GTC" as const };

  it("returns a placed order with its checked receipt, and a checkpoint that the receipt's log extends to", async () => {
    const trading = client();
    const first = await trading.placeOrder(sell);
    const second = await trading.placeOrder({ ...sell, price: 101n });
    expect(second.receipt.receipt.sequence).toBe(1n);
    const checkpoint = await trading.checkpoint();
    expect(await trading.isExtendedBy(first.receipt.receipt.logSize, first.receipt.receipt.logRoot, checkpoint.checkpoint)).toBe(true);
  });

  it("refuses a receipt signed by another key, for another position, or with a proof that does not cover the order", async () => {
    const trading = client();
    await trading.placeOrder(sell);
    const resign = (answer: NodeMessageParsed): NodeMessageParsed =>
      answer.type === "order_accepted" ? { ...answer, signature: bob.sign(`0x${"00".repeat(32)}`) } : answer;
    tamper = resign;
    await expect(trading.placeOrder({ ...sell, price: 102n })).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
    tamper = (answer) => (answer.type === "log_proof" ? { ...answer, proof: [`0x${"ab".repeat(32)}`] } : answer);
    await expect(trading.placeOrder({ ...sell, price: 103n })).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
    tamper = (answer) => (answer.type === "log_checkpoint" ? { ...answer, checkpoint: { ...answer.checkpoint, size: "1" } } : answer);
    await expect(trading.checkpoint()).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
  });

  it("gives a log entry only with its inclusion in the venue's signed checkpoint (what a named fill is checked by)", async () => {
    const trading = client();
    const placed = await trading.placeOrder(sell);
    await trading.placeOrder({ ...sell, price: 101n });
    const { checkpoint } = await trading.checkpoint();
    expect(await trading.provenEntry(0n, checkpoint)).toMatchObject({ kind: "order", sequence: 0n, signed: placed.signed });
    // Another entry's bytes for entry 0, a wrong proof, a root the venue did not sign, an entry beyond the checkpoint.
    const second = (await trading.logEntries(1n, 1))[0]!;
    tamper = (answer) => (answer.type === "log_entries" ? { ...answer, entries: [`0x${Buffer.from(second).toString("hex")}`] } : answer);
    await expect(trading.provenEntry(0n, checkpoint)).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
    tamper = (answer) => (answer.type === "log_proof" ? { ...answer, proof: [`0x${"ab".repeat(32)}`] } : answer);
    await expect(trading.provenEntry(0n, checkpoint)).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
    tamper = (answer) => answer;
    await expect(trading.provenEntry(0n, { ...checkpoint, root: `0x${"cd".repeat(32)}` })).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
    await expect(trading.provenEntry(2n, checkpoint)).rejects.toMatchObject({ code: "NODE_MISBEHAVED" });
  });

  it("passes the venue's refusal on as REJECTED with its code", async () => {
    const trading = client();
    await expect(trading.placeOrder({ ...sell, quantity: 1_500n })).rejects.toMatchObject({ code: "REJECTED", rejection: { code: "INVALID_ORDER" } });
  });
});
