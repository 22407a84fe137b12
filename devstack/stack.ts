// The whole stack on an embedded chain: Hardhat's node as a child process, the system deployed with
// Ignition, a venue and demo investors with identities and tokens, and the node's configuration.
// Used by `npm start`, `npm run demo` and the end-to-end tests.
import hre from "hardhat";
import type { z } from "zod";
import { HDNodeWallet, Mnemonic, getAddress, type Contract } from "ethers";
import type { NetworkConnection } from "hardhat/types/network";
import { startLocalChain, type LocalChain } from "./local-chain.js";
import { deploySystem, onboard, type ClearlineSystem, type Identity } from "./system.js";
import { nodeConfigSchema, type NodeConfig } from "../channel-node/src/config.js";
import type { Address } from "../client/protocol/types.js";

/** Hardhat's well-known development mnemonic: its accounts are funded on every local chain. */
const DEV_MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");

export function devWallet(index: number): HDNodeWallet {
  return HDNodeWallet.fromMnemonic(DEV_MNEMONIC, `m/44'/60'/0'/0/${index}`);
}

/** Account 0 deploys and is issuer and validator; 1 is the venue; 2.. are investors. */
export const ROLES = { issuer: 0, venue: 1, alice: 2, bob: 3, carol: 4, dave: 5 } as const;

export const SECURITY_UNIT = 10n ** 18n;
export const CASH_UNIT = 10n ** 6n;
/** The venue's quote: 100 cash per security token (in smallest units: 100e6 per 1e18). */
export const PRICE = `${100n * CASH_UNIT}/${SECURITY_UNIT}`;

export interface Stack {
  chain: LocalChain;
  connection: NetworkConnection;
  system: ClearlineSystem;
  addresses: Record<keyof ClearlineSystem, string>;
  chainId: bigint;
  /** The node's configuration for this chain (defaults for what is not set here), with the caller's dataDir. */
  nodeConfig(overrides: Partial<NodeConfig> & Pick<NodeConfig, "dataDir">): NodeConfig;
  stop(): Promise<void>;
}

export interface InvestorSetup {
  index: number;
  identity?: Identity;
  securities?: bigint;
  cash?: bigint;
}

/** `startChain`: another local chain than Hardhat's node (e.g. `startAnvil`); the stack stops it. */
export async function startStack(options: { investors?: InvestorSetup[]; log?: (line: string) => void; startChain?: () => Promise<LocalChain> } = {}): Promise<Stack> {
  const chain = await (options.startChain?.() ?? startLocalChain(options.log ? { log: options.log } : {}));
  try {
    const connection = await hre.network.create({ network: "localhost", override: { url: chain.url } });
    const { ethers } = connection;
    const system = await deploySystem(connection, { deploymentId: `embedded-${chain.port}` });
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const investors = options.investors ?? [{ index: ROLES.alice }, { index: ROLES.bob }];
    for (const setup of [{ index: ROLES.venue, securities: 100_000n * SECURITY_UNIT, cash: 10_000_000n * CASH_UNIT }, ...investors]) {
      const address = devWallet(setup.index).address;
      await onboard(system, address, now, setup.identity);
      const securities = setup.securities ?? 1_000n * SECURITY_UNIT;
      const cash = setup.cash ?? 100_000n * CASH_UNIT;
      if (securities > 0n) await (await system.token.getFunction("mint")(address, securities)).wait();
      if (cash > 0n) await (await system.cash.getFunction("mint")(address, cash)).wait();
    }
    const addresses = {} as Record<keyof ClearlineSystem, string>;
    for (const [name, contract] of Object.entries(system) as [keyof ClearlineSystem, Contract][]) addresses[name] = await contract.getAddress();
    const chainId = (await ethers.provider.getNetwork()).chainId;
    return {
      chain,
      connection,
      system,
      addresses,
      chainId,
      nodeConfig: (overrides) =>
        nodeConfigSchema.parse({
          rpcUrl: chain.url,
          privateKey: devWallet(ROLES.venue).privateKey,
          contracts: {
            adjudicator: addresses.adjudicator,
            jurisdiction: addresses.jurisdiction,
            securities: [{ token: addresses.token, rules: addresses.rules }],
            cash: [addresses.cash],
          },
          host: "127.0.0.1",
          port: 0,
          startBlock: 0,
          confirmations: 0,
          pollIntervalMs: 200,
          minChallengePeriod: 60,
          maxChallengePeriod: 7 * 24 * 3600,
          prices: [{ security: addresses.token, cash: addresses.cash, price: PRICE, toleranceBps: 50 }],
          responseTimeoutMs: 10_000,
          maxFrameBytes: 64 * 1024,
          rateLimit: { perSecond: 2_000, burst: 4_000 },
          logLevel: "warn",
          ...overrides,
        } satisfies z.input<typeof nodeConfigSchema>),
      async stop() {
        await connection.close();
        await chain.stop();
      },
    };
  } catch (error) {
    await chain.stop();
    throw error;
  }
}

/** The stack's trading: one book of the security against cash, lots of 1 token, fills settled in the channels. */
export function demoTrading(stack: Stack): NonNullable<NodeConfig["trading"]> {
  return {
    orderLogAnchor: getAddress(stack.addresses.orderLogAnchor) as Address,
    markets: [{ security: getAddress(stack.addresses.token) as Address, cash: getAddress(stack.addresses.cash) as Address, lotSize: SECURITY_UNIT.toString() }],
    maxRestingOrdersPerInvestor: 10,
    orderRate: { perSecond: 100, burst: 100 },
    maxOrdersPerBook: 1_000,
    cancelOnDisconnect: true,
    anchorIntervalMs: 0,
    settlement: { lockSeconds: 3_600, timeoutMs: 30_000, intervalMs: 200 },
  };
}
