/**
 * The semantics of every store event as pure functions: (record before, event) → record after,
 * or a StoreError. Both implementations (memory, LevelDB) apply exactly these, so they cannot
 * disagree on what an event means; they differ only in how records reach the disk.
 *
 * The store checks what keeps its own data coherent (the right channel, increasing nonces, both
 * signatures on an agreed state, values within their Solidity types, status transitions). It does
 * not re-run the protocol's checks (conservation, compliance, signature validity): the core does.
 */
import { channelIdOf, checkStateBounds, validateParams } from "../protocol/encoding.js";
import { isProtocolError } from "../protocol/errors.js";
import { UINT64_MAX, type Bytes32, type ParticipantIndex, type SignedState } from "../protocol/types.js";
import { StoreError } from "./errors.js";
import type {
  ChannelRecord,
  ChannelStatus,
  DepositEvent,
  DisputeFacts,
  HistoryOptions,
  NewChannel,
  PendingProposal,
  UpdateSummary,
} from "./store.js";

const BYTES32 = /^0x[0-9a-f]{64}$/;
const SIGNATURE = /^0x[0-9a-f]{130}$/;
const MAX_KIND_LENGTH = 64;
const MAX_MEMO_LENGTH = 1024;
const MAX_EVENT_ID_LENGTH = 256;
const MAX_MOVEMENTS = 16;

function invalid(message: string, details: Record<string, string | number | bigint | boolean | null> = {}, cause?: unknown): never {
  throw new StoreError("INVALID_ARGUMENT", message, details, cause === undefined ? undefined : { cause });
}

function isParticipant(value: unknown): value is ParticipantIndex {
  return value === 0 || value === 1;
}

export function checkChannelId(channelId: unknown): asserts channelId is Bytes32 {
  if (typeof channelId !== "string" || !BYTES32.test(channelId)) {
    invalid("a channel id is 32 bytes of lowercase 0x-hex", { channelId: String(channelId) });
  }
}

export function checkEventId(eventId: unknown): asserts eventId is string {
  if (typeof eventId !== "string" || eventId.length === 0 || eventId.length > MAX_EVENT_ID_LENGTH) {
    invalid(`an event id is a non-empty string of at most ${MAX_EVENT_ID_LENGTH} characters`);
  }
}

export function checkBlockNumber(blockNumber: unknown): asserts blockNumber is number {
  if (typeof blockNumber !== "number" || !Number.isSafeInteger(blockNumber) || blockNumber < 0) {
    invalid("a block number is a non-negative safe integer", { blockNumber: String(blockNumber) });
  }
}

/** Above this size the facts snapshot is only checked to be a JSON object's text: parsing 47 MB would hold the event loop ~0.5 s. */
const FACTS_PARSED_UP_TO = 1 << 20;

// The snapshot's owner (the compliance mirror) checks it fully when it reads it back, and rebuilds it on anything else.
export function checkFactsJson(json: unknown): asserts json is string {
  if (typeof json !== "string") invalid("the facts snapshot is JSON text");
  if (json.length > FACTS_PARSED_UP_TO) {
    if (!/^\s*\{/.test(json.slice(0, 64)) || !/\}\s*$/.test(json.slice(-64))) invalid("the facts snapshot is not a JSON object");
    return;
  }
  try {
    JSON.parse(json);
  } catch (cause) {
    invalid("the facts snapshot is not valid JSON", {}, cause);
  }
}

export function checkHashlock(hashlock: unknown): asserts hashlock is Bytes32 {
  if (typeof hashlock !== "string" || !BYTES32.test(hashlock)) invalid("a hashlock is 32 bytes of lowercase 0x-hex");
}

export function checkInvoiceExpiry(expiresAt: unknown): asserts expiresAt is number {
  checkTime(expiresAt, "expiresAt");
}

/** Hashlocks of every lock in a live channel's latest or pending state: their secrets are owed. */
export function lockedHashlocks(records: Iterable<ChannelRecord>): Set<Bytes32> {
  const locked = new Set<Bytes32>();
  for (const record of records) {
    if (record.status === "concluded") continue;
    for (const lock of record.latest?.state.locks ?? []) locked.add(lock.hashlock);
    for (const lock of record.pending?.signed.state.locks ?? []) locked.add(lock.hashlock);
  }
  return locked;
}

