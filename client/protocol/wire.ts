/**
 * The wire protocol between an investor's client and the venue's node (docs/protocol.md): JSON messages
 * over WebSocket, each with the protocol version `v` and a `type`, validated against a schema on
 * arrival. Requests carry an `id` that their answer echoes.
 *
 * Handshake: node → `challenge`; client → `auth` (EIP-191 signature of session.ts's login message);
 * node → `welcome` with the investor's channels. Then, in both directions:
 *   `propose` (a signed next state) → `accepted` (the countersignature) | `rejected` (typed reason).
 * The venue's proposal of a fill's lock pair also names the fill (`fill`, its log sequence number).
 * The proposal carries only the state: the receiver recognises the update from the difference to its
 * latest agreed state (transitions.ts `checkTransition`), so a claimed intent is never trusted.
 * Client requests: `open` (register channel parameters with the venue), `resync` (exchange latest
 * agreed states after a reconnect), `invoice_request` (ask investor `to`, through the venue, for an
 * invoice: the node relays it and answers `invoice` with the receiver's hashlock, or `rejected`, e.g.
 * when the receiver answers `invoice_refused`).
 * Node notices: `deposits` (confirmed on-chain deposits).
 */
import { z } from "zod";
import { paramsJsonSchema, signedStateJsonSchema, stateJsonSchema } from "./encoding.js";
import { checksumAddress } from "./address.js";
import { CodedError, isCodedError } from "./coded-error.js";
import { parsePropose } from "./propose-parser.js";
import { signedCancelJsonSchema, signedOrderJsonSchema } from "./trading/order-json.js";

export const PROTOCOL_VERSION = 1 as const;

/** Codes of transport-level refusals (protocol verdicts use ProtocolErrorCode). */
export const WIRE_ERROR_CODES = [
  "MALFORMED",
  "UNSUPPORTED_VERSION",
  "NOT_AUTHENTICATED",
  "BAD_AUTH",
  "RATE_LIMITED",
  /** Too many logins from one remote address (docs/operations.md, "Bounds (transport)"). */
  "LOGIN_RATE_LIMITED",
  "HANDSHAKE_TIMEOUT",
  "TOO_MANY_CONNECTIONS",
  "UNKNOWN_CHANNEL",
  "NOT_PARTICIPANT",
  "CHANNEL_NOT_OPEN",
  // Engine bounds (docs/operations.md, "Bounds (engine)").
  "NOT_ELIGIBLE",
  "TOO_MANY_PROPOSED_CHANNELS",
  "CHANNEL_NOT_FUNDED",
  "INVOICE_RATE_LIMITED",
  "TOO_MANY_LOCKS",
  "IN_FLIGHT_LIMIT",
  /** An update would spend funds the investor's orders reserve (docs/trading.md, "At the node"). */
  "FUNDS_RESERVED",
  /**
   * The node cannot commit right now (its database is down, or it lost the leader lease): nothing was
   * countersigned; retry, or another node. As an investor's `rejected`: its client could not judge the
   * venue's proposal (chain, log proofs or its store failing) after retrying; nothing was countersigned.
   */
  "UNAVAILABLE",
  "INTERNAL",
] as const;
export type WireErrorCode = (typeof WIRE_ERROR_CODES)[number];

/** A transport-level refusal; its message goes to the peer as is (the `error` message's `message`). */
export class WireError<C extends WireErrorCode = WireErrorCode> extends CodedError<C> {
  override readonly name: string = "WireError";
  constructor(code: C, message: string) {
    super(code, message, {}, { codeSuffix: false });
  }
}

/** Whether `error` is a WireError, optionally of a given code. */
export function isWireError<C extends WireErrorCode>(error: unknown, code?: C): error is WireError<C> {
  return isCodedError(error, WireError, code);
}

const version = z.literal(PROTOCOL_VERSION);
const requestId = z.string().min(1).max(64);
const address = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, "an address")
  .transform((s) => checksumAddress(s.toLowerCase()) as string);
const bytes32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "32 bytes of hex").transform((s) => s.toLowerCase());
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "a 65-byte signature").transform((s) => s.toLowerCase());
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,79})$/, "an unsigned decimal string");

const secretsSchema = z.array(z.strictObject({ hashlock: bytes32, secret: bytes32 })).max(16);

