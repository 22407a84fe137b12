// What the parts of a ClearlineClient share: its options, its connection to the node, the channels
// it is working on (each with its update queue), the node's reports, the venue's address and the
// chain's time; and the reads every part needs (a channel's record, its confirmed deposits).
import { channelOf, type Address, type Bytes32, type Deposits } from "../protocol/index.js";
import type { AdjudicatorClient, TxOutcome } from "../chain/adjudicator.js";
import type { ChannelRecord } from "../store/store.js";
import type { ClientOptions } from "./client-options.js";
import type { Connection } from "./connection.js";
import { ClientError } from "./errors.js";
import { ChainTime } from "./chain-time.js";
import { ChannelReports } from "./reports.js";
import { confirmedDeposits } from "./deposits.js";
import { recordOwnTransaction } from "./own-transactions.js";
import type { Live } from "./live-channels.js";

export class ClientContext {
  readonly live = new Map<Bytes32, Live>();
  /** The node's last report of each channel: status and confirmed deposits. */
  readonly reports = new ChannelReports();
  /** What lock expiries are judged by: the chain's time (the host's without a chain). */
  readonly chainTime: ChainTime;
  /** The venue's address, learnt from the node's challenge. */
  venue: Address | undefined;

  constructor(
    readonly options: ClientOptions,
    readonly connection: Connection,
  ) {
    const chain = options.chain;
    this.chainTime = new ChainTime(chain === undefined ? undefined : () => chain.chainTime());
  }

  get store(): ClientOptions["store"] {
    return this.options.store;
  }

  /** The venue's address; NOT_CONNECTED before the first challenge. */
  venueAddress(): Address {
    if (this.venue === undefined) throw new ClientError("NOT_CONNECTED", "connect first");
    return this.venue;
  }

  requireChain(): AdjudicatorClient {
    if (this.options.chain === undefined) throw new ClientError("NO_CHAIN", "this operation needs a chain connection (rpcUrl)");
    return this.options.chain;
  }

  async recordOf(channelId: Bytes32): Promise<ChannelRecord> {
    const record = await this.options.store.channel(channelId);
    if (record === undefined) throw new ClientError("UNKNOWN_CHANNEL", `no channel ${channelId}`);
    return record;
  }

  /** The channel we work on for `record`, from now on. */
  track(record: ChannelRecord): Live {
    let live = this.live.get(record.channelId);
    if (live === undefined) {
      live = { channel: channelOf(record.params, record.deployment), queue: Promise.resolve(), outstanding: undefined };
      this.live.set(record.channelId, live);
    }
    return live;
  }

  /** Confirmed deposits: from the chain when the client has one, else the venue's report. */
  depositsOf(record: ChannelRecord): Promise<Deposits> {
    return confirmedDeposits(record, this.options.chain, this.reports.get(record.channelId), this.options.store);
  }

  /** Stores what our own open/deposit transaction did on chain (idempotent by log position). */
  async ownTransactionRecorded(channelId: Bytes32, outcome: TxOutcome): Promise<void> {
    await recordOwnTransaction(this.options.store, this.options.deployment.adjudicator, await this.recordOf(channelId), outcome);
  }
}