export function checkSecret(hashlock: unknown, secret: unknown): asserts hashlock is Bytes32 {
  for (const [field, value] of [["hashlock", hashlock], ["secret", secret]] as const) {
    if (typeof value !== "string" || !BYTES32.test(value)) invalid(`a ${field} is 32 bytes of lowercase 0x-hex`, { field });
  }
}

function checkUint64(value: unknown, field: string): asserts value is bigint {
  if (typeof value !== "bigint" || value < 0n || value > UINT64_MAX) {
    invalid(`${field} must be a uint64 bigint`, { field, value: typeof value === "bigint" ? value : String(value) });
  }
}

function checkTime(value: unknown, field: string): asserts value is number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    invalid(`${field} must be a non-negative integer (milliseconds since the epoch)`, { field });
  }
}

function requireChannel(record: ChannelRecord | undefined, channelId: Bytes32): ChannelRecord {
  if (record === undefined) throw new StoreError("UNKNOWN_CHANNEL", `unknown channel ${channelId}`, { channelId });
  return record;
}

function requireStatus(record: ChannelRecord, allowed: readonly ChannelStatus[], event: string): void {
  if (!allowed.includes(record.status)) {
    throw new StoreError(
      "INVALID_TRANSITION",
      `${event} does not apply to a ${record.status} channel`,
      { channelId: record.channelId, status: record.status, event },
    );
  }
}

const LIVE: readonly ChannelStatus[] = ["proposed", "open", "disputed"];

/**
 * Chain events are facts, and the watcher delivers them at least once and in chain order, stalling
 * on a handler error; so the store accepts every fact that can be true and refuses only
 * contradictions. The adjudicator opens a channel once, then sees deposits and withdrawals,
 * then registrations, then the conclusion. Any later event on a `proposed` record therefore proves
 * the channel open (its ChannelOpened went by before the record existed) and moves it on.
 */
function onChain(record: ChannelRecord): ChannelRecord {
  return record.status === "proposed" ? { ...record, status: "open" } : record;
}

/** Checks a state belongs to the channel, matches its assets, and fits the Solidity types. */
function checkSignedState(record: ChannelRecord, signed: SignedState, what: string): void {
  const state = signed?.state;
  if (state === undefined || state === null || !Array.isArray(signed.signatures) || signed.signatures.length !== 2) {
    invalid(`the ${what} is not a signed state`);
  }
  if (state.channelId !== record.channelId) {
    throw new StoreError("WRONG_CHANNEL", `the ${what} belongs to channel ${String(state.channelId)}`, {
      channelId: record.channelId,
      stateChannelId: String(state.channelId),
    });
  }
  const assets = record.params.assets;
  if (!Array.isArray(state.allocations) || state.allocations.length !== assets.length ||
      state.allocations.some((a, i) => a.token !== assets[i])) {
    invalid(`the ${what}'s allocations do not name the channel's assets in order`, { channelId: record.channelId });
  }
  if (!Array.isArray(state.locks) || typeof state.isFinal !== "boolean") invalid(`the ${what} is malformed`);
  try {
    checkStateBounds(state);
  } catch (error) {
    if (isProtocolError(error)) invalid(`the ${what} is out of range: ${error.shortMessage}`, { channelId: record.channelId }, error);
    throw error;
  }
  for (const signature of signed.signatures) {
    if (signature !== null && (typeof signature !== "string" || !SIGNATURE.test(signature))) {
      invalid(`the ${what} carries a malformed signature (65 bytes of lowercase 0x-hex expected)`);
    }
  }
}

function checkNonceAdvances(record: ChannelRecord, signed: SignedState, what: string): void {
  const latest = record.latest?.state.nonce ?? 0n;
  if (signed.state.nonce <= latest) {
    throw new StoreError("STALE_STATE", `the ${what}'s nonce ${signed.state.nonce} is not above the latest ${latest}`, {
      channelId: record.channelId,
      nonce: signed.state.nonce,
      latest,
    });
  }
}

