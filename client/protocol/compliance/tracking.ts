/** Which contracts the compliance mirror follows: only the events of tracked contracts change its facts. */
import type { Address } from "../types.js";
import { addressKey, isAfter, type ComplianceFacts, type JurisdictionFacts, type RulesFacts, type TokenFacts } from "./facts.js";
import { PersistentMap, PersistentSet } from "./persistent-map.js";

/** Starts mirroring a Jurisdiction: its events are applied from now on. */
export function trackJurisdiction(facts: ComplianceFacts, jurisdiction: Address): ComplianceFacts {
  if (facts.jurisdictions.has(addressKey(jurisdiction))) return facts;
  const empty: JurisdictionFacts = { approvals: PersistentMap.empty(), attributes: PersistentMap.empty() };
  return { ...facts, jurisdictions: PersistentMap.from(facts.jurisdictions).with(addressKey(jurisdiction), empty) };
}

/** Starts mirroring a TransferRules contract that reads `jurisdiction` (its `jurisdiction()` view). */
export function trackRules(facts: ComplianceFacts, rules: Address, jurisdiction: Address): ComplianceFacts {
  if (facts.rules.has(addressKey(rules))) return facts;
  const initial: RulesFacts = {
    jurisdiction,
    accreditationRequired: false,
    blockedCountries: PersistentSet.empty(),
    lockups: PersistentMap.empty(),
    maxBalance: 0n,
  };
  return { ...facts, rules: PersistentMap.from(facts.rules).with(addressKey(rules), initial) };
}

/** Starts mirroring a RestrictedToken. Tokens that are not tracked are unrestricted for the channel. */
export function trackToken(facts: ComplianceFacts, token: Address): ComplianceFacts {
  if (facts.tokens.has(addressKey(token))) return facts;
  const initial: TokenFacts = {
    rules: null,
    paused: false,
    frozen: PersistentSet.empty(),
    balances: PersistentMap.empty(),
    controllers: PersistentSet.empty(),
    treasury: null,
  };
  return { ...facts, tokens: PersistentMap.from(facts.tokens).with(addressKey(token), initial) };
}

/**
 * Adds the jurisdictions and rules contracts `backfilled` tracks and `facts` does not, with the facts
 * `backfilled` holds for them (e.g. a rules contract a token switched to, rebuilt from its events
 * since `startBlock`). Contracts `facts` tracks already and the tokens stay as they are; the cursor
 * becomes the later of the two, so the caller must have backfilled only events the source of `facts`
 * has passed (what a mirror that had tracked them all along would hold).
 */
export function adoptContracts(facts: ComplianceFacts, backfilled: ComplianceFacts): ComplianceFacts {
  const missing = <V>(own: ReadonlyMap<string, V>, other: ReadonlyMap<string, V>): [string, V][] => [...other].filter(([key]) => !own.has(key));
  const jurisdictions = missing(facts.jurisdictions, backfilled.jurisdictions);
  const rules = missing(facts.rules, backfilled.rules);
  if (jurisdictions.length === 0 && rules.length === 0) return facts;
  const later = backfilled.cursor !== null && (facts.cursor === null || isAfter(backfilled.cursor, facts.cursor));
  return {
    ...facts,
    cursor: later ? backfilled.cursor : facts.cursor,
    jurisdictions: jurisdictions.length === 0 ? facts.jurisdictions : PersistentMap.from([...facts.jurisdictions, ...jurisdictions]),
    rules: rules.length === 0 ? facts.rules : PersistentMap.from([...facts.rules, ...rules]),
  };
}
