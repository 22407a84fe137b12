// Deploys the whole system with Ignition on a Hardhat network connection and gives accounts the
// identities they need. Shared by the gas measurement, the quick start and the end-to-end tests.
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { NetworkConnection } from "hardhat/types/network";
import type { Contract } from "ethers";
import ClearlineModule from "../ignition/modules/Clearline.js";
import ComplianceModule from "../ignition/modules/Compliance.js";
import SettlementCustodianModule from "../ignition/modules/SettlementCustodian.js";

export const ATTRIBUTE = { KYC: 1n, AML: 2n, ACCREDITED: 3n, COUNTRY: 4n, CUSTODIAN: 5n } as const;
/** ISO 3166-1 numeric code used for demo investors (Germany). */
export const DEFAULT_COUNTRY = 276n;

export interface ClearlineSystem {
  jurisdiction: Contract;
  rules: Contract;
  token: Contract;
  cash: Contract;
  adjudicator: Contract;
  /** The venue's order log anchor (docs/trading.md). */
  orderLogAnchor: Contract;
}

/** A local chain is new every time: a journal of the same deployment id is stale. */
function discardJournal(deploymentId: string | undefined): void {
  if (deploymentId !== undefined) {
    rmSync(fileURLToPath(new URL(`../ignition/deployments/${deploymentId}`, import.meta.url)), { recursive: true, force: true });
  }
}

/** Runs a deployment whose journal is of no use once it is done (its chain dies with the process). */
async function withThrowawayJournal<T>(deploymentId: string | undefined, deploy: () => Promise<T>): Promise<T> {
  discardJournal(deploymentId);
  try {
    return await deploy();
  } finally {
    discardJournal(deploymentId);
  }
}

/**
 * Deploys with Ignition. On a JSON-RPC chain Ignition keeps a journal under ignition/deployments/;
 * an embedded chain is new every time, so callers pass a `deploymentId` whose journal is discarded.
 * Ignition waits for one confirmation only (a local chain that mines blocks on a timer, like anvil
 * with a block time, would otherwise cost five blocks per batch).
 */
export async function deploySystem(connection: NetworkConnection, options: { deploymentId?: string } = {}): Promise<ClearlineSystem> {
  const deployed = await withThrowawayJournal(options.deploymentId, () =>
    connection.ignition.deploy(ClearlineModule, { deploymentId: options.deploymentId, displayUi: false, config: { requiredConfirmations: 1 } }),
  );
  return deployed as unknown as ClearlineSystem;
}

/** An issuer's compliance stack alone (Jurisdiction, rules, tokens): what a chain has before Clearline comes. */
export async function deployCompliance(connection: NetworkConnection, options: { deploymentId?: string } = {}): Promise<Pick<ClearlineSystem, "jurisdiction" | "rules" | "token" | "cash">> {
  const deployed = await withThrowawayJournal(options.deploymentId, () =>
    connection.ignition.deploy(ComplianceModule, { deploymentId: options.deploymentId, displayUi: false, config: { requiredConfirmations: 1 } }),
  );
  return deployed as unknown as Pick<ClearlineSystem, "jurisdiction" | "rules" | "token" | "cash">;
}

/** Clearline's own contracts, deployed beside existing tokens and an existing Jurisdiction. */
export interface Settlement {
  adjudicator: Contract;
  orderLogAnchor: Contract;
}

/**
 * Deploys the real-chain path on a local chain (ignition/modules/SettlementCustodian.ts): the
 * adjudicator and the venue's anchor, the adjudicator marked a custodian of the existing
 * `jurisdiction` (the deployer must be a CUSTODIAN validator there).
 */
export async function deploySettlement(connection: NetworkConnection, options: { jurisdiction: string; venue: string; deploymentId?: string }): Promise<Settlement> {
  const deployed = await withThrowawayJournal(options.deploymentId, () =>
    connection.ignition.deploy(SettlementCustodianModule, {
      deploymentId: options.deploymentId,
      displayUi: false,
      config: { requiredConfirmations: 1 },
      parameters: { Settlement: { venue: options.venue }, SettlementCustodian: { jurisdiction: options.jurisdiction } },
    }),
  );
  return { adjudicator: deployed.adjudicator, orderLogAnchor: deployed.orderLogAnchor };
}

export interface Identity {
  kyc?: boolean;
  aml?: boolean;
  accredited?: boolean;
  country?: bigint;
  /** Unix seconds; default: one year after `now`. */
  expiresAt?: bigint;
}

/** Issues the identity attributes of `account` (the caller must be an approved validator). */
export async function onboard(system: Pick<ClearlineSystem, "jurisdiction">, account: string, now: bigint, identity: Identity = {}): Promise<void> {
  const expiresAt = identity.expiresAt ?? now + 365n * 24n * 3600n;
  const issue = async (type: bigint, value: bigint) =>
    (await system.jurisdiction.getFunction("issueAttribute")(account, type, value, expiresAt)).wait();
  if (identity.kyc ?? true) await issue(ATTRIBUTE.KYC, 1n);
  if (identity.aml ?? true) await issue(ATTRIBUTE.AML, 1n);
  if (identity.accredited ?? true) await issue(ATTRIBUTE.ACCREDITED, 1n);
  await issue(ATTRIBUTE.COUNTRY, identity.country ?? DEFAULT_COUNTRY);
}
