// Backfills the contracts the compliance mirror reaches only through a rules replacement
// (docs/operations.md, "Rules replacements"): when a tracked token's `RulesReplaced` names a rules
// contract the mirror does not track, its jurisdiction (an immutable view) and every event it emitted
// from `startBlock` up to the replacement are read and applied through the core's reducers; a registry
// those rules read that the mirror does not track is followed and backfilled the same way.
//
// The watcher follows a new rules contract from its RulesReplaced on (a new registry from the next
// chunk on) while the backfill runs in the background, so freezes of other tokens are not held up.
// Events of a contract being backfilled that the watcher delivers meanwhile are kept (bounded) and
// applied after the backfilled ones. Until a contract is adopted the mirror does not track it and every
// check of a token that depends on it fails closed (COMPLIANCE_UNKNOWN). A failed backfill is logged and
// tried again after the next chunk the watcher reads, then after 2, 4, … chunks (at most
// MAX_RETRY_CHUNKS) while it keeps failing. A backfill is kept even when its token's rules are
// replaced again, so the mirror's facts depend only on the chain, not on when the node read it.
import { Interface, ZeroAddress, getAddress, type Filter, type Log } from "ethers";
import type { Logger } from "pino";
import type { ComplianceChainEvent, WatcherProvider } from "../../client/chain/watcher.js";
import { toChainError } from "../../client/chain/errors.js";
import { CodedError, isCodedError, type ErrorDetails } from "../../client/protocol/coded-error.js";
import {
  COMPLIANCE_EVENT_TOPICS,
  addressKey,
  applyEvents,
  decodeComplianceLog,
  emptyComplianceFacts,
  trackJurisdiction,
  trackRules,
  type ComplianceEvent,
  type ComplianceFacts,
  type LogPosition,
} from "../../client/protocol/compliance/index.js";
import type { Address } from "../../client/protocol/types.js";

/** Most blocks per `getLogs` of a backfill (the watcher's default chunk). */
export const BACKFILL_CHUNK_BLOCKS = 2_000;

/**
 * Most events of one contract kept while its backfill runs. Past it the kept events are dropped and
 * the backfill starts over, reading up to the last of them.
 */
export const MAX_EVENTS_KEPT_DURING_BACKFILL = 10_000;

/** The longest wait, in watcher chunks, between two attempts of a backfill that keeps failing (a contract that is no TransferRules fails for ever). */
export const MAX_RETRY_CHUNKS = 64;

/** What a backfill needs of a provider (ethers' `Provider` fits). */
export interface BackfillProvider extends WatcherProvider {
  call(request: { readonly to: string; readonly data: string }): Promise<string>;
}

export interface ContractBackfillOptions {
  readonly provider: BackfillProvider;
  readonly startBlock: number;
  readonly logger: Logger;
  /** The mirror's facts now. */
  facts(): ComplianceFacts;
  /** Adds the contracts of `backfilled` to the mirror (`adoptContracts`). */
  adopt(backfilled: ComplianceFacts): void;
  /** Makes the watcher follow a registry; called only between two chunks. */
  watchJurisdiction(jurisdiction: Address): void;
  /** Default BACKFILL_CHUNK_BLOCKS. */
  readonly chunkBlocks?: number;
  /** Default MAX_EVENTS_KEPT_DURING_BACKFILL. */
  readonly maxEventsKept?: number;
}

/** A rules contract whose `jurisdiction()` gives no registry (not a TransferRules): it cannot be mirrored. */
export class BackfillError extends CodedError<"RULES_WITHOUT_JURISDICTION", ErrorDetails> {
  override readonly name: string = "BackfillError";
}

export function isBackfillError(error: unknown): error is BackfillError {
  return isCodedError(error, BackfillError);
}

interface Pending {
  readonly kind: "rules" | "jurisdiction";
  readonly address: Address;
  /** The backfill reads the contract's events at or before this position; the watcher delivers those after it. */
  since: LogPosition;
  /** Events the watcher delivered after `since`, in chain order. */
  kept: ComplianceEvent[];
  /** For rules: the registry they read, once known. */
  jurisdiction?: Address;
  /** Attempts that failed in a row, and the watcher chunk from which the next attempt may run. */
  failures: number;
  nextChunk: number;
}

