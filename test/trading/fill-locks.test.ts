// What an investor countersigns of a venue's lock pair (client/protocol/trading/fill-locks.ts and
// client/sdk/fill-settlement.ts): only the fill the venue's proposal names, of one of its own orders —
// exactly the fill's legs, within the order's limit and what is left of it — and each fill once.
import { describe, expect, it } from "vitest";
import { getAddress, keccak256 } from "ethers";
import { NobleSigner, isProtocolError, nobleVerifier, stateToJson, type Lock } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, parseClientMessage, parseNodeMessage } from "../../client/protocol/wire.js";
import { chargeOfNamedFill, type PlacedOrder } from "../../client/protocol/trading/fill-locks.js";
import type { FillEntry, LogEntry } from "../../client/protocol/trading/log-entry.js";
import { ordersDomainOf, signOrder, type Order } from "../../client/protocol/trading/order.js";
import type { SignedCheckpoint } from "../../client/protocol/trading/receipt.js";
import { ClientError } from "../../client/sdk/errors.js";
import { ChargeBook, OwnOrders, approveFillLocks, type VenueLog } from "../../client/sdk/fill-settlement.js";
import { MemoryStore } from "../../client/store/memory-store.js";

const SECURITY = getAddress("0x3000000000000000000000000000000000000003");
const CASH = getAddress("0x6000000000000000000000000000000000000006");
const OTHER = getAddress("0x7000000000000000000000000000000000000007");
const ASSETS = [SECURITY, CASH];
const LOT = 10n;
const H = keccak256(`0x${"5e".repeat(32)}`);
const T = 1_700_000_600n;

const order = (overrides: Partial<Order> = {}): Order => ({
  investor: getAddress("0x0b00000000000000000000000000000000000000"),
  security: SECURITY,
  cash: CASH,
  side: "sell",
  quantity: 50n,
  price: 100n,
  lotSize: LOT,
  timeInForce: "GTC",
  expiresAt: 0n,
  clientOrderId: `0x${"00".repeat(32)}`,
  nonce: 1n,
  ...overrides,
});

/** The pair as the venue proposes it to a seller (gives: security) or a buyer (gives: cash). */
function pair(gives: "security" | "cash", quantity: bigint, cash: bigint): readonly [Lock, Lock] {
  const investorSendsSecurity = gives === "security";
  return [
    { assetIndex: 0, sender: investorSendsSecurity ? 1 : 0, amount: quantity, hashlock: H, expiry: T },
    { assetIndex: 1, sender: investorSendsSecurity ? 0 : 1, amount: cash, hashlock: H, expiry: T },
  ];
}

