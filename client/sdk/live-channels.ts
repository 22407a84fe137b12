// A channel the client is working on, and the queue that runs its updates one at a time.
import type { Channel } from "../protocol/index.js";

export interface Live {
  channel: Channel;
  queue: Promise<unknown>;
  /** The unanswered proposal of ours: its request id and nonce. */
  outstanding: { readonly id: string; readonly nonce: bigint } | undefined;
}

/** Runs `work` after everything queued for the channel, whatever its outcome. */
export function serialized<T>(live: Live, work: () => Promise<T>): Promise<T> {
  const run = live.queue.then(work, work);
  live.queue = run.catch(() => undefined);
  return run;
}

/**
 * The venue's proposal of `nonce` may arrive while our own of the same nonce is unanswered
 * (simultaneous proposals); waiting behind ours would deadlock until the timeout, and the venue's
 * takes precedence anyway, so it is handled at once (the node rejects ours with CONFLICT). One of a
 * higher nonce follows ours — the node countersigned ours and proposed next, and both answers can
 * arrive before ours is recorded — so it waits behind ours.
 */
export function serializedOrNow<T>(live: Live, nonce: bigint, work: () => Promise<T>): Promise<T> {
  return live.outstanding !== undefined && nonce <= live.outstanding.nonce ? work() : serialized(live, work);
}
