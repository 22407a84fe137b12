// The investor's SDK against a real stack (Hardhat's node as a child process, the deployed system, the
// venue's node on a free 127.0.0.1 port, LevelDB stores): bounded invoices for others' payments, no
// ghost channel after an open that failed on chain, and pruning of opens that never reached it.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hexlify, JsonRpcProvider, Wallet } from "ethers";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { ChainError } from "../../client/chain/errors.js";
import { channelIdOf } from "../../client/protocol/encoding.js";
import type { Address, Bytes32 } from "../../client/protocol/index.js";
import { isClientError, openClient, type ClientEvent, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { RawPeer } from "../helpers/raw-peer.js";
import { eventually } from "../helpers/node-process.js";

const CASH = 1;
const INVOICE_TTL_MS = 3_000;
const MAX_INVOICES = 4;

let stack: Stack;
let node: RunningNode;
let dir: string;
let alice: OpenedClient;
let bob: OpenedClient;
const aliceEvents: ClientEvent[] = [];
const bobEvents: ClientEvent[] = [];
let aliceChannel: Bytes32;
/** Dave's channel: he sends the burst of invoice requests over a raw connection. */
let daveChannel: Bytes32;

async function investor(role: number, events: ClientEvent[], invoices?: { maxPending: number; ttlMs: number }): Promise<OpenedClient> {
  const opened = await openClient({
    nodeUrl: node.url,
    privateKey: devWallet(role).privateKey,
    rpcUrl: stack.chain.url,
    adjudicator: stack.addresses.adjudicator as Address,
    dataDir: join(dir, "clients"),
    responseTimeoutMs: 10_000,
    onEvent: (event) => events.push(event),
    ...(invoices === undefined ? {} : { invoices }),
  });
  await opened.client.connect();
  return opened;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "clearline-sdk-"));
  stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }, { index: ROLES.dave }] });
  node = await startNode(stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "silent" }));
  alice = await investor(ROLES.alice, aliceEvents);
  bob = await investor(ROLES.bob, bobEvents, { maxPending: MAX_INVOICES, ttlMs: INVOICE_TTL_MS });
  const assets = [stack.addresses.token, stack.addresses.cash] as Address[];
  aliceChannel = await alice.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT } });
  const bobChannel = await bob.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 100n * CASH_UNIT } });
  await bob.client.pay(bobChannel, { assetIndex: CASH, amount: 50n * CASH_UNIT }); // the venue's cash to forward to Bob
  const dave = await investor(ROLES.dave, []);
  daveChannel = await dave.client.openChannel({ assets, challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 100n * CASH_UNIT } });
  await dave.close();
}, 180_000);

