// The engine's live channels: each channel's cached record and the queue that serialises its
// updates, an index by investor, and what the compliance rules see of them (layer-two holdings).
import { WireError, type ChannelReport } from "../../client/protocol/wire.js";
import {
  channelBalance,
  domainOf,
  genesisState,
  onChainBalanceOf,
  paramsToJson,
  signedStateToJson,
  type Address,
  type Bytes32,
  type Channel,
  type ChannelFacts,
  type ComplianceFacts,
  type Eip712Domain,
  type Lock,
  type SignedState,
} from "../../client/protocol/index.js";
import type { ChannelRecord, ChannelStore } from "../../client/store/store.js";
import type { Session } from "./transport.js";
import type { NodeMetrics } from "./metrics.js";

export const VENUE = 0;
export const INVESTOR = 1;

/** The venue's proposal on its way to the investor, awaiting an answer. */
export interface Outstanding {
  readonly id: string;
  /** The investor answered; the answer is being processed in the channel's queue. */
  answered: boolean;
  resolve(signature: string): void;
  reject(error: Error): void;
}

/** Per-channel live data: the cached record and the queue that serialises its updates. */
export interface Live {
  readonly channel: Channel;
  record: ChannelRecord;
  queue: Promise<unknown>;
  outstanding: Outstanding | undefined;
}

/** Where every channel's update queue starts: one settled promise shared by all idle channels. */
const IDLE: Promise<unknown> = Promise.resolve();

export class Channels {
  private readonly live = new Map<Bytes32, Live>();
  /**
   * Each investor's channels, for its layer-two holdings (the maximum-balance rule counts them all):
   * the channel id itself while the investor has one (most do), a set from the second on.
   */
  private readonly byInvestor = new Map<Address, Bytes32 | Set<Bytes32>>();
  /** The EIP-712 domain of each deployment, shared by its channels. */
  private readonly domains = new Map<string, Eip712Domain>();

  constructor(
    private readonly store: ChannelStore,
    private readonly facts: () => ComplianceFacts,
    private readonly now: () => bigint,
    private readonly metrics: NodeMetrics,
  ) {}

  get(channelId: Bytes32): Live | undefined {
    return this.live.get(channelId);
  }

  ids(): Bytes32[] {
    return [...this.live.keys()];
  }

  all(): IterableIterator<Live> {
    return this.live.values();
  }

  ofInvestor(investor: Address): Live[] {
    return this.idsOf(investor).map((channelId) => this.live.get(channelId)!);
  }

  track(channel: Channel, record: ChannelRecord): Live {
    const live: Live = { channel, record, queue: IDLE, outstanding: undefined };
    this.live.set(channel.channelId, live);
    const investor = investorOf(live);
    const channels = this.byInvestor.get(investor);
    if (channels === undefined) this.byInvestor.set(investor, channel.channelId);
    else if (typeof channels === "string") this.byInvestor.set(investor, new Set([channels, channel.channelId]));
    else channels.add(channel.channelId);
    return live;
  }

  /** Tracks a stored channel (its id was checked against its parameters when it was created). */
  restore(record: ChannelRecord): Live {
    const { params, deployment, channelId } = record;
    const key = `${deployment.chainId}/${deployment.adjudicator}`;
    let domain = this.domains.get(key);
    if (domain === undefined) this.domains.set(key, (domain = domainOf(deployment)));
    return this.track({ params, deployment, channelId, domain }, record);
  }

  forget(live: Live): void {
    const { channelId } = live.channel;
    this.live.delete(channelId);
    const investor = investorOf(live);
    const channels = this.byInvestor.get(investor);
    if (channels === channelId || (typeof channels === "object" && channels.delete(channelId) && channels.size === 0)) this.byInvestor.delete(investor);
  }

  private idsOf(investor: Address): Bytes32[] {
    const channels = this.byInvestor.get(investor);
    return channels === undefined ? [] : typeof channels === "string" ? [channels] : [...channels];
  }

