// Waiting for the venue to resolve a lock of ours: a routed payment completes when the venue claims
// our lock with the receiver's secret.
import type { Bytes32, SignedState, Update } from "../protocol/index.js";
import { ClientError } from "./errors.js";

/** Told of every venue proposal the client countersigned. */
export type AgreedListener = (channelId: Bytes32, update: Update) => void;

/**
 * Resolves with `latest()` once the venue resolved our lock `hashlock` in `channelId` (the routed
 * payment completed); rejects if it expired instead, or with TIMEOUT after `timeoutMs` (the lock
 * stays; it completes or returns to us at its expiry).
 */
export function waitForLockClaimed(
  listeners: Set<AgreedListener>,
  channelId: Bytes32,
  hashlock: Bytes32,
  timeoutMs: number,
  latest: () => Promise<SignedState>,
): { done: Promise<SignedState>; cancel(): void } {
  let cancel = (): void => undefined;
  const done = new Promise<SignedState>((resolve, reject) => {
    const timer = setTimeout(() => {
      cancel();
      reject(new ClientError("TIMEOUT", `the payment is locked but was not completed within ${timeoutMs} ms; it completes when the receiver claims it, or returns to you at the lock's expiry`));
    }, timeoutMs);
    const listener: AgreedListener = (id, update) => {
      if (id !== channelId || !((update.kind === "resolveLock" || update.kind === "expireLock") && update.hashlock === hashlock)) return;
      cancel();
      if (update.kind === "expireLock") {
        reject(new ClientError("REJECTED", "the routed payment was not claimed before its lock expired; the amount returned to you"));
        return;
      }
      latest().then(resolve, reject);
    };
    cancel = () => {
      clearTimeout(timer);
      listeners.delete(listener);
    };
    listeners.add(listener);
  });
  return { done, cancel };
}
