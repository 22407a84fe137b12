// The demo story (`npm run demo`), also run by the end-to-end test against a node process: two
// investors open channels, pay, trade delivery-versus-payment with the venue, trade with each other
// through the venue's order book (a sell and a buy that match, the fill settled in both channels at
// once), a buy from an investor without
// valid KYC is refused naming the rule, a receipt is verified against the venue's log, a transfer to
// that investor is refused with the rule's message, one withdraws without closing, one closes
// cooperatively, the other registers a stale state on chain, the venue's node challenges it, and
// settlement pays everyone exactly what they are owed. Every step checks its outcome.
import { join } from "node:path";
import { Contract, JsonRpcProvider, getAddress } from "ethers";
import { openClient, isClientError, type OpenedClient } from "../client/sdk/index.js";
import type { FillView } from "../client/sdk/trading.js";
import { erc20Abi } from "../client/chain/abi.js";
import type { Address, Bytes32 } from "../client/protocol/index.js";
import { ordersDomainOf } from "../client/protocol/trading/index.js";
import { verifyStoredReceipt } from "../client/cli/receipts.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, type Stack } from "./stack.js";

export interface DemoContext {
  stack: Stack;
  nodeUrl: string;
  /** The venue funds its side of a channel (through the node). */
  venueDeposit(channelId: Bytes32, assetIndex: number, amount: bigint): Promise<void>;
  dataDir: string;
  say(line: string): void;
}

export interface DemoOutcome {
  /** Wallet balance changes over the whole story: [securities, cash] per party. */
  deltas: Record<"alice" | "bob" | "venue", [bigint, bigint]>;
  refusal: { code: number; rule: string; message: string };
  /** Bob's sell and Alice's buy matched at Bob's (the maker's) price; `state` once settled. */
  fill: { quantity: bigint; price: bigint; state: FillView["state"]; buyer: "taker"; seller: "maker" };
  /** What Alice and Bob hold in their channels [securities, cash] once the fill settled. */
  settled: Record<"alice" | "bob", [bigint, bigint]>;
  /** Carol's buy, refused by the venue's order intake. */
  orderRefusal: { reason: string; code: number; rule: string };
  /** Alice's receipt, checked as `clearline receipts verify` does: in the log it names, that log a prefix of the venue's now. */
  verifiedReceipt: { sequence: bigint; receiptLogSize: bigint; checkpointSize: bigint };
  challengedWith: bigint;
}

class DemoFailure extends Error {
  override readonly name = "DemoFailure";
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new DemoFailure(`demo check failed: ${what}`);
}

const SEC = 0;
const CASH = 1;
const fmtSec = (v: bigint) => `${Number(v) / Number(SECURITY_UNIT)} CLS`;
const fmtCash = (v: bigint) => `${Number(v) / Number(CASH_UNIT)} cUSD`;

