/**
 * The dispute policy (docs/chain.md), as a pure function, and a thin executor that runs it.
 *
 * `disputeActions` takes what one side knows — its latest agreed state of a channel (and any older
 * agreed states it kept), the secrets it holds, the on-chain dispute facts, the chain's time and a
 * safety margin — and returns what to do now:
 *
 * - **challenge** with our latest state as soon as a lower nonce is registered (never waiting for
 *   the deadline to come close; `urgent` once fewer than `safetyMargin` seconds are left). A final
 *   latest state **closes cooperatively** instead: that is allowed even after the deadline.
 * - **settle** once the deadline has passed, with the registered state's nets and locks, as soon as
 *   every lock is revealed or expired.
 * - **revealSecret** for a lock we are the receiver of and hold the secret of, while it can still pay:
 *   at once during a dispute, and in an open channel once its expiry is within `safetyMargin` (the
 *   counterparty has not unlocked it off chain in time; a reveal on chain is enough to be paid at
 *   any later settlement, so the channel can stay open).
 * - **claim** every claimable balance (`claimActions`).
 * - **alert** where no transaction helps: the window to challenge was missed, the registered state
 *   is one we cannot settle (unknown locks), or two different states carry the same nonce.
 *
 * Nothing here reads the chain or a clock. `Watchtower` gathers the facts through an
 * `AdjudicatorClient`, calls the policy and submits the actions, idempotently: an action already in
 * flight is not submitted again, facts are re-read before every decision, a revert that means "the
 * chain moved on" (StaleNonce, WrongPhase, …) is not an error, and a failing action waits
 * `retryAfterSeconds` before it is tried again. The venue's node and the client's `watch` mode both
 * use it.
 */
import { ZeroHash } from "ethers";
import { locksRootOf } from "../protocol/encoding.js";
import type { Address, Bytes32, Lock, ParticipantIndex, Params, SignedState, State } from "../protocol/types.js";
import type { AdjudicatorClient, ChannelPhase, RegisteredOutcome, TxOutcome } from "./adjudicator.js";
import { isChainError, isRevert, toChainError, type ChainError } from "./errors.js";
import type { ChainEvent } from "./watcher.js";

// ---------------------------------------------------------------------------------------------
// The policy
// ---------------------------------------------------------------------------------------------

/** The on-chain side of a dispute. */
export interface DisputeFacts {
  readonly phase: ChannelPhase;
  /** While disputed, the registered nonce; while open, the last withdrawal checkpoint. */
  readonly nonce: bigint;
  /** End of the challenge period while disputed. */
  readonly deadline: bigint;
  /** The registered outcome from the latest `StateRegistered` event, when known. */
  readonly registered?: (Pick<RegisteredOutcome, "nonce" | "nets" | "locksRoot"> & { readonly locks?: readonly Lock[] }) | null;
}

export interface DisputeInput {
  readonly params: Params;
  readonly channelId: Bytes32;
  /** The participant whose funds we guard. */
  readonly me: ParticipantIndex;
  /** Our latest agreed state (both signatures); anything else (e.g. the unsigned genesis) counts as none. */
  readonly latest: SignedState | null;
  /** Older agreed states we kept: they let us settle a registered state that is not our latest. */
  readonly knownStates?: readonly State[];
  readonly chain: DisputeFacts;
  /** The chain's time (latest block timestamp), seconds. */
  readonly now: bigint;
  /** Seconds before a deadline or expiry at which waiting becomes dangerous. */
  readonly safetyMargin: bigint;
  /** Secrets we hold, by hashlock. */
  readonly secrets?: ReadonlyMap<Bytes32, Bytes32>;
  /** On-chain reveals: hashlock → `secretRevealedAt` (absent or 0: not revealed). */
  readonly revealedAt?: ReadonlyMap<Bytes32, bigint>;
}

export type AlertCode =
  /** A lower nonce was registered and its challenge period ended before we answered. */
  | "CHALLENGE_MISSED"
  /** The registered state carries locks we do not know: it cannot be settled by us. */
  | "UNKNOWN_REGISTERED_STATE"
  /** A state newer than our latest was registered: our store is behind. */
  | "REGISTERED_NEWER_THAN_LATEST"
  /** The registered state has our latest's nonce but another outcome: two states share a nonce. */
  | "CONFLICTING_STATE";

