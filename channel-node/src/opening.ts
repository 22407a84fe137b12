// Channel registration (`open`): the parameters the venue serves, an investor eligible to hold one
// of its restricted assets (eligibility.ts), a bounded number of channels per investor that are
// registered but not yet on chain, each forgotten when it is not opened on chain in time. A channel
// forgotten and opened on chain later is registered again by the same `open` (same parameters).
import type { Logger } from "pino";
import { PROTOCOL_VERSION, WireError, type ClientMessage } from "../../client/protocol/wire.js";
import {
  ProtocolError,
  channelOf,
  validateParams,
  type Address,
  type Bytes32,
  type Channel,
  type ComplianceFacts,
  type Deployment,
} from "../../client/protocol/index.js";
import { isStoreError, type ChannelStore } from "../../client/store/store.js";
import { INVESTOR, VENUE, investorOf, type Channels, type Live } from "./channels.js";
import { ineligibilityOf } from "./eligibility.js";
import { boundExceeded, type EngineBounds } from "./limits.js";
import type { Session } from "./transport.js";
import type { NodeMetrics } from "./metrics.js";

export interface OpeningOptions {
  readonly store: ChannelStore;
  readonly venue: Address;
  readonly deployment: Deployment;
  readonly assets: readonly Address[];
  readonly minChallengePeriod: bigint;
  readonly maxChallengePeriod: bigint;
  readonly facts: () => ComplianceFacts;
  readonly now: () => bigint;
  readonly clock: () => number;
  readonly bounds: EngineBounds;
  /** Whether the adjudicator knows the channel: the chain watcher may not have delivered its opening yet. */
  readonly onChain?: ((channelId: Bytes32) => Promise<boolean>) | undefined;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
}

export class Opening {
  /** Each investor's registrations in progress, one after the other. */
  private readonly registering = new Map<Address, Promise<unknown>>();

  constructor(
    private readonly channels: Channels,
    private readonly options: OpeningOptions,
  ) {}

  async onOpen(session: Session, message: Extract<ClientMessage, { type: "open" }>): Promise<void> {
    const { options } = this;
    const params = message.params;
    try {
      validateParams(params);
    } catch (error) {
      if (error instanceof ProtocolError) throw new WireError("MALFORMED", error.shortMessage);
      throw error;
    }
    if (params.participants[VENUE] !== options.venue || params.participants[INVESTOR] !== session.address) {
      throw new WireError("NOT_PARTICIPANT", `participant 0 must be the venue ${options.venue} and participant 1 you, ${session.address}`);
    }
    for (const asset of params.assets) {
      if (!options.assets.includes(asset)) throw new WireError("MALFORMED", `the venue does not accept asset ${asset}`);
    }
    if (params.challengePeriod < options.minChallengePeriod || params.challengePeriod > options.maxChallengePeriod) {
      throw new WireError("MALFORMED", `the challenge period must be between ${options.minChallengePeriod} and ${options.maxChallengePeriod} seconds`);
    }
    const channel = channelOf(params, options.deployment);
    const live = this.channels.get(channel.channelId) ?? (await this.oneAtATime(session.address, () => this.register(session.address, channel)));
    session.send({ v: PROTOCOL_VERSION, type: "opened", id: message.id, channel: this.channels.reportOf(live) });
  }

  /** Stores and tracks a new channel of `investor`, within the bounds; the channel if it exists already. */
  private async register(investor: Address, channel: Channel): Promise<Live> {
    const { options } = this;
    const existing = this.channels.get(channel.channelId);
    if (existing !== undefined) return existing;
    this.checkEligible(investor);
    await this.prune(investor);
    const proposed = this.channels.ofInvestor(investor).filter((l) => l.record.status === "proposed").length;
    if (proposed >= options.bounds.maxProposedChannelsPerInvestor) {
      throw boundExceeded(options.metrics, "TOO_MANY_PROPOSED_CHANNELS", `you have ${proposed} channels registered but not opened on chain, the most the venue keeps; open one on chain or wait until they expire`);
    }
    await options.store.channelCreated({ channelId: channel.channelId, params: channel.params, deployment: options.deployment, me: VENUE, createdAt: options.clock() });
    const record = await options.store.channel(channel.channelId);
    if (record === undefined) throw new WireError("UNKNOWN_CHANNEL", `the store lost channel ${channel.channelId}`);
    const live = this.channels.track(channel, record);
    this.channels.updateGauge();
    options.logger.info({ channelId: channel.channelId, investor }, "channel agreed");
    return live;
  }

  /** Runs `work` after the investor's earlier registrations: the bound is checked and the channel stored as one step. */
  private oneAtATime<T>(investor: Address, work: () => Promise<T>): Promise<T> {
    const run = (this.registering.get(investor) ?? Promise.resolve()).then(work, work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.registering.set(investor, tail);
    void tail.then(() => {
      if (this.registering.get(investor) === tail) this.registering.delete(investor);
    });
    return run;
  }

  /** NOT_ELIGIBLE, naming the ERC-1404 rule and code, unless the investor may hold one of the venue's restricted assets. */
  private checkEligible(investor: Address): void {
    let refusal;
    try {
      refusal = ineligibilityOf(this.options.facts(), this.options.assets, investor, this.options.now());
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      throw boundExceeded(this.options.metrics, "NOT_ELIGIBLE", `the venue cannot check your eligibility yet: ${error.shortMessage}`);
    }
    if (refusal === undefined) return;
    throw boundExceeded(
      this.options.metrics,
      "NOT_ELIGIBLE",
      `you may not hold any of the venue's restricted assets: ${refusal.rule} (ERC-1404 0x${refusal.code.toString(16).padStart(2, "0")}: ${refusal.message}) for ${refusal.token}`,
    );
  }

  /**
   * Forgets every channel (of `investor`, when given) registered longer than the configured time
   * ago and not on chain: from the store, then from memory. One the adjudicator knows is kept (the
   * watcher has not delivered its opening yet, e.g. while catching up after a restart), and so is
   * every one while the chain cannot be asked. Resolves with how many were forgotten.
   */
  async prune(investor?: Address): Promise<number> {
    const cutoff = this.options.clock() - this.options.bounds.proposedChannelTtlMs;
    const stale = (investor === undefined ? [...this.channels.all()] : this.channels.ofInvestor(investor)).filter(
      (live) => live.record.status === "proposed" && live.record.createdAt <= cutoff,
    );
    let forgotten = 0;
    for (const live of stale) if (await this.forget(live)) forgotten += 1;
    if (forgotten > 0) this.channels.updateGauge();
    return forgotten;
  }

  private async forget(live: Live): Promise<boolean> {
    const channelId = live.channel.channelId;
    try {
      if ((await this.options.onChain?.(channelId)) === true) return false;
    } catch (error) {
      this.options.logger.warn({ channelId, err: error }, "cannot ask the chain whether a registered channel was opened; kept");
      return false;
    }
    return this.channels.serialized(live, async () => {
      // Forgotten by a concurrent prune, or opened by a chain event meanwhile.
      if (this.channels.get(channelId) !== live || live.record.status !== "proposed") return false;
      try {
        await this.options.store.channelAbandoned(live.channel.channelId);
      } catch (error) {
        // The chain watcher stored its opening, not yet re-read: keep it.
        if (!isStoreError(error, "INVALID_TRANSITION")) throw error;
        await this.channels.reload(live);
        return false;
      }
      this.channels.forget(live);
      this.options.metrics.proposedChannelsPruned.inc();
      this.options.logger.info({ channelId, investor: investorOf(live) }, "registered channel not opened on chain in time; forgotten");
      return true;
    });
  }
}
