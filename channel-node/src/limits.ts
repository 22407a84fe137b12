// What one investor may consume of the venue (docs/operations.md, "Bounds (engine)"): channels it
// registered but never opened on chain, invoice requests relayed for it, locks and value held in
// flight in its channels. Every exceeded bound is a WireError with its own code and counted by reason.
import { WireError, type WireErrorCode } from "../../client/protocol/wire.js";
import type { Address, Lock } from "../../client/protocol/index.js";
import type { NodeMetrics } from "./metrics.js";

export interface EngineBounds {
  /** Channels in status `proposed` (registered with `open`, not yet seen on chain) per investor. */
  readonly maxProposedChannelsPerInvestor: number;
  /** A `proposed` channel not opened on chain within this time is forgotten (store and memory). */
  readonly proposedChannelTtlMs: number;
  /** Relayed `invoice_request`s per payer: sustained per second and burst (token bucket). */
  readonly invoiceRequests: { readonly perSecond: number; readonly burst: number };
  /** Unresolved locks in all of an investor's channels, both directions. */
  readonly maxLocksPerInvestor: number;
  /** Sum of an investor's unresolved lock amounts per token, in the token's smallest unit. */
  readonly maxValueInFlightPerInvestor: bigint;
  /** Per-token overrides of `maxValueInFlightPerInvestor`. */
  readonly maxValueInFlightByToken: ReadonlyMap<Address, bigint>;
  /** A venue proposal left unanswered this long after it was made is voided (docs/protocol.md, off-chain protocol 7). */
  readonly venueProposalVoidMs: number;
}

export const DEFAULT_ENGINE_BOUNDS: EngineBounds = {
  maxProposedChannelsPerInvestor: 4,
  proposedChannelTtlMs: 3_600_000,
  invoiceRequests: { perSecond: 1, burst: 10 },
  maxLocksPerInvestor: 16,
  maxValueInFlightPerInvestor: 10n ** 24n,
  maxValueInFlightByToken: new Map(),
  venueProposalVoidMs: 600_000,
};

/** Codes of the engine's bounds, each also the `reason` label of the refusal metric. */
export type BoundCode = Extract<WireErrorCode, "TOO_MANY_PROPOSED_CHANNELS" | "NOT_ELIGIBLE" | "CHANNEL_NOT_FUNDED" | "INVOICE_RATE_LIMITED" | "TOO_MANY_LOCKS" | "IN_FLIGHT_LIMIT">;

/** Counts the refusal and returns the error to throw. */
export function boundExceeded(metrics: NodeMetrics, code: BoundCode, message: string): WireError {
  metrics.boundRefusals.inc({ reason: code });
  return new WireError(code, message);
}

/** An investor's unresolved locks across its channels: how many, and their value per token. */
export interface InFlight {
  count: number;
  readonly value: Map<Address, bigint>;
}

export function inFlightOf(channels: Iterable<{ readonly assets: readonly Address[]; readonly locks: Iterable<Lock> }>): InFlight {
  const total: InFlight = { count: 0, value: new Map() };
  for (const { assets, locks } of channels) {
    for (const lock of locks) {
      const token = assets[lock.assetIndex]!;
      total.count += 1;
      total.value.set(token, (total.value.get(token) ?? 0n) + lock.amount);
    }
  }
  return total;
}

/** Throws TOO_MANY_LOCKS or IN_FLIGHT_LIMIT if one more lock of `amount` of `token` exceeds the bounds. */
export function checkLockRoom(bounds: EngineBounds, metrics: NodeMetrics, investor: Address, current: InFlight, token: Address, amount: bigint): void {
  if (current.count + 1 > bounds.maxLocksPerInvestor) {
    throw boundExceeded(metrics, "TOO_MANY_LOCKS", `${investor} has ${current.count} unresolved locks with the venue, the most it may hold; wait until some resolve or expire`);
  }
  const limit = bounds.maxValueInFlightByToken.get(token) ?? bounds.maxValueInFlightPerInvestor;
  const value = (current.value.get(token) ?? 0n) + amount;
  if (value > limit) {
    throw boundExceeded(metrics, "IN_FLIGHT_LIMIT", `${investor} would have ${value} of ${token} in unresolved locks with the venue; at most ${limit}`);
  }
}
