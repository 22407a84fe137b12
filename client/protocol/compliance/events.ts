/** The contract events that change the compliance mirror's facts. */
import type { Address } from "../types.js";
import type { LogPosition } from "./facts.js";

/**
 * A contract event that changes the facts; `emitter` is the contract that emitted it and
 * `position`, when known, where (decoded logs always have it).
 */
export type ComplianceEvent = { readonly position?: LogPosition } & (
  | { readonly name: "ValidatorApproved" | "ValidatorRemoved"; readonly emitter: Address; readonly typeId: bigint; readonly validator: Address; readonly generation: number }
  | {
      readonly name: "AttributeIssued";
      readonly emitter: Address;
      readonly account: Address;
      readonly typeId: bigint;
      readonly validator: Address;
      readonly value: bigint;
      readonly expiresAt: bigint;
      readonly generation: number;
    }
  | { readonly name: "AttributeRevoked"; readonly emitter: Address; readonly account: Address; readonly typeId: bigint }
  | { readonly name: "AccreditationRequirementChanged"; readonly emitter: Address; readonly required: boolean }
  | { readonly name: "CountryBlockChanged"; readonly emitter: Address; readonly country: bigint; readonly blocked: boolean }
  | { readonly name: "LockupChanged"; readonly emitter: Address; readonly holder: Address; readonly until: bigint }
  | { readonly name: "MaxBalanceChanged"; readonly emitter: Address; readonly maxBalance: bigint }
  | { readonly name: "Paused" | "Unpaused"; readonly emitter: Address }
  | { readonly name: "AddressFrozen" | "AddressUnfrozen"; readonly emitter: Address; readonly account: Address }
  | { readonly name: "RulesReplaced"; readonly emitter: Address; readonly newRules: Address }
  | { readonly name: "Transfer"; readonly emitter: Address; readonly from: Address; readonly to: Address; readonly value: bigint }
  | { readonly name: "RoleGranted" | "RoleRevoked"; readonly emitter: Address; readonly role: string; readonly account: Address }
  | { readonly name: "TreasuryChanged"; readonly emitter: Address; readonly newTreasury: Address }
);
