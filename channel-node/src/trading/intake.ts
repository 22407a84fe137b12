// The checks an order passes before it enters the log (docs/trading.md, "At the node"), in this
// order: signed by the session's investor for a market of the venue and valid now (the core's
// codes; no IOC with an external matching engine), a fresh nonce, the investor's bounds, compliance
// of the movement it could cause, and funds beyond what is already reserved. Every check only reads: a refused order changes nothing.
import { ZeroAddress } from "ethers";
import { detectRestriction, isTrackedToken, type ComplianceFacts } from "../../../client/protocol/compliance/index.js";
import { ProtocolError } from "../../../client/protocol/errors.js";
import { RESTRICTION_CODES, messageFor, restrictionOf } from "../../../client/protocol/restriction-codes.js";
import { TradingError } from "../../../client/protocol/trading/errors.js";
import { validateOrder, verifySignedOrder, type SignedOrder } from "../../../client/protocol/trading/order.js";
import type { Verifier } from "../../../client/protocol/signing.js";
import type { Address, Bytes32, Eip712Domain } from "../../../client/protocol/types.js";
import type { OrderBooks } from "./books.js";
import { DeskRefusal } from "./errors.js";
import { commitmentOf } from "./reservations.js";

export interface IntakeContext {
  readonly books: OrderBooks;
  readonly domain: Eip712Domain;
  readonly verifier: Verifier;
  readonly facts: ComplianceFacts;
  readonly now: bigint;
  readonly maxRestingOrdersPerInvestor: number;
  /** What the investor's open channels hold of `token` (its side). */
  readonly fundsOf: (investor: Address, token: Address) => bigint;
  /** What the investor holds of `token` on chain and in its channels, for the maximum-balance rule. */
  readonly holdingsOf: (investor: Address, token: Address) => bigint;
}

/** Checks `signed` from the session of `investor`; returns its order hash or throws the refusal. */
export function checkOrder(ctx: IntakeContext, investor: Address, signed: SignedOrder): Bytes32 {
  const { order } = signed;
  if (order.investor !== investor) throw new DeskRefusal("NOT_YOUR_ORDER", `the order is signed for ${order.investor}, this session is ${investor}`);
  const market = ctx.books.marketOf(order.security, order.cash);
  if (market === undefined) throw new TradingError("WRONG_MARKET", `the venue has no market of ${order.security} against ${order.cash}`);
  validateOrder(order, market, ctx.now);
  if (order.timeInForce === "IOC" && ctx.books.matching === "external") throw new DeskRefusal("IOC_NOT_SUPPORTED", "an external matching engine fills resting (GTC) orders only");
  const orderHash = verifySignedOrder(signed, ctx.domain, ctx.verifier);
  const last = ctx.books.lastNonceOf(investor);
  if (last !== undefined && order.nonce <= last) throw new DeskRefusal("STALE_NONCE", `order nonce ${order.nonce} does not exceed the last accepted ${last}`);
  if (order.timeInForce === "GTC" && ctx.books.restingOf(investor, ctx.now).length >= ctx.maxRestingOrdersPerInvestor) {
    throw new DeskRefusal("TOO_MANY_ORDERS", `${investor} has ${ctx.maxRestingOrdersPerInvestor} orders resting, the most it may`);
  }
  checkCompliance(ctx, signed);
  const { token, amount } = commitmentOf(order, order.quantity);
  const free = ctx.fundsOf(investor, token) - ctx.books.reservedOf(investor, token, ctx.now);
  if (free < amount) throw new DeskRefusal("INSUFFICIENT_FUNDS", `the order commits ${amount} of ${token}; the channels hold ${free} beyond what is reserved`);
  return orderHash;
}

/**
 * A buy: the investor must be allowed to receive the security — the receiver's rules, incl. the
 * maximum balance over its holdings and every resting or unsettled buy, checked as a mint (the
 * seller is not known yet). A sell: the investor must be allowed to send it — not frozen, eligible,
 * not locked up — checked as a burn. The token's own state counts (a paused token refuses).
 */
function checkCompliance(ctx: IntakeContext, signed: SignedOrder): void {
  const { order } = signed;
  if (!isTrackedToken(ctx.facts, order.security)) return; // not a restricted asset: no rules
  let code: number;
  try {
    if (order.side === "buy") {
      const pending = ctx.books.restingOf(order.investor, ctx.now).reduce((sum, { entry, remaining }) => (entry.signed.order.side === "buy" && entry.signed.order.security === order.security ? sum + remaining : sum), 0n);
      const holdings = ctx.holdingsOf(order.investor, order.security) + pending + ctx.books.incoming.of(order.investor, order.security);
      code = detectRestriction(ctx.facts, order.security, ZeroAddress, order.investor, order.quantity, ctx.now, () => holdings);
    } else {
      code = detectRestriction(ctx.facts, order.security, order.investor, ZeroAddress, order.quantity, ctx.now, () => order.quantity);
    }
  } catch (error) {
    if (!(error instanceof ProtocolError)) throw error;
    throw new DeskRefusal("NOT_COMPLIANT", `the compliance mirror cannot judge this order: ${error.message}`);
  }
  if (code !== RESTRICTION_CODES.SUCCESS) {
    const rule = restrictionOf(code)?.name ?? "UNKNOWN";
    throw new DeskRefusal("NOT_COMPLIANT", `the order breaks ${rule} for ${order.investor}`, { code, rule, message: messageFor(code) });
  }
}
