// Crashes and disputes with real processes: the node killed mid-stream and restarted, the node killed
// in the middle of a hashlocked routed payment, the node down while an investor registers a stale
// state, and an investor disputing alone when the node is gone.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Contract } from "ethers";
import type { OpenedClient } from "../../client/sdk/index.js";
import { erc20Abi } from "../../client/chain/abi.js";
import { CASH_UNIT, ROLES, devWallet } from "../../devstack/stack.js";
import { adminGet, eventually } from "../helpers/node-process.js";
import { startVenue, type Venue } from "../helpers/venue-fixture.js";

interface ChannelSummary {
  channelId: string;
  status: string;
  nonce: string;
  balances: { venue: string; investor: string }[];
}

const CASH = 1;

describe("recovery with real processes", () => {
  let venue: Venue;

  beforeEach(async () => {
    venue = await startVenue({ onboard: [{ index: ROLES.alice }, { index: ROLES.bob }] });
  });

  afterEach(async () => {
    await venue?.stop();
  });

  const startNode = (port = 0) => venue.startNode({ port });
  const alice = (nodeUrl: string) => venue.connect(ROLES.alice, { nodeUrl });

  async function openAliceChannel(client: OpenedClient, cash = 1_000n * CASH_UNIT): Promise<string> {
    return client.client.openChannel({ assets: [venue.stack.addresses.token, venue.stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: cash } });
  }

  async function cashOf(address: string): Promise<bigint> {
    return (await new Contract(venue.stack.addresses.cash, erc20Abi() as never, venue.provider).getFunction("balanceOf")(address)) as bigint;
  }

  it("loses no agreed state when the node is killed mid-stream; the client resyncs and continues", async () => {
    const first = await startNode();
    const investor = await alice(first.url);
    const channelId = await openAliceChannel(investor);

    // A stream of payments; the node is killed with SIGKILL while they are in flight.
    const agreed: bigint[] = [];
    const failures: string[] = [];
    const stream = (async () => {
      for (let i = 0; i < 400; i++) {
        try {
          const state = await investor.client.pay(channelId, { assetIndex: CASH, amount: 1n });
          agreed.push(state.state.nonce);
        } catch (error) {
          failures.push((error as { code?: string }).code ?? String(error));
          return;
        }
      }
    })();
    await eventually(async () => agreed.length, (n) => n >= 20, 20_000);
    await first.kill();
    await stream;
    expect(failures).toHaveLength(1);
    expect(["NOT_CONNECTED", "TIMEOUT"]).toContain(failures[0]);

    // Same data directory, same port: the client reconnects by itself and resyncs.
    const second = await startNode(first.port);
    await eventually(async () => investor.client.connected, (connected) => connected, 20_000);
    const clientRecord = await eventually(
      () => investor.store.channel(channelId),
      (record) => record?.pending === null,
      10_000,
    );
    const [nodeView] = await adminGet<ChannelSummary[]>(second, "/channels");
    const clientNonce = clientRecord!.latest!.state.nonce;
    // Both sides agree on the latest state: nothing either side believed agreed was lost.
    expect(BigInt(nodeView!.nonce)).toBe(clientNonce);
    expect(clientNonce).toBeGreaterThanOrEqual(agreed.at(-1)!);
    const nodeHistory = await adminGet<{ nonce: string }[]>(second, `/channels/${channelId}/history`);
    const nodeNonces = new Set(nodeHistory.map((entry) => BigInt(entry.nonce)));
    for (const nonce of agreed.filter((n) => n > clientNonce - 100n)) expect(nodeNonces.has(nonce)).toBe(true);

    // And the channel goes on.
    const next = await investor.client.pay(channelId, { assetIndex: CASH, amount: 5n });
    expect(next.state.nonce).toBe(clientNonce + 1n);
    const balances = await investor.client.balances(channelId);
    expect(balances[CASH]!.venue).toBe(clientNonce + 5n);
  });

  it("completes a routed payment when the node is killed between the receiver's claim and the payer's", async () => {
    const first = await startNode();
    const payer = await alice(first.url);
    const receiver = await venue.connect(ROLES.bob, { nodeUrl: first.url });
    const aliceChannel = await openAliceChannel(payer);
    const bobChannel = await receiver.client.openChannel({ assets: [venue.stack.addresses.token, venue.stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 100n * CASH_UNIT } });
    await receiver.client.pay(bobChannel, { assetIndex: CASH, amount: 50n * CASH_UNIT }); // the venue's cash to forward

    // Bob invoices 20 cUSD; Alice locks them to the venue and goes offline, so the venue cannot
    // claim her lock right after Bob claims his.
    const invoice = await receiver.client.createInvoice(bobChannel, { assetIndex: CASH, amount: 20n * CASH_UNIT });
    const locked = await payer.client.payInvoice(aliceChannel, invoice);
    expect(locked.state.locks.map((l) => l.hashlock)).toEqual([invoice.hashlock]);
    await venue.closeClient(payer);
    // Bob's SDK claims the venue's lock with the secret: he is paid.
    await eventually(() => receiver.client.balances(bobChannel), (b) => b[CASH]!.me === 70n * CASH_UNIT, 20_000);

    // The node could not claim Alice's lock yet (she is offline); it dies, and restarts on the same store and port.
    const before = (await adminGet<ChannelSummary[]>(first, "/channels")).find((v) => v.channelId === aliceChannel)!;
    expect(before.balances[CASH]).toEqual({ venue: "0", investor: (980n * CASH_UNIT).toString() });
    await first.kill();
    const second = await startNode(first.port);
    await eventually(async () => receiver.client.connected, (connected) => connected, 20_000);
    const back = await alice(second.url);
    // After Alice's resync the venue claims her lock with the secret it stored before the crash.
    const aliceBalances = await eventually(() => back.client.balances(aliceChannel), (b) => b[CASH]!.venue === 20n * CASH_UNIT, 20_000);
    expect(aliceBalances[CASH]!.me).toBe(980n * CASH_UNIT);
    expect((await back.store.channel(aliceChannel))!.latest!.state.locks).toEqual([]);
    const views = await adminGet<ChannelSummary[]>(second, "/channels");
    const nodeAlice = views.find((v) => v.channelId === aliceChannel)!;
    const nodeBob = views.find((v) => v.channelId === bobChannel)!;
    expect(nodeAlice.balances[CASH]).toEqual({ venue: (20n * CASH_UNIT).toString(), investor: (980n * CASH_UNIT).toString() });
    expect(nodeBob.balances[CASH]).toEqual({ venue: (30n * CASH_UNIT).toString(), investor: (70n * CASH_UNIT).toString() });
    expect((await receiver.client.balances(bobChannel))[CASH]).toMatchObject({ venue: 30n * CASH_UNIT, me: 70n * CASH_UNIT });
  });

  it("a node that was down while a stale state was registered catches up on restart and challenges in time", async () => {
    const node = await startNode();
    const investor = await alice(node.url);
    const channelId = await openAliceChannel(investor);
    await investor.client.pay(channelId, { assetIndex: CASH, amount: 100n * CASH_UNIT });
    const stale = (await investor.client.history(channelId, 1))[0]!.signed;
    await investor.client.pay(channelId, { assetIndex: CASH, amount: 200n * CASH_UNIT });
    const latestNonce = stale.state.nonce + 1n;

    await node.kill();
    const record = (await investor.store.channel(channelId))!;
    await investor.chain.forceClose(record.params, stale);
    await venue.passTime(1_800n); // half the challenge period passes while the node is down

    const restarted = await startNode();
    await eventually(() => investor.chain.channel(channelId), (c) => c.nonce === latestNonce, 30_000);
    const { deadline } = await investor.chain.channel(channelId);
    const venueBefore = await cashOf(devWallet(ROLES.venue).address);
    const aliceBefore = await cashOf(devWallet(ROLES.alice).address);
    await venue.passTime(deadline - (await investor.chain.chainTime()) + 1n);
    await eventually(() => investor.chain.channel(channelId), (c) => c.phase === "Concluded", 30_000);
    expect((await cashOf(devWallet(ROLES.venue).address)) - venueBefore).toBe(300n * CASH_UNIT);
    expect((await cashOf(devWallet(ROLES.alice).address)) - aliceBefore).toBe(700n * CASH_UNIT);
    const [view] = await eventually(() => adminGet<ChannelSummary[]>(restarted, "/channels"), (list) => list[0]?.status === "concluded");
    expect(view!.nonce).toBe(latestNonce.toString());
  });

  it("an investor disputes alone through the client when the node is gone for good, and is paid", async () => {
    const node = await startNode();
    const investor = await alice(node.url);
    const channelId = await openAliceChannel(investor);
    await investor.client.pay(channelId, { assetIndex: CASH, amount: 150n * CASH_UNIT });
    await node.kill();

    const before = await cashOf(devWallet(ROLES.alice).address);
    await investor.client.forceClose(channelId);
    const { deadline, phase } = await investor.chain.channel(channelId);
    expect(phase).toBe("Disputed");
    await venue.passTime(deadline - (await investor.chain.chainTime()) + 1n);
    await investor.client.settle(channelId);
    expect((await cashOf(devWallet(ROLES.alice).address)) - before).toBe(850n * CASH_UNIT);
    expect((await investor.chain.channel(channelId)).phase).toBe("Concluded");
  });

  it("an investor whose venue vanished before signing anything gets its deposit back", async () => {
    const node = await startNode();
    const investor = await alice(node.url);
    const channelId = await openAliceChannel(investor, 400n * CASH_UNIT);
    await node.kill();
    const before = await cashOf(devWallet(ROLES.alice).address);
    await investor.client.forceClose(channelId);
    const { deadline } = await investor.chain.channel(channelId);
    await venue.passTime(deadline - (await investor.chain.chainTime()) + 1n);
    await investor.client.settle(channelId);
    expect((await cashOf(devWallet(ROLES.alice).address)) - before).toBe(400n * CASH_UNIT);
  });
});