export type WatchtowerAction =
  | {
      readonly kind: "challenge";
      readonly key: string;
      readonly channelId: Bytes32;
      readonly params: Params;
      readonly signed: SignedState;
      /** Fewer than `safetyMargin` seconds are left before the deadline. */
      readonly urgent: boolean;
    }
  | { readonly kind: "closeCooperatively"; readonly key: string; readonly channelId: Bytes32; readonly params: Params; readonly signed: SignedState }
  | {
      readonly kind: "settle";
      readonly key: string;
      readonly channelId: Bytes32;
      readonly params: Params;
      readonly nets: readonly bigint[];
      readonly locks: readonly Lock[];
    }
  | {
      readonly kind: "revealSecret";
      readonly key: string;
      readonly channelId: Bytes32;
      readonly hashlock: Bytes32;
      readonly secret: Bytes32;
      readonly expiry: bigint;
      readonly urgent: boolean;
    }
  | { readonly kind: "claim"; readonly key: string; readonly token: Address; readonly amount: bigint }
  | { readonly kind: "alert"; readonly key: string; readonly channelId: Bytes32; readonly code: AlertCode; readonly message: string };

export type WatchtowerActionKind = WatchtowerAction["kind"];

function isAgreed(signed: SignedState | null): signed is SignedState {
  return signed !== null && signed.state.nonce > 0n && signed.signatures[0] !== null && signed.signatures[1] !== null;
}

const isRevealed = (revealedAt: ReadonlyMap<Bytes32, bigint> | undefined, hashlock: Bytes32): boolean =>
  (revealedAt?.get(hashlock) ?? 0n) > 0n;

/** The registered state's nets and locks, or why they are unknown. */
function registeredOutcomeOf(input: DisputeInput, agreed: SignedState | null): { nets: readonly bigint[]; locks: readonly Lock[] } | AlertCode {
  const { chain } = input;
  const candidates = [...(agreed === null ? [] : [agreed.state]), ...(input.knownStates ?? [])].filter(
    (state) => state.nonce === chain.nonce && state.channelId === input.channelId,
  );
  const registered = chain.registered;
  if (registered != null && registered.nonce === chain.nonce) {
    // The event carries the lock list; without it (an older record) match the root against known states.
    if (registered.locks !== undefined) return { nets: registered.nets, locks: registered.locks };
    if (registered.locksRoot === ZeroHash) return { nets: registered.nets, locks: [] };
    const match = candidates.find((state) => locksRootOf(state.locks) === registered.locksRoot);
    return match === undefined ? "UNKNOWN_REGISTERED_STATE" : { nets: registered.nets, locks: match.locks };
  }
  const state = candidates[0];
  if (state !== undefined) return { nets: state.allocations.map((a) => a.net), locks: state.locks };
  // Nonce 0 without a known event is "no state" (forceCloseWithoutState): zero nets, no locks.
  if (chain.nonce === 0n) return { nets: input.params.assets.map(() => 0n), locks: [] };
  return "UNKNOWN_REGISTERED_STATE";
}

