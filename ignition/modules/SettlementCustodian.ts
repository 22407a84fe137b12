import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import SettlementModule from "./Settlement.js";

/** Attribute type id of CUSTODIAN (docs/compliance.md). */
const CUSTODIAN = 5n;
/** The adjudicator's custodian status does not lapse: uint64 max. */
const NEVER = 2n ** 64n - 1n;

/**
 * `Settlement`, then the adjudicator marked a custodian in the existing Jurisdiction at the
 * `jurisdiction` parameter (required), so that deposits and payouts are checked against the
 * investors, not against the adjudicator. The deploying account must be an approved CUSTODIAN
 * validator of that Jurisdiction (the call reverts `NotValidator(5, deployer)` otherwise).
 *
 * Parameters: module "SettlementCustodian": jurisdiction; module "Settlement": venue.
 */
const SettlementCustodianModule = buildModule("SettlementCustodian", (m) => {
  const { adjudicator, orderLogAnchor } = m.useModule(SettlementModule);
  const jurisdiction = m.contractAt("Jurisdiction", m.getParameter<string>("jurisdiction"));
  m.call(jurisdiction, "issueAttribute", [adjudicator, CUSTODIAN, 1n, NEVER], { id: "issueCustodian_Adjudicator" });
  return { adjudicator, orderLogAnchor, jurisdiction };
});

export default SettlementCustodianModule;
