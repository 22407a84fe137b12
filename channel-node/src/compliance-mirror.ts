// The node's compliance mirror (docs/operations.md, "Compliance mirror"): the facts the node decides
// every off-chain update with, kept fresh by a chain watcher over the jurisdiction's, the securities'
// and their rules' events, and saved in the channel store with the watcher's block, so a restart
// reads only the blocks since the save instead of every block since `startBlock`. A rules contract a
// security switches to (`RulesReplaced`), and a registry it reads, are backfilled (rules-backfill.ts)
// and mirrored from then on.
//
// A saved mirror is used only if it parses and was built for this configuration: the same
// securities and startBlock, and at least the configured jurisdiction and rules contracts (read by
// the configured rules), plus any rules contract reached through a replacement and any registry such
// rules read; anything else is logged and the mirror rebuilt from `startBlock`. Replaying blocks the
// saved mirror already holds is harmless: the facts' cursor skips events at or before it.
//
// At scale (docs/performance.md, "Restart and memory at scale"): a save encodes the immutable facts
// snapshot in slices of at most MIRROR_SAVE_SLICE_MS across event-loop turns, and the save interval
// grows with what a save costs; events are applied in batches (one copy of each touched map per
// batch, not per event); a restart decodes the record by hand, falling back to the schema.
import type { Logger } from "pino";
import { z } from "zod";
import { ChainWatcher, type ChainEvent } from "../../client/chain/watcher.js";
import {
  addressKey,
  adoptContracts,
  applyEvents,
  emptyComplianceFacts,
  trackJurisdiction,
  trackRules,
  trackToken,
  type ComplianceEvent,
  type ComplianceFacts,
} from "../../client/protocol/compliance/index.js";
import { complianceFactsJsonSchema } from "../../client/protocol/compliance-json.js";
import { complianceFactsFromJsonFast } from "../../client/protocol/compliance-json-decoder.js";
import { complianceFactsJsonText, runSteps, type Steps } from "../../client/protocol/compliance-json-writer.js";
import { parseJson } from "../../client/protocol/encoding.js";
import { ProtocolError, isProtocolError } from "../../client/protocol/errors.js";
import type { Address } from "../../client/protocol/types.js";
import type { ChannelStore } from "../../client/store/store.js";
import { ContractBackfill, type BackfillProvider } from "./rules-backfill.js";
import { runSliced } from "./run-sliced.js";

/**
 * Events can change the mirror many times a second and a save writes it whole (every holder's
 * balance), so it is saved at most once per this interval; the stop saves it once more. After a
 * crash the restart re-reads at most the blocks of the last interval (and of the last poll).
 */
export const MIRROR_SAVE_INTERVAL_MS = 5_000;

/**
 * A save takes at most this share of the main thread: the next save waits at least the last save's
 * encoding time divided by it (~1 s at 100,000 holders: a save every ~50 s instead of every 5 s).
 */
export const MIRROR_SAVE_CPU_SHARE = 0.02;

/** The longest the encoding of a save holds the event loop at a time (ms). */
export const MIRROR_SAVE_SLICE_MS = 4;

const RECORD_VERSION = 1;

/** What the node mirrors: `config.contracts`' jurisdiction and securities. */
export interface MirroredContracts {
  readonly jurisdiction: Address;
  readonly securities: readonly { readonly token: Address; readonly rules: Address }[];
}

export interface ComplianceMirrorOptions {
  readonly provider: BackfillProvider;
  readonly store: Pick<ChannelStore, "facts" | "factsSaved">;
  readonly contracts: MirroredContracts;
  readonly startBlock: number;
  readonly confirmations: number;
  readonly pollIntervalMs: number;
  readonly logger: Logger;
  /** Called for every compliance event applied (the node counts them). */
  readonly onEvent?: (event: ChainEvent) => void;
  /** Milliseconds, for the save interval (default `Date.now`). */
  readonly clock?: () => number;
  /** Bounds of the backfill after a rules replacement (rules-backfill.ts defaults). */
  readonly backfill?: { readonly chunkBlocks?: number; readonly maxEventsKept?: number };
}

export interface ComplianceMirror {
  readonly watcher: ChainWatcher;
  facts(): ComplianceFacts;
  /** The contracts reached through a rules replacement still being backfilled (lowercase). */
  backfilling(): string[];
  /** Resolves when no backfill is running. */
  backfilled(): Promise<void>;
  /** Catches up from the saved block (or `startBlock`), then follows the chain. */
  start(): Promise<void>;
  /** Stops the watcher and saves the mirror if it moved since the last save. */
  stop(): Promise<void>;
}

