/**
 * The ERC-1404 check over the mirrored facts: `detectRestriction` follows the evaluation order of
 * docs/compliance.md step by step and returns the same code as
 * `RestrictedToken.detectTransferRestriction` (a differential test checks it), so the node decides
 * every off-chain update without a chain call.
 */
import { ComplianceError, ProtocolError } from "../errors.js";
import { RESTRICTION_CODES, type RestrictionCode } from "../restriction-codes.js";
import type { Address } from "../types.js";
import { ATTRIBUTE_TYPES, hasFlag, validAttribute } from "./attributes.js";
import { ZERO_KEY, addressKey, type ComplianceFacts } from "./facts.js";

/** What an account holds of the token; on chain `balanceOf`, at layer two also its channel balances. */
export type HoldingsOf = (account: Address) => bigint;

function incomplete(why: string, token: Address): never {
  throw new ProtocolError("COMPLIANCE_UNKNOWN", `the compliance mirror cannot decide: ${why}`, { token });
}

/**
 * The ERC-1404 code the token would return for moving `amount` from `from` to `to` at `now`
 * (`from` = zero is a mint, `to` = zero a burn). `holdings` replaces `balanceOf` in steps 4 and 10:
 * at layer two it counts the investor's channel balances too. Throws COMPLIANCE_UNKNOWN when the
 * token, its rules or their jurisdiction are not mirrored (fail closed).
 *
 * The token passes a custodian paying a controller or the treasury after step 4 (recovery); it asks
 * only when a rule fails, which gives the same code as skipping steps 5–10 for such a transfer.
 */
export function detectRestriction(
  facts: ComplianceFacts,
  token: Address,
  from: Address,
  to: Address,
  amount: bigint,
  now: bigint,
  holdings?: HoldingsOf,
): RestrictionCode {
  const tokenFacts = facts.tokens.get(addressKey(token)) ?? incomplete("token not tracked", token);
  const holdingsOf: HoldingsOf = holdings ?? ((account) => tokenFacts.balances.get(addressKey(account)) ?? 0n);
  const isMint = addressKey(from) === ZERO_KEY;
  const isBurn = addressKey(to) === ZERO_KEY;

  // Steps 1–4: the token's own state.
  if (tokenFacts.paused) return RESTRICTION_CODES.PAUSED;
  if (tokenFacts.frozen.has(addressKey(from))) return RESTRICTION_CODES.SENDER_FROZEN;
  if (tokenFacts.frozen.has(addressKey(to))) return RESTRICTION_CODES.RECEIVER_FROZEN;
  if (!isMint && holdingsOf(from) < amount) return RESTRICTION_CODES.INSUFFICIENT_BALANCE;

  // Steps 5–10: the rules contract and the registry it reads.
  if (tokenFacts.rules === null) incomplete("token's rules contract unknown", token);
  const rules = facts.rules.get(addressKey(tokenFacts.rules)) ?? incomplete("rules contract not tracked", token);
  const jurisdiction =
    facts.jurisdictions.get(addressKey(rules.jurisdiction)) ?? incomplete("jurisdiction not tracked", token);
  const flag = (account: Address, typeId: bigint): boolean => hasFlag(jurisdiction, account, typeId, now);
  const isEligible = (account: Address): boolean => flag(account, ATTRIBUTE_TYPES.KYC) && flag(account, ATTRIBUTE_TYPES.AML);
  const isRecoveryRecipient =
    !isBurn && (tokenFacts.controllers.has(addressKey(to)) || (tokenFacts.treasury !== null && addressKey(tokenFacts.treasury) === addressKey(to)));
  if (!isMint && isRecoveryRecipient && flag(from, ATTRIBUTE_TYPES.CUSTODIAN)) return RESTRICTION_CODES.SUCCESS;
  const toCustodian = !isBurn && flag(to, ATTRIBUTE_TYPES.CUSTODIAN);

  if (!isMint && !flag(from, ATTRIBUTE_TYPES.CUSTODIAN) && !isEligible(from)) return RESTRICTION_CODES.SENDER_NOT_ELIGIBLE;
  if (!isBurn && !toCustodian && !isEligible(to)) return RESTRICTION_CODES.RECEIVER_NOT_ELIGIBLE;
  // A deposit into a custodian (a channel) is no change of ownership, so it is allowed during a lock-up.
  if (!isMint && !toCustodian && now < (rules.lockups.get(addressKey(from)) ?? 0n)) return RESTRICTION_CODES.SENDER_LOCKED;
  if (isBurn || toCustodian) return RESTRICTION_CODES.SUCCESS;
  if (rules.accreditationRequired && !flag(to, ATTRIBUTE_TYPES.ACCREDITED)) return RESTRICTION_CODES.RECEIVER_NOT_ACCREDITED;
  const country = validAttribute(jurisdiction, to, ATTRIBUTE_TYPES.COUNTRY, now)?.value ?? 0n;
  if (rules.blockedCountries.has(country)) return RESTRICTION_CODES.RECEIVER_COUNTRY_BLOCKED;
  if (rules.maxBalance > 0n && holdingsOf(to) + amount > rules.maxBalance) return RESTRICTION_CODES.MAX_BALANCE_EXCEEDED;
  return RESTRICTION_CODES.SUCCESS;
}

/** Throws a ComplianceError (NON_COMPLIANT) unless `detectRestriction` returns SUCCESS. */
export function assertCompliant(
  facts: ComplianceFacts,
  token: Address,
  from: Address,
  to: Address,
  amount: bigint,
  now: bigint,
  holdings?: HoldingsOf,
): void {
  const code = detectRestriction(facts, token, from, to, amount, now, holdings);
  if (code !== RESTRICTION_CODES.SUCCESS) throw new ComplianceError(code, { token, from, to, amount });
}
