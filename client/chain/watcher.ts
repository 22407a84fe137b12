/**
 * `ChainWatcher`: follows the adjudicator's and the compliance contracts' events without long-lived
 * `provider.on` subscriptions, which silently stop after a dropped connection or a node
 * restart. It only ever asks `getBlockNumber`, `getLogs` and `getBlock`:
 *
 * 1. On start, it reads the last processed block from `loadCursor` (or starts at `startBlock`) and
 *    catches up to `head − confirmations` with `getLogs` in chunks of at most `chunkSize` blocks
 *    (a chunk the node refuses, e.g. "too many results", is retried in halves).
 * 2. Then it polls on an interval (an injectable timer; `pollOnce()` drives it step by step).
 *    `wake()` polls at once — e.g. when a new block is announced — or, when a poll is in progress,
 *    right after it; the cursor stays the source of truth, so a spurious wake costs one poll.
 *
 * Every log is decoded into a typed `ChainEvent` with a stable `eventId` (`blockNumber:logIndex`)
 * and handed, in chain order, to the async `handler`, one at a time. Only after the handler has
 * resolved for every event of a chunk is the chunk's last block passed to `saveCursor`.
 *
 * Delivery is therefore AT LEAST ONCE: after a crash, or when the handler throws, the events of the
 * unfinished chunk are delivered again on the next poll. Handlers must be idempotent — key what
 * they record by `eventId`, or apply events whose position is at or before what they already
 * applied as no-ops (the core's `applyEvents` does exactly that with its cursor).
 *
 * Reorganisations: blocks are processed only once `confirmations` blocks are built on top of them
 * (`head − confirmations`); choose it deeper than any reorganisation the chain can have. `eventId`
 * is unique on the canonical chain only.
 *
 * Contracts: one or more adjudicators, plus Jurisdictions, RestrictedTokens and TransferRules whose
 * events the compliance mirror consumes (decoded by the core's `decodeComplianceLog`). When a watched
 * token replaces its rules (`RulesReplaced`), the new rules contract is followed from that log on,
 * within the same chunk (`followRulesReplacements`, default on); `watch()` adds contracts likewise,
 * also from inside a handler. Events an added contract emitted earlier are not fetched: read its
 * state with view calls (e.g. the configuration of a rules contract set up before it was installed).
 */
import { type Filter, type Log } from "ethers";
import { COMPLIANCE_EVENT_TOPICS, decodeComplianceLog, type ComplianceEvent, type LogPosition } from "../protocol/compliance/index.js";
import { locksRootOf } from "../protocol/encoding.js";
import type { Address, Bytes32, Lock } from "../protocol/types.js";
import { interfaceOf } from "./abi.js";
import { toChainError } from "./errors.js";

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/** Where and when a log was emitted. */
export interface EventMeta {
  /** `${blockNumber}:${logIndex}`: stable and unique on the canonical chain. */
  readonly eventId: string;
  readonly position: LogPosition;
  /** The contract that emitted the log. */
  readonly emitter: Address;
  readonly transactionHash: string;
  readonly blockHash: string;
  /** The block's timestamp (e.g. when a secret was revealed). */
  readonly blockTimestamp: bigint;
}

/** The Adjudicator's events, arguments named as in the contract. */
export type AdjudicatorEvent =
  | {
      readonly name: "ChannelOpened";
      readonly channelId: Bytes32;
      readonly participant0: Address;
      readonly participant1: Address;
      readonly assets: readonly Address[];
      readonly challengePeriod: bigint;
      readonly salt: Bytes32;
    }
  | { readonly name: "Deposited"; readonly channelId: Bytes32; readonly token: Address; readonly participant: Address; readonly amount: bigint }
  | { readonly name: "Withdrawn"; readonly channelId: Bytes32; readonly nonce: bigint }
  | {
      readonly name: "StateRegistered";
      readonly channelId: Bytes32;
      readonly nonce: bigint;
      readonly deadline: bigint;
      readonly nets: readonly bigint[];
      readonly locksRoot: Bytes32;
      readonly locks: readonly Lock[];
    }
  | { readonly name: "ChannelConcluded"; readonly channelId: Bytes32; readonly nonce: bigint }
  | { readonly name: "PayoutDeferred"; readonly channelId: Bytes32; readonly token: Address; readonly holder: Address; readonly amount: bigint }
  | { readonly name: "Claimed"; readonly token: Address; readonly holder: Address; readonly amount: bigint }
  | {
      readonly name: "ClaimableRecovered";
      readonly token: Address;
      readonly holder: Address;
      readonly recipient: Address;
      readonly amount: bigint;
      readonly controller: Address;
    }
  | { readonly name: "SecretRevealed"; readonly hashlock: Bytes32; readonly secret: Bytes32 };