/** The stored record: the facts and the last block whose events they hold. */
interface MirrorRecord {
  readonly startBlock: number;
  readonly block: number;
  readonly facts: ComplianceFacts;
}

const blockNumber = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const recordSchema = z.strictObject({ v: z.literal(RECORD_VERSION), startBlock: blockNumber, block: blockNumber, facts: complianceFactsJsonSchema });

/** The record's canonical text (`{"v":1,"startBlock":…,"block":…,"facts":…}`), written in pausing steps. */
export function mirrorRecordText(record: MirrorRecord): Steps<string> {
  const prefix = `{"v":${RECORD_VERSION},"startBlock":${JSON.stringify(record.startBlock)},"block":${JSON.stringify(record.block)},"facts":`;
  return complianceFactsJsonText(record.facts, prefix, "}");
}

/** The record's canonical text at once (small facts and tests; the node saves with `mirrorRecordText` in slices). */
export function encodeMirrorRecord(record: MirrorRecord): string {
  return runSteps(mirrorRecordText(record));
}

const isBlockNumber = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;

/** The record by hand (compliance-json-decoder.ts); undefined for anything the schema should judge. */
function fastRecord(value: unknown): MirrorRecord | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.keys(value).length !== 4) return undefined;
  const { v, startBlock, block, facts } = value as Record<string, unknown>;
  if (v !== RECORD_VERSION || !isBlockNumber(startBlock) || !isBlockNumber(block)) return undefined;
  const decoded = complianceFactsFromJsonFast(facts);
  return decoded === undefined ? undefined : { startBlock, block, facts: decoded };
}

/** Parses a stored record; MALFORMED for anything else (not JSON, another version, facts that do not parse). */
export function decodeMirrorRecord(text: string): MirrorRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError("MALFORMED", "the saved compliance mirror is not JSON");
  }
  const fast = fastRecord(value);
  if (fast !== undefined) return fast;
  const { startBlock, block, facts } = parseJson(recordSchema, value, "saved compliance mirror");
  return { startBlock, block, facts };
}

/** The facts tracking exactly the configured contracts, with nothing mirrored yet. */
export function initialFacts(contracts: MirroredContracts): ComplianceFacts {
  let facts = trackJurisdiction(emptyComplianceFacts(), contracts.jurisdiction);
  for (const { token, rules } of contracts.securities) facts = trackToken(trackRules(facts, rules, contracts.jurisdiction), token);
  return facts;
}

/**
 * Why `record` was not built for this configuration, or null when it was: the same startBlock and
 * securities; the configured jurisdiction and rules contracts tracked, the configured rules reading
 * the configured jurisdiction. Other rules contracts can only come from a security's RulesReplaced;
 * another registry is allowed only when a tracked rules contract reads it.
 */
export function configurationMismatch(record: MirrorRecord, contracts: MirroredContracts, startBlock: number): string | null {
  const expected = initialFacts(contracts);
  const contains = (a: ReadonlyMap<string, unknown>, b: ReadonlyMap<string, unknown>) => [...b.keys()].every((k) => a.has(k));
  if (record.startBlock !== startBlock) return `built from block ${record.startBlock}, configured startBlock ${startBlock}`;
  if (!contains(record.facts.jurisdictions, expected.jurisdictions)) return "another jurisdiction";
  if (!contains(record.facts.rules, expected.rules)) return "other rules contracts";
  if (record.facts.tokens.size !== expected.tokens.size || !contains(record.facts.tokens, expected.tokens)) return "other securities";
  const jurisdiction = addressKey(contracts.jurisdiction);
  if ([...expected.rules.keys()].some((rules) => addressKey(record.facts.rules.get(rules)!.jurisdiction) !== jurisdiction)) return "rules reading another jurisdiction";
  const read = new Set([...record.facts.rules.values()].map((rules) => addressKey(rules.jurisdiction)));
  if ([...record.facts.jurisdictions.keys()].some((key) => key !== jurisdiction && !read.has(key))) return "a jurisdiction no rules contract reads";
  return null;
}

