/**
 * A channel's checkpoint — the agreed state of its last withdrawal — from what a party already
 * knows: both parties store every agreed state, and the adjudicator's record names the checkpoint's
 * nonce while the channel is open. One `eth_call`, no event search; the chain's logs are read only
 * when the store lacks that state (a party that lost it).
 */
import type { Bytes32, State } from "../protocol/types.js";
import type { ChannelRecord, ChannelStore } from "../store/store.js";
import type { AdjudicatorClient, Checkpoint } from "./adjudicator.js";

/**
 * The stored state of the channel's checkpoint, null before the first withdrawal, or undefined when
 * the store does not hold it. The nonce is the adjudicator's while the channel is open (it is current
 * even before the store has seen the `Withdrawn` event); otherwise the store's `checkpointNonce`
 * (while disputed the record's nonce is the registered state's).
 */
export async function storedCheckpoint(chain: AdjudicatorClient, store: Pick<ChannelStore, "history">, record: ChannelRecord): Promise<State | null | undefined> {
  const onChain = await chain.channel(record.channelId);
  const nonce = onChain.phase === "Open" ? onChain.nonce : record.checkpointNonce;
  if (nonce === 0n) return null;
  if (record.latest?.state.nonce === nonce) return record.latest.state;
  return storedStateAt(store, record.channelId, nonce);
}

/** The agreed state of the channel with `nonce` in the store's history, or undefined. */
export async function storedStateAt(store: Pick<ChannelStore, "history">, channelId: Bytes32, nonce: bigint): Promise<State | undefined> {
  const [entry] = await store.history(channelId, { afterNonce: nonce - 1n, limit: 1 });
  return entry?.signed.state.nonce === nonce ? entry.signed.state : undefined;
}

/** The channel's checkpoint: the stored one, else the one read from the chain (`checkpointedState`). */
export async function checkpointOf(chain: AdjudicatorClient, store: Pick<ChannelStore, "history">, record: ChannelRecord): Promise<Checkpoint> {
  const stored = await storedCheckpoint(chain, store, record);
  return stored !== undefined ? stored : chain.checkpointedState(record.channelId);
}
