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
import type { Logger } from "pino";
import { z } from "zod";
import { ChainWatcher, type ChainEvent } from "../../client/chain/watcher.js";
import {
  addressKey,
  adoptContracts,
  applyEvent,
  emptyComplianceFacts,
  trackJurisdiction,
  trackRules,
  trackToken,
  type ComplianceFacts,
} from "../../client/protocol/compliance.js";
import { complianceFactsJsonSchema, complianceFactsToJson } from "../../client/protocol/compliance-json.js";
import { parseJson } from "../../client/protocol/encoding.js";
import { ProtocolError, isProtocolError } from "../../client/protocol/errors.js";
import type { Address } from "../../client/protocol/types.js";
import type { ChannelStore } from "../../client/store/store.js";
import { ContractBackfill, type BackfillProvider } from "./rules-backfill.js";

/**
 * Events can change the mirror many times a second and a save writes it whole (every holder's
 * balance), so it is saved at most once per this interval; the stop saves it once more. After a
 * crash the restart re-reads at most the blocks of the last interval (and of the last poll).
 */
export const MIRROR_SAVE_INTERVAL_MS = 5_000;

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

export function encodeMirrorRecord(record: MirrorRecord): string {
  return JSON.stringify({ v: RECORD_VERSION, startBlock: record.startBlock, block: record.block, facts: complianceFactsToJson(record.facts) });
}

/** Parses a stored record; MALFORMED for anything else (not JSON, another version, facts that do not parse). */
export function decodeMirrorRecord(text: string): MirrorRecord {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ProtocolError("MALFORMED", "the saved compliance mirror is not JSON");
  }
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
  const backfill = new ContractBackfill({
    provider: options.provider,
    startBlock,
    logger,
    facts: () => facts,
    adopt: (backfilled) => {
      facts = adoptContracts(facts, backfilled);
    },
    watchJurisdiction: (jurisdiction) => watcher.watch("jurisdiction", jurisdiction),
    ...options.backfill,
  });
  if (restored !== null) backfill.resume(restored.block);

  const save = async (): Promise<void> => {
    if (block === null) return;
    const record = { startBlock, block, facts };
    try {
      await store.factsSaved(encodeMirrorRecord(record));
      saved = record;
      lastSaveMs = clock();
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
      if (facts !== saved.facts && clock() - lastSaveMs >= MIRROR_SAVE_INTERVAL_MS) await save();
    },
    handler: async (event) => {
      if (event.source !== "compliance") return;
      facts = applyEvent(facts, event);
      backfill.observe(event);
      options.onEvent?.(event);
    },
    onError: (error) => logger.warn({ err: error }, "compliance watcher poll failed; retrying"),
  });

  return {
    watcher,
    facts: () => facts,
    backfilling: () => backfill.contracts(),
    backfilled: () => backfill.settled(),
    async start() {
      await watcher.start();
      backfill.kick();
    },
    async stop() {
      await watcher.stop();
      await backfill.stop();
      if (facts !== saved.facts || block !== saved.block) await save();
    },
  };
}