async function savedRecord(options: ComplianceMirrorOptions): Promise<MirrorRecord | null> {
  const { store, contracts, startBlock, logger } = options;
  const text = await store.facts();
  if (text === null) {
    logger.info({ startBlock }, "no saved compliance mirror: building it from startBlock");
    return null;
  }
  let record: MirrorRecord;
  try {
    record = decodeMirrorRecord(text);
  } catch (error) {
    if (!isProtocolError(error, "MALFORMED")) throw error;
    logger.warn({ err: error, startBlock }, "the saved compliance mirror does not parse: rebuilding it from startBlock");
    return null;
  }
  const mismatch = configurationMismatch(record, contracts, startBlock);
  if (mismatch !== null) {
    logger.info({ mismatch, startBlock }, "the saved compliance mirror was built for another configuration: rebuilding it from startBlock");
    return null;
  }
  logger.info({ block: record.block }, "compliance mirror restored from the store");
  return record;
}

/** Loads the saved mirror (or starts an empty one) and its watcher; `start()` begins following the chain. */
export async function openComplianceMirror(options: ComplianceMirrorOptions): Promise<ComplianceMirror> {
  const { store, contracts, startBlock, logger } = options;
  const clock = options.clock ?? Date.now;
  const restored = await savedRecord(options);
  let facts = restored?.facts ?? initialFacts(contracts);
  let block = restored?.block ?? null;
  let saved = { facts, block };
  let lastSaveMs = Number.NEGATIVE_INFINITY;
  let saveIntervalMs = MIRROR_SAVE_INTERVAL_MS;
  // Events handled but not yet applied: applying one event copies every map it touches (all
  // balances for a Transfer), so they are applied together when the facts are next read.
  let unapplied: ComplianceEvent[] = [];
  const current = (): ComplianceFacts => {
    if (unapplied.length > 0) {
      facts = applyEvents(facts, unapplied);
      unapplied = [];
    }
    return facts;
  };
  const backfill = new ContractBackfill({
    provider: options.provider,
    startBlock,
    logger,
    facts: current,
    adopt: (backfilled) => {
      facts = adoptContracts(current(), backfilled);
    },
    watchJurisdiction: (jurisdiction) => watcher.watch("jurisdiction", jurisdiction),
    ...options.backfill,
  });
  if (restored !== null) backfill.resume(restored.block);

  const save = async (): Promise<void> => {
    if (block === null) return;
    const record = { startBlock, block, facts: current() };
    try {
      const encoded = await runSliced(mirrorRecordText(record), MIRROR_SAVE_SLICE_MS);
      await store.factsSaved(encoded.value);
      saved = record;
      lastSaveMs = clock();
      saveIntervalMs = Math.max(MIRROR_SAVE_INTERVAL_MS, encoded.cpuMs / MIRROR_SAVE_CPU_SHARE);
    } catch (error) {
      // The mirror in memory stays right; a restart re-reads from the last save that succeeded.
      logger.warn({ err: error, block }, "saving the compliance mirror failed");
    }
  };

  const watcher = new ChainWatcher({
    provider: options.provider,
    contracts: {
      // With the rules contracts the watcher had followed (RulesReplaced) before the save, and the registries they read.
      jurisdictions: [contracts.jurisdiction, ...[...facts.rules.values()].map((r) => r.jurisdiction)],
      tokens: contracts.securities.map((s) => s.token),
      rules: [...contracts.securities.map((s) => s.rules), ...facts.rules.keys(), ...[...facts.tokens.values()].flatMap((t) => (t.rules === null ? [] : [t.rules]))],
    },
    startBlock,
    confirmations: options.confirmations,
    pollIntervalMs: options.pollIntervalMs,
    loadCursor: async () => block,
    saveCursor: async (processed) => {
      block = processed;
      backfill.chunkDone(processed);
      if (current() !== saved.facts && clock() - lastSaveMs >= saveIntervalMs) await save();
    },
    handler: async (event) => {
      if (event.source !== "compliance") return;
      unapplied.push(event);
      backfill.observe(event);
      options.onEvent?.(event);
    },
    onError: (error) => logger.warn({ err: error }, "compliance watcher poll failed; retrying"),
  });

  return {
    watcher,
    facts: current,
    backfilling: () => backfill.contracts(),
    backfilled: () => backfill.settled(),
    async start() {
      await watcher.start();
      backfill.kick();
    },
    async stop() {
      await watcher.stop();
      await backfill.stop();
      if (current() !== saved.facts || block !== saved.block) await save();
    },
  };
}
