// Freeze latency with real processes: an investor streams security payments to the venue's node; the
// issuer freezes the investor. The node learns of the mined freeze through its new-block subscription
// (eth_subscribe over the chain's WebSocket), not its poll — set to 20 s here — and refuses the
// investor's next update. The window from "freeze mined" to "first refused update" is measured and
// asserted against the bound of docs/operations.md ("Chain facts").
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { isClientError } from "../../client/sdk/index.js";
import { ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { startVenue, type Venue } from "../helpers/venue-fixture.js";

/** docs/operations.md: a mined freeze or pause reaches the node's decisions within this bound. */
const FREEZE_BOUND_MS = 1_000;
const SECURITY = 0;

interface Attempt {
  readonly sentAt: number;
  readonly doneAt: number;
  readonly outcome: "accepted" | string;
}

describe("freeze latency", () => {
  let venue: Venue;

  beforeAll(async () => {
    venue = await startVenue({
      onboard: [{ index: ROLES.alice }],
      // A poll interval 20× the bound: only the subscription can explain a short window.
      node: { pollIntervalMs: 20_000, chainFacts: { newHeadsUrl: "auto", maxViewAgeMs: 60_000, newHeadsReconnectMs: 1_000 } },
      investors: [{ role: ROLES.alice, own: [{ assetIndex: SECURITY, amount: 500n * SECURITY_UNIT }] }],
    });
  });

  afterAll(async () => {
    await venue?.stop();
  });

  /** Sends a transaction from an account of Hardhat's node; with automining it has been mined when this resolves. */
  async function mined(from: string, to: string, data: string): Promise<void> {
    const response = await fetch(venue.stack.chain.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_sendTransaction", params: [{ from, to, data }] }),
    });
    const body = (await response.json()) as { result?: string; error?: unknown };
    if (body.result === undefined) throw new Error(`eth_sendTransaction failed: ${JSON.stringify(body.error)}`);
  }

  it("refuses the investor's updates within the bound after the issuer's freeze is mined", async () => {
    const { stack, investors } = venue;
    const alice = devWallet(ROLES.alice).address;
    const { opened, channelId } = investors[0]!;

    const attempts: Attempt[] = [];
    let stop = false;
    const stream = (async () => {
      while (!stop) {
        const sentAt = performance.now();
        const outcome = await opened.client.pay(channelId, { assetIndex: SECURITY, amount: 1n }).then(
          () => "accepted",
          (error: unknown) => (isClientError(error, "REJECTED") ? `${error.rejection?.code}:${error.rejection?.restriction?.rule}` : `error:${String(error)}`),
        );
        attempts.push({ sentAt, doneAt: performance.now(), outcome });
        if (outcome !== "accepted") return;
      }
    })();
    // The stream runs steadily before the freeze.
    while (attempts.length < 20) await new Promise((resolve) => setTimeout(resolve, 10));

    const freeze = stack.system.token.interface.encodeFunctionData("freeze", [alice]);
    await mined(devWallet(ROLES.issuer).address, stack.addresses.token, freeze);
    const frozenAt = performance.now();
    await Promise.race([stream, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    stop = true;
    await stream;

    const refused = attempts.find((a) => a.outcome !== "accepted");
    expect(refused?.outcome).toBe("NON_COMPLIANT:SENDER_FROZEN");
    const latencyMs = refused!.doneAt - frozenAt;
    const agreedAfterFreeze = attempts.filter((a) => a.outcome === "accepted" && a.sentAt > frozenAt).length;
    pino({ level: "info" }).info({ latencyMs: Math.round(latencyMs), agreedAfterFreeze }, "freeze mined → first refused update (investor's view)");
    expect(latencyMs).toBeLessThanOrEqual(FREEZE_BOUND_MS);
    // Whatever was countersigned after the freeze was mined was proposed within the window.
    for (const attempt of attempts.filter((a) => a.outcome === "accepted" && a.sentAt > frozenAt)) expect(attempt.sentAt - frozenAt).toBeLessThanOrEqual(FREEZE_BOUND_MS);
  });
});
