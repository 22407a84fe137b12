import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

/** The attribute types of docs/compliance.md, registered in this order. */
export const ATTRIBUTE_TYPES = [
  { id: 1n, name: "KYC" },
  { id: 2n, name: "AML" },
  { id: 3n, name: "ACCREDITED" },
  { id: 4n, name: "COUNTRY" },
  { id: 5n, name: "CUSTODIAN" },
] as const;

/**
 * Deploys the compliance stack: Jurisdiction, TransferRules (reading it), a RestrictedToken asking
 * those rules, and a CashToken. Registers the five attribute types and approves `validator` (default:
 * the deployer) for all of them, so that an importing module can issue CUSTODIAN to the adjudicator.
 *
 * The deployer (account 0) is governance of the Jurisdiction, admin/RULES_ADMIN of the rules,
 * admin/issuer/controller of the security token and owner of the cash token.
 *
 * Parameters (module "Compliance"): tokenName, tokenSymbol, tokenDecimals, cashName, cashSymbol,
 * cashDecimals, validator.
 */
const ComplianceModule = buildModule("Compliance", (m) => {
  const admin = m.getAccount(0);
  const validator = m.getParameter("validator", admin);

  const jurisdiction = m.contract("Jurisdiction", [admin]);
  for (const { id, name } of ATTRIBUTE_TYPES) {
    const added = m.call(jurisdiction, "addAttributeType", [id, name], { id: `addAttributeType_${name}` });
    m.call(jurisdiction, "approveValidator", [id, validator], { id: `approveValidator_${name}`, after: [added] });
  }

  const rules = m.contract("TransferRules", [jurisdiction, admin]);
  const token = m.contract("RestrictedToken", [
    m.getParameter("tokenName", "Clearline Security"),
    m.getParameter("tokenSymbol", "CLS"),
    m.getParameter("tokenDecimals", 18),
    admin,
    rules,
  ]);
  const cash = m.contract("CashToken", [
    m.getParameter("cashName", "Clearline USD"),
    m.getParameter("cashSymbol", "cUSD"),
    m.getParameter("cashDecimals", 6),
    admin,
  ]);

  return { jurisdiction, rules, token, cash };
});

export default ComplianceModule;