/**
 * A signed next state, from either side. `secrets`: the preimages a lock resolution needs.
 * `route.to`: on the investor's hashlocked `addLock`, the venue sets up the same lock to this investor.
 */
const proposeSchema = z.strictObject({
  v: version,
  type: z.literal("propose"),
  id: requestId,
  channelId: bytes32,
  state: stateJsonSchema,
  signature,
  secrets: secretsSchema.optional(),
  route: z.strictObject({ to: address }).optional(),
});

/**
 * The venue's proposal: `fill`, on a lock pair only, is the sequence number of the fill in the venue's
 * order log the pair settles (docs/protocol.md, "Settlement of a fill"); the investor checks that fill.
 */
const venueProposeSchema = proposeSchema.extend({ fill: decimal.optional() });

const acceptedSchema = z.strictObject({
  v: version,
  type: z.literal("accepted"),
  id: requestId,
  channelId: bytes32,
  nonce: decimal,
  signature,
});

const restrictionSchema = z.strictObject({ code: z.number().int().min(0).max(255), rule: z.string(), message: z.string() });

const rejectedSchema = z.strictObject({
  v: version,
  type: z.literal("rejected"),
  id: requestId,
  channelId: bytes32,
  code: z.string().max(64),
  message: z.string().max(1_000),
  restriction: restrictionSchema.optional(),
});

const authSchema = z.strictObject({ v: version, type: z.literal("auth"), id: requestId.optional(), address, signature });

const openSchema = z.strictObject({ v: version, type: z.literal("open"), id: requestId, params: paramsJsonSchema });

/** Payer → node: ask investor `to` for an invoice of `amount` of `token` (answered `invoice` or `rejected`). */
const invoiceRequestSchema = z.strictObject({
  v: version,
  type: z.literal("invoice_request"),
  id: requestId,
  channelId: bytes32,
  to: address,
  token: address,
  amount: decimal,
});

/** Receiver → node: the hashlock of the invoice it made for the node's relayed `invoice_request` `id`. */
const invoiceSchema = z.strictObject({ v: version, type: z.literal("invoice"), id: requestId, hashlock: bytes32 });

/** Why a receiver refuses an invoice request; the node relays it to the payer as `rejected` with this code. */
export const INVOICE_REFUSAL_CODES = [
  /** The receiver holds as many unpaid invoices as it allows: the payer may try again later. */
  "TOO_MANY_INVOICES",
] as const;

/** Receiver → node: no invoice for the relayed `invoice_request` `id`. */
const invoiceRefusedSchema = z.strictObject({
  v: version,
  type: z.literal("invoice_refused"),
  id: requestId,
  code: z.enum(INVOICE_REFUSAL_CODES),
  message: z.string().max(1_000),
});

const resyncSchema = z.strictObject({
  v: version,
  type: z.literal("resync"),
  id: requestId,
  channels: z.array(z.strictObject({ channelId: bytes32, latest: signedStateJsonSchema.nullable() })).max(1_000),
});

// Trading (docs/trading.md, "At the node"): orders and cancels, each answered `order_accepted` (the
// venue's signed receipt) or `order_refused`; proofs and checkpoints of the venue's order log.
const orderSchema = z.strictObject({ v: version, type: z.literal("order"), id: requestId, signed: signedOrderJsonSchema });
const cancelSchema = z.strictObject({ v: version, type: z.literal("cancel"), id: requestId, signed: signedCancelJsonSchema });
/** An inclusion proof of entry `sequence` in the log of `size` entries (the current log when absent). */
const inclusionRequestSchema = z.strictObject({ v: version, type: z.literal("log_inclusion"), id: requestId, sequence: decimal, size: decimal.optional() });
/** A consistency proof from the log of `first` entries to the log of `second` (the current log when absent). */
const consistencyRequestSchema = z.strictObject({ v: version, type: z.literal("log_consistency"), id: requestId, first: decimal, second: decimal.optional() });
const checkpointRequestSchema = z.strictObject({ v: version, type: z.literal("log_checkpoint"), id: requestId });
/** The resting quantity per price level of a market's book, best `levels` (default 20, at most 100) of each side. */
/** The investor's own resting orders and its latest `limit` (default 100, at most 1,000) unsettled fills. */
const myTradingRequestSchema = z.strictObject({ v: version, type: z.literal("my_trading"), id: requestId, limit: z.number().int().min(1).max(1_000).optional() });
/** At most `count` (default and most 1,000) entries of the log from sequence number `from`, in their canonical encoding. */
const logEntriesRequestSchema = z.strictObject({ v: version, type: z.literal("log_entries"), id: requestId, from: decimal, count: z.number().int().min(1).max(1_000).optional() });
const bookDepthRequestSchema = z.strictObject({ v: version, type: z.literal("book_depth"), id: requestId, security: address, cash: address, levels: z.number().int().min(1).max(100).optional() });