export type AdjudicatorEventName = AdjudicatorEvent["name"];

/**
 * Every event the watcher delivers. Compliance events are the core's `ComplianceEvent`s (with
 * `position` always set), so `applyEvents(facts, events.filter(isComplianceEvent))` works directly.
 */
export type ChainEvent =
  | (AdjudicatorEvent & EventMeta & { readonly source: "adjudicator" })
  | (ComplianceEvent & EventMeta & { readonly source: "compliance" });

export type AdjudicatorChainEvent = Extract<ChainEvent, { source: "adjudicator" }>;
export type ComplianceChainEvent = Extract<ChainEvent, { source: "compliance" }>;

export function isAdjudicatorEvent(event: ChainEvent): event is AdjudicatorChainEvent {
  return event.source === "adjudicator";
}

export function isComplianceEvent(event: ChainEvent): event is ComplianceChainEvent {
  return event.source === "compliance";
}

export const ADJUDICATOR_EVENT_NAMES: readonly AdjudicatorEventName[] = [
  "ChannelOpened",
  "Deposited",
  "Withdrawn",
  "StateRegistered",
  "ChannelConcluded",
  "PayoutDeferred",
  "Claimed",
  "ClaimableRecovered",
  "SecretRevealed",
];

const lower = (value: unknown): string => String(value).toLowerCase();

/** Decodes an Adjudicator log; null for any other log. */
export function decodeAdjudicatorLog(log: { readonly topics: readonly string[]; readonly data: string }): AdjudicatorEvent | null {
  let parsed;
  try {
    parsed = interfaceOf("Adjudicator").parseLog({ topics: [...log.topics], data: log.data });
  } catch {
    return null;
  }
  if (parsed === null) return null;
  const a = (key: string): unknown => parsed.args.getValue(key);
  switch (parsed.name) {
    case "ChannelOpened":
      return {
        name: "ChannelOpened",
        channelId: lower(a("channelId")),
        participant0: a("participant0") as Address,
        participant1: a("participant1") as Address,
        assets: Array.from(a("assets") as Address[]),
        challengePeriod: a("challengePeriod") as bigint,
        salt: lower(a("salt")),
      };
    case "Deposited":
      return { name: "Deposited", channelId: lower(a("channelId")), token: a("token") as Address, participant: a("participant") as Address, amount: a("amount") as bigint };
    case "Withdrawn":
      return { name: "Withdrawn", channelId: lower(a("channelId")), nonce: a("nonce") as bigint };
    case "StateRegistered": {
      const locks = Array.from(a("locks") as readonly (readonly [bigint, bigint, bigint, string, bigint])[], (l) => ({
        assetIndex: Number(l[0]),
        sender: Number(l[1]) as Lock["sender"],
        amount: l[2],
        hashlock: lower(l[3]),
        expiry: l[4],
      }));
      return {
        name: "StateRegistered",
        channelId: lower(a("channelId")),
        nonce: a("nonce") as bigint,
        deadline: a("deadline") as bigint,
        nets: Array.from(a("nets") as bigint[]),
        // The event carries the list (registration bounds it by MAX_LOCKS); its root is derived.
        locksRoot: locksRootOf(locks),
        locks,
      };
    }
    case "ChannelConcluded":
      return { name: "ChannelConcluded", channelId: lower(a("channelId")), nonce: a("nonce") as bigint };
    case "PayoutDeferred":
      return { name: "PayoutDeferred", channelId: lower(a("channelId")), token: a("token") as Address, holder: a("holder") as Address, amount: a("amount") as bigint };
    case "Claimed":
      return { name: "Claimed", token: a("token") as Address, holder: a("holder") as Address, amount: a("amount") as bigint };
    case "ClaimableRecovered":
      return {
        name: "ClaimableRecovered",
        token: a("token") as Address,
        holder: a("holder") as Address,
        recipient: a("recipient") as Address,
        amount: a("amount") as bigint,
        controller: a("controller") as Address,
      };
    case "SecretRevealed":
      return { name: "SecretRevealed", hashlock: lower(a("hashlock")), secret: lower(a("secret")) };
    default:
      return null;
  }
}

