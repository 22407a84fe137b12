// A rules replacement with real processes: an investor pays the venue in a security channel; the issuer
// deploys new rules, locks the investor up on them, and only then installs them on the token. Once
// the running node (no restart, no configuration change) has read the replacement's block it never
// countersigns a payment: it refuses COMPLIANCE_UNKNOWN while it backfills the new rules, then
// SENDER_LOCKED — the lock-up set before the replacement — and accepts again once the issuer lifts it
// on the new rules. (Between the block and the node reading it, the node still answers by the block
// before: no node can know a block it has not read; custody release checks the rules on chain.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Contract } from "ethers";
import { isClientError } from "../../client/sdk/index.js";
import { ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { eventually } from "../helpers/node-process.js";
import { startVenue, type Venue } from "../helpers/venue-fixture.js";

const SECURITY = 0;

describe("rules replacement at a running node", () => {
  let venue: Venue;

  beforeAll(async () => {
    venue = await startVenue({ onboard: [{ index: ROLES.alice }], node: {}, investors: [{ role: ROLES.alice, own: [{ assetIndex: SECURITY, amount: 100n * SECURITY_UNIT }] }] });
  });

  afterAll(async () => {
    await venue?.stop();
  });

  it("enforces the new rules' lock-up set before the replacement, never accepting a payment in between", async () => {
    const alice = devWallet(ROLES.alice).address;
    const { stack } = venue;
    const { opened, channelId } = venue.investors[0]!;
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
    const replaced = (await (await stack.system.token.getFunction("replaceRules")(await rules.getAddress())).wait())!;

    // Once the node's compliance watcher has read the replacement's block (its /metrics: the head it
    // read is at least that block and the watcher is not behind it)...
    const sample = (text: string, line: string) => Number(text.split("\n").find((l) => l.startsWith(`${line} `))?.slice(line.length + 1) ?? Number.NaN);
    await eventually(
      async () => (await fetch(`${venue.node.httpUrl}/metrics`)).text(),
      (text) => sample(text, "clearline_chain_head_block") >= replaced.blockNumber && sample(text, 'clearline_watcher_lag_blocks{watcher="compliance"}') === 0,
    );
    // ...closed while the node backfills, then the lock-up, never accepted.
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