const receiptJsonSchema = z.strictObject({ sequence: decimal, receivedAt: decimal, orderHash: bytes32, logSize: decimal, logRoot: bytes32 });
/** `matching`: how the venue matches now, the priority audit its log takes (docs/trading.md, "Receipts and checkpoints"). */
const checkpointJsonSchema = z.strictObject({ size: decimal, root: bytes32, time: decimal, matching: z.enum(["builtIn", "external"]) });
/** A logged fill; `state` "matched" until both legs are settled in the channels ("settled"), or "failed" when the venue gave up before revealing (no leg moved). */
const depthLevelSchema = z.strictObject({ price: decimal, quantity: decimal, orders: z.number().int().min(1) });
const fillJsonSchema = z.strictObject({ sequence: decimal, makerSequence: decimal, takerSequence: decimal, quantity: decimal, price: decimal, state: z.enum(["matched", "settled", "failed"]) });

export const clientMessageSchema = z.discriminatedUnion("type", [
  authSchema,
  openSchema,
  proposeSchema,
  acceptedSchema,
  rejectedSchema,
  resyncSchema,
  invoiceRequestSchema,
  invoiceSchema,
  invoiceRefusedSchema,
  orderSchema,
  cancelSchema,
  inclusionRequestSchema,
  consistencyRequestSchema,
  checkpointRequestSchema,
  bookDepthRequestSchema,
  myTradingRequestSchema,
  logEntriesRequestSchema,
]);

export type ClientMessage = z.output<typeof clientMessageSchema>;

/** A channel as the node reports it to its investor. */
const channelReportSchema = z.strictObject({
  channelId: bytes32,
  params: paramsJsonSchema,
  status: z.enum(["proposed", "open", "disputed", "concluded"]),
  latest: signedStateJsonSchema,
  deposits: z.array(z.tuple([decimal, decimal])),
  /** The venue's void proposal above `latest` (venue-signed): the next state skips its nonce (docs/protocol.md, off-chain protocol 7). */
  voided: signedStateJsonSchema.optional(),
});