function checkUpdate(record: ChannelRecord, update: UpdateSummary): void {
  if (update === null || typeof update !== "object") invalid("an update summary is required");
  if (typeof update.kind !== "string" || update.kind.length === 0 || update.kind.length > MAX_KIND_LENGTH) {
    invalid(`an update kind is a non-empty string of at most ${MAX_KIND_LENGTH} characters`);
  }
  checkTime(update.at, "update.at");
  if (update.memo !== undefined && (typeof update.memo !== "string" || update.memo.length > MAX_MEMO_LENGTH)) {
    invalid(`a memo is a string of at most ${MAX_MEMO_LENGTH} characters`);
  }
  if (!Array.isArray(update.movements) || update.movements.length > MAX_MOVEMENTS) {
    invalid(`an update lists at most ${MAX_MOVEMENTS} movements`);
  }
  update.movements.forEach((m, i) => {
    if (!Number.isInteger(m.assetIndex) || m.assetIndex < 0 || m.assetIndex >= record.params.assets.length) {
      invalid(`movements[${i}].assetIndex is not an asset of the channel`, { assetIndex: String(m.assetIndex) });
    }
    if (typeof m.amount !== "bigint" || m.amount < 0n) invalid(`movements[${i}].amount must be a non-negative bigint`);
    if (!(m.from === null || isParticipant(m.from)) || !(m.to === null || isParticipant(m.to))) {
      invalid(`movements[${i}].from/to must be 0, 1 or null`);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

export function applyChannelCreated(existing: ChannelRecord | undefined, channel: NewChannel): ChannelRecord {
  if (channel === null || typeof channel !== "object") invalid("a new channel is required");
  checkChannelId(channel.channelId);
  if (existing !== undefined) {
    throw new StoreError("DUPLICATE_CHANNEL", `channel ${channel.channelId} already exists`, { channelId: channel.channelId });
  }
  if (!isParticipant(channel.me)) invalid("me must be 0 or 1");
  checkTime(channel.createdAt, "createdAt");
  const { params, deployment } = channel;
  if (deployment === null || typeof deployment !== "object" || typeof deployment.chainId !== "bigint") {
    invalid("a deployment is { chainId: bigint, adjudicator }");
  }
  let expected: Bytes32;
  try {
    validateParams(params);
    expected = channelIdOf(params, deployment.chainId, deployment.adjudicator);
  } catch (error) {
    invalid(`invalid channel parameters or deployment: ${error instanceof Error ? error.message : String(error)}`, {}, error);
  }
  if (expected !== channel.channelId) {
    invalid("the channel id does not match the parameters and deployment", { channelId: channel.channelId, expected });
  }
  return {
    channelId: channel.channelId,
    params,
    deployment,
    me: channel.me,
    createdAt: channel.createdAt,
    status: "proposed",
    latest: null,
    pending: null,
    deposits: params.assets.map(() => [0n, 0n] as const),
    checkpointNonce: 0n,
    dispute: null,
    concludedNonce: null,
  };
}

export function applyProposalRecorded(
  existing: ChannelRecord | undefined,
  channelId: Bytes32,
  pending: PendingProposal,
): ChannelRecord {
  const record = requireChannel(existing, channelId);
  requireStatus(record, LIVE, "a proposal");
  if (pending === null || typeof pending !== "object" || !isParticipant(pending.proposer)) {
    invalid("a pending proposal is { proposer: 0 | 1, signed, update }");
  }
  checkSignedState(record, pending.signed, "proposal");
  if (pending.signed.signatures[pending.proposer] === null) {
    invalid("a proposal carries its proposer's signature", { channelId, proposer: pending.proposer });
  }
  checkNonceAdvances(record, pending.signed, "proposal");
  checkUpdate(record, pending.update);
  return { ...record, pending };
}

/** Returns the record unchanged when nothing is pending. */
export function applyProposalCleared(existing: ChannelRecord | undefined, channelId: Bytes32): ChannelRecord {
  const record = requireChannel(existing, channelId);
  return record.pending === null ? record : { ...record, pending: null };
}

export function applyStateAgreed(
  existing: ChannelRecord | undefined,
  channelId: Bytes32,
  signed: SignedState,
  update: UpdateSummary,
): ChannelRecord {
  const record = requireChannel(existing, channelId);
  requireStatus(record, LIVE, "an agreed state");
  checkSignedState(record, signed, "agreed state");
  if (signed.signatures[0] === null || signed.signatures[1] === null) {
    throw new StoreError("NOT_AGREED", "an agreed state carries both signatures", {
      channelId,
      nonce: signed.state.nonce,
    });
  }
  checkNonceAdvances(record, signed, "agreed state");
  checkUpdate(record, update);
  return { ...record, latest: signed, pending: null };
}

/** Checks a `proposed` channel may be abandoned; returns its record. */
export function applyChannelAbandoned(existing: ChannelRecord | undefined, channelId: Bytes32): ChannelRecord {
  const record = requireChannel(existing, channelId);
  if (record.status !== "proposed") {
    throw new StoreError("INVALID_TRANSITION", `only a channel never seen on chain can be abandoned; ${channelId} is ${record.status}`, {
      channelId,
      status: record.status,
      event: "abandon",
    });
  }
  return record;
}

/** `proposed` → `open`; on a channel already known to be on chain it adds nothing (e.g. a re-mined event). */
export function applyChannelOpened(existing: ChannelRecord | undefined, channelId: Bytes32): ChannelRecord {
  return onChain(requireChannel(existing, channelId));
}

export function applyDepositConfirmed(
  existing: ChannelRecord | undefined,
  channelId: Bytes32,
  deposit: DepositEvent,
): ChannelRecord {
  const record = requireChannel(existing, channelId);
  if (deposit === null || typeof deposit !== "object") invalid("a deposit is { assetIndex, participant, amount }");
  const { assetIndex, participant, amount } = deposit;
  if (!Number.isInteger(assetIndex) || assetIndex < 0 || assetIndex >= record.params.assets.length) {
    invalid("the asset index is not an asset of the channel", { channelId, assetIndex: String(assetIndex) });
  }
  if (!isParticipant(participant)) invalid("the participant must be 0 or 1");
  if (typeof amount !== "bigint" || amount < 0n) invalid("a deposit amount is a non-negative bigint");
  requireStatus(record, LIVE, "Deposited");
  const deposits = record.deposits.map((pair, i): readonly [bigint, bigint] => {
    if (i !== assetIndex) return pair;
    return participant === 0 ? [pair[0] + amount, pair[1]] : [pair[0], pair[1] + amount];
  });
  return { ...onChain(record), deposits };
}

export function applyWithdrawalObserved(existing: ChannelRecord | undefined, channelId: Bytes32, nonce: bigint): ChannelRecord {
  const record = requireChannel(existing, channelId);
  checkUint64(nonce, "nonce");
  requireStatus(record, LIVE, "Withdrawn");
  return { ...onChain(record), checkpointNonce: nonce > record.checkpointNonce ? nonce : record.checkpointNonce };
}

export function applyDisputeObserved(
  existing: ChannelRecord | undefined,
  channelId: Bytes32,
  dispute: DisputeFacts,
): ChannelRecord {
  const record = requireChannel(existing, channelId);
  if (dispute === null || typeof dispute !== "object") invalid("dispute facts are { nonce, deadline }");
  checkUint64(dispute.nonce, "dispute.nonce");
  checkUint64(dispute.deadline, "dispute.deadline");
  requireStatus(record, LIVE, "StateRegistered");
  return { ...record, status: "disputed", dispute: { nonce: dispute.nonce, deadline: dispute.deadline } };
}

export function applyChannelConcluded(existing: ChannelRecord | undefined, channelId: Bytes32, nonce: bigint): ChannelRecord {
  const record = requireChannel(existing, channelId);
  checkUint64(nonce, "nonce");
  // The same conclusion delivered again (e.g. re-mined under another event id) adds nothing.
  if (record.status === "concluded" && record.concludedNonce === nonce) return record;
  requireStatus(record, LIVE, "ChannelConcluded");
  return { ...record, status: "concluded", concludedNonce: nonce, pending: null };
}

// ---------------------------------------------------------------------------------------------
// Reads
// ---------------------------------------------------------------------------------------------

export function checkHistoryOptions(options: HistoryOptions): void {
  if (options.limit !== undefined && (!Number.isSafeInteger(options.limit) || options.limit < 0)) {
    invalid("limit must be a non-negative integer");
  }
  if (options.afterNonce !== undefined) checkUint64(options.afterNonce, "afterNonce");
  if (options.beforeNonce !== undefined) checkUint64(options.beforeNonce, "beforeNonce");
}

export function matchesFilter(record: ChannelRecord, status: ChannelStatus | readonly ChannelStatus[] | undefined): boolean {
  if (status === undefined) return true;
  return typeof status === "string" ? record.status === status : status.includes(record.status);
}

/** Channel ids are lowercase hex of one length, so string order is numeric order. */
export function byChannelId(a: ChannelRecord, b: ChannelRecord): number {
  return a.channelId < b.channelId ? -1 : a.channelId > b.channelId ? 1 : 0;
}
