// A rules replacement with real processes: an investor pays the venue in a security channel; the issuer
// deploys new rules, locks the investor up on them, and only then installs them on the token. The
// running node (no restart, no configuration change) never countersigns a payment after the
// replacement is mined: it refuses COMPLIANCE_UNKNOWN while it backfills the new rules, then
// SENDER_LOCKED — the lock-up set before the replacement — and accepts again once the issuer lifts it
// on the new rules.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract } from "ethers";
import { openClient, isClientError, type OpenedClient } from "../../client/sdk/index.js";
import { ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const SECURITY = 0;

describe("rules replacement at a running node", () => {
  let stack: Stack;
  let node: NodeProcess;
  let opened: OpenedClient;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-rules-e2e-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node") }), dir);
    opened = await openClient({
      nodeUrl: node.url,
      privateKey: devWallet(ROLES.alice).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, "client"),
      responseTimeoutMs: 5_000,
    });
    await opened.client.connect();
  });

  afterAll(async () => {
    await opened?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("enforces the new rules' lock-up set before the replacement, never accepting a payment in between", async () => {
    const alice = devWallet(ROLES.alice).address;
    const channelId = await opened.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: SECURITY, amount: 100n * SECURITY_UNIT } });
    const pay = () =>
      opened.client.pay(channelId, { assetIndex: SECURITY, amount: 1n }).then(
        () => "accepted",
        (error: unknown) => (isClientError(error, "REJECTED") ? `${error.rejection?.code}:${error.rejection?.restriction?.rule ?? ""}` : `error:${String(error)}`),
      );
    expect(await pay()).toBe("accepted");

    const { ethers } = stack.connection;
    const issuer = await ethers.getSigner(devWallet(ROLES.issuer).address);
    const rules = (await ethers.deployContract("TransferRules", [stack.addresses.jurisdiction, issuer.address], issuer)) as unknown as Contract;
    const latest = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    await (await rules.getFunction("setLockup")(alice, latest + 365n * 86_400n)).wait();
    await (await stack.system.token.getFunction("replaceRules")(await rules.getAddress())).wait();

    // From the replacement on: closed while the node backfills, then the lock-up, never accepted.
    const outcomes: string[] = [];
    const deadline = Date.now() + 15_000;
    while (outcomes.at(-1) !== "NON_COMPLIANT:SENDER_LOCKED" && Date.now() < deadline) outcomes.push(await pay());
    expect(outcomes.at(-1)).toBe("NON_COMPLIANT:SENDER_LOCKED");
    expect(outcomes.filter((o) => o !== "COMPLIANCE_UNKNOWN:" && o !== "NON_COMPLIANT:SENDER_LOCKED")).toEqual([]);

    // The new rules are followed live: lifting the lock-up there lets the payment through.
    await (await rules.getFunction("setLockup")(alice, 0n)).wait();
    let outcome = await pay();
    while (outcome !== "accepted" && Date.now() < deadline + 10_000) {
      expect(outcome).toBe("NON_COMPLIANT:SENDER_LOCKED");
      outcome = await pay();
    }
    expect(outcome).toBe("accepted");
  });
});