/** What to do now for one channel. Pure: the same input always gives the same actions. */
export function disputeActions(input: DisputeInput): WatchtowerAction[] {
  const { chain, now, channelId, params, safetyMargin } = input;
  const agreed = isAgreed(input.latest) ? input.latest : null;
  const actions: WatchtowerAction[] = [];
  const alert = (code: AlertCode, message: string, nonce: bigint): void => {
    actions.push({ kind: "alert", key: `alert:${channelId}:${code}:${nonce}`, channelId, code, message });
  };
  const other: ParticipantIndex = input.me === 0 ? 1 : 0;

  /** Reveals for locks of `states` paid to us, while a reveal can still pay (`now < expiry`). */
  const reveal = (states: readonly State[], onlyNearExpiry: boolean): void => {
    const seen = new Set<Bytes32>();
    for (const state of states) {
      for (const lock of state.locks) {
        if (lock.sender !== other || seen.has(lock.hashlock)) continue;
        seen.add(lock.hashlock);
        const secret = input.secrets?.get(lock.hashlock);
        if (secret === undefined || isRevealed(input.revealedAt, lock.hashlock)) continue;
        // The reveal lands in a later block (timestamp > now); at `now >= expiry` it is too late.
        if (now >= lock.expiry) continue;
        const urgent = now + safetyMargin >= lock.expiry;
        if (onlyNearExpiry && !urgent) continue;
        actions.push({ kind: "revealSecret", key: `reveal:${lock.hashlock}`, channelId, hashlock: lock.hashlock, secret, expiry: lock.expiry, urgent });
      }
    }
  };

  if (chain.phase === "Open") {
    if (agreed !== null) reveal([agreed.state], true);
    return actions;
  }
  if (chain.phase !== "Disputed") return actions;

  if (agreed !== null && agreed.state.nonce > chain.nonce) {
    if (agreed.state.isFinal) {
      actions.push({ kind: "closeCooperatively", key: `close:${channelId}:${agreed.state.nonce}`, channelId, params, signed: agreed });
      return actions;
    }
    if (now < chain.deadline) {
      const urgent = chain.deadline - now <= safetyMargin;
      actions.push({ kind: "challenge", key: `challenge:${channelId}:${agreed.state.nonce}`, channelId, params, signed: agreed, urgent });
      // Our latest will be the registered state: reveal its locks now rather than race the expiry later.
      reveal([agreed.state], false);
      return actions;
    }
    alert(
      "CHALLENGE_MISSED",
      `nonce ${chain.nonce} was registered and its challenge period ended at ${chain.deadline}; our latest is ${agreed.state.nonce}`,
      chain.nonce,
    );
  } else if (agreed !== null && agreed.state.nonce < chain.nonce) {
    alert("REGISTERED_NEWER_THAN_LATEST", `nonce ${chain.nonce} is registered but our latest agreed state is ${agreed.state.nonce}`, chain.nonce);
  } else if (
    agreed !== null &&
    chain.registered != null &&
    chain.registered.nonce === chain.nonce &&
    (chain.registered.locksRoot !== locksRootOf(agreed.state.locks) ||
      chain.registered.nets.some((net, i) => net !== agreed.state.allocations[i]?.net))
  ) {
    alert("CONFLICTING_STATE", `the registered state ${chain.nonce} differs from our agreed state of that nonce`, chain.nonce);
  }

  const outcome = registeredOutcomeOf(input, agreed);
  if (typeof outcome === "string") {
    alert(outcome, `cannot settle: the locks of registered state ${chain.nonce} are unknown`, chain.nonce);
    return actions;
  }
  // Reveal what the registered state owes us; then settle once every lock is resolved.
  const registeredState: State = { channelId, nonce: chain.nonce, allocations: [], locks: outcome.locks, isFinal: false };
  reveal([registeredState], false);
  if (now < chain.deadline) return actions;
  const unresolved = outcome.locks.some((lock) => !isRevealed(input.revealedAt, lock.hashlock) && now <= lock.expiry);
  if (!unresolved) {
    actions.push({ kind: "settle", key: `settle:${channelId}:${chain.nonce}`, channelId, params, nets: outcome.nets, locks: outcome.locks });
  }
  return actions;
}

/** A claim for every positive claimable balance. */
export function claimActions(claimable: readonly { readonly token: Address; readonly amount: bigint }[]): WatchtowerAction[] {
  return claimable
    .filter(({ amount }) => amount > 0n)
    .map(({ token, amount }) => ({ kind: "claim", key: `claim:${token.toLowerCase()}`, token, amount }) as const);
}

// ---------------------------------------------------------------------------------------------
// The executor
// ---------------------------------------------------------------------------------------------

/** A channel to guard, as the caller's store knows it. */
export interface WatchedChannel {
  readonly params: Params;
  /** Our latest agreed state, or null when none was ever agreed. */
  readonly latest: SignedState | null;
  readonly knownStates?: readonly State[];
  /** Secrets we hold, by hashlock. */
  readonly secrets?: ReadonlyMap<Bytes32, Bytes32>;
  /** Whose funds to guard; default: the client's signer's participant index. */
  readonly me?: ParticipantIndex;
  /**
   * The block the channel was opened in, to look for its `StateRegistered` event from when no known
   * state has the registered nonce (default: the client's `startBlock`).
   */
  readonly fromBlock?: number;
}

