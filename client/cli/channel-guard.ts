// Guards an investor's channels on chain with the shared Watchtower (client/chain/watchtower.ts):
// challenges a stale state the venue registers with the latest agreed one, closes with an agreed
// final state, settles after the deadline, reveals secrets owed to us, claims what could not be paid
// out — and reports each change and action as an event. Used by `clearline watch` (which opens the
// store only while it reads it) and `clearline daemon` (which holds it).
import type { Bytes32, State } from "../protocol/index.js";
import type { ChannelRecord, ChannelStore } from "../store/store.js";
import { Watchtower, type ActionResult, type WatchedChannel, type WatchtowerAction } from "../chain/watchtower.js";
import { describeError, isCliError } from "./errors.js";
import type { Output } from "./output.js";
import { short, type ChainContext } from "./session.js";

export interface GuardOptions {
  /** Seconds before a deadline at which an answer is urgent. */
  readonly safetyMargin: bigint;
  /** Chain seconds a failed action waits before it is tried again. */
  readonly retryAfter: bigint;
  /** Claim claimable balances. */
  readonly claim: boolean;
}

/** How the guard reads the store: `watch` opens it per read (STORE_BUSY while another command holds it), the daemon holds it. */
export type StoreReader = <T>(read: (store: Pick<ChannelStore, "channels" | "history">) => Promise<T>) => Promise<T>;

const iso = (seconds: bigint): string => new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

/** What the guard last saw of a channel on chain, to report changes once. */
interface Seen {
  phase: string;
  nonce: bigint;
}

export class ChannelGuard {
  private readonly watchtower: Watchtower;
  private readonly seen = new Map<Bytes32, Seen>();
  /** Channels concluded on chain: nothing can happen to them any more. */
  private readonly concluded = new Set<Bytes32>();
  private records: readonly ChannelRecord[] = [];
  private watched: WatchedChannel[] = [];
  private troubles = 0;
  /** Reports of the current check still being written (they may read token symbols from chain). */
  private reporting: Promise<void>[] = [];
  private readonly claim: boolean;
  private storeBusyReported = false;

  constructor(
    private readonly ctx: ChainContext,
    private readonly output: Output,
    options: GuardOptions,
    private readonly withStore: StoreReader,
  ) {
    this.claim = options.claim;
    this.watchtower = new Watchtower({
      client: ctx.chain,
      channels: () => this.watched,
      safetyMargin: options.safetyMargin,
      retryAfterSeconds: options.retryAfter,
      claim: options.claim,
      onAlert: (alert) => this.onAlert(alert),
      onResult: (result) => {
        this.reporting.push(this.onResult(result).catch((error: unknown) => this.output.note(`cannot report an action: ${describeError(error).message}`)));
      },
    });
  }

  /** Reads the investor's channels from the store (opened just for this). */
  async readChannels(): Promise<readonly ChannelRecord[]> {
    try {
      this.records = await this.withStore((store) => store.channels());
      this.storeBusyReported = false;
    } catch (error) {
      // A store of another chain holds nothing to guard here: say so and stop.
      if (isCliError(error, "WRONG_CHAIN")) throw error;
      // Another command holds the store for a moment: guard what was read last time.
      if (!this.storeBusyReported) this.output.note(`${describeError(error).message}; using the channels read before`);
      this.storeBusyReported = true;
    }
    return this.records;
  }

  /** States of the channel's history with this nonce (to settle a registered state that is not our latest). */
  private async knownStates(channelId: Bytes32, nonce: bigint): Promise<State[]> {
    try {
      const history = await this.withStore((store) => store.history(channelId, { afterNonce: nonce - 1n, beforeNonce: nonce + 1n }));
      return history.map((entry) => entry.signed.state);
    } catch {
      return [];
    }
  }

  /** One round: read the channels and their on-chain facts, report changes, let the watchtower act. */
  async check(): Promise<number> {
    this.troubles = 0;
    this.reporting = [];
    try {
      const records = await this.readChannels();
      const watched: WatchedChannel[] = [];
      for (const record of records) {
        if (this.concluded.has(record.channelId)) continue;
        const facts = await this.ctx.chain.channel(record.channelId);
        this.report(record, facts.phase, facts.nonce, facts.deadline);
        if (facts.phase === "Concluded") {
          this.concluded.add(record.channelId);
          continue;
        }
        if (facts.phase === "None") continue; // not opened on chain (yet)
        const latestNonce = record.latest?.state.nonce ?? 0n;
        const knownStates = facts.phase === "Disputed" && facts.nonce > 0n && facts.nonce !== latestNonce ? await this.knownStates(record.channelId, facts.nonce) : [];
        watched.push({ params: record.params, latest: record.latest, me: record.me, knownStates });
      }
      this.watched = watched;
      await this.watchtower.check();
      if (this.claim) await this.claimElsewhere(records, watched);
      await Promise.all(this.reporting);
    } catch (error) {
      this.troubles++;
      const described = describeError(error);
      this.output.event(`check failed: ${described.message}; trying again`, { event: "error", code: described.code, message: described.message });
    }
    return this.troubles;
  }

