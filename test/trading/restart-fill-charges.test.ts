// An investor's client settles fills of orders it placed before a restart (client/sdk/fill-settlement.ts):
// the real desk and its LevelDB log, the SDK's TradingClient on a real LevelStore that is closed and
// reopened between placing and the match. The order is recognised in the log by the investor's own
// signature; what lock pairs took of it is kept in the store, so a fill charged before the restart,
// or more than the order's quantity, is refused after it.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isProtocolError, nobleVerifier, type Lock, type NobleSigner } from "../../client/protocol/index.js";
import { parseClientMessage, type NodeMessage, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { notionalOf, orderHashOf } from "../../client/protocol/trading/order.js";
import { ChargeBook, approveFillLocks, type FillApprover } from "../../client/sdk/fill-settlement.js";
import { TradingClient } from "../../client/sdk/trading.js";
import { LevelStore } from "../../client/store/level-store.js";
import { TradingDesk } from "../../channel-node/src/trading/desk.js";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import type { Session } from "../../channel-node/src/transport.js";
import { DOMAIN, MARKET, NOW, alice, bob, venue } from "./fixtures.js";
import { deskOptions } from "./desk-options.js";

const ASSETS = [MARKET.security, MARKET.cash];
const HASHLOCK = `0x${"5e".repeat(32)}`;
const LOT = MARKET.lotSize;
const PRICE = 100n;

/** The venue's pair in the seller's channel for `quantity` at PRICE: the security from the investor, the cash to it. */
const sellerPair = (quantity: bigint): readonly [Lock, Lock] => [
  { assetIndex: 0, sender: 1, amount: quantity, hashlock: HASHLOCK, expiry: NOW + 3_600n },
  { assetIndex: 1, sender: 0, amount: notionalOf(quantity, PRICE, LOT), hashlock: HASHLOCK, expiry: NOW + 3_600n },
];

describe("fills of orders placed before the client restarted (real desk, real LevelStore)", () => {
  let dir: string;
  let log: LevelOrderLog;
  let desk: TradingDesk;
  let store: LevelStore;
  let n = 0;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-restart-fills-"));
    log = await LevelOrderLog.open(join(dir, "orders"));
    desk = await TradingDesk.open(deskOptions(log));
    store = await LevelStore.open(join(dir, "alice"));
  });
  afterEach(async () => {
    await store.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A TradingClient of `signer` over the desk; `approvers` collects what it registers, its charges kept in `charges`' store. */
  function client(signer: NobleSigner, approvers: FillApprover[], charges?: LevelStore): TradingClient {
    return new TradingClient(
      {
        signer,
        verifier: nobleVerifier,
        venue: () => venue.address,
        newId: () => `r${++n}`,
        approveFills: (approver) => void approvers.push(approver),
        ...(charges === undefined ? {} : { chargeBook: (anchor) => new ChargeBook(anchor, charges) }),
        async request(message) {
          const sent: NodeMessage[] = [];
          const session: Session = { id: signer === alice ? 1 : 2, address: signer.address, send: (m) => void sent.push(m), close: () => undefined };
          await desk.onMessage(session, parseClientMessage(JSON.stringify(message)) as never);
          return JSON.parse(JSON.stringify(sent[0])) as NodeMessageParsed;
        },
      },
      DOMAIN,
    );
  }

  /** Alice's client as after a restart: the store reopened, a new TradingClient that placed nothing. */
  async function restartedAlice(): Promise<FillApprover[]> {
    await store.close();
    store = await LevelStore.open(join(dir, "alice"));
    const approvers: FillApprover[] = [];
    client(alice, approvers, store);
    return approvers;
  }

  const refusal = async (run: Promise<unknown>): Promise<string> => {
    try {
      await run;
    } catch (error) {
      return isProtocolError(error) ? `${error.code} ${error.message}` : `not a refusal: ${(error as Error).message}`;
    }
    return "approved";
  };

  const sell = { ...MARKET, side: "sell" as const, quantity: 2n * LOT, price: PRICE, timeInForce: "GTC" as const };
  const buy = { ...MARKET, side: "buy" as const, quantity: LOT, price: PRICE, timeInForce: "IOC" as const };

  it("approves the pair of a fill of an order placed before the restart; a fill charged before a restart stays charged", async () => {
    await client(alice, [], store).placeOrder(sell);
    const afterRestart = await restartedAlice();
    const first = await client(bob, []).placeOrder(buy);
    const fill = BigInt(first.fills[0]!.sequence);
    expect(await refusal(approveFillLocks(afterRestart, ASSETS, sellerPair(LOT), fill))).toBe("approved");
    // A second pair for the same fill: refused now, and after another restart (the charge is on disk).
    expect(await refusal(approveFillLocks(afterRestart, ASSETS, sellerPair(LOT), fill))).toMatch(/^INVALID_UPDATE FILL_CHARGED/);
    const again = await restartedAlice();
    expect(await refusal(approveFillLocks(again, ASSETS, sellerPair(LOT), fill))).toMatch(/^INVALID_UPDATE FILL_CHARGED/);
    // The rest of the order is still Alice's to settle.
    const second = await client(bob, []).placeOrder(buy);
    expect(await refusal(approveFillLocks(again, ASSETS, sellerPair(LOT), BigInt(second.fills[0]!.sequence)))).toBe("approved");
  });

  it("counts what pairs took of the order before the restart: a pair beyond what is left is refused (FILL_MISMATCH)", async () => {
    const placed = await client(alice, [], store).placeOrder(sell);
    // Before the restart a pair took one lot of the order (a fill the venue named, here 1,000).
    await store.fillCharged({ log: DOMAIN.verifyingContract, fill: 1_000n, orderHash: orderHashOf(placed.signed.order, DOMAIN), quantity: LOT });
    const afterRestart = await restartedAlice();
    const whole = await client(bob, []).placeOrder({ ...buy, quantity: 2n * LOT });
    expect(await refusal(approveFillLocks(afterRestart, ASSETS, sellerPair(2n * LOT), BigInt(whole.fills[0]!.sequence)))).toMatch(/^INVALID_UPDATE FILL_MISMATCH.*beyond what is left/);
  });

  it("refuses a pair naming a fill of an order the investor never signed (another investor's), after a restart too", async () => {
    await client(bob, []).placeOrder(sell);
    const afterRestart = await restartedAlice();
    const taken = await client(bob, []).placeOrder(buy); // Bob's own self-trade: no order of Alice's
    const fill = BigInt(taken.fills[0]!.sequence);
    expect(await afterRestart[0]!.approve(ASSETS, sellerPair(LOT), fill)).toBe(false);
    expect(await refusal(approveFillLocks(afterRestart, ASSETS, sellerPair(LOT), fill))).toMatch(/^INVALID_UPDATE .*of no order we signed/);
    expect(await store.fillCharges(DOMAIN.verifyingContract)).toEqual([]);
  });
});
