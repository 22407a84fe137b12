// What the venue does with the adjudicator's events (the chain watcher's handler): each event of a
// channel of ours is stored (idempotent by event id), the engine re-reads the channel and tells its
// investor, and the watchtower reacts to a registered state or a deferred payout. A secret revealed on
// chain lets the venue claim the payer's lock of a routed payment.
import type { Address } from "../../client/protocol/index.js";
import type { AdjudicatorChainEvent } from "../../client/chain/watcher.js";
import type { ChannelStore } from "../../client/store/store.js";
import type { DisputeGuard } from "./disputes.js";
import type { ChannelEngine } from "./engine.js";

export interface AdjudicatorEventsOptions {
  readonly engine: ChannelEngine;
  readonly store: ChannelStore;
  readonly guard: DisputeGuard;
  /** The venue's address: a payout deferred to it is the watchtower's to follow. */
  readonly venue: Address;
}

export function applyAdjudicatorEvents({ engine, store, guard, venue }: AdjudicatorEventsOptions): (event: AdjudicatorChainEvent) => Promise<void> {
  return async (event) => {
    if (event.name === "SecretRevealed") return engine.secretRevealed(event.hashlock, event.secret);
    if (!("channelId" in event)) return;
    const channelId = event.channelId;
    const record = engine.record(channelId);
    if (record === undefined) return; // not a channel the venue agreed to
    switch (event.name) {
      case "ChannelOpened":
        await store.channelOpened(channelId, event.eventId);
        break;
      case "Deposited": {
        const participant = record.params.participants.indexOf(event.participant);
        const assetIndex = record.params.assets.indexOf(event.token);
        if ((participant === 0 || participant === 1) && assetIndex >= 0) {
          await store.depositConfirmed(channelId, { assetIndex, participant, amount: event.amount }, event.eventId);
        }
        break;
      }
      case "Withdrawn":
        await store.withdrawalObserved(channelId, event.nonce, event.eventId);
        break;
      case "StateRegistered":
        await store.disputeObserved(channelId, { nonce: event.nonce, deadline: event.deadline }, event.eventId);
        break;
      case "ChannelConcluded":
        await store.channelConcluded(channelId, event.nonce, event.eventId);
        break;
      case "PayoutDeferred":
        if (event.holder === venue) await guard.onPayoutDeferred(event);
        break;
    }
    await engine.refresh(channelId);
    if (event.name === "StateRegistered") await guard.onRegistered(event);
  };
}
