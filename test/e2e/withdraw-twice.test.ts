// Repeated withdrawals through the SDK and the node's admin API against a node process and a chain
// process: each withdrawal builds on the last one's state, which both parties take from their stores
// (the adjudicator keeps only its fingerprint; a wrong one is CheckpointMismatch), and the balances
// count what was paid from the same stored state.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminPost, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const CASH = 1;

describe("withdrawals one after another, investor and venue", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  let alice: OpenedClient;
  let channelId: `0x${string}`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-withdraw-twice-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node") }), dir);
    alice = await openClient({ nodeUrl: node.url, privateKey: devWallet(ROLES.alice).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "client") });
    await alice.client.connect();
    channelId = (await alice.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], deposit: { assetIndex: CASH, amount: 100n * CASH_UNIT } })) as `0x${string}`;
  });

  afterAll(async () => {
    await alice?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cashOf = async (holder: string): Promise<bigint> => (await stack.system.cash.getFunction("balanceOf")(holder)) as bigint;

  it("the investor withdraws twice, the venue twice, each against the stored checkpoint; the balances count what was paid", async () => {
    await alice.client.pay(channelId, { assetIndex: CASH, amount: 30n * CASH_UNIT });
    const investor = devWallet(ROLES.alice).address;
    const venue = devWallet(ROLES.venue).address;
    const [investorBefore, venueBefore] = await Promise.all([cashOf(investor), cashOf(venue)]);

    await alice.client.withdraw(channelId, CASH, 20n * CASH_UNIT);
    await alice.client.withdraw(channelId, CASH, 15n * CASH_UNIT);
    for (const amount of [10n, 5n]) {
      await adminPost<{ nonce: string }>(node, `/channels/${channelId}/withdraw?asset=${CASH}&amount=${amount * CASH_UNIT}`);
    }
    expect((await cashOf(investor)) - investorBefore).toBe(35n * CASH_UNIT);
    expect((await cashOf(venue)) - venueBefore).toBe(15n * CASH_UNIT);
    expect((await alice.chain.channel(channelId)).nonce).toBe((await alice.store.channel(channelId))!.latest!.state.nonce);

    // Deposits count as available + paid: 100 deposited, of which 35 + 15 were paid out.
    const [, cash] = await alice.client.balances(channelId);
    expect(cash).toMatchObject({ me: 35n * CASH_UNIT, venue: 15n * CASH_UNIT, shortfall: 0n });
    expect(await alice.chain.holdings(channelId, CASH, (await alice.chain.checkpointedState(channelId, 0))!)).toEqual({
      available0: -15n * CASH_UNIT, // deposits minus withdrawals: the venue deposited nothing
      available1: 65n * CASH_UNIT,
      paid0: 15n * CASH_UNIT,
      paid1: 35n * CASH_UNIT,
    });
  });
});