async function waitUntil(what: string, predicate: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new DemoFailure(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export async function runDemoStory(ctx: DemoContext): Promise<DemoOutcome> {
  const { stack, say } = ctx;
  const { token, cash, adjudicator } = stack.addresses;
  const provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
  const tokens = [new Contract(token, erc20Abi() as never, provider), new Contract(cash, erc20Abi() as never, provider)];
  const accounts = { alice: devWallet(ROLES.alice).address, bob: devWallet(ROLES.bob).address, venue: devWallet(ROLES.venue).address };
  const balancesOf = async (address: string): Promise<[bigint, bigint]> => [
    (await tokens[SEC]!.getFunction("balanceOf")(address)) as bigint,
    (await tokens[CASH]!.getFunction("balanceOf")(address)) as bigint,
  ];
  const start = { alice: await balancesOf(accounts.alice), bob: await balancesOf(accounts.bob), venue: await balancesOf(accounts.venue) };
  const clients: OpenedClient[] = [];
  const client = async (index: number) => {
    const opened = await openClient({
      nodeUrl: ctx.nodeUrl,
      privateKey: devWallet(index).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator,
      dataDir: join(ctx.dataDir, "clients"),
    });
    clients.push(opened);
    await opened.client.connect();
    return opened;
  };

  try {
    say("1. Alice and Bob connect to the venue and open channels (security CLS + cash cUSD).");
    const alice = await client(ROLES.alice);
    const bob = await client(ROLES.bob);
    const aliceChannel = await alice.client.openChannel({ assets: [token, cash], deposit: { assetIndex: CASH, amount: 10_000n * CASH_UNIT } });
    say(`   Alice opened ${aliceChannel.slice(0, 10)}… with 10,000 cUSD; the venue funds it with 100 CLS to sell.`);
    await ctx.venueDeposit(aliceChannel, SEC, 100n * SECURITY_UNIT);
    const bobChannel = await bob.client.openChannel({ assets: [token, cash], deposit: { assetIndex: SEC, amount: 50n * SECURITY_UNIT } });
    await bob.client.deposit(bobChannel, CASH, 1_000n * CASH_UNIT);
    await ctx.venueDeposit(bobChannel, SEC, 100n * SECURITY_UNIT);
    await ctx.venueDeposit(bobChannel, CASH, 500n * CASH_UNIT);
    say(`   Bob opened ${bobChannel.slice(0, 10)}… with 50 CLS and 1,000 cUSD; the venue adds 100 CLS and 500 cUSD.`);
    await waitUntil("the venue's deposits are confirmed", async () => {
      const bobs = await bob.client.balances(bobChannel);
      return (await alice.client.balances(aliceChannel))[SEC]!.venue === 100n * SECURITY_UNIT && bobs[SEC]!.venue === 100n * SECURITY_UNIT && bobs[CASH]!.venue === 500n * CASH_UNIT;
    });

    say("2. Alice pays the venue a 25 cUSD fee: one signed state, no transaction.");
    await alice.client.pay(aliceChannel, { assetIndex: CASH, amount: 25n * CASH_UNIT, memo: "onboarding fee" });

    say("3. Alice buys 10 CLS at 100 cUSD each, delivery versus payment in one state.");
    await alice.client.trade(aliceChannel, { give: { assetIndex: CASH, amount: 1_000n * CASH_UNIT }, get: { assetIndex: SEC, amount: 10n * SECURITY_UNIT } });
    const afterTrade = await alice.client.balances(aliceChannel);
    check(afterTrade[SEC]!.me === 10n * SECURITY_UNIT && afterTrade[CASH]!.me === 8_975n * CASH_UNIT, "Alice holds 10 CLS and 8,975 cUSD after the trade");
    say(`   Alice now holds ${fmtSec(afterTrade[SEC]!.me)} and ${fmtCash(afterTrade[CASH]!.me)} in her channel.`);

    say("4. Bob withdraws 200 cUSD without closing his channel (a co-signed checkpoint on chain).");
    await bob.client.withdraw(bobChannel, CASH, 200n * CASH_UNIT);

    say("5. Alice sends Bob 2 CLS through the venue (compliance checked for Alice → Bob).");
    await alice.client.pay(aliceChannel, { assetIndex: SEC, amount: 2n * SECURITY_UNIT, to: accounts.bob });
    await waitUntil("Bob's channel shows the 2 CLS", async () => (await bob.client.balances(bobChannel))[SEC]!.me === 52n * SECURITY_UNIT);

    say("6. Bob and Alice trade with each other through the venue's order book (lots of 1 CLS).");
    const anchor = getAddress(stack.addresses.orderLogAnchor) as Address;
    const market = { security: token as Address, cash: cash as Address, lotSize: SECURITY_UNIT };
    const bobTrading = bob.client.trading(anchor);
    const aliceTrading = alice.client.trading(anchor);
    const sell = await bobTrading.placeOrder({ ...market, side: "sell", quantity: 3n * SECURITY_UNIT, price: 101n * CASH_UNIT, timeInForce: "GTC" });
    check(sell.fills.length === 0 && sell.resting === 3n * SECURITY_UNIT, "Bob's sell rests on the book");
    say(`   Bob sells 3 CLS at 101 cUSD: receipt #${sell.receipt.receipt.sequence}, resting on the book.`);
    const buy = await aliceTrading.placeOrder({ ...market, side: "buy", quantity: 3n * SECURITY_UNIT, price: 102n * CASH_UNIT, timeInForce: "GTC" });
    const matched = buy.fills[0];
    check(buy.fills.length === 1 && matched !== undefined && BigInt(matched.quantity) === 3n * SECURITY_UNIT && BigInt(matched.price) === 101n * CASH_UNIT, "Alice's buy fills 3 CLS at Bob's 101 cUSD");
    check(matched!.makerSequence === sell.receipt.receipt.sequence.toString() && matched!.takerSequence === buy.receipt.receipt.sequence.toString(), "the fill names Bob's sell as maker and Alice's buy as taker");
    check(buy.resting === 0n, "nothing of Alice's buy rests");
    const bobsView = (await bobTrading.myTrading(10)).fills;
    check(bobsView.length === 1 && bobsView[0]!.side === "sell" && bobsView[0]!.role === "maker" && bobsView[0]!.sequence === matched!.sequence, "Bob sees the fill as the maker of a sale");
    say(`   Alice buys 3 CLS up to 102 cUSD: filled 3 CLS at 101 cUSD, the maker's price (fill #${matched!.sequence}, ${matched!.state}).`);
    // Settlement: one secret, a lock pair in each channel (seller → venue → buyer, cash back), released together.
    const fillState = async (trading: typeof bobTrading) => (await trading.myTrading(10)).fills.find((f) => f.sequence === matched!.sequence)?.state;
    await waitUntil("the fill is settled in both channels", async () => (await fillState(bobTrading)) === "settled" && (await fillState(aliceTrading)) === "settled", 30_000);
    const holding = async (opened: OpenedClient, channelId: Bytes32): Promise<[bigint, bigint]> => {
      const b = await opened.client.balances(channelId);
      return [b[SEC]!.me, b[CASH]!.me];
    };
    const settled = { alice: await holding(alice, aliceChannel), bob: await holding(bob, bobChannel) };
    check(settled.alice[0] === 11n * SECURITY_UNIT && settled.alice[1] === 8_672n * CASH_UNIT, "Alice's channel got 3 CLS for 303 cUSD");
    check(settled.bob[0] === 49n * SECURITY_UNIT && settled.bob[1] === 1_103n * CASH_UNIT, "Bob's channel got 303 cUSD for 3 CLS");
    say(`   Settled in both channels at once: Alice now holds ${fmtSec(settled.alice[0])} and ${fmtCash(settled.alice[1])}, Bob ${fmtSec(settled.bob[0])} and ${fmtCash(settled.bob[1])}.`);
    const fill: DemoOutcome["fill"] = { quantity: BigInt(matched!.quantity), price: BigInt(matched!.price), state: "settled", buyer: "taker", seller: "maker" };

    say("7. Carol, without valid KYC, places a buy: the venue refuses it before it reaches the book.");
    const carol = await client(ROLES.carol);
    let orderRefusal: DemoOutcome["orderRefusal"] | undefined;
    try {
      await carol.client.trading(anchor).placeOrder({ ...market, side: "buy", quantity: 1n * SECURITY_UNIT, price: 101n * CASH_UNIT, timeInForce: "GTC" });
    } catch (error) {
      if (!isClientError(error, "REJECTED") || error.rejection?.restriction === undefined) throw error;
      orderRefusal = { reason: error.rejection.code, code: error.rejection.restriction.code, rule: error.rejection.restriction.rule };
    }
    check(orderRefusal?.code === 0x57, "Carol's buy is refused with ERC-1404 code 0x57");
    say(`   Refused: ${orderRefusal!.reason}, ERC-1404 0x${orderRefusal!.code.toString(16)} ${orderRefusal!.rule}; the book is unchanged.`);

    say("8. Alice verifies her order's receipt against the venue's log (clearline receipts verify).");
    const domain = ordersDomainOf(stack.chainId, anchor);
    const verified = await verifyStoredReceipt({ chainId: stack.chainId, anchor, receipt: buy.receipt, signed: buy.signed }, aliceTrading, domain);
    check(verified.sequence === buy.receipt.receipt.sequence && verified.checkpoint.checkpoint.size >= verified.receiptLog.size, "the receipt is in the venue's log and that log extends it");
    say(`   Receipt #${verified.sequence}: signed by the venue, in its log of ${verified.receiptLog.size} entries, which its signed log of ${verified.checkpoint.checkpoint.size} entries extends.`);
    const verifiedReceipt = { sequence: verified.sequence, receiptLogSize: verified.receiptLog.size, checkpointSize: verified.checkpoint.checkpoint.size };

    say("9. Alice tries to send 1 CLS to Carol, whose KYC is not valid.");
    let refusal: DemoOutcome["refusal"] | undefined;
    try {
      await alice.client.pay(aliceChannel, { assetIndex: SEC, amount: 1n * SECURITY_UNIT, to: devWallet(ROLES.carol).address });
    } catch (error) {
      if (!isClientError(error, "REJECTED") || error.rejection?.restriction === undefined) throw error;
      refusal = { ...error.rejection.restriction };
    }
    check(refusal?.code === 0x57, "the transfer to Carol is refused with ERC-1404 code 0x57");
    say(`   Refused: "${refusal!.message}" (ERC-1404 0x${refusal!.code.toString(16)} ${refusal!.rule}); nothing changed.`);

    say("10. Bob pays the venue 300 cUSD.");
    const stale = (await bob.client.history(bobChannel, 1))[0]!.signed;
    await bob.client.pay(bobChannel, { assetIndex: CASH, amount: 300n * CASH_UNIT });

    say("11. Alice closes her channel cooperatively: one transaction pays both sides at once.");
    await alice.client.close(aliceChannel);

    say(`12. Bob registers a stale state (nonce ${stale.state.nonce}, before his 300 cUSD payment) on chain…`);
    const record = (await bob.store.channel(bobChannel))!;
    await bob.chain.forceClose(record.params, stale);
    const latestNonce = record.latest!.state.nonce;
    await waitUntil("the venue's node challenged with its latest state", async () => (await bob.chain.channel(bobChannel)).nonce === latestNonce);
    say(`   …and the venue's node, its own watchtower, challenged at once with nonce ${latestNonce}.`);

    say("13. The challenge period passes (the chain's clock is moved forward); the node settles.");
    const { deadline } = await bob.chain.channel(bobChannel);
    const now = await bob.chain.chainTime();
    await provider.send("evm_increaseTime", [Number(deadline - now) + 1]);
    await provider.send("evm_mine", []);
    await waitUntil("the node settled Bob's channel", async () => (await bob.chain.channel(bobChannel)).phase === "Concluded");

    const end = { alice: await balancesOf(accounts.alice), bob: await balancesOf(accounts.bob), venue: await balancesOf(accounts.venue) };
    const delta = (who: keyof typeof end): [bigint, bigint] => [end[who][0] - start[who][0], end[who][1] - start[who][1]];
    const deltas = { alice: delta("alice"), bob: delta("bob"), venue: delta("venue") };
    // The venue's trade and fee, the routed 2 CLS, the settled fill (3 CLS for 303 cUSD), Bob's 300 cUSD.
    const expected: DemoOutcome["deltas"] = {
      alice: [11n * SECURITY_UNIT, -1_328n * CASH_UNIT],
      bob: [-1n * SECURITY_UNIT, 3n * CASH_UNIT],
      venue: [-10n * SECURITY_UNIT, 1_325n * CASH_UNIT],
    };
    for (const who of ["alice", "bob", "venue"] as const) {
      check(deltas[who][0] === expected[who][0] && deltas[who][1] === expected[who][1], `${who} is paid exactly what it is owed`);
      say(`   ${who.padEnd(5)}: ${fmtSec(deltas[who][0]).padStart(9)}, ${fmtCash(deltas[who][1]).padStart(14)} in the wallet, as owed.`);
    }
    return { deltas, refusal: refusal!, fill, settled, orderRefusal: orderRefusal!, verifiedReceipt, challengedWith: latestNonce };
  } finally {
    for (const opened of clients) await opened.close();
    provider.destroy();
  }
}
