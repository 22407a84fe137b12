/** Chain logs of the events the compliance mirror consumes: their ABI, topics and decoding. */
import { EventFragment, Interface, type LogDescription } from "ethers";
import type { Address } from "../types.js";
import type { ComplianceEvent } from "./events.js";

/** The ABI of every event the mirror consumes, as the contracts declare them. */
export const COMPLIANCE_EVENTS_ABI = [
  "event ValidatorApproved(uint256 indexed typeId, address indexed validator, uint32 generation)",
  "event ValidatorRemoved(uint256 indexed typeId, address indexed validator, uint32 generation)",
  "event AttributeIssued(address indexed account, uint256 indexed typeId, address indexed validator, uint256 value, uint64 expiresAt, uint32 generation)",
  "event AttributeRevoked(address indexed account, uint256 indexed typeId, address indexed validator)",
  "event AccreditationRequirementChanged(bool required)",
  "event CountryBlockChanged(uint256 indexed country, bool blocked)",
  "event LockupChanged(address indexed holder, uint64 until)",
  "event MaxBalanceChanged(uint256 maxBalance)",
  "event Paused(address account)",
  "event Unpaused(address account)",
  "event AddressFrozen(address indexed account, address indexed issuer)",
  "event AddressUnfrozen(address indexed account, address indexed issuer)",
  "event RulesReplaced(address indexed previousRules, address indexed newRules)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event RoleGranted(bytes32 indexed role, address indexed account, address indexed sender)",
  "event RoleRevoked(bytes32 indexed role, address indexed account, address indexed sender)",
  "event TreasuryChanged(address indexed previousTreasury, address indexed newTreasury)",
] as const;

const complianceInterface = new Interface(COMPLIANCE_EVENTS_ABI);

/** The topic0 of every consumed event, for a log filter. */
export const COMPLIANCE_EVENT_TOPICS: readonly string[] = complianceInterface.fragments.flatMap((fragment) =>
  fragment instanceof EventFragment ? [fragment.topicHash] : [],
);

/** A raw log as providers return it (ethers' `Log` fits). */
export interface RawLog {
  readonly address: Address;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: number | bigint;
  /** The log's index in its block. */
  readonly index: number;
}

/** Decodes a log into a ComplianceEvent; null for a log of any other event (or an anonymous one). */
export function decodeComplianceLog(log: RawLog): ComplianceEvent | null {
  let parsed;
  try {
    parsed = complianceInterface.parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    // Same topic, other shape: e.g. ERC-721's Transfer, whose third argument is indexed.
    return null;
  }
  if (parsed === null) return null;
  const event = eventOf(parsed, log.address);
  return event === null ? null : { ...event, position: { blockNumber: BigInt(log.blockNumber), logIndex: log.index } };
}

function eventOf(parsed: LogDescription, emitter: Address): ComplianceEvent | null {
  const a = parsed.args;
  switch (parsed.name) {
    case "ValidatorApproved":
    case "ValidatorRemoved":
      return { name: parsed.name, emitter, typeId: a.getValue("typeId"), validator: a.getValue("validator"), generation: Number(a.getValue("generation")) };
    case "AttributeIssued":
      return {
        name: "AttributeIssued",
        emitter,
        account: a.getValue("account"),
        typeId: a.getValue("typeId"),
        validator: a.getValue("validator"),
        value: a.getValue("value"),
        expiresAt: a.getValue("expiresAt"),
        generation: Number(a.getValue("generation")),
      };
    case "AttributeRevoked":
      return { name: "AttributeRevoked", emitter, account: a.getValue("account"), typeId: a.getValue("typeId") };
    case "AccreditationRequirementChanged":
      return { name: "AccreditationRequirementChanged", emitter, required: a.getValue("required") };
    case "CountryBlockChanged":
      return { name: "CountryBlockChanged", emitter, country: a.getValue("country"), blocked: a.getValue("blocked") };
    case "LockupChanged":
      return { name: "LockupChanged", emitter, holder: a.getValue("holder"), until: a.getValue("until") };
    case "MaxBalanceChanged":
      return { name: "MaxBalanceChanged", emitter, maxBalance: a.getValue("maxBalance") };
    case "Paused":
    case "Unpaused":
      return { name: parsed.name, emitter };
    case "AddressFrozen":
    case "AddressUnfrozen":
      return { name: parsed.name, emitter, account: a.getValue("account") };
    case "RulesReplaced":
      return { name: "RulesReplaced", emitter, newRules: a.getValue("newRules") };
    case "Transfer":
      return { name: "Transfer", emitter, from: a.getValue("from"), to: a.getValue("to"), value: a.getValue("value") };
    case "RoleGranted":
    case "RoleRevoked":
      return { name: parsed.name, emitter, role: a.getValue("role"), account: a.getValue("account") };
    case "TreasuryChanged":
      return { name: "TreasuryChanged", emitter, newTreasury: a.getValue("newTreasury") };
    default:
      return null;
  }
}