describe("the SDK's own orders (OwnOrders over the venue's log)", () => {
  const DOMAIN = ordersDomainOf(31337n, getAddress("0x0a00000000000000000000000000000000000000"));
  const SIGNATURE = `0x${"11".repeat(65)}`;
  const CHECKPOINT: SignedCheckpoint = { checkpoint: { size: 100n, root: `0x${"00".repeat(32)}`, time: 0n, matching: "builtIn" }, signature: SIGNATURE };
  const me = new NobleSigner(`0x${"b0".repeat(32)}`);
  const other = new NobleSigner(`0x${"c0".repeat(32)}`);

  /** The venue's log as the TradingClient shows it (proofs checked there, e2e): entries by sequence. */
  class Log implements VenueLog {
    readonly domain = DOMAIN;
    readonly entries = new Map<bigint, LogEntry>();
    failure: Error | undefined;
    /** An order entry signed by its investor's key (`signer`), or with a signature that is not its investor's (`forged`). */
    order(sequence: bigint, placed: Order, signer = placed.investor === other.address ? other : me, forged = false): void {
      const signed = signOrder(placed, DOMAIN, signer);
      this.entries.set(sequence, { kind: "order", sequence, receivedAt: 1n, signed: forged ? { ...signed, signature: signOrder(placed, DOMAIN, other).signature } : signed });
    }
    fill(sequence: bigint, makerSequence: bigint, takerSequence: bigint, quantity: bigint, price: bigint): void {
      this.entries.set(sequence, { kind: "fill", sequence, makerSequence, takerSequence, quantity, price });
    }
    async checkpoint(): Promise<SignedCheckpoint> {
      return CHECKPOINT;
    }
    async provenEntry(sequence: bigint): Promise<LogEntry> {
      if (this.failure !== undefined) throw this.failure;
      const entry = this.entries.get(sequence);
      if (entry === undefined) throw new ClientError("REJECTED", `no entry ${sequence}`);
      return entry;
    }
  }

  const refusal = async (run: Promise<unknown>): Promise<string> => {
    try {
      await run;
    } catch (error) {
      return isProtocolError(error) ? `${error.code} ${error.message}` : `not a refusal: ${(error as Error).message}`;
    }
    return "approved";
  };

  // Ours: a sell of 1 lot from 100 (entry 1) and a sell of 2 lots from 105 (entry 2); another investor's buy (entry 3, 4).
  const cheap = order({ investor: me.address, quantity: 10n, price: 100n, nonce: 1n });
  const dear = order({ investor: me.address, quantity: 20n, price: 105n, nonce: 2n });
  /** Our orders are recognised in the log by our signature: the approver is told of none. */
  const approver = (log: Log, store = new MemoryStore()): OwnOrders => new OwnOrders(log, me.address, nobleVerifier, new ChargeBook(DOMAIN.verifyingContract, store));
  function setUp(): { log: Log; own: OwnOrders } {
    const log = new Log();
    log.order(1n, cheap);
    log.order(2n, dear);
    log.order(3n, order({ investor: other.address, side: "buy", quantity: 30n, price: 110n, nonce: 3n }));
    log.order(4n, order({ investor: other.address, side: "buy", quantity: 30n, price: 110n, nonce: 4n }));
    return { log, own: approver(log) };
  }

  it("charges each pair to the order its fill names, where the tightest limit would refuse the second", async () => {
    const { log, own } = setUp();
    // Our cheap sell as taker at 110 (a price the dear one also takes), then the dear one as maker: 2 lots at 105.
    log.fill(5n, 4n, 1n, 10n, 110n);
    log.fill(6n, 2n, 3n, 20n, 105n);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 110n), 5n))).toBe("approved");
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 20n, 210n), 6n))).toBe("approved");
    // Both orders are used up: a further fill of either is refused.
    log.fill(7n, 2n, 3n, 10n, 105n);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 105n), 7n))).toMatch(/^INVALID_UPDATE FILL_MISMATCH/);
  });

  it("refuses a pair naming no fill, a fill charged before, a pair other than the fill's legs, an entry that is no fill", async () => {
    const { log, own } = setUp();
    log.fill(5n, 1n, 3n, 10n, 100n);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), undefined))).toMatch(/^INVALID_UPDATE .*names no fill/);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 101n), 5n))).toMatch(/^INVALID_UPDATE FILL_MISMATCH/);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), 5n))).toBe("approved");
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), 5n))).toMatch(/^INVALID_UPDATE FILL_CHARGED/);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), 2n))).toMatch(/^INVALID_UPDATE .*is no fill \(order\)/);
    log.fill(8n, 1n, 7n, 10n, 100n); // names entry 7, which does not exist
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), 8n))).toMatch(/^INVALID_UPDATE .*does not check out/);
  });

  it("leaves a fill of others' orders to the other approvers, and refuses it when none takes it", async () => {
    const { log, own } = setUp();
    log.fill(5n, 3n, 4n, 10n, 110n);
    expect(await own.approve(ASSETS, pair("security", 10n, 110n), 5n)).toBe(false);
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 110n), 5n))).toMatch(/^INVALID_UPDATE .*of no order we signed/);
    expect(await approver(log).approve(ASSETS, pair("security", 10n, 110n), 5n)).toBe(false);
  });

  it("refuses a fill of an order in our name that our key did not sign (BAD_SIGNATURE), and counts charges kept in the store", async () => {
    const { log } = setUp();
    log.order(9n, order({ investor: me.address, quantity: 10n, price: 100n, nonce: 9n }), me, true);
    log.fill(10n, 9n, 3n, 10n, 100n);
    expect(await refusal(approveFillLocks([approver(log)], ASSETS, pair("security", 10n, 100n), 10n))).toMatch(/^INVALID_UPDATE BAD_SIGNATURE/);
    // A new approver on the same store (a restarted client) knows the fills charged before.
    const store = new MemoryStore();
    log.fill(5n, 1n, 3n, 10n, 100n);
    expect(await refusal(approveFillLocks([approver(log, store)], ASSETS, pair("security", 10n, 100n), 5n))).toBe("approved");
    expect(await refusal(approveFillLocks([approver(log, store)], ASSETS, pair("security", 10n, 100n), 5n))).toMatch(/^INVALID_UPDATE FILL_CHARGED/);
  });

  it("does not answer when the log cannot be read for a lost connection (the venue offers the pair again)", async () => {
    const { log, own } = setUp();
    log.fill(5n, 1n, 3n, 10n, 100n);
    log.failure = new ClientError("NOT_CONNECTED", "the connection to the node closed");
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), 5n))).toMatch(/^not a refusal/);
    log.failure = undefined;
    expect(await refusal(approveFillLocks([own], ASSETS, pair("security", 10n, 100n), 5n))).toBe("approved");
  });
});