let adjudicatorTopics: string[] | undefined;

/** topic0 of every Adjudicator event the watcher decodes. */
export function adjudicatorEventTopics(): readonly string[] {
  adjudicatorTopics ??= ADJUDICATOR_EVENT_NAMES.map((name) => interfaceOf("Adjudicator").getEvent(name)!.topicHash);
  return adjudicatorTopics;
}

export function eventIdOf(blockNumber: number | bigint, logIndex: number): string {
  return `${blockNumber}:${logIndex}`;
}

// ---------------------------------------------------------------------------------------------
// The watcher
// ---------------------------------------------------------------------------------------------

/** What the watcher needs of a provider (ethers' `Provider` and Hardhat's provider fit). */
export interface WatcherProvider {
  getBlockNumber(): Promise<number>;
  getLogs(filter: Filter): Promise<Log[]>;
  getBlock(blockNumber: number): Promise<{ readonly timestamp: number; readonly hash: string | null } | null>;
}

export type WatchedKind = "adjudicator" | "jurisdiction" | "token" | "rules";

export interface WatchedContracts {
  readonly adjudicators?: readonly Address[];
  readonly jurisdictions?: readonly Address[];
  /** RestrictedTokens (their Transfer, Paused/Unpaused, AddressFrozen/Unfrozen, RulesReplaced). */
  readonly tokens?: readonly Address[];
  readonly rules?: readonly Address[];
}

/** An injectable timer (tests drive `pollOnce()` instead, or pass a fake). */
export interface WatcherTimer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface ChainWatcherOptions {
  readonly provider: WatcherProvider;
  readonly contracts: WatchedContracts;
  /** Called once per event, in chain order; the next event waits for it. Must be idempotent. */
  readonly handler: (event: ChainEvent) => Promise<void>;
  /** The last block whose events were all handled, as stored by `saveCursor`; null/undefined if none. */
  readonly loadCursor: () => Promise<number | null | undefined>;
  /** Persists the last processed block; called only after the handler resolved for all its events. */
  readonly saveCursor: (lastProcessedBlock: number) => Promise<void>;
  /** The first block to read when no cursor is stored (e.g. the deployment block); default 0. */
  readonly startBlock?: number;
  /** Blocks that must be built on a block before it is processed: the watcher reads up to `head − confirmations`. Default 0. */
  readonly confirmations?: number;
  /** Most blocks per `getLogs` (default 2,000). */
  readonly chunkSize?: number;
  /** Delay between polls (default 4,000 ms). */
  readonly pollIntervalMs?: number;
  /** Follow the new rules contract of a watched token's `RulesReplaced` (default true). */
  readonly followRulesReplacements?: boolean;
  readonly timer?: WatcherTimer;
  /** Errors of background polls (the next poll retries); default: ignored. */
  readonly onError?: (error: unknown) => void;
}

/** What one `pollOnce` did. */
export interface PollResult {
  /** The chain head seen. */
  readonly head: number;
  /** The range processed, inclusive (`toBlock < fromBlock` when there was nothing to do). */
  readonly fromBlock: number;
  readonly toBlock: number;
  readonly delivered: number;
  /** `getLogs` calls made. */
  readonly requests: number;
}

const defaultTimer: WatcherTimer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function comparePositions(a: LogPosition, b: LogPosition): number {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  return a.logIndex - b.logIndex;
}

