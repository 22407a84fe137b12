// The node decides lock-ups and attribute expiries with the chain's time, not the host's
// (channel-node/src/chain-clock.ts), against a real Hardhat node process:
// - the host's clock past an investor's lock-up, the chain's not: the payment is refused (SENDER_LOCKED);
// - the chain advanced 400 days past the lock-up, the host's clock not: the payment is countersigned;
// - the chain advanced past an investor's KYC expiry, the host's clock not: the investor is refused.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { JsonRpcProvider } from "ethers";
import { pino } from "pino";
import { openClient, isClientError, type OpenedClient } from "../../client/sdk/index.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { onboard } from "../../devstack/system.js";
import { ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const DAY = 24n * 3600n;
const SECURITY = 0;

describe("compliance against the chain's time", () => {
  let stack: Stack;
  let provider: JsonRpcProvider;
  let dir: string;
  let lockupEnds: bigint;
  const clients: OpenedClient[] = [];
  const nodes: (RunningNode | NodeProcess)[] = [];

  beforeAll(async () => {
    const hostNow = BigInt(Math.floor(Date.now() / 1000));
    const longLived = { expiresAt: hostNow + 5n * 365n * DAY };
    stack = await startStack({
      investors: [
        { index: ROLES.alice, identity: longLived },
        { index: ROLES.bob, identity: longLived },
        // KYC, AML and the rest valid for 100 days only.
        { index: ROLES.dave, identity: { expiresAt: hostNow + 100n * DAY } },
      ],
    });
    provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
    dir = mkdtempSync(join(tmpdir(), "clearline-chain-time-"));
    const chainNow = BigInt((await provider.getBlock("latest"))!.timestamp);
    // The venue receives the payments: its identity must outlive the 400 days too.
    await onboard(stack.system, devWallet(ROLES.venue).address, chainNow, longLived);
    lockupEnds = chainNow + 30n * DAY;
    for (const investor of [ROLES.alice, ROLES.bob]) {
      await (await stack.system.rules.getFunction("setLockup")(devWallet(investor).address, lockupEnds)).wait();
    }
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) await client.close();
    for (const node of nodes.splice(0)) await node.stop();
  });

  afterAll(async () => {
    provider.destroy();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function investor(nodeUrl: string, role: number): Promise<OpenedClient> {
    const opened = await openClient({
      nodeUrl,
      privateKey: devWallet(role).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, `client-${role}`),
      responseTimeoutMs: 5_000,
    });
    clients.push(opened);
    await opened.client.connect();
    return opened;
  }

  /** Opens a channel holding 10 securities (a deposit into the adjudicator, a custodian, is allowed under a lock-up). */
  async function openWithSecurities(nodeUrl: string, role: number): Promise<(amount: bigint) => Promise<unknown>> {
    const { client } = await investor(nodeUrl, role);
    const channelId = await client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: 10n * SECURITY_UNIT } });
    /** Pays the venue: resolves with the agreed nonce or the error. */
    return (amount) =>
      client.pay(channelId, { assetIndex: SECURITY, amount }).then(
        (state) => ({ accepted: state.state.nonce }),
        (error: unknown) => error,
      );
  }

  const isAccepted = (outcome: unknown): boolean => typeof outcome === "object" && outcome !== null && "accepted" in outcome;

  function expectRefused(outcome: unknown, rule: string): void {
    expect(isClientError(outcome, "REJECTED"), String(outcome)).toBe(true);
    const { rejection } = outcome as { rejection: { code: string; restriction?: { rule: string } } };
    expect(rejection.code).toBe("NON_COMPLIANT");
    expect(rejection.restriction?.rule).toBe(rule);
  }

  it("refuses a payment under a lock-up that the host's clock says is over but the chain's is not", async () => {
    const hostAhead = Number(60n * DAY) * 1000;
    const node = await startNode(stack.nodeConfig({ dataDir: join(dir, "node-host-ahead") }), { logger: pino({ level: "silent" }), hostNowMs: () => Date.now() + hostAhead });
    nodes.push(node);
    expect(BigInt(Math.floor((Date.now() + hostAhead) / 1000))).toBeGreaterThan(lockupEnds);
    const pay = await openWithSecurities(node.url, ROLES.bob);
    expectRefused(await pay(SECURITY_UNIT), "SENDER_LOCKED");
  });

  it("countersigns a payment once the chain, advanced 400 days, is past the lock-up, while the host's clock is not", async () => {
    const node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node-chain-ahead") }), dir);
    nodes.push(node);
    const alicePays = await openWithSecurities(node.url, ROLES.alice);
    const davePays = await openWithSecurities(node.url, ROLES.dave);
    expectRefused(await alicePays(SECURITY_UNIT), "SENDER_LOCKED");
    expect(await davePays(SECURITY_UNIT)).toEqual({ accepted: 1n });

    await provider.send("evm_increaseTime", [Number(400n * DAY)]);
    await provider.send("evm_mine", []);
    expect(BigInt(Math.floor(Date.now() / 1000))).toBeLessThan(lockupEnds);
    // The node reads the chain's time at the new block's notification: a payment racing that read may
    // still be judged at the old time (and refused, changing nothing), so allow it a few seconds.
    expect(await eventually(() => alicePays(SECURITY_UNIT), (outcome) => isAccepted(outcome), 5_000)).toEqual({ accepted: 1n });
    // Dave's KYC expired on the chain's clock (after 100 days), not on the host's: refused (the node
    // has read the new time: it just let Alice's payment through).
    expectRefused(await davePays(SECURITY_UNIT), "SENDER_NOT_ELIGIBLE");
  });
});
