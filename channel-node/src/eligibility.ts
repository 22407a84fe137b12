// Who may register a channel: an investor the token rules would let hold at least one of the venue's
// restricted assets. Registering costs the venue storage and nothing on chain, so it is refused to
// anyone who could never trade here (no KYC/AML, frozen everywhere, not accredited, blocked country).
import { ZeroAddress } from "ethers";
import {
  ProtocolError,
  detectRestriction,
  isTrackedToken,
  restrictionOf,
  messageFor,
  addressKey,
  type Address,
  type ComplianceFacts,
} from "../../client/protocol/index.js";

/** Why `investor` may hold none of `assets`, or undefined when it may hold one (or none is restricted). */
export interface Ineligibility {
  readonly token: Address;
  readonly code: number;
  readonly rule: string;
  readonly message: string;
}

/**
 * Each restricted asset is checked as a receipt of nothing minted to the investor: the receiver's
 * rules (frozen, KYC/AML, accreditation, country) without the token's own state (a pause is not
 * about the investor) or its balance. A token whose facts the mirror lacks counts as refusing
 * (COMPLIANCE_UNKNOWN when no asset decides): fail closed.
 */
export function ineligibilityOf(facts: ComplianceFacts, assets: readonly Address[], investor: Address, now: bigint): Ineligibility | undefined {
  const restricted = assets.filter((token) => isTrackedToken(facts, token));
  if (restricted.length === 0) return undefined;
  let first: Ineligibility | undefined;
  let unknown: ProtocolError | undefined;
  for (const token of restricted) {
    let code: number;
    try {
      code = detectRestriction(unpaused(facts, token), token, ZeroAddress, investor, 0n, now, () => 0n);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      unknown ??= error;
      continue;
    }
    if (code === 0) return undefined;
    first ??= { token, code, rule: restrictionOf(code)?.name ?? "UNKNOWN", message: messageFor(code) };
  }
  if (first !== undefined || unknown === undefined) return first;
  throw unknown;
}

function unpaused(facts: ComplianceFacts, token: Address): ComplianceFacts {
  const key = addressKey(token);
  const tokenFacts = facts.tokens.get(key)!;
  if (!tokenFacts.paused) return facts;
  return { ...facts, tokens: new Map(facts.tokens).set(key, { ...tokenFacts, paused: false }) };
}
