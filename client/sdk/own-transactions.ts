// What the client's own open/deposit transactions did on chain, and when a failed open never opens.
import type { Address, Bytes32 } from "../protocol/index.js";
import type { TxOutcome } from "../chain/adjudicator.js";
import { ChainError } from "../chain/errors.js";
import { decodeAdjudicatorLog, eventIdOf } from "../chain/watcher.js";
import type { ChannelRecord, ChannelStore } from "../store/store.js";

/** Stores what our own open/deposit transaction did in the channel of `record` (idempotent by log position). */
export async function recordOwnTransaction(store: ChannelStore, adjudicator: Address, record: ChannelRecord, outcome: TxOutcome): Promise<void> {
  const channelId: Bytes32 = record.channelId;
  for (const log of outcome.receipt.logs) {
    if (log.address !== adjudicator) continue;
    const event = decodeAdjudicatorLog(log);
    if (event === null || !("channelId" in event) || event.channelId !== channelId) continue;
    const eventId = eventIdOf(log.blockNumber, log.index);
    if (event.name === "ChannelOpened") await store.channelOpened(channelId, eventId);
    if (event.name === "Deposited") {
      const participant = record.params.participants.indexOf(event.participant);
      const assetIndex = record.params.assets.indexOf(event.token);
      if ((participant === 0 || participant === 1) && assetIndex >= 0) {
        await store.depositConfirmed(channelId, { assetIndex, participant, amount: event.amount }, eventId);
      }
    }
  }
}

/**
 * Whether a failed `open` can never open the channel: it reverted (mined, or refused before it was
 * sent), or it was never sent (no funds for gas, refused by the signer, nonce already used).
 */
export function neverOpens(error: unknown): boolean {
  return error instanceof ChainError && ["REVERTED", "INSUFFICIENT_FUNDS", "REJECTED", "NONCE_CONFLICT", "NOT_AGREED"].includes(error.code);
}
