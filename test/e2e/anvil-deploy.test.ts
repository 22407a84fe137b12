// The real-chain deployment path, on anvil (a JSON-RPC chain the test starts on a free 127.0.0.1
// port and stops by pid): an issuer's tokens and Jurisdiction exist first; Ignition's Settlement
// modules deploy only Clearline's contracts beside them (SettlementCustodian also marks the
// adjudicator a custodian); the venue's node then starts from environment variables alone, its key
// from an encrypted keystore; an investor opens a channel with the existing security token and pays.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import hre from "hardhat";
import { encryptKeystoreJsonSync, type Contract } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { startAnvil, freePort, type LocalChain } from "../../devstack/local-chain.js";
import { ATTRIBUTE, deployCompliance, deploySettlement, onboard, type ClearlineSystem, type Settlement } from "../../devstack/system.js";
import { ROLES, SECURITY_UNIT, devWallet } from "../../devstack/stack.js";
import { loadNodeConfig } from "../../channel-node/src/config.js";
import { startNode, type RunningNode } from "../../channel-node/src/node.js";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";

const NEVER = 2n ** 64n - 1n;

describe("deploying Clearline beside existing tokens and identity (Ignition), the node configured by environment", () => {
  let chain: LocalChain | undefined;
  let connection: NetworkConnection | undefined;
  let node: RunningNode | undefined;
  let investor: OpenedClient | undefined;
  let dir: string;
  let existing: Pick<ClearlineSystem, "jurisdiction" | "rules" | "token" | "cash">;
  let settlement: Settlement;
  const deploymentIds: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-anvil-deploy-"));
    chain = await startAnvil();
    connection = await hre.network.create({ network: "localhost", override: { url: chain.url } });
    deploymentIds.push(`anvil-existing-${chain.port}`, `anvil-settlement-${chain.port}`);
    existing = await deployCompliance(connection, { deploymentId: deploymentIds[0] });
  }, 300_000);

  afterAll(async () => {
    await investor?.close();
    await node?.stop();
    await connection?.close();
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("deploys only the adjudicator and the anchor, at the existing Jurisdiction, and marks the adjudicator a custodian", async () => {
    const venue = devWallet(ROLES.venue).address;
    const codeBefore = await connection!.ethers.provider.getCode(await existing.token.getAddress());
    settlement = await deploySettlement(connection!, { jurisdiction: await existing.jurisdiction.getAddress(), venue, deploymentId: deploymentIds[1] });
    const adjudicator = await settlement.adjudicator.getAddress();
    expect(await connection!.ethers.provider.getCode(adjudicator)).not.toBe("0x");
    expect(await (settlement.orderLogAnchor as Contract).getFunction("owner")()).toBe(venue);
    const [value, expiresAt, , valid] = (await existing.jurisdiction.getFunction("attributeOf")(adjudicator, ATTRIBUTE.CUSTODIAN)) as [bigint, bigint, string, boolean];
    expect([value, expiresAt, valid]).toEqual([1n, NEVER, true]);
    // The existing token was not redeployed or touched.
    expect(await connection!.ethers.provider.getCode(await existing.token.getAddress())).toBe(codeBefore);
  });

  it("starts the node from environment variables alone, the venue's key from a keystore, and an investor uses the existing token", async () => {
    const venue = devWallet(ROLES.venue);
    const alice = devWallet(ROLES.alice);
    const now = BigInt((await connection!.ethers.provider.getBlock("latest"))!.timestamp);
    for (const account of [venue.address, alice.address]) {
      await onboard(existing, account, now);
      await (await existing.token.getFunction("mint")(account, 100n * SECURITY_UNIT)).wait();
    }
    const keystore = join(dir, "venue-keystore.json");
    writeFileSync(keystore, encryptKeystoreJsonSync({ address: venue.address, privateKey: venue.privateKey }, "venue password", { scrypt: { N: 1 << 10 } }), { mode: 0o600 });
    writeFileSync(join(dir, "password"), "venue password\n", { mode: 0o600 });
    const config = loadNodeConfig(undefined, {
      CLEARLINE_RPC_URL: chain!.url,
      CLEARLINE_NODE_KEYSTORE: keystore,
      CLEARLINE_NODE_KEYSTORE_PASSWORD_FILE: join(dir, "password"),
      CLEARLINE_CONTRACTS_ADJUDICATOR: await settlement.adjudicator.getAddress(),
      CLEARLINE_CONTRACTS_JURISDICTION: await existing.jurisdiction.getAddress(),
      CLEARLINE_CONTRACTS_SECURITIES: JSON.stringify([{ token: await existing.token.getAddress(), rules: await existing.rules.getAddress() }]),
      CLEARLINE_CONTRACTS_CASH: JSON.stringify([await existing.cash.getAddress()]),
      CLEARLINE_PORT: String(await freePort()),
      CLEARLINE_DATA_DIR: join(dir, "node"),
      CLEARLINE_POLL_INTERVAL_MS: "200",
      CLEARLINE_LOG_LEVEL: "warn",
    });
    node = await startNode(config);
    expect(node.venue).toBe(venue.address);
    const health = await fetch(`${node.url.replace("ws", "http")}/health`);
    expect(health.status).toBe(200);

    investor = await openClient({ nodeUrl: node.url, privateKey: alice.privateKey, rpcUrl: chain!.url, adjudicator: await settlement.adjudicator.getAddress(), dataDir: join(dir, "clients") });
    await investor.client.connect();
    // A restricted token deposit: the token lets the adjudicator hold it only as a custodian.
    const channel = await investor.client.openChannel({ assets: [await existing.token.getAddress(), await existing.cash.getAddress()], deposit: { assetIndex: 0, amount: 10n * SECURITY_UNIT } });
    await investor.client.pay(channel, { assetIndex: 0, amount: 1n * SECURITY_UNIT });
    const [security] = await investor.client.balances(channel);
    expect([security!.me, security!.venue]).toEqual([9n * SECURITY_UNIT, 1n * SECURITY_UNIT]);
  });
});
