// A venue that breaks price–time priority, caught by the audit, with real processes: a Hardhat
// chain, the node as a child process — first with its built-in book, then restarted on the same log
// with `matching: "external"` —, two investors' SDK clients, a matching engine written with the SDK
// helper (client/sdk/matching-engine.ts) over the engine's WebSocket, and `clearline receipts audit`
// as a child process. The venue signs its matching mode in every checkpoint and the audit follows
// it without being told; `--matching` naming another mode is MATCHING_MISMATCH. The node checks
// each fill against the orders' terms, not priority: an honest engine's log audits clean; a cheating
// engine's fill of a later, worse-priced sell while an earlier one rests is accepted, and the audit
// reports exactly that violation.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectMatchingEngine, openClient, type EngineEntry, type MatchingEngine, type OpenedClient, type TradingClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { freePort } from "../../devstack/local-chain.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { EXIT_WITH_PARENT } from "../helpers/child-processes.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const LOT = SECURITY_UNIT;
const price = (units: bigint): bigint => units * CASH_UNIT;

interface Resting {
  readonly sequence: bigint;
  readonly side: "buy" | "sell";
  readonly price: bigint;
  remaining: bigint;
}

/**
 * A matching engine in a few lines: the log up to its size at connect is history (orders rest,
 * fills reduce them); each later order is filled against the crossing orders of the other side at
 * their price — honest: best price, then earliest first; cheating: the latest crossing order first,
 * whatever rests before it.
 */
async function startEngine(url: string, token: string, from: bigint, cheat: boolean): Promise<{ engine: MatchingEngine; idle: () => Promise<void> }> {
  const book = new Map<bigint, Resting>();
  const ownFills = new Set<bigint>();
  let work = Promise.resolve();
  const reduce = (sequence: bigint, quantity: bigint): void => {
    const order = book.get(sequence);
    if (order !== undefined && (order.remaining -= quantity) === 0n) book.delete(sequence);
  };
  const onEntry = (entry: EngineEntry): void => {
    work = work.then(async () => {
      if (entry.kind === "cancel" || entry.kind === "venueCancel") book.delete(entry.target);
      if (entry.kind === "fill" && !ownFills.has(entry.sequence)) {
        reduce(entry.makerSequence, entry.quantity);
        reduce(entry.takerSequence, entry.quantity);
      }
      if (entry.kind !== "order") return;
      const taker: Resting = { sequence: entry.sequence, side: entry.side, price: entry.price, remaining: entry.quantity };
      if (entry.sequence < engine.logSize) {
        book.set(taker.sequence, taker);
        return;
      }
      const crossing = [...book.values()]
        .filter((o) => o.side !== taker.side && (taker.side === "buy" ? o.price <= taker.price : o.price >= taker.price))
        .sort((a, b) => (cheat ? Number(b.sequence - a.sequence) : a.price !== b.price ? Number(taker.side === "buy" ? a.price - b.price : b.price - a.price) : Number(a.sequence - b.sequence)));
      for (const maker of crossing) {
        if (taker.remaining === 0n) break;
        const quantity = maker.remaining < taker.remaining ? maker.remaining : taker.remaining;
        const result = await engine.submitFill({ makerSequence: maker.sequence, takerSequence: taker.sequence, quantity, price: maker.price });
        if (!result.accepted) throw new Error(`fill refused: ${result.code} ${result.message}`);
        ownFills.add(result.sequence);
        reduce(maker.sequence, quantity);
        taker.remaining -= quantity;
      }
      if (taker.remaining > 0n) book.set(taker.sequence, taker);
    });
  };
  const engine = await connectMatchingEngine({ url, token, from, onEntry });
  return { engine, idle: () => work };
}

