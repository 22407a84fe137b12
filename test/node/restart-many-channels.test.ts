// A node restarted on a store that holds many channels besides the investors' real ones (filled
// through the store API, as the benchmark does) serves every channel as it was: a channel first
// touched after the restart carries on from its latest agreed state, and a stale state registered
// on chain for a channel nobody touched since the restart is challenged by the node's watchtower.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JsonRpcProvider } from "ethers";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import type { Bytes32 } from "../../client/protocol/index.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { fillNodeStore } from "../../bench/lib/channels.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

interface ChannelSummary {
  channelId: string;
  status: string;
  nonce: string;
  balances: { venue: string; investor: string }[];
}

const CASH = 1;
const FILLER_CHANNELS = 400;

describe("restart on a store of many channels", () => {
  let stack: Stack;
  let dir: string;
  let provider: JsonRpcProvider;
  const nodes: NodeProcess[] = [];
  const clients: OpenedClient[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-restart-many-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }] });
    provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.splice(0)) await node.stop();
    provider.destroy();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function startNode(): Promise<NodeProcess> {
    const node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node") }), dir);
    nodes.push(node);
    return node;
  }

  /** An investor's client; `nodeUrl` undefined: not connected (only its chain adapter is used). */
  async function investor(role: number, nodeUrl?: string): Promise<OpenedClient> {
    const opened = await openClient({
      nodeUrl: nodeUrl ?? "ws://127.0.0.1:1",
      privateKey: devWallet(role).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, `client-${role}`),
      responseTimeoutMs: 5_000,
    });
    clients.push(opened);
    if (nodeUrl !== undefined) await opened.client.connect();
    return opened;
  }

  async function close(opened: OpenedClient): Promise<void> {
    clients.splice(clients.indexOf(opened), 1);
    await opened.close();
  }

  async function openChannel(opened: OpenedClient): Promise<Bytes32> {
    return opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT } });
  }

  it("serves a channel first touched after the restart from its latest state, and challenges a stale close of a channel untouched since", async () => {
    const node = await startNode();
    const alice = await investor(ROLES.alice, node.url);
    const bob = await investor(ROLES.bob, node.url);
    const aliceChannel = await openChannel(alice);
    const bobChannel = await openChannel(bob);
    await alice.client.pay(aliceChannel, { assetIndex: CASH, amount: 10n * CASH_UNIT });
    await alice.client.pay(aliceChannel, { assetIndex: CASH, amount: 20n * CASH_UNIT });
    await bob.client.pay(bobChannel, { assetIndex: CASH, amount: 100n * CASH_UNIT });
    const stale = (await bob.client.history(bobChannel, 1))[0]!.signed;
    await bob.client.pay(bobChannel, { assetIndex: CASH, amount: 200n * CASH_UNIT });
    const bobParams = (await bob.store.channel(bobChannel))!.params;
    const bobLatest = stale.state.nonce + 1n;
    const aliceLatest = (await alice.store.channel(aliceChannel))!.latest!.state.nonce;
    await close(alice);
    await close(bob);
    await node.stop();

    // The same data directory, now with many more channels (not on chain: only loaded at start).
    const genesisHash = (await provider.getBlock(0))!.hash!.toLowerCase() as Bytes32;
    await fillNodeStore({
      dataDir: join(dir, "node"),
      count: FILLER_CHANNELS,
      deployment: { chainId: stack.chainId, adjudicator: stack.addresses.adjudicator },
      genesisHash,
      venueKey: devWallet(ROLES.venue).privateKey,
      assets: [stack.addresses.token, stack.addresses.cash],
      deposit: 1n,
      statesPerChannel: 1,
    });

    const restarted = await startNode();
    const listed = await adminGet<ChannelSummary[]>(restarted, "/channels");
    expect(listed).toHaveLength(FILLER_CHANNELS + 2);
    expect(listed.find((c) => c.channelId === bobChannel)).toMatchObject({ status: "open", nonce: bobLatest.toString() });

    // Bob never reconnects: his stale state registered on chain is challenged with the latest.
    const bobChain = await investor(ROLES.bob);
    await bobChain.chain.forceClose(bobParams, stale);
    await eventually(() => bobChain.chain.channel(bobChannel), (c) => c.nonce === bobLatest, 30_000);

    // Alice's first contact since the restart: the node's state is her latest, and she goes on from it.
    const back = await investor(ROLES.alice, restarted.url);
    expect((await back.client.balances(aliceChannel))[CASH]).toMatchObject({ venue: 30n * CASH_UNIT, me: 970n * CASH_UNIT });
    await back.client.pay(aliceChannel, { assetIndex: CASH, amount: 5n * CASH_UNIT });
    const view = (await adminGet<ChannelSummary[]>(restarted, "/channels")).find((c) => c.channelId === aliceChannel)!;
    expect(view.nonce).toBe((aliceLatest + 1n).toString());
    expect(view.balances[CASH]).toEqual({ venue: (35n * CASH_UNIT).toString(), investor: (965n * CASH_UNIT).toString() });
  }, 240_000);
});
