// The stale-view rule (docs/operations.md, "Chain facts"): when the node cannot read the chain for
// longer than chainFacts.maxViewAgeMs, it refuses every update (COMPLIANCE_UNKNOWN, CHAIN_VIEW_STALE),
// and accepts again once the chain answers. The node reaches a real Hardhat node process through a
// TCP relay the test cuts and restores; the investor keeps its own direct connection to the chain.
import { createServer, connect, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { openClient, isClientError, type OpenedClient } from "../../client/sdk/index.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { freePort } from "../../devstack/local-chain.js";
import { CASH_UNIT, ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { eventually } from "../helpers/node-process.js";

const CASH = 1;

/** A TCP relay to `port` that can be cut (every connection dropped, nothing accepted) and restored. */
async function relay(port: number) {
  const listenPort = await freePort();
  const sockets = new Set<Socket>();
  let server: Server;
  const listen = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(port, "127.0.0.1");
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on("close", () => sockets.delete(socket));
          socket.on("error", () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(listenPort, "127.0.0.1", resolve);
    });
  await listen();
  return {
    url: `http://127.0.0.1:${listenPort}`,
    async cut() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
    restore: listen,
  };
}

describe("a stale view of the chain", () => {
  let stack: Stack;
  let node: RunningNode;
  let investor: OpenedClient;
  let dir: string;
  let link: Awaited<ReturnType<typeof relay>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-stale-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    link = await relay(stack.chain.port);
    node = await startNode(
      stack.nodeConfig({ dataDir: join(dir, "node"), rpcUrl: link.url, pollIntervalMs: 200, chainFacts: { newHeadsUrl: "off", maxViewAgeMs: 1_000, newHeadsReconnectMs: 1_000 } }),
      { logger: pino({ level: "silent" }) },
    );
    investor = await openClient({
      nodeUrl: node.url,
      privateKey: devWallet(ROLES.alice).privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, "client"),
      responseTimeoutMs: 5_000,
    });
    await investor.client.connect();
  });

  afterAll(async () => {
    await investor?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses every update while the node cannot read the chain, and accepts again when it can", async () => {
    const channelId = await investor.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: 3_600n, deposit: { assetIndex: CASH, amount: 100n * CASH_UNIT } });
    const pay = () =>
      investor.client.pay(channelId, { assetIndex: CASH, amount: 1n }).then(
        () => "accepted",
        (error: unknown) => (isClientError(error, "REJECTED") ? (error.rejection?.code ?? "REJECTED") : `error:${String(error)}`),
      );
    expect(await pay()).toBe("accepted");

    await link.cut();
    // Within the bound the node still decides (its view is younger than maxViewAgeMs)...
    expect(await pay()).toBe("accepted");
    await sleep(1_500);
    // ...beyond it, even a cash payment is refused: the node cannot know what was mined meanwhile.
    expect(await pay()).toBe("COMPLIANCE_UNKNOWN");
    expect(await pay()).toBe("COMPLIANCE_UNKNOWN");

    await link.restore();
    await eventually(pay, (outcome) => outcome === "accepted", 10_000);
  });
});
