/**
 * The on-disk JSON of store records: bigints as decimal strings, states through the protocol
 * core's codecs (client/protocol/encoding.ts). Encoding is on the hot path (every agreed state);
 * decoding runs when the store opens and when history is read, and validates everything it reads,
 * so a damaged or foreign value surfaces as CORRUPT instead of as a wrong balance.
 */
import { checksumAddress } from "../protocol/address.js";
import { z } from "zod";
import { checkStateBounds, paramsJsonSchema, paramsToJson, signedStateJsonSchema, signedStateToJson, validateParams } from "../protocol/encoding.js";
import type { SignedState } from "../protocol/types.js";
import { StoreError } from "./errors.js";
import type { ChannelRecord, HistoryEntry, PendingProposal, UpdateSummary } from "./store.js";

/** Bumped when the layout of any stored value changes; stored at `meta/version`. */
export const SCHEMA_VERSION = 1;

const unsigned = z.string().regex(/^(0|[1-9][0-9]{0,79})$/, "an unsigned decimal string").transform(BigInt);
const participant = z.union([z.literal(0), z.literal(1)]);
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/, "32 bytes of lowercase hex");
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an address")
  .refine((s) => checksumAddress(s) !== null, "an address")
  .transform((s) => checksumAddress(s) as string);
const millis = z.number().int().nonnegative();

const movementSchema = z.strictObject({
  assetIndex: z.number().int().min(0).max(255),
  amount: unsigned,
  from: participant.nullable(),
  to: participant.nullable(),
});

const updateSchema = z.strictObject({
  kind: z.string().min(1),
  movements: z.array(movementSchema),
  at: millis,
  memo: z.string().optional(),
});

const pendingSchema = z.strictObject({
  proposer: participant,
  signed: signedStateJsonSchema,
  update: updateSchema,
  voided: z.literal(true).optional(),
});

const recordSchema = z.strictObject({
  channelId: bytes32,
  params: paramsJsonSchema,
  deployment: z.strictObject({ chainId: unsigned, adjudicator: address }),
  me: participant,
  createdAt: millis,
  status: z.enum(["proposed", "open", "disputed", "concluded"]),
  latest: signedStateJsonSchema.nullable(),
  pending: pendingSchema.nullable(),
  deposits: z.array(z.tuple([unsigned, unsigned])),
  checkpointNonce: unsigned,
  dispute: z.strictObject({ nonce: unsigned, deadline: unsigned }).nullable(),
  concludedNonce: unsigned.nullable(),
});

const historySchema = z.strictObject({ signed: signedStateJsonSchema, update: updateSchema });

function updateToJson(update: UpdateSummary): z.input<typeof updateSchema> {
  return {
    kind: update.kind,
    movements: update.movements.map((m) => ({ assetIndex: m.assetIndex, amount: m.amount.toString(), from: m.from, to: m.to })),
    at: update.at,
    ...(update.memo === undefined ? {} : { memo: update.memo }),
  };
}

function pendingToJson(pending: PendingProposal): z.input<typeof pendingSchema> {
  return {
    proposer: pending.proposer,
    signed: signedStateToJson(pending.signed),
    update: updateToJson(pending.update),
    ...(pending.voided === true ? { voided: true as const } : {}),
  };
}

/**
 * The JSON of a channel's parts that never change (id, parameters, deployment, role, creation
 * time), without the closing brace; computed once per channel, since every agreed state rewrites
 * the record (docs/performance.md). Keyed by the parameters object, checked against the other parts.
 */
const constantParts = new WeakMap<ChannelRecord["params"], { readonly key: string; readonly text: string }>();

function constantPartOf(record: ChannelRecord): string {
  const key = `${record.channelId}|${record.deployment.chainId}|${record.deployment.adjudicator}|${record.me}|${record.createdAt}`;
  const known = constantParts.get(record.params);
  if (known !== undefined && known.key === key) return known.text;
  const json = {
    channelId: record.channelId,
    params: paramsToJson(record.params),
    deployment: { chainId: record.deployment.chainId.toString(), adjudicator: record.deployment.adjudicator },
    me: record.me,
    createdAt: record.createdAt,
  };
  const text = JSON.stringify(json).slice(0, -1);
  constantParts.set(record.params, { key, text });
  return text;
}

// The signed state last encoded: an agreed state is written twice in one event (the record's
// `latest` and the history entry), so its JSON is made once. States are immutable (readonly).
let lastSigned: SignedState | null = null;
let lastSignedText = "";

function signedStateText(signed: SignedState): string {
  if (signed !== lastSigned) {
    lastSignedText = JSON.stringify(signedStateToJson(signed));
    lastSigned = signed;
  }
  return lastSignedText;
}

export function encodeRecord(record: ChannelRecord): string {
  // The same bytes as JSON.stringify of the whole record in this key order, assembled from parts.
  const rest: Omit<z.input<typeof recordSchema>, "channelId" | "params" | "deployment" | "me" | "createdAt" | "status" | "latest"> = {
    pending: record.pending === null ? null : pendingToJson(record.pending),
    deposits: record.deposits.map(([d0, d1]) => [d0.toString(), d1.toString()]),
    checkpointNonce: record.checkpointNonce.toString(),
    dispute: record.dispute === null ? null : { nonce: record.dispute.nonce.toString(), deadline: record.dispute.deadline.toString() },
    concludedNonce: record.concludedNonce === null ? null : record.concludedNonce.toString(),
  };
  const latest = record.latest === null ? "null" : signedStateText(record.latest);
  return `${constantPartOf(record)},"status":${JSON.stringify(record.status)},"latest":${latest},${JSON.stringify(rest).slice(1)}`;
}

export function encodeHistoryEntry(signed: SignedState, update: UpdateSummary): string {
  return `{"signed":${signedStateText(signed)},"update":${JSON.stringify(updateToJson(update))}}`;
}

function parse<S extends z.ZodType>(schema: S, text: string, key: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new StoreError("CORRUPT", `${key} is not JSON`, { key }, { cause });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new StoreError("CORRUPT", `${key} does not decode: ${z.prettifyError(result.error)}`, { key });
  }
  return result.data;
}

function checked<T>(key: string, check: () => T): T {
  try {
    return check();
  } catch (cause) {
    throw new StoreError("CORRUPT", `${key} holds an invalid value: ${cause instanceof Error ? cause.message : String(cause)}`, { key }, { cause });
  }
}

function stripMemo(update: z.output<typeof updateSchema>): UpdateSummary {
  const { memo, ...rest } = update;
  return memo === undefined ? rest : { ...rest, memo };
}

export function decodeRecord(text: string, key: string): ChannelRecord {
  const json = parse(recordSchema, text, key);
  checked(key, () => {
    validateParams(json.params);
    if (json.latest !== null) checkStateBounds(json.latest.state);
    if (json.pending !== null) checkStateBounds(json.pending.signed.state);
    if (json.deposits.length !== json.params.assets.length) throw new Error("one deposit pair per asset expected");
  });
  return {
    ...json,
    pending: json.pending === null ? null : pendingFromJson(json.pending),
  };
}

function pendingFromJson(json: z.output<typeof pendingSchema>): PendingProposal {
  const { voided, update, ...rest } = json;
  return { ...rest, update: stripMemo(update), ...(voided === true ? { voided } : {}) };
}

export function decodeHistoryEntry(text: string, key: string): HistoryEntry {
  const json = parse(historySchema, text, key);
  checked(key, () => checkStateBounds(json.signed.state));
  return { signed: json.signed, update: stripMemo(json.update) };
}
