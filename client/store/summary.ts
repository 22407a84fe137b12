// The short history description of a core update: what kind, what moved between whom.
import type { Update } from "../protocol/updates.js";
import type { Movement, UpdateSummary } from "./store.js";

function movementsOf(update: Update): Movement[] {
  switch (update.kind) {
    case "payment":
      return [{ assetIndex: update.leg.assetIndex, amount: update.leg.amount, from: update.leg.from, to: update.leg.from === 0 ? 1 : 0 }];
    case "trade":
      return update.legs.map((leg) => ({ assetIndex: leg.assetIndex, amount: leg.amount, from: leg.from, to: leg.from === 0 ? 1 : 0 }));
    case "withdrawal":
      return update.withdrawals.map((w) => ({ assetIndex: w.assetIndex, amount: w.amount, from: w.participant, to: null }));
    case "addLock":
      return [{ assetIndex: update.lock.assetIndex, amount: update.lock.amount, from: update.lock.sender, to: null }];
    case "addLockPair":
      return update.locks.map((lock) => ({ assetIndex: lock.assetIndex, amount: lock.amount, from: lock.sender, to: null }));
    case "resolveLock":
    case "expireLock":
    case "cancelLockPair":
    case "depositAck":
    case "final":
      return [];
  }
}

export function summarize(update: Update, at: number, memo?: string): UpdateSummary {
  return { kind: update.kind, movements: movementsOf(update), at, ...(memo === undefined ? {} : { memo }) };
}
