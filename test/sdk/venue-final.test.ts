// The investor's side of the operator's cooperative close: the venue proposes a final state of the
// latest balances, the investor's SDK countersigns it unasked (client/sdk/venue-proposals.ts) — and
// when the venue does not send it on chain, the investor's own `close` sends that agreed final state
// instead of proposing another (which the core would refuse: FINAL_STATE). Real chain, node and SDK.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";

const alice = devWallet(ROLES.alice);

describe("SDK: a final state the venue proposed", () => {
  let stack: Stack;
  let node: RunningNode;
  let investor: OpenedClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-venue-final-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNode(stack.nodeConfig({ dataDir: join(dir, "node"), logLevel: "silent" }));
    investor = await openClient({ nodeUrl: node.url, privateKey: alice.privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "client") });
    await investor.client.connect();
  });

  afterAll(async () => {
    await investor?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is countersigned unasked; the investor's close then sends it on chain and both are paid out", async () => {
    const channelId = await investor.client.openChannel({ assets: [stack.addresses.cash], deposit: { assetIndex: 0, amount: 50n * CASH_UNIT } });
    await investor.client.pay(channelId, { assetIndex: 0, amount: 10n * CASH_UNIT });
    // The venue's final state, agreed, but the venue sends nothing on chain.
    const agreed = await node.engine.proposeAsVenue(channelId, { kind: "final" });
    expect(agreed.state).toMatchObject({ nonce: 2n, isFinal: true });
    const latest = (await investor.client.channels()).find((c) => c.channelId === channelId)!.latest!;
    expect(latest.state).toEqual(agreed.state);
    expect(latest.signatures.every((s) => s !== null)).toBe(true);

    const before = (await stack.system.cash.getFunction("balanceOf")(alice.address)) as bigint;
    await investor.client.close(channelId);
    expect((await investor.chain.channel(channelId)).phase).toBe("Concluded");
    expect((await stack.system.cash.getFunction("balanceOf")(alice.address)) as bigint).toBe(before + 40n * CASH_UNIT);
  });
});
