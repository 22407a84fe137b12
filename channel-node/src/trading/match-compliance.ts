// Compliance of a fill at match time (docs/trading.md, "Settlement"): the real movement is the
// security from the seller to the buyer, checked with the compliance mirror before the order that
// would cause it is logged. Intake checked the incoming order's own side; what can have changed
// since a resting order was accepted is its investor (frozen, no longer eligible, at its maximum
// balance), so a fill that fails names its maker, which the desk takes off the book (a venue
// cancel, reason "notCompliant") before matching the order again: no fill, no lock.
import { detectRestriction, isTrackedToken, type ComplianceFacts } from "../../../client/protocol/compliance/index.js";
import { RESTRICTION_CODES } from "../../../client/protocol/restriction-codes.js";
import type { FillEntry } from "../../../client/protocol/trading/log-entry.js";
import type { Order } from "../../../client/protocol/trading/order.js";
import type { Address } from "../../../client/protocol/types.js";
import type { OrderBooks } from "./books.js";

/** The maker of the first of `fills` (of the incoming order `taker`, not yet logged) whose movement seller → buyer the rules refuse, if any. */
export function nonCompliantMaker(
  books: OrderBooks,
  taker: Order,
  fills: readonly FillEntry[],
  facts: ComplianceFacts,
  now: bigint,
  holdingsOf: (investor: Address, token: Address) => bigint,
): bigint | undefined {
  // The buyer's holdings grow with each fill of the same order: count the earlier ones.
  const bought = new Map<Address, bigint>();
  for (const fill of fills) {
    const maker = books.orderBySequence(fill.makerSequence)!.signed.order;
    const [buyer, seller] = taker.side === "buy" ? [taker, maker] : [maker, taker];
    if (!isTrackedToken(facts, buyer.security)) return undefined;
    const before = bought.get(buyer.investor) ?? 0n;
    const holdings = (account: Address): bigint =>
      account === buyer.investor ? holdingsOf(account, buyer.security) + books.incoming.of(account, buyer.security) + before : holdingsOf(account, buyer.security);
    // A mirror that cannot judge throws COMPLIANCE_UNKNOWN: the order is refused, nothing is logged.
    const code = detectRestriction(facts, buyer.security, seller.investor, buyer.investor, fill.quantity, now, holdings);
    if (code !== RESTRICTION_CODES.SUCCESS) return fill.makerSequence;
    bought.set(buyer.investor, before + fill.quantity);
  }
  return undefined;
}