export const nodeMessageSchema = z.discriminatedUnion("type", [
  z.strictObject({ v: version, type: z.literal("challenge"), venue: address, chainId: decimal, adjudicator: address, nonce: bytes32 }),
  z.strictObject({ v: version, type: z.literal("welcome"), id: requestId.optional(), address, channels: z.array(channelReportSchema) }),
  z.strictObject({ v: version, type: z.literal("opened"), id: requestId, channel: channelReportSchema }),
  z.strictObject({ v: version, type: z.literal("resynced"), id: requestId, channels: z.array(channelReportSchema) }),
  z.strictObject({ v: version, type: z.literal("deposits"), channelId: bytes32, status: channelReportSchema.shape.status, deposits: z.array(z.tuple([decimal, decimal])) }),
  venueProposeSchema,
  acceptedSchema,
  rejectedSchema,
  /** Relayed to the receiver: `from` asks for an invoice; answered with `invoice` of the same id. */
  z.strictObject({ v: version, type: z.literal("invoice_request"), id: requestId, from: address, token: address, amount: decimal }),
  /** To the payer: the receiver's invoice, to pay with a hashlocked `addLock` routed to `to`. */
  z.strictObject({ v: version, type: z.literal("invoice"), id: requestId, hashlock: bytes32, to: address, token: address, amount: decimal }),
  z.strictObject({ v: version, type: z.literal("error"), id: requestId.optional(), code: z.string(), message: z.string() }),
  /** The order or cancel `id` is in the log: the venue's receipt, and the fills the order caused. */
  z.strictObject({ v: version, type: z.literal("order_accepted"), id: requestId, receipt: receiptJsonSchema, signature, fills: z.array(fillJsonSchema), resting: decimal }),
  z.strictObject({ v: version, type: z.literal("order_refused"), id: requestId, code: z.string().max(64), message: z.string().max(1_000), restriction: restrictionSchema.optional() }),
  /** To a maker: its resting order `orderSequence` traded. */
  z.strictObject({ v: version, type: z.literal("order_filled"), orderSequence: decimal, fill: fillJsonSchema }),
  /** A proof of the venue's log: audit path or consistency path, each hash 32 bytes. */
  z.strictObject({ v: version, type: z.literal("log_proof"), id: requestId, proof: z.array(bytes32).max(64), size: decimal, root: bytes32 }),
  z.strictObject({ v: version, type: z.literal("log_checkpoint"), id: requestId.optional(), checkpoint: checkpointJsonSchema, signature }),
  /** A book's depth now: per price level (best first) the resting quantity and number of orders; expired orders left out. */
  /** Entries `from`, `from + 1`, … of the log, each its canonical bytes (docs/trading.md, "Log entries"). */
  z.strictObject({ v: version, type: z.literal("log_entries"), id: requestId, from: decimal, entries: z.array(z.string().regex(/^0x([0-9a-f]{2}){1,4096}$/)).max(1_000) }),
  /** The investor's resting orders (open quantity) and unsettled fills (its side and role in each), oldest first. */
  z.strictObject({
    v: version,
    type: z.literal("my_trading"),
    id: requestId,
    orders: z.array(z.strictObject({ sequence: decimal, orderHash: bytes32, side: z.enum(["buy", "sell"]), price: decimal, quantity: decimal, remaining: decimal, expiresAt: decimal })).max(10_000),
    fills: z.array(fillJsonSchema.extend({ side: z.enum(["buy", "sell"]), role: z.enum(["maker", "taker"]) })).max(1_000),
  }),
  z.strictObject({ v: version, type: z.literal("book_depth"), id: requestId, lotSize: decimal, time: decimal, bids: z.array(depthLevelSchema).max(100), asks: z.array(depthLevelSchema).max(100) }),
]);

export type NodeMessage = z.input<typeof nodeMessageSchema>;
export type NodeMessageParsed = z.output<typeof nodeMessageSchema>;
export type ChannelReport = z.input<typeof channelReportSchema>;
/** A channel report as the client holds it after parsing. */
export type ChannelView = z.output<typeof channelReportSchema>;

/** The JSON of `text`, MALFORMED if it is none, UNSUPPORTED_VERSION for another protocol version. */
function jsonOf(text: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WireError("MALFORMED", "the message is not JSON");
  }
  if (typeof value === "object" && value !== null && "v" in value && value.v !== PROTOCOL_VERSION) {
    throw new WireError("UNSUPPORTED_VERSION", `protocol version ${String(value.v)} is not supported; this peer speaks ${PROTOCOL_VERSION}`);
  }
  return value;
}

function checked<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new WireError("MALFORMED", `malformed message: ${z.prettifyError(result.error)}`);
  return result.data;
}

export function parseClientMessage(text: string): ClientMessage {
  const value = jsonOf(text);
  // A proposal, the message of every update, skips zod when well formed; zod says what is wrong with one that is not.
  return parsePropose(value) ?? checked(clientMessageSchema, value);
}

export function parseNodeMessage(text: string): NodeMessageParsed {
  return checked(nodeMessageSchema, jsonOf(text));
}

/** Why a proposal was refused: a core verdict (errors.ts `rejectionOf`) or a node-level refusal. */
export interface RejectionReason {
  readonly code: string;
  readonly message: string;
  readonly restriction?: { readonly code: number; readonly rule: string; readonly message: string };
}

/** The `rejected` answer to proposal `id`. */
export function rejectedMessage(id: string, channelId: string, rejection: RejectionReason) {
  return {
    v: PROTOCOL_VERSION,
    type: "rejected" as const,
    id,
    channelId,
    code: rejection.code,
    message: rejection.message,
    ...(rejection.restriction ? { restriction: rejection.restriction } : {}),
  };
}
