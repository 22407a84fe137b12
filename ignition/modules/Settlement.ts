import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/**
 * Clearline's own contracts for a chain whose tokens and identity registry already exist: the
 * Adjudicator (token-agnostic: the node's configuration names the tokens) and the venue's
 * OrderLogAnchor, owned by the `venue` parameter (default: the deploying account). Deploys no token
 * and no Jurisdiction, and changes nothing outside its own contracts.
 *
 * The adjudicator must then be marked a custodian (attribute type 5) in the tokens' Jurisdiction by
 * an approved CUSTODIAN validator: `SettlementCustodian` does so when the deployer is one, else the
 * validator runs `clearline-issuer issue <adjudicator> --type custodian …` (docs/operations.md,
 * "Deploy to a real chain").
 *
 * Parameters (module "Settlement"): venue.
 */
const SettlementModule = buildModule("Settlement", (m) => {
  const adjudicator = m.contract("Adjudicator", []);
  const orderLogAnchor = m.contract("OrderLogAnchor", [m.getParameter("venue", m.getAccount(0))]);
  return { adjudicator, orderLogAnchor };
});

export default SettlementModule;