/** What happened to one action in a `check()`. */
export type ActionResult =
  | { readonly action: WatchtowerAction; readonly status: "done"; readonly outcome: TxOutcome }
  /** The chain moved on (e.g. someone else's challenge got in first): nothing to do. */
  | { readonly action: WatchtowerAction; readonly status: "moot"; readonly error: ChainError }
  | { readonly action: WatchtowerAction; readonly status: "failed"; readonly error: ChainError }
  /** In flight already, or waiting for its retry time after a failure. */
  | { readonly action: WatchtowerAction; readonly status: "skipped" }
  | { readonly action: WatchtowerAction; readonly status: "alerted" };

export interface WatchtowerOptions {
  readonly client: AdjudicatorClient;
  /** The channels to guard, read afresh on every check (from the store). */
  readonly channels: () => Iterable<WatchedChannel> | Promise<Iterable<WatchedChannel>>;
  /** Seconds (default 600). */
  readonly safetyMargin?: bigint;
  /** Chain seconds a failed action waits before it is tried again (default 60). */
  readonly retryAfterSeconds?: bigint;
  /** Claim claimable balances of the signer in the channels' assets (default true). */
  readonly claim?: boolean;
  /** Each alert is reported once. */
  readonly onAlert?: (alert: Extract<WatchtowerAction, { kind: "alert" }>) => void;
  readonly onResult?: (result: ActionResult) => void;
}

/** Reverts that mean the action is no longer needed: the facts changed under us. */
const MOOT_REVERTS = ["StaleNonce", "WrongPhase", "ChallengePeriodOver", "NothingClaimable"];

export class Watchtower {
  private readonly options: WatchtowerOptions;
  private readonly inFlight = new Set<string>();
  private readonly retryAt = new Map<string, bigint>();
  private readonly alerted = new Set<string>();
  private readonly registeredCache = new Map<Bytes32, RegisteredOutcome>();
  private running: Promise<ActionResult[]> | null = null;

  constructor(options: WatchtowerOptions) {
    this.options = options;
  }

  /**
   * Feeds a watcher event: a `StateRegistered` outcome is remembered, so that the next check need not
   * look it up with `getLogs`. Idempotent; other events are ignored.
   */
  observe(event: ChainEvent): void {
    if (event.name !== "StateRegistered") return;
    const known = this.registeredCache.get(event.channelId);
    if (known !== undefined && known.nonce >= event.nonce) return;
    this.registeredCache.set(event.channelId, {
      nonce: event.nonce,
      deadline: event.deadline,
      nets: event.nets,
      locksRoot: event.locksRoot,
      locks: event.locks,
      blockNumber: Number(event.position.blockNumber),
      transactionHash: event.transactionHash,
    });
  }

  /** The actions the policy wants now, without submitting anything. */
  async plan(): Promise<WatchtowerAction[]> {
    const { client } = this.options;
    const now = await client.chainTime();
    const me = await client.signer.getAddress();
    const actions: WatchtowerAction[] = [];
    const tokens = new Set<Address>();
    for (const watched of await this.options.channels()) {
      watched.params.assets.forEach((asset) => tokens.add(asset));
      actions.push(...(await this.channelActions(watched, me, now)));
    }
    if (this.options.claim ?? true) {
      const claimable = await Promise.all([...tokens].map(async (token) => ({ token, amount: await client.claimableOf(token, me) })));
      actions.push(...claimActions(claimable));
    }
    return actions;
  }

  /**
   * Reads the facts, decides and submits. Concurrent calls share one run; every action is reported
   * through `onResult` and returned.
   */
  check(): Promise<ActionResult[]> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<ActionResult[]> {
    const actions = await this.plan();
    const now = await this.options.client.chainTime();
    // Submitted in order (the client serialises submissions, so account nonces follow this order)
    // but confirmed concurrently: one channel's confirmations never delay another channel's answer.
    // The policy never returns two actions that depend on each other's order.
    return Promise.all(
      actions.map(async (action) => {
        const result = await this.execute(action, now);
        this.options.onResult?.(result);
        return result;
      }),
    );
  }

