// The node as its own watchtower (docs/chain.md): after every chain poll it runs the shared watchtower
// policy (client/chain/watchtower.ts) over the channels the store marks disputed — challenge a stale
// registration with the latest agreed state, settle after the deadline, claim deferred payouts, reveal
// the secret of a routed payment's lock before it expires unresolved — and it force-closes a channel on the operator's request (an unresponsive investor).
import type { Logger } from "pino";
import type { Bytes32, State } from "../../client/protocol/index.js";
import type { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { Watchtower } from "../../client/chain/watchtower.js";
import type { AdjudicatorChainEvent } from "../../client/chain/watcher.js";
import type { ChannelRecord, ChannelStore } from "../../client/store/store.js";
import { storedStateAt } from "../../client/chain/checkpoint.js";
import { WireError } from "../../client/protocol/wire.js";
import type { ChannelEngine } from "./engine.js";
import type { NodeMetrics } from "./metrics.js";

export interface DisputeGuardOptions {
  chain: AdjudicatorClient;
  store: ChannelStore;
  engine: ChannelEngine;
  logger: Logger;
  metrics: NodeMetrics;
  /** Seconds before a deadline at which an unanswered registration is urgent. */
  safetyMargin?: bigint;
}

export class DisputeGuard {
  private readonly watchtower: Watchtower;

  constructor(private readonly options: DisputeGuardOptions) {
    const { engine, logger, metrics } = options;
    this.watchtower = new Watchtower({
      client: options.chain,
      safetyMargin: options.safetyMargin ?? 60n,
      // Disputed channels, and open ones holding an investor's lock whose secret the venue knows (a
      // routed payment's payer who did not let the venue resolve it: revealed on chain near expiry).
      // A registered state older than our latest comes from the store's history: no event search to settle it.
      channels: () =>
        Promise.all(
          engine
            .channelIds()
            .map((id) => engine.record(id)!)
            .filter((record) => record.status === "disputed" || (record.status === "open" && record.latest?.state.locks.some((l) => l.sender === 1 && engine.secrets.has(l.hashlock))))
            .map(async (record) => ({
              params: record.params,
              latest: record.latest,
              me: 0 as const,
              secrets: engine.secrets,
              knownStates: await this.registeredStates(record),
            })),
        ),
      onAlert: (alert) => logger.error({ channelId: alert.channelId, code: alert.code }, alert.message),
      onResult: (result) => {
        if (result.status === "skipped" || result.status === "alerted") return;
        metrics.disputeActions.inc({ action: `${result.action.kind}:${result.status}` });
        const level = result.status === "failed" ? "error" : "info";
        logger[level]({ action: result.action.kind, status: result.status, key: result.action.key }, "watchtower action");
      },
    });
  }

  /**
   * A state was registered: the watchtower remembers its outcome (no getLogs needed to settle it)
   * and answers at once if it is older than ours, without waiting for the next poll.
   */
  async onRegistered(event: Extract<AdjudicatorChainEvent, { name: "StateRegistered" }>): Promise<void> {
    this.watchtower.observe(event);
    const latest = this.options.engine.latest(event.channelId);
    if (latest !== undefined && latest.state.nonce > event.nonce) {
      this.options.logger.warn(
        { channelId: event.channelId, registered: event.nonce.toString(), latest: latest.state.nonce.toString() },
        "stale state registered; challenging",
      );
    }
    await this.watchtower.check();
  }

  /** A payout to the venue was deferred (the push failed): claim it. */
  async onPayoutDeferred(event: Extract<AdjudicatorChainEvent, { name: "PayoutDeferred" }>): Promise<void> {
    await this.watchtower.execute({ kind: "claim", key: `claim:${event.eventId}`, token: event.token, amount: event.amount });
  }

  /** The stored agreed state with the registered nonce, when it is not the latest (the store's dispute facts). */
  private async registeredStates(record: ChannelRecord): Promise<State[]> {
    const nonce = record.dispute?.nonce;
    if (nonce === undefined || nonce === 0n || nonce === record.latest?.state.nonce) return [];
    const state = await storedStateAt(this.options.store, record.channelId, nonce);
    return state === undefined ? [] : [state];
  }

  /** Runs the policy over every disputed channel. */
  async afterPoll(): Promise<void> {
    await this.watchtower.check();
  }

  /** Registers the venue's latest agreed state (or none) on chain; settlement follows after the deadline. */
  async forceClose(channelId: Bytes32): Promise<string> {
    const record = this.options.engine.record(channelId);
    if (record === undefined) throw new WireError("UNKNOWN_CHANNEL", `no channel ${channelId}`);
    const outcome =
      record.latest === null
        ? await this.options.chain.forceCloseWithoutState(record.params)
        : await this.options.chain.forceClose(record.params, record.latest);
    this.options.metrics.disputeActions.inc({ action: "forceClose:done" });
    return outcome.hash;
  }
}
