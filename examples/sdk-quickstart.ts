// The investor SDK in one run (docs/sdk.md): open a channel with cash, pay the venue, deposit
// security tokens and sell some to the venue at its price, withdraw cash without closing, see a
// refusal as a typed error, and close cooperatively. test/packaging/pack.test.ts runs this file
// from an installed @clearline/client against a local stack.
//
// Settings come from the environment (`npm start` writes them to .clearline/deployment.json):
//   CLEARLINE_NODE_URL      the venue's node, ws://…
//   CLEARLINE_RPC_URL       the chain's JSON-RPC URL
//   CLEARLINE_ADJUDICATOR   the Adjudicator contract
//   CLEARLINE_SECURITY      the security token (18 decimals in the demo deployment)
//   CLEARLINE_CASH          the cash token (6 decimals in the demo deployment)
//   CLEARLINE_KEY           the investor's private key
//   CLEARLINE_DATA_DIR      where the client keeps its agreed states (default ./clearline-data)
import { isProtocolError, openClient, type ClientEvent } from "@clearline/client";

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`set ${name} (see the top of this file)`);
  return value;
}

const SECURITY = 0; // asset indices in the channel, in the order given to openChannel
const CASH = 1;
const CLS = 10n ** 18n; // one security token in its smallest units
const USD = 10n ** 6n; // one cash token

const events: ClientEvent[] = [];
const { client, close } = await openClient({
  nodeUrl: setting("CLEARLINE_NODE_URL"),
  rpcUrl: setting("CLEARLINE_RPC_URL"),
  adjudicator: setting("CLEARLINE_ADJUDICATOR"),
  privateKey: setting("CLEARLINE_KEY"),
  dataDir: process.env.CLEARLINE_DATA_DIR ?? "clearline-data",
  onEvent: (event) => events.push(event),
  onProgress: (progress) => console.log(`  ${progress.action}: ${progress.stage} ${progress.hash}`),
});

try {
  await client.connect();
  console.log(`investor ${client.address}`);

  // Open: the channel's assets are fixed here; the deposit goes in with the open transaction.
  const channel = await client.openChannel({ assets: [setting("CLEARLINE_SECURITY"), setting("CLEARLINE_CASH")], deposit: { assetIndex: CASH, amount: 1_000n * USD } });
  console.log(`opened ${channel}`);

  // Pay the venue (no `to`): one state update both sides sign, nothing on chain.
  await client.pay(channel, { assetIndex: CASH, amount: 25n * USD, memo: "onboarding fee" });

  // Deposit more into the open channel; resolves once the venue counts it.
  await client.deposit(channel, SECURITY, 1n * CLS);

  // Delivery versus payment with the venue: 0.1 CLS for 10 cash (its price is 100 cash per CLS).
  await client.trade(channel, { give: { assetIndex: SECURITY, amount: CLS / 10n }, get: { assetIndex: CASH, amount: 10n * USD } });

  // Withdraw without closing: agreed off-chain, paid out on chain.
  await client.withdraw(channel, CASH, 100n * USD);

  // A payment the channel cannot fund is refused before anything is signed, with a typed error.
  try {
    await client.pay(channel, { assetIndex: CASH, amount: 1_000_000n * USD });
  } catch (error) {
    if (!isProtocolError(error, "INSUFFICIENT_BALANCE")) throw error;
    console.log(`refused: ${error.code}`);
  }

  for (const balance of await client.balances(channel)) console.log(`balance ${balance.asset}: me ${balance.me}, venue ${balance.venue}`);

  // Cooperative close: a final state both sign, paid out in one transaction.
  const closed = await client.close(channel);
  console.log(`closed in block ${closed.blockNumber}; ${events.filter((e) => e.type === "agreed").length} states agreed`);
} finally {
  await close();
}
