// The node's operator surface against a node process and a chain process: the admin API answers
// only a request carrying the node's admin token and no browser header (a web page in the operator's
// browser must not make the venue deposit), and /health reports the chain, the chain watchers' lag
// and the data directory's writability, 503 naming the failed check.
import { chmodSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonRpcProvider } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import { ChainWatcher } from "../../client/chain/watcher.js";
import { HealthMonitor, syncedWriteProbe, type HealthReport } from "../../channel-node/src/health.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";

const SEC = 0;
const MAX_LAG = 3;

describe("operator API and health of a node process", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  let alice: OpenedClient;
  let channelId: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-operator-api-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node"), healthCacheMs: 0, maxWatcherLagBlocks: MAX_LAG }), dir);
    alice = await openClient({ nodeUrl: node.url, privateKey: devWallet(ROLES.alice).privateKey, rpcUrl: stack.chain.url, adjudicator: stack.addresses.adjudicator, dataDir: join(dir, "client") });
    await alice.client.connect();
    channelId = await alice.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], deposit: { assetIndex: 1, amount: 100n * CASH_UNIT } });
  });

  afterAll(async () => {
    await alice?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const venueSecurities = async (): Promise<bigint> => (await stack.system.token.getFunction("balanceOf")(devWallet(ROLES.venue).address)) as bigint;
  const depositPath = () => `/admin/channels/${channelId}/deposit?asset=${SEC}&amount=${5n * SECURITY_UNIT}`;

  async function call(path: string, init: { method?: string; headers?: Record<string, string> } = {}) {
    const response = await fetch(`${node.httpUrl}${path}`, init);
    return { status: response.status, headers: response.headers, body: (await response.json()) as Record<string, unknown> };
  }

  async function refusals(code: string): Promise<number> {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith(`clearline_admin_refusals_total{code="${code}"} `));
    return line === undefined ? 0 : Number(line.split(" ")[1]);
  }

  describe("admin API", () => {
    it("refuses a request without the token, with a wrong one or in another scheme (401 ADMIN_UNAUTHORIZED), and changes nothing", async () => {
      const before = await refusals("ADMIN_UNAUTHORIZED");
      const securities = await venueSecurities();
      const attempts: Record<string, string>[] = [{}, { authorization: `Bearer ${"0".repeat(64)}` }, { authorization: `Basic ${node.adminToken}` }, { authorization: node.adminToken }];
      for (const headers of attempts) {
        const answer = await call(depositPath(), { method: "POST", headers });
        expect(answer.status).toBe(401);
        expect(answer.headers.get("www-authenticate")).toBe("Bearer");
        expect(answer.body).toMatchObject({ code: "ADMIN_UNAUTHORIZED" });
      }
      expect((await call("/admin/channels")).status).toBe(401);
      expect(await refusals("ADMIN_UNAUTHORIZED")).toBe(before + 5);
      // The node answers a deposit only after its transaction is mined: nothing was deposited.
      expect(await venueSecurities()).toBe(securities);
    });

    it("refuses a browser's request, even one carrying the token (403 ADMIN_BROWSER_REFUSED), and changes nothing", async () => {
      const before = await refusals("ADMIN_BROWSER_REFUSED");
      const securities = await venueSecurities();
      const browsers: Record<string, string>[] = [
        { origin: "https://attacker.example" }, // a cross-origin POST from a web page
        { origin: "https://attacker.example", authorization: `Bearer ${node.adminToken}` },
        { origin: "null", authorization: `Bearer ${node.adminToken}` },
        { "sec-fetch-site": "cross-site", authorization: `Bearer ${node.adminToken}` },
      ];
      for (const headers of browsers) {
        const answer = await call(depositPath(), { method: "POST", headers });
        expect(answer.status).toBe(403);
        expect(answer.body).toMatchObject({ code: "ADMIN_BROWSER_REFUSED" });
      }
      expect(await refusals("ADMIN_BROWSER_REFUSED")).toBe(before + browsers.length);
      expect(await venueSecurities()).toBe(securities);
    });

    it("answers a bad request with the token with a typed error (404 ADMIN_NOT_FOUND, 400 ADMIN_BAD_REQUEST for a deposit or withdrawal), and changes nothing", async () => {
      const securities = await venueSecurities();
      const post = (path: string) => call(path, { method: "POST", headers: { authorization: `Bearer ${node.adminToken}` } });
      expect(await post(`/admin/channels/0x${"ab".repeat(32)}/deposit?asset=0&amount=1`)).toMatchObject({ status: 404, body: { code: "ADMIN_NOT_FOUND" } });
      expect(await post(`/admin/channels/${channelId}/transfer`)).toMatchObject({ status: 404, body: { code: "ADMIN_NOT_FOUND" } });
      expect(await post(`/admin/channels/0x${"ab".repeat(32)}/withdraw?asset=0&amount=1`)).toMatchObject({ status: 404, body: { code: "ADMIN_NOT_FOUND" } });
      for (const query of ["amount=1", "asset=&amount=1", "asset=2&amount=1", "asset=-1&amount=1", "asset=0.5&amount=1", "asset=0&amount=0", "asset=0&amount=-5", "asset=0", `asset=0&amount=1${"0".repeat(80)}`]) {
        for (const action of ["deposit", "withdraw"]) {
          expect(await post(`/admin/channels/${channelId}/${action}?${query}`), `${action}?${query}`).toMatchObject({ status: 400, body: { code: "ADMIN_BAD_REQUEST" } });
        }
      }
      expect(await venueSecurities()).toBe(securities);
    });

    it("a node whose token file others can read does not start (ADMIN_TOKEN_EXPOSED)", async () => {
      const dataDir = join(dir, "exposed-node");
      mkdirSync(dataDir);
      writeFileSync(join(dataDir, "admin-token"), `${"cd".repeat(32)}\n`, { mode: 0o644 });
      chmodSync(join(dataDir, "admin-token"), 0o644);
      const outcome = await startNodeProcess(stack.nodeConfig({ dataDir }), dir).then(
        async (started) => (await started.stop(), "the node started"),
        (error: Error) => error.message,
      );
      expect(outcome).toMatch(/exited with 1: .*admin-token is readable by other users \(mode 644\)/s);
    });

    it("serves a request with the token: lists channels, and a deposit moves the venue's tokens", async () => {
      expect(await adminGet<{ channelId: string }[]>(node, "/channels")).toEqual([expect.objectContaining({ channelId })]);
      const securities = await venueSecurities();
      const answer = await call(depositPath(), { method: "POST", headers: { authorization: `Bearer ${node.adminToken}` } });
      expect(answer.status).toBe(200);
      expect(answer.body.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await venueSecurities()).toBe(securities - 5n * SECURITY_UNIT);
    });
  });

  describe("/health", () => {
    const health = () => call("/health");

    it("answers 200 with every check passed while the chain, the watchers and the disk are fine", async () => {
      const answer = await health();
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: "ok", failed: [], checks: { chain: { ok: true }, watcher: { ok: true }, store: { ok: true } }, venue: devWallet(ROLES.venue).address });
    });

    it("answers 503 naming the store when the data directory refuses a write, 200 again once it accepts one", async () => {
      const blocker = join(dir, "node", ".health-probe");
      rmSync(blocker, { force: true });
      mkdirSync(blocker); // the probe's file cannot be written where a directory is
      try {
        const answer = await health();
        expect(answer.status).toBe(503);
        expect(answer.body).toMatchObject({ status: "unhealthy", failed: ["store"], checks: { store: { ok: false, error: expect.stringMatching(/^store not writable/) } } });
      } finally {
        rmdirSync(blocker);
      }
      expect((await health()).status).toBe(200);
    });

    it("fails the watcher check when a chain watcher is more than the bound behind the chain's head", async () => {
      // A real watcher on the real chain that polls only when told: it falls behind as blocks are mined.
      const provider = new JsonRpcProvider(stack.chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
      let cursor: number | null = null;
      const watcher = new ChainWatcher({
        provider,
        contracts: { adjudicators: [stack.addresses.adjudicator] },
        handler: async () => undefined,
        loadCursor: async () => cursor,
        saveCursor: async (block) => {
          cursor = block;
        },
      });
      const monitor = new HealthMonitor({
        chainHead: () => provider.getBlockNumber(),
        watchers: () => ({ adjudicator: watcher.lastProcessedBlock }),
        confirmations: 0,
        maxLagBlocks: MAX_LAG,
        storeProbe: () => syncedWriteProbe(dir),
        timeoutMs: 2_000,
        cacheMs: 0,
        metrics: createMetrics(),
      });
      try {
        await watcher.pollOnce();
        expect(await monitor.check()).toMatchObject({ healthy: true, failed: [] } satisfies Partial<HealthReport>);
        await provider.send("hardhat_mine", [`0x${(MAX_LAG + 1).toString(16)}`]);
        const lagging = await monitor.check();
        expect(lagging).toMatchObject({ healthy: false, failed: ["watcher"], checks: { watcher: { ok: false, lag: { adjudicator: MAX_LAG + 1 } } } });
        await watcher.pollOnce();
        expect(await monitor.check()).toMatchObject({ healthy: true, failed: [] });
      } finally {
        provider.destroy();
      }
    });

    // Last: it stops the chain.
    it("answers 503 naming the chain when the chain process is stopped", async () => {
      await stack.chain.stop();
      const answer = await eventually(health, (a) => a.status !== 200, 15_000);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({ status: "unhealthy", checks: { chain: { ok: false, error: expect.stringMatching(/^chain unreachable/) } } });
      expect(answer.body.failed).toContain("chain");
    });
  });
});
