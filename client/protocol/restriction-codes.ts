/**
 * The ERC-1404 restriction code table of docs/compliance.md: the single source used by the client,
 * the channel node's compliance mirror and (byte for byte, checked by a test against the deployed
 * `RestrictedToken.messageForTransferRestriction`) the token contract.
 *
 * Codes follow ERC-1066's 0x5_ meanings where they fit and use project codes 0xA_ for the rest.
 */

export const RESTRICTION_CODES = {
  SUCCESS: 0x00,
  INSUFFICIENT_BALANCE: 0x52,
  PAUSED: 0x54,
  SENDER_LOCKED: 0x55,
  SENDER_NOT_ELIGIBLE: 0x56,
  RECEIVER_NOT_ELIGIBLE: 0x57,
  SENDER_FROZEN: 0xa0,
  RECEIVER_FROZEN: 0xa1,
  RECEIVER_NOT_ACCREDITED: 0xa2,
  RECEIVER_COUNTRY_BLOCKED: 0xa3,
  MAX_BALANCE_EXCEEDED: 0xa4,
} as const;

export type RestrictionName = keyof typeof RESTRICTION_CODES;
export type RestrictionCode = (typeof RESTRICTION_CODES)[RestrictionName];

export interface RestrictionEntry {
  readonly code: RestrictionCode;
  readonly name: RestrictionName;
  readonly message: string;
}

const MESSAGES: { readonly [N in RestrictionName]: string } = {
  SUCCESS: "Transfer allowed",
  INSUFFICIENT_BALANCE: "Sender's balance is insufficient",
  PAUSED: "Token transfers are paused",
  SENDER_LOCKED: "Sender's tokens are locked up",
  SENDER_NOT_ELIGIBLE: "Sender lacks valid KYC/AML",
  RECEIVER_NOT_ELIGIBLE: "Receiver lacks valid KYC/AML",
  SENDER_FROZEN: "Sender address is frozen",
  RECEIVER_FROZEN: "Receiver address is frozen",
  RECEIVER_NOT_ACCREDITED: "Receiver is not an accredited investor",
  RECEIVER_COUNTRY_BLOCKED: "Receiver's country is blocked",
  MAX_BALANCE_EXCEEDED: "Transfer would exceed the receiver's maximum balance",
};

/** The message of any code that is not in the table. */
export const UNKNOWN_RESTRICTION_MESSAGE = "Unknown restriction code";

/** Every known code, in ascending order. */
export const RESTRICTION_TABLE: readonly RestrictionEntry[] = (Object.keys(RESTRICTION_CODES) as RestrictionName[])
  .map((name) => ({ code: RESTRICTION_CODES[name], name, message: MESSAGES[name] }))
  .sort((a, b) => a.code - b.code);

const BY_CODE: ReadonlyMap<number, RestrictionEntry> = new Map(RESTRICTION_TABLE.map((entry) => [entry.code, entry]));

/** The table entry of `code`, or undefined for a code outside the table. */
export function restrictionOf(code: number): RestrictionEntry | undefined {
  return BY_CODE.get(code);
}

/** ERC-1404 `messageForTransferRestriction`: the table's message, or "Unknown restriction code". */
export function messageFor(code: number): string {
  return BY_CODE.get(code)?.message ?? UNKNOWN_RESTRICTION_MESSAGE;
}
