/**
 * Pure reducers that keep the compliance mirror's facts fresh from the contracts' events.
 * `applyEvents` copies each touched map once per batch, so catching up on many logs costs
 * O(events + touched map sizes), not O(events × map size).
 */
import type { Address } from "../types.js";
import type { ComplianceEvent } from "./events.js";
import { CONTROLLER_ROLE, ZERO_KEY, addressKey, isAfter, type ComplianceFacts } from "./facts.js";
import { FactsDraft } from "./facts-draft.js";

function applyTo(draft: FactsDraft, event: ComplianceEvent): void {
  switch (event.name) {
    case "ValidatorApproved":
    case "ValidatorRemoved": {
      const jurisdiction = draft.jurisdiction(event.emitter);
      if (jurisdiction === undefined) return;
      const { outer, inner } = draft.innerMap(jurisdiction.approvals, event.typeId);
      inner.set(addressKey(event.validator), { approved: event.name === "ValidatorApproved", generation: event.generation });
      jurisdiction.approvals = outer;
      return;
    }
    case "AttributeIssued":
    case "AttributeRevoked": {
      const jurisdiction = draft.jurisdiction(event.emitter);
      if (jurisdiction === undefined) return;
      const { outer, inner } = draft.innerMap(jurisdiction.attributes, addressKey(event.account));
      if (event.name === "AttributeIssued") {
        const { value, expiresAt, validator, generation } = event;
        inner.set(event.typeId, { value, expiresAt, validator, generation });
      } else {
        inner.delete(event.typeId);
      }
      jurisdiction.attributes = outer;
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
      if (event.blocked) blocked.add(event.country);
      else blocked.delete(event.country);
      rules.blockedCountries = blocked;
      return;
    }
    case "LockupChanged": {
      const rules = draft.rulesOf(event.emitter);
      if (rules === undefined) return;
      const lockups = draft.map(rules.lockups);
      if (event.until === 0n) lockups.delete(addressKey(event.holder));
      else lockups.set(addressKey(event.holder), event.until);
      rules.lockups = lockups;
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
      if (event.name === "AddressFrozen") frozen.add(addressKey(event.account));
      else frozen.delete(addressKey(event.account));
      token.frozen = frozen;
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
      const balances = draft.map(token.balances);
      const move = (account: Address, delta: bigint): void => {
        const key = addressKey(account);
        if (key === ZERO_KEY) return;
        const balance = (balances.get(key) ?? 0n) + delta;
        if (balance === 0n) balances.delete(key);
        else balances.set(key, balance);
      };
      move(event.from, -event.value);
      move(event.to, event.value);
      token.balances = balances;
      return;
    }
    case "RoleGranted":
    case "RoleRevoked": {
      // Only a tracked token's controllers matter; other roles and other contracts' roles are ignored.
      if (event.role.toLowerCase() !== CONTROLLER_ROLE) return;
      const token = draft.token(event.emitter);
      if (token === undefined) return;
      const controllers = draft.set(token.controllers);
      if (event.name === "RoleGranted") controllers.add(addressKey(event.account));
      else controllers.delete(addressKey(event.account));
      token.controllers = controllers;
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