const rulesInterface = new Interface(["function jurisdiction() view returns (address)"]);

/** The end of a block: every log of the block is at or before it. */
function endOf(block: number): LogPosition {
  return { blockNumber: BigInt(block), logIndex: Number.MAX_SAFE_INTEGER };
}

function isAfter(a: LogPosition, b: LogPosition): boolean {
  return a.blockNumber > b.blockNumber || (a.blockNumber === b.blockNumber && a.logIndex > b.logIndex);
}

export class ContractBackfill {
  private readonly options: ContractBackfillOptions;
  private readonly chunkBlocks: number;
  private readonly maxEventsKept: number;
  /** By addressKey. */
  private readonly pending = new Map<string, Pending>();
  /** Registries found by a rules backfill, to follow from the next chunk on. */
  private readonly discovered = new Map<string, Address>();
  /** Watcher chunks finished so far: the clock of the retries. */
  private chunks = 0;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(options: ContractBackfillOptions) {
    this.options = options;
    this.chunkBlocks = Math.max(1, options.chunkBlocks ?? BACKFILL_CHUNK_BLOCKS);
    this.maxEventsKept = Math.max(1, options.maxEventsKept ?? MAX_EVENTS_KEPT_DURING_BACKFILL);
  }

  /** The contracts waiting for their backfill, or (a registry) for the next chunk to start it (lowercase). */
  contracts(): string[] {
    return [...this.pending.keys(), ...this.discovered.keys()];
  }

  /**
   * Restored facts saved at `block`: a token's rules or a rules contract's registry they do not track
   * (their backfill had not completed) is backfilled up to `block`; the watcher follows them from there.
   */
  resume(block: number): void {
    const facts = this.options.facts();
    for (const token of facts.tokens.values()) {
      if (token.rules !== null && !facts.rules.has(addressKey(token.rules))) this.add("rules", token.rules, endOf(block));
    }
    for (const rules of facts.rules.values()) {
      if (!facts.jurisdictions.has(addressKey(rules.jurisdiction))) this.add("jurisdiction", rules.jurisdiction, endOf(block));
    }
  }

  /** Called for every compliance event the mirror applied, in chain order. */
  observe(event: ComplianceChainEvent): void {
    const pending = this.pending.get(addressKey(event.emitter));
    if (pending !== undefined && isAfter(event.position, pending.since)) {
      if (pending.kept.length >= this.maxEventsKept) {
        this.options.logger.warn({ contract: pending.address, kept: pending.kept.length }, "too many events during a backfill: backfilling further instead");
        pending.since = pending.kept.at(-1)!.position!;
        pending.kept = [];
      }
      pending.kept.push(event);
    }
    if (event.name !== "RulesReplaced") return;
    const facts = this.options.facts();
    if (facts.tokens.has(addressKey(event.emitter)) && !facts.rules.has(addressKey(event.newRules))) {
      this.add("rules", event.newRules, event.position);
      this.options.logger.info({ token: event.emitter, rules: event.newRules, block: Number(event.position.blockNumber) }, "rules replaced: backfilling the new rules contract");
    }
  }

  /** The watcher finished the chunk up to `block`: registries found are followed from here, and pending backfills run. */
  chunkDone(block: number): void {
    this.chunks += 1;
    for (const [key, jurisdiction] of this.discovered) {
      this.discovered.delete(key);
      if (this.options.facts().jurisdictions.has(key)) continue;
      this.options.watchJurisdiction(jurisdiction);
      this.add("jurisdiction", jurisdiction, endOf(block));
    }
    if (this.pending.size > 0) this.kick();
  }

