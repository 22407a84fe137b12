// When the venue's own deposit counts: once the node's chain watcher applied its `Deposited` event,
// i.e. after the configured confirmations. Until then the engine refuses venue proposals that spend
// it, so the operator's deposit answers only then.
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import type { ChannelRecord } from "../../client/store/store.js";
import { setTimeout as sleep } from "node:timers/promises";

/** How long the operator's deposit waits for the node to count it (as long as a transaction may take to be mined). */
export const DEPOSIT_COUNT_TIMEOUT_MS = 600_000;

/** The venue's deposit is mined but not counted; the admin API answers its message as is. */
export class DepositNotCountedError extends CodedError<"DEPOSIT_NOT_COUNTED"> {
  override readonly name: string = "DepositNotCountedError";
  constructor(message: string) {
    super("DEPOSIT_NOT_COUNTED", message, {}, { codeSuffix: false });
  }
}

export function isDepositNotCountedError(error: unknown): error is DepositNotCountedError {
  return isCodedError(error, DepositNotCountedError);
}

/**
 * Resolves once the venue's (participant 0) confirmed deposits of `assetIndex` in the channel reach
 * `target`; DEPOSIT_NOT_COUNTED when the channel is gone or stops being open, or after `timeoutMs`
 * (the transaction is mined either way: the node counts it when its watcher gets there).
 */
export async function venueDepositCounted(
  record: () => ChannelRecord | undefined,
  assetIndex: number,
  target: bigint,
  options: { timeoutMs: number; pollMs?: number },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    const current = record();
    if ((current?.deposits[assetIndex]?.[0] ?? 0n) >= target) return;
    if (current === undefined || current.status !== "open") {
      throw new DepositNotCountedError(`the deposit was mined but the channel is ${current?.status ?? "unknown to the node"}; it is not counted`);
    }
    if (Date.now() > deadline) {
      throw new DepositNotCountedError(`the deposit was mined but the node did not count it within ${options.timeoutMs} ms (is its chain watcher behind?)`);
    }
    await sleep(options.pollMs ?? 100);
  }
}
