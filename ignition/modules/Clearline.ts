import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import ComplianceModule from "./Compliance.js";

/** Attribute type id of CUSTODIAN (docs/compliance.md). */
const CUSTODIAN = 5n;
/** The adjudicator's custodian status does not lapse: uint64 max. */
const NEVER = 2n ** 64n - 1n;

/**
 * The whole Clearline system: the compliance stack (Jurisdiction, TransferRules, RestrictedToken,
 * CashToken) and the Adjudicator, which the deployer (an approved validator) marks as a custodian
 * so that deposits and payouts are checked against the investors, not against the adjudicator; and
 * the venue's OrderLogAnchor (docs/trading.md), owned by the venue: account 1 unless the
 * `venue` parameter names another.
 */
const ClearlineModule = buildModule("Clearline", (m) => {
  const compliance = m.useModule(ComplianceModule);
  const adjudicator = m.contract("Adjudicator", []);
  m.call(compliance.jurisdiction, "issueAttribute", [adjudicator, CUSTODIAN, 1n, NEVER], {
    id: "issueCustodian_Adjudicator",
  });
  const venue = m.getParameter("venue", m.getAccount(1));
  const orderLogAnchor = m.contract("OrderLogAnchor", [venue]);
  return { ...compliance, adjudicator, orderLogAnchor };
});

export default ClearlineModule;