  /** Runs the pending backfills unless a run is in progress (then it runs again after it). */
  kick(): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.runOnce();
      } while (this.again && !this.stopped && this.pending.size > 0);
    })().finally(() => {
      this.running = null;
      // A kick between the loop's last check and here would otherwise be lost until the next chunk.
      if (this.again) this.kick();
    });
  }

  /** Resolves when no backfill is running. */
  async settled(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  /** Stops starting backfills and waits for the one running. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.settled();
  }

  private add(kind: Pending["kind"], address: Address, since: LogPosition): void {
    const key = addressKey(address);
    if (this.pending.has(key)) return;
    this.pending.set(key, { kind, address, since, kept: [], failures: 0, nextChunk: 0 });
  }

  private async runOnce(): Promise<void> {
    for (const pending of [...this.pending.values()]) {
      if (this.stopped) return;
      if (pending.nextChunk > this.chunks) continue;
      try {
        await this.complete(pending);
      } catch (error) {
        if (this.stopped) return;
        pending.failures += 1;
        const wait = Math.min(2 ** (pending.failures - 1), MAX_RETRY_CHUNKS);
        pending.nextChunk = this.chunks + wait;
        this.options.logger.warn(
          { err: error, contract: pending.address, kind: pending.kind, failures: pending.failures },
          `backfilling a contract reached through a rules replacement failed; retrying after ${wait === 1 ? "the next chunk" : `${wait} chunks`}`,
        );
      }
    }
  }

  private async complete(pending: Pending): Promise<void> {
    const { since } = pending;
    if (pending.kind === "rules") pending.jurisdiction ??= await this.jurisdictionOf(pending.address);
    const events = await this.eventsOf(pending.address, since);
    // Dropped meanwhile by too many kept events: the next run reads further.
    if (this.stopped || this.pending.get(addressKey(pending.address)) !== pending || pending.since !== since) return;
    const tracked =
      pending.kind === "rules"
        ? trackRules(emptyComplianceFacts(), pending.address, pending.jurisdiction!)
        : trackJurisdiction(emptyComplianceFacts(), pending.address);
    this.options.adopt(applyEvents(tracked, [...events, ...pending.kept]));
    this.pending.delete(addressKey(pending.address));
    this.options.logger.info({ contract: pending.address, kind: pending.kind, events: events.length + pending.kept.length, upTo: Number(since.blockNumber) }, "contract backfilled: mirrored from now on");
    const jurisdiction = pending.jurisdiction;
    if (jurisdiction !== undefined && !this.options.facts().jurisdictions.has(addressKey(jurisdiction)) && !this.pending.has(addressKey(jurisdiction))) {
      this.discovered.set(addressKey(jurisdiction), jurisdiction);
    }
  }

  /** The registry a rules contract reads (`jurisdiction()`, immutable). */
  private async jurisdictionOf(rules: Address): Promise<Address> {
    let result: string;
    try {
      result = await this.options.provider.call({ to: rules, data: rulesInterface.encodeFunctionData("jurisdiction") });
    } catch (error) {
      throw toChainError(error, `${rules}.jurisdiction()`);
    }
    let jurisdiction: string;
    try {
      jurisdiction = getAddress(rulesInterface.decodeFunctionResult("jurisdiction", result)[0] as string);
    } catch {
      throw new BackfillError("RULES_WITHOUT_JURISDICTION", "the new rules contract's jurisdiction() returned no address: not a TransferRules contract", { rules });
    }
    if (jurisdiction === ZeroAddress) throw new BackfillError("RULES_WITHOUT_JURISDICTION", "the new rules contract's jurisdiction() is the zero address", { rules });
    return jurisdiction;
  }

  /** The contract's compliance events from `startBlock` to `until`, in chain order; ranges the RPC refuses are read in halves. */
  private async eventsOf(address: Address, until: LogPosition): Promise<ComplianceEvent[]> {
    const events: ComplianceEvent[] = [];
    const last = Number(until.blockNumber);
    let span = this.chunkBlocks;
    let from = Math.max(0, this.options.startBlock);
    while (from <= last) {
      if (this.stopped) return [];
      const to = Math.min(from + span - 1, last);
      let logs: Log[];
      try {
        const filter: Filter = { address, topics: [[...COMPLIANCE_EVENT_TOPICS]], fromBlock: from, toBlock: to };
        logs = await this.options.provider.getLogs(filter);
      } catch (error) {
        if (to > from) {
          span = Math.max(1, Math.floor((to - from + 1) / 2));
          continue;
        }
        throw toChainError(error, "getLogs");
      }
      for (const log of logs) {
        if (log.removed || addressKey(log.address) !== addressKey(address)) continue;
        const event = decodeComplianceLog(log);
        if (event?.position !== undefined && !isAfter(event.position, until)) events.push(event);
      }
      from = to + 1;
    }
    return events.sort((a, b) => (isAfter(a.position!, b.position!) ? 1 : isAfter(b.position!, a.position!) ? -1 : 0));
  }
}