afterAll(async () => {
  await alice?.close();
  await bob?.close();
  await node?.stop();
  await stack?.stop();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("the receiver's invoices are bounded", () => {
  it("a burst of invoice requests gets at most maxPending invoices, the rest a typed refusal; expired ones are deleted from the store", async () => {
    const { peer } = await RawPeer.login(node.url, devWallet(ROLES.dave).privateKey);
    const request = { v: 1, type: "invoice_request", channelId: daveChannel, to: bob.client.address, token: stack.addresses.cash, amount: "1000000" };
    const answers = await Promise.all(Array.from({ length: 10 }, () => peer.request(request, 15_000)));
    const invoices = answers.filter((a) => a.typed?.type === "invoice");
    const refusals = answers.filter((a) => a.typed?.type === "rejected");
    expect(invoices.length).toBe(MAX_INVOICES);
    expect(refusals.length).toBe(10 - MAX_INVOICES);
    for (const refusal of refusals) {
      expect(refusal.raw).toMatchObject({ code: "TOO_MANY_INVOICES", channelId: daveChannel });
      expect(String(refusal.raw.message)).toContain(`invoices.maxPending ${MAX_INVOICES}`);
    }
    expect(bobEvents.filter((e) => e.type === "invoiceRefused").length).toBe(10 - MAX_INVOICES);
    const issued = invoices.map((a) => a.raw.hashlock as Bytes32);
    expect([...(await bob.store.invoices()).keys()].sort()).toEqual([...issued].sort());
    const secrets = await bob.store.secrets();
    for (const hashlock of issued) expect(secrets.has(hashlock)).toBe(true);

    // The SDK refuses the payer with the same code, and its local invoices too.
    const refused = await alice.client.pay(aliceChannel, { assetIndex: CASH, amount: CASH_UNIT, to: bob.client.address }).catch((error: unknown) => error);
    expect(isClientError(refused, "REJECTED")).toBe(true);
    expect((refused as { rejection?: { code: string } }).rejection?.code).toBe("TOO_MANY_INVOICES");
    const local = await bob.client.createInvoice((await bob.client.channels())[0]!.channelId, { assetIndex: CASH, amount: 1n }).catch((error: unknown) => error);
    expect(isClientError(local, "TOO_MANY_INVOICES")).toBe(true);

    // After the expiry the unpaid invoices are deleted (secrets too) and a payment goes through; its
    // invoice is paid, so its secret stays and it is no longer pending.
    await new Promise((resolve) => setTimeout(resolve, INVOICE_TTL_MS + 200));
    const paid = await alice.client.pay(aliceChannel, { assetIndex: CASH, amount: CASH_UNIT, to: bob.client.address });
    expect(paid.state.locks).toEqual([]);
    expect((await bob.store.invoices()).size).toBe(0);
    const after = await bob.store.secrets();
    for (const hashlock of issued) expect(after.has(hashlock)).toBe(false);
    expect(after.size).toBe(secrets.size - issued.length + 1);
  });
});

describe("opens that never reached the chain leave no ghost", () => {
  it("an open whose transaction reverted is abandoned at once: the store forgets it, the error says why", async () => {
    const before = (await alice.client.channels()).map((r) => r.channelId);
    // More cash than Alice owns: the approval is mined, the open reverts.
    const error = await alice.client
      .openChannel({ assets: [stack.addresses.token, stack.addresses.cash] as Address[], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 10_000_000n * CASH_UNIT } })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChainError);
    expect((error as ChainError).code).toBe("REVERTED");
    expect((await alice.client.channels()).map((r) => r.channelId)).toEqual(before);
    expect(aliceEvents.filter((e) => e.type === "abandoned").length).toBe(1);
    // The channel still works after the failed open.
    await alice.client.pay(aliceChannel, { assetIndex: CASH, amount: 1n });
  });

  it("pruneChannels keeps an open a pending transaction may still mine, or one on chain, and abandons the rest", async () => {
    const assets = [stack.addresses.token, stack.addresses.cash] as Address[];
    const { deployment } = alice.chain;
    const params = (): { participants: readonly [Address, Address]; assets: Address[]; challengePeriod: bigint; salt: string } => ({
      participants: [node.venue, alice.client.address],
      assets,
      challengePeriod: 3_600n,
      salt: hexlify(randomBytes(32)),
    });
    // A crash right after the channel was recorded, before its open was sent …
    const ghost = params();
    const ghostId = channelIdOf(ghost, deployment.chainId, deployment.adjudicator);
    await alice.store.channelCreated({ channelId: ghostId, params: ghost, deployment, me: 1, createdAt: Date.now() });
    // … and one whose open was mined, but whose events the store has not seen yet.
    const mined = params();
    const minedId = channelIdOf(mined, deployment.chainId, deployment.adjudicator);
    await alice.store.channelCreated({ channelId: minedId, params: mined, deployment, me: 1, createdAt: Date.now() });
    await alice.chain.open(mined, 0, 0n);

    const provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
    try {
      // A transaction of Alice's waits in the mempool: it might be the ghost's open.
      await provider.send("evm_setAutomine", [false]);
      const wallet = new Wallet(devWallet(ROLES.alice).privateKey, provider);
      await wallet.sendTransaction({ to: wallet.address, value: 1n });
      const waiting = await alice.client.pruneChannels();
      expect(waiting.abandoned).toEqual([]);
      expect(waiting.kept).toEqual(
        expect.arrayContaining([
          { channelId: ghostId, reason: expect.stringContaining("pending") },
          { channelId: minedId, reason: expect.stringContaining("on chain") },
        ]),
      );
      expect(await alice.store.channel(ghostId)).toBeDefined();
      await provider.send("evm_setAutomine", [true]);
      await provider.send("evm_mine", []);
      await eventually(() => wallet.getNonce("pending").then(async (p) => p === (await wallet.getNonce("latest"))), (done) => done, 10_000);
    } finally {
      await provider.send("evm_setAutomine", [true]).catch(() => undefined);
      provider.destroy();
    }
    const pruned = await alice.client.pruneChannels();
    expect(pruned.abandoned).toEqual([ghostId]);
    expect(pruned.kept).toEqual([{ channelId: minedId, reason: expect.stringContaining("on chain") }]);
    expect(await alice.store.channel(ghostId)).toBeUndefined();
    expect(await alice.store.channel(minedId)).toBeDefined();
  });
});
