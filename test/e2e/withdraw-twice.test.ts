// Repeated withdrawals through the SDK and the node's admin API against a node process and a chain
// process: each withdrawal builds on the last one's state, which both parties take from their stores
// (the adjudicator keeps only its fingerprint; a wrong one is CheckpointMismatch), and the balances
// count what was paid from the same stored state.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, devWallet } from "../../devstack/stack.js";
import { adminPost } from "../helpers/node-process.js";
import { startVenue, type Venue } from "../helpers/venue-fixture.js";

const CASH = 1;

describe("withdrawals one after another, investor and venue", () => {
  let venue: Venue;
  let alice: OpenedClient;
  let channelId: string;

  beforeAll(async () => {
    venue = await startVenue({
      onboard: [{ index: ROLES.alice }],
      node: {},
      investors: [{ role: ROLES.alice, own: [{ assetIndex: CASH, amount: 100n * CASH_UNIT }] }],
    });
    ({ opened: alice, channelId } = venue.investors[0]!);
  });

  afterAll(async () => {
    await venue?.stop();
  });

  const cashOf = async (holder: string): Promise<bigint> => (await venue.stack.system.cash.getFunction("balanceOf")(holder)) as bigint;

  it("the investor withdraws twice, the venue twice, each against the stored checkpoint; the balances count what was paid", async () => {
    await alice.client.pay(channelId, { assetIndex: CASH, amount: 30n * CASH_UNIT });
    const investor = devWallet(ROLES.alice).address;
    const operator = devWallet(ROLES.venue).address;
    const [investorBefore, venueBefore] = await Promise.all([cashOf(investor), cashOf(operator)]);

    await alice.client.withdraw(channelId, CASH, 20n * CASH_UNIT);
    await alice.client.withdraw(channelId, CASH, 15n * CASH_UNIT);
    for (const amount of [10n, 5n]) {
      await adminPost<{ nonce: string }>(venue.node, `/channels/${channelId}/withdraw?asset=${CASH}&amount=${amount * CASH_UNIT}`);
    }
    expect((await cashOf(investor)) - investorBefore).toBe(35n * CASH_UNIT);
    expect((await cashOf(operator)) - venueBefore).toBe(15n * CASH_UNIT);
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