describe("a pair that names its fill (chargeOfNamedFill)", () => {
  // Our sell rests as log entry 4; our buy as entry 9. The fill at 7 is of our sell (maker) and another investor's buy (taker 6).
  const placed: PlacedOrder[] = [
    { sequence: 4n, order: order({ quantity: 50n, price: 100n }), committed: 0n },
    { sequence: 9n, order: order({ side: "buy", quantity: 20n, price: 120n }), committed: 0n },
  ];
  const fill = (overrides: Partial<FillEntry> = {}): FillEntry => ({ kind: "fill", sequence: 7n, makerSequence: 4n, takerSequence: 6n, quantity: 30n, price: 105n, ...overrides });
  const code = (run: () => unknown): string | undefined => {
    try {
      run();
    } catch (error) {
      return (error as { code?: string }).code;
    }
    return undefined;
  };

  it("charges exactly the fill's legs to the order it names, as maker or as taker", () => {
    expect(chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), placed, new Set())).toEqual({ index: 0, quantity: 30n, price: 105n });
    // Our buy as taker of another's sell: we give cash (2 lots at 110) and get the security.
    expect(chargeOfNamedFill(ASSETS, pair("cash", 20n, 220n), fill({ sequence: 10n, makerSequence: 8n, takerSequence: 9n, quantity: 20n, price: 110n }), placed, new Set())).toEqual({ index: 1, quantity: 20n, price: 110n });
  });

  it("refuses a pair naming another investor's fill (UNKNOWN_ORDER), and a self-trade's (FILL_MISMATCH)", () => {
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill({ makerSequence: 3n }), placed, new Set()))).toBe("UNKNOWN_ORDER");
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 20n, 200n), fill({ takerSequence: 9n, quantity: 20n, price: 100n }), placed, new Set()))).toBe("FILL_MISMATCH");
  });

  it("refuses a wrong amount, a wrong direction, another market, a price beyond the limit, more than is left", () => {
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 316n), fill(), placed, new Set()))).toBe("FILL_MISMATCH"); // one unit more cash
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 20n, 210n), fill(), placed, new Set()))).toBe("FILL_MISMATCH"); // another quantity at the same price
    expect(code(() => chargeOfNamedFill(ASSETS, pair("cash", 30n, 315n), fill(), placed, new Set()))).toBe("FILL_MISMATCH"); // a buyer's pair for our sell
    expect(code(() => chargeOfNamedFill([SECURITY, OTHER], pair("security", 30n, 315n), fill(), placed, new Set()))).toBe("FILL_MISMATCH");
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 270n), fill({ price: 90n }), placed, new Set()))).toBe("FILL_MISMATCH"); // below our sell's 100
    const mostlyTaken = [{ ...placed[0]!, committed: 30n }];
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), mostlyTaken, new Set()))).toBe("FILL_MISMATCH"); // 20 left
  });

  it("refuses a second pair for a fill already charged (FILL_CHARGED)", () => {
    expect(code(() => chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), placed, new Set([7n])))).toBe("FILL_CHARGED");
    expect(chargeOfNamedFill(ASSETS, pair("security", 30n, 315n), fill(), placed, new Set([6n])).index).toBe(0);
  });
});

describe("the fill on the wire", () => {
  const state = { channelId: `0x${"ab".repeat(32)}`, nonce: 3n, allocations: ASSETS.map((token) => ({ token, net: 0n, withdrawn0: 0n, withdrawn1: 0n })), locks: [...pair("security", 10n, 100n)], isFinal: false };
  const propose = (extra: object): string => JSON.stringify({ v: PROTOCOL_VERSION, type: "propose", id: "n1", channelId: state.channelId, state: stateToJson(state), signature: `0x${"11".repeat(65)}`, ...extra });

  it("the venue's propose may name a fill by its sequence number; nothing else passes as one", () => {
    expect(parseNodeMessage(propose({ fill: "7" }))).toMatchObject({ type: "propose", fill: "7" });
    expect(parseNodeMessage(propose({}))).not.toHaveProperty("fill");
    for (const fill of ["-1", "07", "0x07", 7, ""]) expect(() => parseNodeMessage(propose({ fill }))).toThrow(/malformed/);
  });

  it("an investor's propose names no fill", () => {
    expect(parseClientMessage(propose({}))).toMatchObject({ type: "propose" });
    expect(() => parseClientMessage(propose({ fill: "7" }))).toThrow(/malformed/);
  });
});
