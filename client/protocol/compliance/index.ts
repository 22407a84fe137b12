/**
 * The compliance mirror: the on-chain transfer rules (docs/compliance.md) evaluated over plain-data
 * facts, so the node decides every off-chain update without a chain call, and pure reducers that
 * keep those facts fresh from the contracts' events.
 *
 * `facts.ts` holds the facts, `tracking.ts` which contracts they follow, `attributes.ts` and
 * `transfer-restriction.ts` the ERC-1404 check, `events.ts` and `event-log.ts` the events and their
 * decoding from logs, `apply-events.ts` (over `facts-draft.ts`) the reducers, `persistent-map.ts`
 * the immutable maps and sets the facts are made of. Helpers the modules share among themselves
 * are not re-exported.
 */
export {
  CONTROLLER_ROLE,
  addressKey,
  emptyComplianceFacts,
  isTrackedToken,
  onChainBalanceOf,
  type AttributeRecord,
  type ComplianceFacts,
  type JurisdictionFacts,
  type LogPosition,
  type RulesFacts,
  type TokenFacts,
  type ValidatorApproval,
} from "./facts.js";
export { adoptContracts, trackJurisdiction, trackRules, trackToken } from "./tracking.js";
export { ATTRIBUTE_TYPES, FLAG_SET, hasFlag, hasValidAttribute } from "./attributes.js";
export { assertCompliant, detectRestriction, type HoldingsOf } from "./transfer-restriction.js";
export type { ComplianceEvent } from "./events.js";
export { COMPLIANCE_EVENTS_ABI, COMPLIANCE_EVENT_TOPICS, decodeComplianceLog, type RawLog } from "./event-log.js";
export { applyEvent, applyEvents } from "./apply-events.js";
