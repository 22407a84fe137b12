/**
 * Compliance facts for unit tests, built the way the node builds them: by tracking the contracts
 * and applying their events. Addresses are fixed so tables read well.
 */
import { ZeroAddress } from "ethers";
import {
  ATTRIBUTE_TYPES,
  applyEvents,
  emptyComplianceFacts,
  trackJurisdiction,
  trackRules,
  trackToken,
  type Address,
  type ComplianceEvent,
  type ComplianceFacts,
} from "../../client/protocol/index.js";

export const JURISDICTION: Address = "0x1000000000000000000000000000000000000001";
export const RULES: Address = "0x2000000000000000000000000000000000000002";
export const TOKEN: Address = "0x3000000000000000000000000000000000000003";
export const VALIDATOR: Address = "0x4000000000000000000000000000000000000004";
export const ADJUDICATOR: Address = "0x5000000000000000000000000000000000000005";

export const NOW = 1_700_000_000n;
export const YEAR = 365n * 86_400n;
export const US = 840n;
export const DE = 276n;

export interface HolderAttributes {
  kyc?: boolean;
  aml?: boolean;
  accredited?: boolean;
  /** null: no COUNTRY attribute. */
  country?: bigint | null;
  custodian?: boolean;
  expiresAt?: bigint;
}

/** AttributeIssued events for `account`; defaults describe a fully eligible US investor. */
export function attributeEvents(account: Address, attributes: HolderAttributes = {}): ComplianceEvent[] {
  const expiresAt = attributes.expiresAt ?? NOW + YEAR;
  const issued: [bigint, bigint][] = [];
  if (attributes.kyc ?? true) issued.push([ATTRIBUTE_TYPES.KYC, 1n]);
  if (attributes.aml ?? true) issued.push([ATTRIBUTE_TYPES.AML, 1n]);
  if (attributes.accredited ?? true) issued.push([ATTRIBUTE_TYPES.ACCREDITED, 1n]);
  const country = attributes.country === undefined ? US : attributes.country;
  if (country !== null) issued.push([ATTRIBUTE_TYPES.COUNTRY, country]);
  if (attributes.custodian ?? false) issued.push([ATTRIBUTE_TYPES.CUSTODIAN, 1n]);
  return issued.map(([typeId, value]) => ({
    name: "AttributeIssued",
    emitter: JURISDICTION,
    account,
    typeId,
    validator: VALIDATOR,
    value,
    expiresAt,
    generation: 0,
  }));
}

/** The deployment of the colleague's fixture: registry with one validator for every type, rules, token. */
export function baseFacts(): ComplianceFacts {
  let facts = emptyComplianceFacts();
  facts = trackJurisdiction(facts, JURISDICTION);
  facts = trackRules(facts, RULES, JURISDICTION);
  facts = trackToken(facts, TOKEN);
  return applyEvents(facts, [
    ...Object.values(ATTRIBUTE_TYPES).map(
      (typeId): ComplianceEvent => ({ name: "ValidatorApproved", emitter: JURISDICTION, typeId, validator: VALIDATOR, generation: 0 }),
    ),
    { name: "RulesReplaced", emitter: TOKEN, newRules: RULES },
    ...attributeEvents(ADJUDICATOR, { kyc: false, aml: false, accredited: false, country: null, custodian: true }),
  ]);
}

/** A mint of `amount` to `to` (as a Transfer event). */
export function mintEvent(to: Address, amount: bigint): ComplianceEvent {
  return { name: "Transfer", emitter: TOKEN, from: ZeroAddress, to, value: amount };
}