describe("a venue violating price–time priority is caught by the audit (external engine, real processes)", () => {
  let stack: Stack;
  let dir: string;
  let node: NodeProcess;
  let engineUrl: string;
  let deploymentFile: string;
  let alice: TradingClient;
  let bob: TradingClient;
  const clients: OpenedClient[] = [];
  const engines: MatchingEngine[] = [];

  const market = () => ({ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT });
  const engineToken = () => readFileSync(join(dir, "node", "engine-token"), "utf8").trim();
  const logSize = async () => (await alice.checkpoint()).checkpoint.size;

  /** `clearline --json receipts audit`: its exit code and JSON (the audit, or `{error}`). */
  function audit(...extra: string[]): Promise<{ exit: number | null; result: { violations: Record<string, string | null>[]; size: string; matching: string; error?: { code: string; message: string } } }> {
    const child = spawn(process.execPath, [...EXIT_WITH_PARENT, "--import", "tsx", "client/cli/clearline.ts", "--deployment", deploymentFile, "--data-dir", join(dir, "auditor"), "--json", "receipts", "audit", ...extra], {
      cwd: REPO,
      env: { ...process.env, CLEARLINE_KEY: devWallet(ROLES.carol).privateKey },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (exit) => {
        try {
          resolve({ exit, result: JSON.parse(stdout) as { violations: Record<string, string | null>[]; size: string; matching: string; error?: { code: string; message: string } } });
        } catch {
          reject(new Error(`clearline receipts audit printed no JSON (exit ${exit}): ${stdout} ${stderr}`));
        }
      });
    });
  }

  /** The investor's client connected to the node; with `deposit`, it first opens its channel. */
  async function investor(role: number, deposit?: { assetIndex: number; amount: bigint }): Promise<TradingClient> {
    const opened = await openClient({ nodeUrl: node.url, privateKey: devWallet(role).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "client"), responseTimeoutMs: 10_000 });
    clients.push(opened);
    await opened.client.connect();
    if (deposit !== undefined) await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit });
    return opened.client.trading(stack.addresses.orderLogAnchor);
  }

  /** The node on its data dir: the built-in book, or an external engine on `enginePort`. */
  async function startNode(port: number, enginePort?: number): Promise<NodeProcess> {
    const matching = enginePort === undefined ? {} : { matching: "external" as const, engine: { host: "127.0.0.1", port: enginePort, maxMessageBytes: 16_384, fillRate: { perSecond: 100, burst: 100 }, heartbeatMs: 5_000, maxBufferedBytes: 1_048_576 } };
    return startNodeProcess(
      stack.nodeConfig({
        dataDir: join(dir, "node"),
        port,
        trading: {
          orderLogAnchor: stack.addresses.orderLogAnchor,
          markets: [{ security: stack.addresses.token, cash: stack.addresses.cash, lotSize: LOT.toString() }],
          maxRestingOrdersPerInvestor: 10,
          orderRate: { perSecond: 1_000, burst: 1_000 },
          maxOrdersPerBook: 1_000,
          cancelOnDisconnect: false,
          anchorIntervalMs: 0,
          settlement: { lockSeconds: 3_600, timeoutMs: 20_000, intervalMs: 200 },
          ...matching,
        },
      }),
      dir,
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-priority-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob, securities: 0n }, { index: ROLES.carol }] });
    node = await startNode(0);
    deploymentFile = join(dir, "deployment.json");
    writeFileSync(deploymentFile, JSON.stringify({ rpcUrl: stack.chain.url, chainId: stack.chainId.toString(), contracts: stack.addresses, nodeUrl: node.url }));
    alice = await investor(ROLES.alice, { assetIndex: 0, amount: 10n * SECURITY_UNIT });
    bob = await investor(ROLES.bob, { assetIndex: 1, amount: price(1_000n) });
  }, 240_000);

  afterAll(async () => {
    for (const engine of engines.splice(0)) await engine.close();
    for (const client of clients.splice(0)) await client.close();
    await node?.stop();
    await stack?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("a built-in book's log: the checkpoint says builtIn, the audit follows it without --matching and refuses --matching external", async () => {
    const sell = await alice.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(100n), timeInForce: "GTC" });
    const buy = await bob.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(100n), timeInForce: "GTC" });
    expect(buy.fills.map((f) => [f.makerSequence, f.takerSequence])).toEqual([[sell.receipt.receipt.sequence.toString(), buy.receipt.receipt.sequence.toString()]]);
    expect((await alice.checkpoint()).checkpoint).toMatchObject({ size: 3n, matching: "builtIn" });
    const clean = await audit();
    expect(clean.result).toMatchObject({ matching: "builtIn", size: "3", violations: [] });
    expect(clean.exit).toBe(0);
    expect(await audit("--matching", "builtIn")).toMatchObject({ exit: 0, result: { matching: "builtIn" } });
    const mismatch = await audit("--matching", "external");
    expect(mismatch.exit).toBe(1);
    expect(mismatch.result.error).toMatchObject({ code: "MATCHING_MISMATCH" });
    expect(mismatch.result.error?.message).toMatch(/--matching external, but the venue signed in its checkpoint that it matches with its built-in book/);
  });

  it("restarted with an external engine: an honest engine's log has no violation; a cheating engine's fill of a later, worse sell while an earlier one rests is accepted by the node and reported by the audit, which follows the signed mode", async () => {
    // The same log, now matched by an engine: the venue announces it in its checkpoints.
    for (const client of clients.splice(0)) await client.close();
    await node.stop();
    const enginePort = await freePort();
    engineUrl = `ws://127.0.0.1:${enginePort}`;
    node = await startNode(node.port, enginePort);
    alice = await investor(ROLES.alice);
    bob = await investor(ROLES.bob);
    expect((await alice.checkpoint()).checkpoint).toMatchObject({ size: 3n, matching: "external" });

    // Honest: two sells at 100, a buy at 100 takes the earlier one.
    const honest = await startEngine(engineUrl, engineToken(), 0n, false);
    engines.push(honest.engine);
    const a = await alice.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(100n), timeInForce: "GTC" });
    const b = await alice.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(100n), timeInForce: "GTC" });
    const c = await bob.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(100n), timeInForce: "GTC" });
    await eventually(logSize, (size) => size === 7n, 10_000);
    await honest.idle();
    const [honestFill] = await alice.logEntries(6n, 1);
    expect(honestFill?.[0]).toBe(0x03);
    const clean = await audit();
    expect(clean.result).toMatchObject({ matching: "external", violations: [] });
    expect(clean.exit).toBe(0);
    await honest.engine.close();
    engines.splice(0);

    // Cheating, from where the honest engine stopped: a later sell at a worse price (101) while B
    // (100, earlier) rests; a buy at 101 crosses both and the engine fills the later one.
    const cheat = await startEngine(engineUrl, engineToken(), 0n, true);
    engines.push(cheat.engine);
    const d = await alice.placeOrder({ ...market(), side: "sell", quantity: LOT, price: price(101n), timeInForce: "GTC" });
    const e = await bob.placeOrder({ ...market(), side: "buy", quantity: LOT, price: price(101n), timeInForce: "GTC" });
    // The node checked limits and quantities, not priority: the fill is logged.
    await eventually(logSize, (size) => size === 10n, 10_000);
    await cheat.idle();
    const mine = await bob.myTrading();
    expect(mine.fills.map((f) => [f.makerSequence, f.takerSequence, f.price])).toEqual([
      ["0", "1", price(100n).toString()],
      [a.receipt.receipt.sequence.toString(), c.receipt.receipt.sequence.toString(), price(100n).toString()],
      [d.receipt.receipt.sequence.toString(), e.receipt.receipt.sequence.toString(), price(101n).toString()],
    ]);

    // No flag: the audit takes the mode the venue signed and finds the violation.
    const caught = await audit();
    expect(caught.exit).toBe(1);
    expect(caught.result.matching).toBe("external");
    expect(caught.result.violations.map((v) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, x === null ? null : String(x)])))).toEqual([
      { kind: "priority", sequence: "9", takerSequence: e.receipt.receipt.sequence.toString(), makerSequence: d.receipt.receipt.sequence.toString(), overtakenSequence: b.receipt.receipt.sequence.toString() },
    ]);
    expect(caught.result.size).toBe("10");
    expect(await audit("--matching", "external")).toMatchObject({ exit: 1, result: { matching: "external", size: "10" } });
    // An auditor who expects the built-in book is told the venue says otherwise, not given a silent pass.
    const mismatch = await audit("--matching", "builtIn");
    expect(mismatch.exit).toBe(1);
    expect(mismatch.result.error).toMatchObject({ code: "MATCHING_MISMATCH" });
  });
});
