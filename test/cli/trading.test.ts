// `clearline order …` and `clearline receipts verify` as a person runs them: each command is a child
// process against a real stack (Hardhat's node, the deployed system incl. the venue's OrderLogAnchor)
// and the venue's node with trading on, on free 127.0.0.1 ports. Bob trades through the SDK over a
// connection that stays open (his orders rest); each CLI process disconnects when it ends, so the
// venue cancels what it left resting.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, devWallet, ROLES, SECURITY_UNIT, CASH_UNIT, type Stack } from "../../devstack/stack.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { openClient, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { eventually } from "../helpers/node-process.js";
import { ChildProcesses, type ProcessRun } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const CLI = "client/cli/clearline.ts";
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);

let stack: Stack;
let node: RunningNode | undefined;
let dir: string;
let deploymentFile: string;
let bobClient: OpenedClient | undefined;
let bobTrading: TradingClient;
const children = new ChildProcesses();

function cli(key: string, ...args: string[]): Promise<ProcessRun> {
  return children.run(process.execPath, ["--import", "tsx", CLI, "--deployment", deploymentFile, "--data-dir", join(dir, "clients"), ...args], {
    cwd: REPO,
    env: { ...process.env, CLEARLINE_KEY: key },
  });
}

async function okJson<T = Record<string, unknown>>(...args: string[]): Promise<T> {
  const run = await cli(alice.privateKey, "--json", ...args);
  if (run.code !== 0) throw new Error(`clearline ${args.join(" ")} exited with ${run.code}\nstdout: ${run.stdout}\nstderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}

/** A command that must fail: its exit code and the JSON error's code. */
async function failure(...args: string[]): Promise<{ exit: number | null; code: string; reason?: string }> {
  const run = await cli(alice.privateKey, "--json", ...args);
  const { error } = JSON.parse(run.stdout) as { error: { code: string; reason?: string } };
  return { exit: run.code, code: error.code, ...(error.reason === undefined ? {} : { reason: error.reason }) };
}

const logSize = async (): Promise<bigint> => (await bobTrading.checkpoint()).checkpoint.size;

interface Placed {
  orderHash: string;
  receipt: { sequence: string; logSize: string; file: string };
  fills: { quantity: { quantityUnits: string }; price: { priceUnits: string }; state: string }[];
  resting: { restingUnits: string };
  cancelledOnDisconnect: boolean;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "clearline-cli-trading-"));
  stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob, securities: 0n }] });
  const market = { security: stack.addresses.token, cash: stack.addresses.cash, lotSize: SECURITY_UNIT.toString() };
  node = await startNode(
    stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "silent", trading: {
        orderLogAnchor: stack.addresses.orderLogAnchor,
        markets: [market],
        maxRestingOrdersPerInvestor: 10,
        orderRate: { perSecond: 1_000, burst: 1_000 },
        maxOrdersPerBook: 1_000,
        cancelOnDisconnect: true,
        anchorIntervalMs: 0,
        settlement: { lockSeconds: 3_600, timeoutMs: 20_000, intervalMs: 200 },
      },
    }),
  );
  deploymentFile = join(dir, "deployment.json");
  writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: stack.chain.url, chainId: stack.chainId.toString(), contracts: stack.addresses, nodeUrl: node.url }));

  bobClient = await openClient({ nodeUrl: node.url, privateKey: bob.privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "bob") });
  await bobClient.client.connect();
  await bobClient.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: 1, amount: 1_000n * CASH_UNIT } });
  bobTrading = bobClient.client.trading(stack.addresses.orderLogAnchor);
  await okJson("open", "--asset", "security", "--amount", "10");
}, 240_000);

afterAll(async () => {
  children.killAll();
  await bobClient?.close();
  await node?.stop();
  await stack?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("clearline order / receipts (trading from the investor's CLI)", () => {
  let firstSell: Placed;

  it("places an order, says it rests until the command disconnects, and the venue cancels it then", async () => {
    const human = await cli(alice.privateKey, "order", "place", "--side", "sell", "--quantity", "2", "--price", "101.5");
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/sell 2 \S+ at 101\.5 \S+ per 1 \S+ \(GTC\)/);
    expect(human.stdout).toMatch(/receipt #0 .*inclusion proof checked/);
    expect(human.stdout).toContain("until this command disconnects: the venue cancels a disconnected investor's resting orders");

    firstSell = await okJson<Placed>("order", "place", "--side", "sell", "--quantity", "2", "--price", "101.5", "--client-id", "my order 2");
    expect(firstSell.resting.restingUnits).toBe((2n * SECURITY_UNIT).toString());
    expect(firstSell.cancelledOnDisconnect).toBe(true);
    expect(firstSell.fills).toEqual([]);
    // Both sells were cancelled when their processes disconnected: Bob's buy above them trades nothing.
    const buy = await bobTrading.placeOrder({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: SECURITY_UNIT, side: "buy", quantity: 3n * SECURITY_UNIT, price: 105n * CASH_UNIT, timeInForce: "GTC" });
    expect(buy.fills).toEqual([]);
    expect(buy.resting).toBe(3n * SECURITY_UNIT);
  });

  it("an IOC order trades against a resting order at the maker's price and rests nothing", async () => {
    const taker = await okJson<Placed>("order", "place", "--side", "sell", "--quantity", "1", "--price", "100", "--ioc");
    expect(taker.fills).toEqual([expect.objectContaining({ state: "matched", quantity: expect.objectContaining({ quantityUnits: SECURITY_UNIT.toString() }), price: expect.objectContaining({ priceUnits: (105n * CASH_UNIT).toString() }) })]);
    expect(taker.resting.restingUnits).toBe("0");
    expect(taker.cancelledOnDisconnect).toBe(false);

    // The book: Bob's buy rests with what the IOC sell left of it, best first above his lower bid; nothing is offered.
    await bobTrading.placeOrder({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: SECURITY_UNIT, side: "buy", quantity: SECURITY_UNIT, price: 104n * CASH_UNIT, timeInForce: "GTC" });
    type Depth = { bids: { priceUnits: string; quantity: { quantityUnits: string }; orders: number }[]; asks: unknown[] };
    const level = (price: bigint, quantity: bigint) => expect.objectContaining({ priceUnits: (price * CASH_UNIT).toString(), quantity: expect.objectContaining({ quantityUnits: (quantity * SECURITY_UNIT).toString() }), orders: 1 });
    const book = await okJson<Depth>("book");
    expect(book.asks).toEqual([]);
    expect(book.bids).toEqual([level(105n, 2n), level(104n, 1n)]);
    expect((await okJson<Depth>("book", "--levels", "1")).bids).toEqual([level(105n, 2n)]);
    // Alice's fill as taker; Bob's (through the SDK) as maker, with his orders still resting.
    type Fills = { fills: { sequence: string; side: string; role: string; state: string; quantity: { quantityUnits: string }; price: { priceUnits: string } }[] };
    // The venue holds nothing in the channels, so the fill's settlement failed (VENUE_FUNDS): nothing moved.
    await eventually(async () => (await bobTrading.myTrading()).fills.map((f) => f.state), (states) => states[0] === "failed", 10_000);
    const fill = (side: string, role: string) =>
      expect.objectContaining({ side, role, state: "failed", quantity: expect.objectContaining({ quantityUnits: SECURITY_UNIT.toString() }), price: expect.objectContaining({ priceUnits: (105n * CASH_UNIT).toString() }) });
    expect((await okJson<Fills>("fills")).fills).toEqual([fill("sell", "taker")]);
    expect((await cli(alice.privateKey, "fills")).stdout).toMatch(/^fill #\d+: sold 1 \S+ at 105 \S+ per lot as taker \(settlement failed: nothing moved\)\n$/);
    const bobs = await bobTrading.myTrading();
    expect(bobs.fills).toEqual([expect.objectContaining({ side: "buy", role: "maker", quantity: SECURITY_UNIT.toString() })]);
    expect(bobs.orders.map((o) => [o.price, o.remaining])).toEqual([
      [(105n * CASH_UNIT).toString(), (2n * SECURITY_UNIT).toString()],
      [(104n * CASH_UNIT).toString(), SECURITY_UNIT.toString()],
    ]);
    // Alice's CLI orders were all cancelled when their processes disconnected.
    expect((await okJson<{ orders: unknown[] }>("order", "list")).orders).toEqual([]);
    expect((await cli(alice.privateKey, "order", "list")).stdout).toContain("no resting orders");

    const human = await cli(alice.privateKey, "book");
    expect(human.stdout).toMatch(/asks \(sell orders\), best first:\n {2}none\nbids \(buy orders\), best first:\n {2}105 \S+ per 1 \S+: 2 \S+ \(1 order\)\n {2}104 /);
  });

  it("verifies a stored receipt against the venue's log now, and refuses an altered one", async () => {
    const sequence = firstSell.receipt.sequence;
    const checked = await okJson<{ verified: boolean; receiptLog: { size: string }; checkpoint: { size: string } }>("receipts", "verify", sequence);
    expect(checked.verified).toBe(true);
    expect(checked.receiptLog.size).toBe(firstSell.receipt.logSize);
    expect(BigInt(checked.checkpoint.size)).toBeGreaterThan(BigInt(checked.receiptLog.size));

    const original = JSON.parse(readFileSync(firstSell.receipt.file, "utf8")) as { receipt: { receivedAt: string }; signed: { order: { quantity: string } } };
    const timeAltered = join(dir, "time-altered.json");
    writeFileSync(timeAltered, JSON.stringify({ ...original, receipt: { ...original.receipt, receivedAt: (BigInt(original.receipt.receivedAt) + 1n).toString() } }));
    expect(await failure("receipts", "verify", timeAltered)).toEqual({ exit: 1, code: "BAD_RECEIPT" });
    const orderAltered = join(dir, "order-altered.json");
    writeFileSync(orderAltered, JSON.stringify({ ...original, signed: { ...original.signed, order: { ...original.signed.order, quantity: (3n * SECURITY_UNIT).toString() } } }));
    expect(await failure("receipts", "verify", orderAltered)).toEqual({ exit: 1, code: "NOT_IN_LOG" });
    writeFileSync(join(dir, "garbage.json"), "{}");
    expect(await failure("receipts", "verify", join(dir, "garbage.json"))).toEqual({ exit: 1, code: "BAD_RECEIPT" });
    expect(await failure("receipts", "verify", "999")).toEqual({ exit: 2, code: "UNKNOWN_RECEIPT" });
  });

  it("audits the venue's whole log against its checkpoint: no priority violation", async () => {
    const audit = await okJson<{ size: string; entries: number; violations: unknown[] }>("receipts", "audit");
    expect(BigInt(audit.size)).toBe(await logSize());
    expect(audit.entries).toBe(Number(audit.size));
    expect(audit.violations).toEqual([]);
    expect((await cli(alice.privateKey, "receipts", "audit")).stdout).toContain("no price–time priority violation");
    expect(await failure("receipts", "audit", "--max-entries", "1")).toEqual({ exit: 1, code: "LOG_TOO_LARGE" });

    // The node's bounds on the new requests (through the SDK): pages, the end of the log, a pair without a book.
    const size = await logSize();
    expect(await bobTrading.logEntries(1n, 2)).toHaveLength(2);
    expect(await bobTrading.logEntries(size - 1n)).toHaveLength(1);
    expect(await bobTrading.logEntries(size)).toEqual([]);
    await expect(bobTrading.bookDepth(stack.addresses.cash, stack.addresses.token)).rejects.toMatchObject({ code: "REJECTED", rejection: { code: "WRONG_MARKET" } });
  });

  it("cancels a resting order the investor placed through the SDK (whose session the CLI's replaces)", async () => {
    const other = await openClient({ nodeUrl: node!.url, privateKey: alice.privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "alice-sdk") });
    try {
      await other.client.connect();
      const resting = await other.client.trading(stack.addresses.orderLogAnchor).placeOrder({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: SECURITY_UNIT, side: "sell", quantity: SECURITY_UNIT, price: 200n * CASH_UNIT, timeInForce: "GTC" });
      const cancelled = await okJson<{ orderHash: string; inclusionChecked: boolean }>("order", "cancel", resting.orderHash);
      expect(cancelled).toMatchObject({ orderHash: resting.orderHash, inclusionChecked: false });
      expect(await failure("order", "cancel", resting.orderHash)).toEqual({ exit: 1, code: "REJECTED", reason: "NOT_RESTING" });

      // One session per investor at the venue: the CLI's replaced the SDK's, which is closed.
      expect(other.client.connected).toBe(false);
    } finally {
      await other.close();
    }
  });

  it("bad input is a typed error with exit 2 and logs nothing; a venue's refusal exits 1", async () => {
    const before = await logSize();
    expect(await failure("order", "place", "--side", "hold", "--quantity", "1", "--price", "1")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1.5", "--price", "1")).toEqual({ exit: 2, code: "INVALID_AMOUNT" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1", "--price", "-1")).toEqual({ exit: 2, code: "INVALID_AMOUNT" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1", "--price", "1.0000001")).toEqual({ exit: 2, code: "INVALID_AMOUNT" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1", "--price", "1", "--expiry", "0")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1", "--price", "1", "--ioc", "--expiry", "60")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1", "--price", "1", "--client-id", "x".repeat(32))).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("order", "place", "--side", "sell", "--quantity", "1", "--price", "1", "--anchor", "0x1234")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("order", "place", "--side", "sell", "--price", "1")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("order", "cancel", "0x1234")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("book", "--levels", "0")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("fills", "--limit", "1001")).toEqual({ exit: 2, code: "USAGE" });
    expect(await failure("receipts", "audit", "--max-entries", "x")).toEqual({ exit: 2, code: "USAGE" });
    expect(await logSize()).toBe(before);

    expect(await failure("order", "place", "--side", "sell", "--quantity", "100", "--price", "1")).toEqual({ exit: 1, code: "REJECTED", reason: "INSUFFICIENT_FUNDS" });
    // The venue cancelled the first sell when its process disconnected: nothing rests to cancel.
    expect(await failure("order", "cancel", firstSell.orderHash)).toEqual({ exit: 1, code: "REJECTED", reason: "NOT_RESTING" });
    expect(await logSize()).toBe(before);
  });
});
