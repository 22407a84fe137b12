// What the client tells its `onEvent` listener.
import type { Address, Bytes32 } from "../protocol/index.js";
import type { UpdateSummary } from "../store/store.js";
import type { FillView } from "./trading.js";

export type ClientEvent =
  | { readonly type: "connected" }
  | { readonly type: "disconnected" }
  /** The connection dropped: reconnect attempt `attempt` (1, 2, …) opens in `delayMs`; `refusal`, the node refused the last one for load (LOGIN_RATE_LIMITED, TOO_MANY_CONNECTIONS). */
  | { readonly type: "reconnecting"; readonly attempt: number; readonly delayMs: number; readonly refusal?: string }
  | { readonly type: "agreed"; readonly channelId: Bytes32; readonly nonce: bigint; readonly summary: UpdateSummary; readonly proposer: "venue" | "me" }
  | { readonly type: "deposits"; readonly channelId: Bytes32; readonly status: string }
  /** Claiming a venue lock with our invoice's secret failed; it is retried after the next (re)connect. */
  | { readonly type: "claimFailed"; readonly channelId: Bytes32; readonly error: Error }
  /** An invoice request was refused (the venue's requester got `rejected` with `code`). */
  | { readonly type: "invoiceRefused"; readonly code: "TOO_MANY_INVOICES"; readonly from: Address }
  /** A channel whose open failed on chain (or never mined) was removed from the store. */
  | { readonly type: "abandoned"; readonly channelId: Bytes32 }
  /** A venue proposal could not be judged (a chain read, a log-proof request, the store failed): judged again in `delayMs` (attempt `attempt` failed). */
  | { readonly type: "venueProposalRetry"; readonly channelId: Bytes32; readonly nonce: bigint; readonly attempt: number; readonly delayMs: number; readonly error: Error }
  /** A venue proposal still could not be judged after the retries: refused with `code` (the venue voids it). */
  | { readonly type: "venueProposalRefused"; readonly channelId: Bytes32; readonly nonce: bigint; readonly code: "UNAVAILABLE"; readonly error: Error }
  /** Once connected, a message from the node was unreadable or handling it failed (`message`: its type, or "unreadable"); the connection stays up. */
  | { readonly type: "messageFailed"; readonly message: string; readonly error: Error }
  /** Our resting order `orderSequence` traded (a fill logged by the venue; `fill.state` says whether it is settled). */
  | { readonly type: "orderFilled"; readonly orderSequence: bigint; readonly fill: FillView };
