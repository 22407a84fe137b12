/**
 * Pure reducers that keep the compliance mirror's facts fresh from the contracts' events.
 * Every write derives a new persistent map (`persistent-map.ts`) in O(log n), so a watcher chunk
 * costs O(events × log n), however many holders the maps hold.
 */
import type { Address } from "../types.js";
import type { ComplianceEvent } from "./events.js";
import { CONTROLLER_ROLE, ZERO_KEY, addressKey, isAfter, type ComplianceFacts } from "./facts.js";
import { FactsDraft } from "./facts-draft.js";
import type { PersistentMap } from "./persistent-map.js";

function applyTo(draft: FactsDraft, event: ComplianceEvent): void {
  switch (event.name) {
    case "ValidatorApproved":
    case "ValidatorRemoved": {
      const jurisdiction = draft.jurisdiction(event.emitter);
      if (jurisdiction === undefined) return;
      const approval = { approved: event.name === "ValidatorApproved", generation: event.generation };
      jurisdiction.approvals = draft.updateInner(jurisdiction.approvals, event.typeId, (byValidator) => byValidator.with(addressKey(event.validator), approval));
      return;
    }
    case "AttributeIssued":
    case "AttributeRevoked": {
      const jurisdiction = draft.jurisdiction(event.emitter);
      if (jurisdiction === undefined) return;
      jurisdiction.attributes = draft.updateInner(jurisdiction.attributes, addressKey(event.account), (byType) => {
        if (event.name === "AttributeRevoked") return byType.without(event.typeId);
        const { value, expiresAt, validator, generation } = event;
        return byType.with(event.typeId, { value, expiresAt, validator, generation });
      });
      return;
    }
    case "AccreditationRequirementChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules !== undefined) rules.accreditationRequired = event.required;
      return;
    }
    case "CountryBlockChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules === undefined) return;
      const blocked = draft.set(rules.blockedCountries);
      rules.blockedCountries = event.blocked ? blocked.with(event.country) : blocked.without(event.country);
      return;
    }
    case "LockupChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules === undefined) return;
      const lockups = draft.map(rules.lockups);
      rules.lockups = event.until === 0n ? lockups.without(addressKey(event.holder)) : lockups.with(addressKey(event.holder), event.until);
      return;
    }
    case "MaxBalanceChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules !== undefined) rules.maxBalance = event.maxBalance;
      return;
    }
    case "Paused":
    case "Unpaused": {
      const token = draft.token(event.emitter);
      if (token !== undefined) token.paused = event.name === "Paused";
      return;
    }
    case "AddressFrozen":
    case "AddressUnfrozen": {
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const frozen = draft.set(token.frozen);
      token.frozen = event.name === "AddressFrozen" ? frozen.with(addressKey(event.account)) : frozen.without(addressKey(event.account));
      return;
    }
    case "RulesReplaced": {
      const token = draft.token(event.emitter);
      if (token !== undefined) token.rules = event.newRules;
      return;
    }
    case "Transfer": {
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const move = (balances: PersistentMap<string, bigint>, account: Address, delta: bigint): PersistentMap<string, bigint> => {
        const key = addressKey(account);
        if (key === ZERO_KEY) return balances;
        const balance = (balances.get(key) ?? 0n) + delta;
        return balance === 0n ? balances.without(key) : balances.with(key, balance);
      };
      token.balances = move(move(draft.map(token.balances), event.from, -event.value), event.to, event.value);
      return;
    }
    case "RoleGranted":
    case "RoleRevoked": {
      // Only a tracked token's controllers matter; other roles and other contracts' roles are ignored.
      if (event.role.toLowerCase() !== CONTROLLER_ROLE) return;
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const controllers = draft.set(token.controllers);
      token.controllers = event.name === "RoleGranted" ? controllers.with(addressKey(event.account)) : controllers.without(addressKey(event.account));
      return;
    }
    case "TreasuryChanged": {
      const token = draft.token(event.emitter);
      if (token !== undefined) token.treasury = addressKey(event.newTreasury) === ZERO_KEY ? null : event.newTreasury;
      return;
    }
  }
}

/**
 * Applies events in chain order and returns the new facts. Events of contracts that are not
 * tracked are ignored; events at or before the facts' cursor were applied already and are skipped
 * (a watcher that re-reads a block after a restart changes nothing). The input is never modified.
 */
export function applyEvents(facts: ComplianceFacts, events: Iterable<ComplianceEvent>): ComplianceFacts {
  const draft = new FactsDraft(facts);
  let cursor = facts.cursor;
  for (const event of events) {
    if (event.position !== undefined) {
      if (cursor !== null && !isAfter(event.position, cursor)) continue;
      cursor = event.position;
    }
    applyTo(draft, event);
  }
  return draft.result(cursor);
}

/** `applyEvents` for a single event. */
export function applyEvent(facts: ComplianceFacts, event: ComplianceEvent): ComplianceFacts {
  return applyEvents(facts, [event]);
}