export class ChainWatcher {
  private readonly options: ChainWatcherOptions;
  private readonly confirmations: number;
  private readonly chunkSize: number;
  private readonly timer: WatcherTimer;
  /** Lowercase address → kind. */
  private readonly watched = new Map<string, WatchedKind>();
  /** Addresses added since the current chunk's logs were fetched. */
  private added: string[] = [];
  private cursor: number | null = null;
  private cursorLoaded = false;
  private inFlight: Promise<PollResult> | null = null;
  private handle: unknown = null;
  private running = false;
  /** A wake arrived while a poll was in progress: poll again right after it. */
  private woken = false;

  constructor(options: ChainWatcherOptions) {
    this.options = options;
    this.confirmations = Math.max(0, options.confirmations ?? 0);
    this.chunkSize = Math.max(1, options.chunkSize ?? 2_000);
    this.timer = options.timer ?? defaultTimer;
    const { adjudicators = [], jurisdictions = [], tokens = [], rules = [] } = options.contracts;
    for (const address of adjudicators) this.watched.set(address.toLowerCase(), "adjudicator");
    for (const address of jurisdictions) this.watched.set(address.toLowerCase(), "jurisdiction");
    for (const address of tokens) this.watched.set(address.toLowerCase(), "token");
    for (const address of rules) this.watched.set(address.toLowerCase(), "rules");
  }

  /** The last block whose events were all handled (null before the first poll with no stored cursor). */
  get lastProcessedBlock(): number | null {
    return this.cursor;
  }

  /** The contracts watched now, by kind. */
  contracts(): Required<WatchedContracts> {
    const of = (kind: WatchedKind) => [...this.watched].filter(([, k]) => k === kind).map(([address]) => address);
    return { adjudicators: of("adjudicator"), jurisdictions: of("jurisdiction"), tokens: of("token"), rules: of("rules") };
  }

  /**
   * Watches another contract from the block being processed on (see the file comment). Safe to call
   * from inside a handler.
   */
  watch(kind: WatchedKind, address: Address): void {
    const key = address.toLowerCase();
    if (this.watched.has(key)) return;
    this.watched.set(key, kind);
    this.added.push(key);
  }

  /** Catches up, then polls every `pollIntervalMs` until `stop()`. Resolves once caught up. */
  async start(): Promise<PollResult> {
    if (this.running) throw new Error("the watcher is already running");
    this.running = true;
    try {
      const result = await this.pollOnce();
      this.schedule();
      return result;
    } catch (error) {
      this.running = false;
      throw error;
    }
  }

  /** Stops polling and waits for a poll in progress to finish. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    await this.inFlight?.catch(() => undefined);
  }

  /**
   * One step: reads the head and processes every block from the cursor + 1 to `head − confirmations`.
   * Concurrent calls share one run. Rejects when the provider or the handler fails; the cursor then
   * stays at the last completed chunk.
   */
  pollOnce(): Promise<PollResult> {
    this.inFlight ??= this.poll().finally(() => {
      this.inFlight = null;
      // Woken during a poll someone else started while the timer waits: do not wait for the timer.
      if (this.woken && this.running && this.handle !== null) {
        this.timer.clear(this.handle);
        this.handle = null;
        this.run();
      }
    });
    return this.inFlight;
  }

  /**
   * Polls now instead of at the next interval (a poll in progress is followed by another, since it
   * may have read the head before the block that woke us). Errors go to `onError`. No-op when stopped.
   */
  wake(): void {
    if (!this.running) return;
    if (this.inFlight !== null) {
      this.woken = true;
      return;
    }
    if (this.handle !== null) this.timer.clear(this.handle);
    this.handle = null;
    this.run();
  }

  private run(): void {
    this.woken = false;
    this.pollOnce()
      .catch((error: unknown) => this.options.onError?.(error))
      .finally(() => this.schedule());
  }

  private schedule(): void {
    if (!this.running || this.handle !== null) return;
    if (this.woken) {
      this.run();
      return;
    }
    this.handle = this.timer.set(() => {
      this.handle = null;
      this.run();
    }, this.options.pollIntervalMs ?? 4_000);
  }

