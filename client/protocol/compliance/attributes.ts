/** Jurisdiction attributes as the transfer rules read them (docs/compliance.md). */
import type { Address } from "../types.js";
import { addressKey, type AttributeRecord, type JurisdictionFacts } from "./facts.js";

/** Attribute type ids of the Jurisdiction (docs/compliance.md). */
export const ATTRIBUTE_TYPES = { KYC: 1n, AML: 2n, ACCREDITED: 3n, COUNTRY: 4n, CUSTODIAN: 5n } as const;

/** The value of a flag attribute (KYC, AML, ACCREDITED, CUSTODIAN) that counts; any other grants nothing. */
export const FLAG_SET = 1n;

/** Whether `account` holds an attribute of `typeId` that is valid at `now` (Jurisdiction._isValid). */
export function hasValidAttribute(jurisdiction: JurisdictionFacts, account: Address, typeId: bigint, now: bigint): boolean {
  return validAttribute(jurisdiction, account, typeId, now) !== undefined;
}

/** Whether `account` holds a valid flag attribute of `typeId` with value 1 (what the transfer rules count). */
export function hasFlag(jurisdiction: JurisdictionFacts, account: Address, typeId: bigint, now: bigint): boolean {
  return validAttribute(jurisdiction, account, typeId, now)?.value === FLAG_SET;
}

export function validAttribute(
  jurisdiction: JurisdictionFacts,
  account: Address,
  typeId: bigint,
  now: bigint,
): AttributeRecord | undefined {
  const record = jurisdiction.attributes.get(addressKey(account))?.get(typeId);
  if (record === undefined || now >= record.expiresAt) return undefined;
  const approval = jurisdiction.approvals.get(typeId)?.get(addressKey(record.validator));
  return approval?.approved === true && approval.generation === record.generation ? record : undefined;
}