  /**
   * The watchtower claims in the assets of the channels it watches; this claims in the assets of the
   * others (concluded channels: a payout that could not be pushed at the close waits there).
   */
  private async claimElsewhere(records: readonly ChannelRecord[], watched: readonly WatchedChannel[]): Promise<void> {
    const covered = new Set(watched.flatMap((w) => w.params.assets));
    const tokens = [...new Set(records.flatMap((r) => r.params.assets))].filter((token) => !covered.has(token));
    for (const token of tokens) {
      const amount = await this.ctx.chain.claimableOf(token, this.ctx.address);
      if (amount > 0n) await this.onResult(await this.watchtower.execute({ kind: "claim", key: `claim:${token.toLowerCase()}`, token, amount }));
    }
  }

  private report(record: ChannelRecord, phase: string, nonce: bigint, deadline: bigint): void {
    const before = this.seen.get(record.channelId);
    if (before !== undefined && before.phase === phase && before.nonce === nonce) return;
    this.seen.set(record.channelId, { phase, nonce });
    const id = short(record.channelId);
    const latest = record.latest?.state.nonce ?? 0n;
    if (phase === "Disputed") {
      const stale = nonce < latest;
      const whose = stale ? `stale state #${nonce} registered on chain (our latest is #${latest}): challenging` : `state #${nonce} registered on chain (our latest is #${latest})`;
      this.output.event(`channel ${id}: ${whose}; challenge period ends ${iso(deadline)}`, {
        event: "dispute",
        channelId: record.channelId,
        registeredNonce: nonce.toString(),
        latestNonce: latest.toString(),
        stale,
        deadline: iso(deadline),
      });
    } else if (phase === "Concluded") {
      this.output.event(`channel ${id}: concluded on chain`, { event: "concluded", channelId: record.channelId });
    } else if (before !== undefined || phase === "Open") {
      this.output.event(`channel ${id}: ${phase === "None" ? "not on chain yet" : phase.toLowerCase()}${phase === "Open" ? ` (state #${latest})` : ""}`, {
        event: "status",
        channelId: record.channelId,
        status: phase === "None" ? "proposed" : phase.toLowerCase(),
      });
    }
  }

  private onAlert(alert: Extract<WatchtowerAction, { kind: "alert" }>): void {
    this.troubles++;
    this.output.event(`ALERT channel ${short(alert.channelId)}: ${alert.code}: ${alert.message}`, { event: "alert", channelId: alert.channelId, code: alert.code, message: alert.message });
  }

  private async onResult(result: ActionResult): Promise<void> {
    const { action } = result;
    if (result.status === "skipped" || result.status === "alerted" || action.kind === "alert") return;
    const channelId = "channelId" in action ? action.channelId : undefined;
    const where = channelId === undefined ? "" : `channel ${short(channelId)}: `;
    const data: Record<string, unknown> = { event: "action", action: action.kind, status: result.status, ...(channelId === undefined ? {} : { channelId }) };
    let what: string;
    switch (action.kind) {
      case "challenge":
        what = `challenged with our latest state #${action.signed.state.nonce}`;
        data.nonce = action.signed.state.nonce.toString();
        break;
      case "closeCooperatively":
        what = `closed with our agreed final state #${action.signed.state.nonce}`;
        data.nonce = action.signed.state.nonce.toString();
        break;
      case "settle":
        what = "settled after the challenge period";
        break;
      case "revealSecret":
        what = `revealed the secret of lock ${short(action.hashlock)}`;
        data.hashlock = action.hashlock;
        break;
      case "claim":
        what = `claimed ${await this.ctx.tokens.format(action.token, action.amount)}`;
        Object.assign(data, await this.ctx.tokens.json(action.token, { amount: action.amount }));
        break;
    }
    if (result.status === "done") {
      data.tx = result.outcome.hash;
      this.output.event(`${where}${what} (tx ${result.outcome.hash})`, data);
    } else if (result.status === "moot") {
      data.reason = result.error.revert?.name ?? result.error.code;
      this.output.event(`${where}${action.kind} no longer needed: the chain moved on (${String(data.reason)})`, data);
    } else {
      this.troubles++;
      const described = describeError(result.error);
      data.error = { code: described.code, message: described.message };
      this.output.event(`${where}FAILED to ${action.kind}: ${described.message}; will retry`, data);
    }
  }
}