  private async poll(): Promise<PollResult> {
    const { provider } = this.options;
    if (!this.cursorLoaded) {
      const stored = await this.options.loadCursor();
      this.cursor = stored ?? null;
      this.cursorLoaded = true;
    }
    let head: number;
    try {
      head = await provider.getBlockNumber();
    } catch (error) {
      throw toChainError(error, "getBlockNumber");
    }
    const fromBlock = this.cursor === null ? Math.max(0, this.options.startBlock ?? 0) : this.cursor + 1;
    const target = head - this.confirmations;
    let delivered = 0;
    let requests = 0;
    let span = this.chunkSize;
    let from = fromBlock;
    while (from <= target) {
      const to = Math.min(from + span - 1, target);
      this.added = [];
      let logs: Log[];
      try {
        requests += 1;
        logs = await this.getLogs([...this.watched.keys()], from, to);
      } catch (error) {
        if (to > from) {
          span = Math.max(1, Math.floor((to - from + 1) / 2));
          continue;
        }
        throw toChainError(error, "getLogs");
      }
      const queue = await this.decode(logs);
      for (let i = 0; i < queue.length; i++) {
        const event = queue[i]!;
        await this.options.handler(event);
        delivered += 1;
        if (
          event.name === "RulesReplaced" &&
          (this.options.followRulesReplacements ?? true) &&
          this.watched.get(event.emitter.toLowerCase()) === "token"
        ) {
          this.watch("rules", event.newRules);
        }
        if (this.added.length > 0) {
          // Contracts added while handling: their logs from this event on belong in this chunk.
          const addresses = this.added;
          this.added = [];
          requests += 1;
          const more = await this.decode(await this.getLogs(addresses, Number(event.position.blockNumber), to));
          const rest = [...queue.slice(i + 1), ...more.filter((e) => comparePositions(e.position, event.position) > 0)];
          rest.sort((a, b) => comparePositions(a.position, b.position));
          queue.splice(i + 1, queue.length - i - 1, ...rest);
        }
      }
      await this.options.saveCursor(to);
      this.cursor = to;
      from = to + 1;
    }
    return { head, fromBlock, toBlock: from - 1, delivered, requests };
  }

  private async getLogs(addresses: string[], fromBlock: number, toBlock: number): Promise<Log[]> {
    if (addresses.length === 0) return [];
    const topics = [...adjudicatorEventTopics(), ...COMPLIANCE_EVENT_TOPICS];
    return this.options.provider.getLogs({ address: addresses, topics: [topics], fromBlock, toBlock });
  }

  /** Decodes, orders and dates logs; logs of unknown events (or removed by a reorg) are dropped. */
  private async decode(logs: readonly Log[]): Promise<ChainEvent[]> {
    const partial: { event: AdjudicatorEvent | ComplianceEvent; source: ChainEvent["source"]; log: Log; position: LogPosition }[] = [];
    const seen = new Set<string>();
    for (const log of logs) {
      if (log.removed) continue;
      const kind = this.watched.get(log.address.toLowerCase());
      if (kind === undefined) continue;
      const id = eventIdOf(log.blockNumber, log.index);
      if (seen.has(id)) continue;
      seen.add(id);
      const position: LogPosition = { blockNumber: BigInt(log.blockNumber), logIndex: log.index };
      if (kind === "adjudicator") {
        const event = decodeAdjudicatorLog(log);
        if (event !== null) partial.push({ event, source: "adjudicator", log, position });
      } else {
        const event = decodeComplianceLog(log);
        if (event !== null) partial.push({ event, source: "compliance", log, position });
      }
    }
    partial.sort((a, b) => comparePositions(a.position, b.position));
    const timestamps = new Map<number, bigint>();
    for (const { log } of partial) {
      if (timestamps.has(log.blockNumber)) continue;
      let block;
      try {
        block = await this.options.provider.getBlock(log.blockNumber);
      } catch (error) {
        throw toChainError(error, "getBlock");
      }
      if (block === null) throw toChainError(new Error(`block ${log.blockNumber} not found`), "getBlock");
      timestamps.set(log.blockNumber, BigInt(block.timestamp));
    }
    return partial.map(({ event, source, log, position }) => ({
      ...event,
      source,
      eventId: eventIdOf(log.blockNumber, log.index),
      position,
      emitter: log.address,
      transactionHash: log.transactionHash,
      blockHash: log.blockHash,
      blockTimestamp: timestamps.get(log.blockNumber)!,
    })) as ChainEvent[];
  }
}
