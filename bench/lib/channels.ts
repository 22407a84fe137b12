// Fills a node data directory with many channels through the LevelStore API, for the memory and
// restart measurements: each channel is open on chain (as far as the store knows), holds the
// investor's confirmed deposit, and has agreed states signed by both participants, exactly the
// records and history entries a node writes in operation. Nothing of it is on chain: the node
// loads channels from its store at start, which is what is measured.
import { join } from "node:path";
import { keccak256, toBeHex } from "ethers";
import {
  NativeSigner,
  applyUpdate,
  channelOf,
  genesisState,
  stateDigest,
  withSignature,
  type Address,
  type Bytes32,
  type Deployment,
  type Params,
  type SignedState,
  type Update,
} from "../../client/protocol/index.js";
import { LevelStore } from "../../client/store/level-store.js";
import { summarize } from "../../client/store/summary.js";

export interface FillOptions {
  readonly dataDir: string;
  readonly count: number;
  readonly deployment: Deployment;
  /** Hash of the chain's genesis block: the store is bound to this chain, as the node's own store is. */
  readonly genesisHash: Bytes32;
  readonly venueKey: string;
  readonly assets: readonly Address[];
  readonly deposit: bigint;
  /** Agreed states per channel (each a payment of the security token to the venue). */
  readonly statesPerChannel: number;
  /** Stored as the watcher's cursor, so the node does not rescan the chain for these channels (none: the cursor is left as it is). */
  readonly lastBlock?: number;
}

const PAYMENT: Update = { kind: "payment", leg: { assetIndex: 0, from: 1, amount: 1n } };

/** Writes `count` channels into `<dataDir>/channels` (the node's store) and closes the store. */
export async function fillNodeStore(options: FillOptions): Promise<void> {
  // Unsynced writes: this builds a fixture; the node opens it later with its usual synced store.
  const store = await LevelStore.open(join(options.dataDir, "channels"), { sync: false, chain: { ...options.deployment, genesisHash: options.genesisHash } });
  const venue = await NativeSigner.create(options.venueKey);
  try {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < options.count; i++) {
      const investor = await NativeSigner.create(keccak256(toBeHex(0xbe7c4 + i, 32)));
      const params: Params = {
        participants: [venue.address, investor.address],
        assets: [...options.assets],
        challengePeriod: 3_600n,
        salt: keccak256(toBeHex(i, 32)),
      };
      const channel = channelOf(params, options.deployment);
      const id = channel.channelId;
      // The store validates writes in call order, so they need not be awaited one by one.
      writes.push(store.channelCreated({ channelId: id, params, deployment: options.deployment, me: 0, createdAt: Date.now() }));
      writes.push(store.channelOpened(id, `bench-${i}-opened`));
      writes.push(store.depositConfirmed(id, { assetIndex: 0, participant: 1, amount: options.deposit }, `bench-${i}-deposit`));
      let latest: SignedState = genesisState(channel);
      for (let n = 0; n < options.statesPerChannel; n++) {
        const state = applyUpdate(channel, latest.state, PAYMENT);
        const digest = stateDigest(state, channel.domain);
        latest = withSignature(withSignature({ state, signatures: [null, null] }, 1, investor.sign(digest)), 0, venue.sign(digest));
        writes.push(store.stateAgreed(id, latest, summarize(PAYMENT, Date.now())));
      }
      if (writes.length >= 4_096) await Promise.all(writes.splice(0));
    }
    if (options.lastBlock !== undefined) writes.push(store.blockProcessed(options.lastBlock));
    await Promise.all(writes);
  } finally {
    await store.close();
  }
}