  private async channelActions(watched: WatchedChannel, me: Address, now: bigint): Promise<WatchtowerAction[]> {
    const { client } = this.options;
    const channelId = client.channelIdOf(watched.params);
    const record = await client.channel(channelId);
    let registered: RegisteredOutcome | null = null;
    if (record.phase === "Disputed") {
      const cached = this.registeredCache.get(channelId);
      // A registered state we agreed (or "no state") is known already: its nets and locks need no event
      // search; nor are they needed while our newer agreed state answers the registration.
      const latest = watched.latest;
      const answering = latest !== null && latest.signatures.every((s) => s !== null) && latest.state.nonce > record.nonce && (latest.state.isFinal || now < record.deadline);
      const known = record.nonce === 0n || answering || [...(latest === null ? [] : [latest.state]), ...(watched.knownStates ?? [])].some((s) => s.nonce === record.nonce);
      registered = cached !== undefined && cached.nonce === record.nonce ? cached : known ? null : await this.searchRegistered(channelId, watched.fromBlock);
      if (registered !== null) this.registeredCache.set(channelId, registered);
    } else {
      this.registeredCache.delete(channelId);
    }
    const hashlocks = new Set<Bytes32>();
    for (const state of [...(watched.latest === null ? [] : [watched.latest.state]), ...(watched.knownStates ?? [])]) {
      for (const lock of state.locks) hashlocks.add(lock.hashlock);
    }
    const revealedAt = new Map<Bytes32, bigint>();
    for (const hashlock of hashlocks) revealedAt.set(hashlock, await client.secretRevealedAt(hashlock));
    const index = watched.params.participants.findIndex((p) => p.toLowerCase() === me.toLowerCase());
    const participant: ParticipantIndex = watched.me ?? (index === 1 ? 1 : 0);
    return disputeActions({
      params: watched.params,
      channelId,
      me: participant,
      latest: watched.latest,
      knownStates: watched.knownStates,
      chain: { ...record, registered },
      now,
      safetyMargin: this.options.safetyMargin ?? 600n,
      secrets: watched.secrets,
      revealedAt,
    });
  }

  /**
   * The registered outcome from the chain's events. A search without a start block, or refused by
   * the provider, leaves it unknown (the policy alerts UNKNOWN_REGISTERED_STATE for this channel)
   * rather than stopping the check of every other channel.
   */
  private async searchRegistered(channelId: Bytes32, fromBlock: number | undefined): Promise<RegisteredOutcome | null> {
    try {
      return await this.options.client.registeredOutcome(channelId, fromBlock);
    } catch (error) {
      if (isChainError(error) && (error.code === "LOG_START_UNKNOWN" || error.code === "LOG_RANGE_REFUSED")) return null;
      throw error;
    }
  }

  /**
   * Runs one action through the same bookkeeping as `check()` (in flight once, retry wait, moot
   * reverts); `now` is the chain time that retry waits are measured in (default: read it).
   */
  async execute(action: WatchtowerAction, now?: bigint): Promise<ActionResult> {
    now ??= await this.options.client.chainTime();
    if (action.kind === "alert") {
      if (!this.alerted.has(action.key)) {
        this.alerted.add(action.key);
        this.options.onAlert?.(action);
      }
      return { action, status: "alerted" };
    }
    const retryAt = this.retryAt.get(action.key);
    if (this.inFlight.has(action.key) || (retryAt !== undefined && now < retryAt)) return { action, status: "skipped" };
    this.inFlight.add(action.key);
    try {
      const outcome = await this.submit(action);
      this.retryAt.delete(action.key);
      return { action, status: "done", outcome };
    } catch (thrown) {
      const error = toChainError(thrown, action.kind);
      if (MOOT_REVERTS.some((name) => isRevert(error, name))) return { action, status: "moot", error };
      this.retryAt.set(action.key, now + (this.options.retryAfterSeconds ?? 60n));
      return { action, status: "failed", error };
    } finally {
      this.inFlight.delete(action.key);
    }
  }

  private submit(action: Exclude<WatchtowerAction, { kind: "alert" }>): Promise<TxOutcome> {
    const { client } = this.options;
    switch (action.kind) {
      case "challenge":
        return client.challenge(action.params, action.signed);
      case "closeCooperatively":
        return client.closeCooperatively(action.params, action.signed);
      case "settle":
        return client.settle(action.params, action.nets, action.locks);
      case "revealSecret":
        return client.revealSecret(action.secret);
      case "claim":
        return client.claim(action.token);
    }
  }
}