  /** The channel, if `session`'s investor is its participant (UNKNOWN_CHANNEL, NOT_PARTICIPANT). */
  owned(session: Session, channelId: Bytes32): Live {
    const live = this.live.get(channelId);
    if (live === undefined) throw new WireError("UNKNOWN_CHANNEL", `the venue knows no channel ${channelId}`);
    if (investorOf(live) !== session.address) throw new WireError("NOT_PARTICIPANT", "this channel is not yours");
    return live;
  }

  /** Runs `work` after every earlier update of the channel. */
  serialized<T>(live: Live, work: () => Promise<T>): Promise<T> {
    const run = live.queue.then(work, work);
    live.queue = run.catch(() => undefined);
    return run;
  }

  async reload(live: Live): Promise<void> {
    const record = await this.store.channel(live.channel.channelId);
    if (record === undefined) throw new WireError("UNKNOWN_CHANNEL", `the store lost channel ${live.channel.channelId}`);
    live.record = record;
  }

  /** The latest agreed state (the genesis state before the first update). */
  latestOf(live: Live): SignedState {
    return live.record.latest ?? genesisState(live.channel);
  }

  /** The locks of the latest agreed state and of the venue's unanswered proposal, each once. */
  unresolvedLocks(live: Live): Lock[] {
    const locks = new Map(this.latestOf(live).state.locks.map((lock) => [lock.hashlock, lock] as const));
    for (const lock of live.record.pending?.signed.state.locks ?? []) locks.set(lock.hashlock, lock);
    return [...locks.values()];
  }

  /** What the core needs to judge an update of `live`: confirmed deposits, time, compliance. */
  factsFor(live: Live): ChannelFacts {
    const facts = this.facts();
    return {
      deposits: live.record.deposits,
      now: this.now(),
      compliance: { facts, holdingsOutside: (token, account) => this.holdingsOf(facts, token, account, live.channel.channelId) },
    };
  }

  /**
   * What `account` holds of `token` at layer two, outside channel `excluding`: its on-chain balance
   * plus, for an investor, its balances in its other channels with the venue that are not yet
   * paid out (tokens in a channel still belong to the investor for every rule).
   */
  holdingsOf(facts: ComplianceFacts, token: Address, account: Address, excluding?: Bytes32): bigint {
    let total = onChainBalanceOf(facts, token, account);
    for (const channelId of this.idsOf(account)) {
      const other = this.live.get(channelId)!;
      const assetIndex = other.channel.params.assets.indexOf(token);
      if (channelId === excluding || assetIndex < 0 || other.record.status === "concluded") continue;
      total += channelBalance(this.latestOf(other).state, other.record.deposits, assetIndex, INVESTOR);
    }
    return total;
  }

  /** The channel as the investor is told of it; `voided`: the venue's void proposal, if any (proposals.ts). */
  reportOf(live: Live, voided?: SignedState): ChannelReport {
    return {
      channelId: live.channel.channelId,
      params: paramsToJson(live.channel.params),
      status: live.record.status,
      latest: signedStateToJson(this.latestOf(live)),
      deposits: live.record.deposits.map(([a, b]) => [a.toString(), b.toString()] as [string, string]),
      ...(voided === undefined ? {} : { voided: signedStateToJson(voided) }),
    };
  }

  reportsOf(investor: Address, voidedOf: (live: Live) => SignedState | undefined = () => undefined): ChannelReport[] {
    return this.ofInvestor(investor).map((live) => this.reportOf(live, voidedOf(live)));
  }

  updateGauge(): void {
    const counts: Record<string, number> = { proposed: 0, open: 0, disputed: 0, concluded: 0 };
    for (const live of this.live.values()) counts[live.record.status] = (counts[live.record.status] ?? 0) + 1;
    for (const [status, count] of Object.entries(counts)) this.metrics.channels.set({ status }, count);
  }
}

export function investorOf(live: Live): Address {
  return live.record.params.participants[INVESTOR];
}
