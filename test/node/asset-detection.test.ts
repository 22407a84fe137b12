// Fail closed on restricted tokens the node does not mirror (channel-node/src/asset-check.ts), with
// real contracts on a real Hardhat node process: another issuer's ERC-1404 token, an ERC-7943 token
// and an ERC-3643 token listed as cash stop the node at start with a typed error naming the token;
// plain ERC-20s (and a hostile one) pass; an address without code is refused; an RPC that does not
// answer is an error, never "no restriction".
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JsonRpcProvider, Wallet } from "ethers";
import { pino } from "pino";
import { AssetCheckError, assertUnrestrictedAssets, restrictionViewsOf } from "../../channel-node/src/asset-check.js";
import { startNode } from "../../channel-node/src/node.js";
import { freePort } from "../../devstack/local-chain.js";
import { startStack, type Stack } from "../../devstack/stack.js";

describe("restricted channel assets the node cannot mirror", () => {
  let stack: Stack;
  let provider: JsonRpcProvider;
  let dir: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    stack = await startStack({ investors: [] });
    provider = new JsonRpcProvider(stack.chain.url, undefined, { cacheTimeout: -1 });
    dir = mkdtempSync(join(tmpdir(), "clearline-assets-"));
    const { ethers } = stack.connection;
    const deploy = async (name: string, ...args: unknown[]) => (await (await ethers.deployContract(name, args)).waitForDeployment()).getAddress();
    tokens.erc1404 = await deploy("Erc1404OnlyToken");
    tokens.erc7943 = await deploy("Erc7943Token");
    tokens.erc3643 = await deploy("Erc3643Token", Wallet.createRandom().address, Wallet.createRandom().address);
    tokens.plain = await deploy("TestERC20", "Plain", "PLN");
    tokens.hostile = await deploy("HostileToken");
  });

  afterAll(async () => {
    provider.destroy();
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the restriction views each kind of token answers", async () => {
    expect(await restrictionViewsOf(provider, tokens.erc1404!)).toEqual(["ERC-1404 detectTransferRestriction(address,address,uint256)"]);
    expect(await restrictionViewsOf(provider, tokens.erc7943!)).toEqual(["ERC-7943 canTransfer(address,address,uint256)", "ERC-7943 canSend(address)"]);
    expect(await restrictionViewsOf(provider, tokens.erc3643!)).toEqual(["ERC-3643 identityRegistry()", "ERC-3643 compliance()"]);
    // Clearline's own RestrictedToken is one too (it is mirrored when listed under securities).
    expect(await restrictionViewsOf(provider, stack.addresses.token)).toContain("ERC-1404 detectTransferRestriction(address,address,uint256)");
    for (const plain of [tokens.plain!, tokens.hostile!, stack.addresses.cash]) expect(await restrictionViewsOf(provider, plain)).toEqual([]);
  });

  it("refuses an address without code, and does not take an unreachable RPC for a plain token", async () => {
    const nobody = Wallet.createRandom().address;
    await expect(assertUnrestrictedAssets(provider, [stack.addresses.cash, nobody])).rejects.toMatchObject({ code: "ASSET_NOT_A_CONTRACT", token: nobody });
    const dead = new JsonRpcProvider(`http://127.0.0.1:${await freePort()}`, stack.chainId, { staticNetwork: true });
    try {
      const caught = await assertUnrestrictedAssets({ getCode: (a) => provider.getCode(a), call: (tx) => dead.call(tx) }, [tokens.plain!]).catch((e: unknown) => e);
      expect(caught).toBeInstanceOf(Error);
      expect(caught).not.toBeInstanceOf(AssetCheckError);
    } finally {
      dead.destroy();
    }
  });

  it.each(["erc1404", "erc7943", "erc3643"])("does not start with a %s token listed as cash: a typed error names it", async (kind) => {
    const token = tokens[kind]!;
    const config = stack.nodeConfig({ dataDir: join(dir, kind), port: await freePort() });
    const caught = await startNode({ ...config, contracts: { ...config.contracts, cash: [stack.addresses.cash, token] } }, { logger: pino({ level: "silent" }) }).catch((e: unknown) => e);
    expect(caught).toBeInstanceOf(AssetCheckError);
    expect(caught).toMatchObject({ code: "RESTRICTED_TOKEN_NOT_MIRRORED", token });
    expect((caught as Error).message).toContain(token);
    expect((caught as AssetCheckError).views.length).toBeGreaterThan(0);
  });

  it("starts with plain cash tokens, the hostile one included", async () => {
    const config = stack.nodeConfig({ dataDir: join(dir, "plain"), port: await freePort() });
    const node = await startNode({ ...config, contracts: { ...config.contracts, cash: [stack.addresses.cash, tokens.plain!, tokens.hostile!] } }, { logger: pino({ level: "silent" }) });
    await node.stop();
  });
});
