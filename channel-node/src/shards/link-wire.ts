// The link between two shards of one venue (docs/operations.md, "Payments between shards"): JSON over
// a WebSocket at `<shard URL>/shard-link`. Only the venue's key opens it: each side signs, EIP-191
// style, a text binding the other side's random challenge to the venue, the chain, the adjudicator and
// both shard ids, so a signature can be replayed neither to another link nor later.
//
// Handshake: server → `link_challenge`; client → `link_auth` (its signature and a challenge of its
// own); server → `link_welcome` (its signature). Then the dialling shard sends requests, each with an
// `id` that the answer (`ok` or `refused`, with the refusal's code) echoes:
//   invoice          ask the receiver (on the answering shard) for an invoice; answered with its hashlock
//   route_check      would the venue's lock to the receiver pass its checks now?
//   route_lock       the payer's lock is agreed: propose the venue's lock to the receiver
//   secrets          which of these hashlocks' secrets does the answering shard know?
//   secrets_learned  secrets the answering shard's payer locks can be claimed with
import { getAddress, hashMessage, isAddress } from "ethers";
import { z } from "zod";
import { isShardId } from "../../../client/protocol/session.js";
import type { Address, Bytes32, Deployment } from "../../../client/protocol/types.js";

/** At most this many hashlocks or secrets in one request. */
export const MAX_LINK_BATCH = 256;

/**
 * A link's message bound is never below this (link.ts), whatever the node's maxFrameBytes: the
 * largest message the schemas below allow (MAX_LINK_BATCH secret pairs, ~41 KB) must pass, or a
 * full batch would drop the link every time it is sent.
 */
export const MIN_LINK_MESSAGE_BYTES = 64 * 1024;

const shardId = z.string().refine(isShardId, "a shard id");
const address = z
  .string()
  .refine(isAddress, "an address")
  .transform((a) => getAddress(a) as Address);
const bytes32 = z
  .string()
  .regex(/^0x[0-9a-fA-F]{64}$/, "32 bytes of hex")
  .transform((s) => s.toLowerCase() as Bytes32);
const signature = z.string().regex(/^0x[0-9a-fA-F]{130}$/, "a 65-byte signature");
const amount = z.string().regex(/^[1-9][0-9]{0,77}$/, "a positive decimal amount").transform(BigInt);
const seconds = z.string().regex(/^[1-9][0-9]{0,19}$/, "unix seconds").transform(BigInt);
const requestId = z.string().min(1).max(64);

/** The payment a route request is about: the payer's lock to the venue, the venue's lock to the receiver. */
const routeFields = {
  /** The payer (served by the dialling shard). */
  from: address,
  /** The receiver (served by the answering shard). */
  to: address,
  token: address,
  amount,
};

const lockFields = {
  ...routeFields,
  hashlock: bytes32,
  /** When the venue's lock to the receiver expires (the payer's lock expires a gap later). */
  expiry: seconds,
};

const secretPair = z.strictObject({ hashlock: bytes32, secret: bytes32 });

export const linkRequestSchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("invoice"), id: requestId, ...routeFields }),
  z.strictObject({ type: z.literal("route_check"), id: requestId, ...lockFields }),
  z.strictObject({ type: z.literal("route_lock"), id: requestId, ...lockFields }),
  z.strictObject({ type: z.literal("secrets"), id: requestId, hashlocks: z.array(bytes32).min(1).max(MAX_LINK_BATCH) }),
  z.strictObject({ type: z.literal("secrets_learned"), id: requestId, secrets: z.array(secretPair).min(1).max(MAX_LINK_BATCH) }),
]);
export type LinkRequest = z.output<typeof linkRequestSchema>;
/** A request as sent (amounts as decimal strings), before the link gives it its id. */
export type LinkRequestBody = z.input<typeof linkRequestSchema> extends infer R ? (R extends unknown ? Omit<R, "id"> : never) : never;

const restriction = z.strictObject({ code: z.number().int(), rule: z.string().max(200), message: z.string().max(1_000) });

export const linkAnswerSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("ok"),
    id: requestId,
    /** `invoice`: the receiver's hashlock. */
    hashlock: bytes32.optional(),
    /** `secrets`: those the answering shard knows. */
    secrets: z.array(secretPair).max(MAX_LINK_BATCH).optional(),
  }),
  z.strictObject({ type: z.literal("refused"), id: requestId, code: z.string().min(1).max(64), message: z.string().max(2_000), restriction: restriction.optional() }),
]);
export type LinkAnswer = z.output<typeof linkAnswerSchema>;

export const linkChallengeSchema = z.strictObject({ type: z.literal("link_challenge"), shard: shardId, nonce: bytes32 });
export const linkAuthSchema = z.strictObject({ type: z.literal("link_auth"), shard: shardId, nonce: bytes32, signature });
export const linkWelcomeSchema = z.strictObject({ type: z.literal("link_welcome"), signature });

/** What one side of a link signs: the other side's challenge, bound to the venue, the chain and both shards. */
export interface LinkProof {
  readonly venue: Address;
  readonly deployment: Deployment;
  /** The signing shard. */
  readonly from: string;
  /** The shard it proves itself to. */
  readonly to: string;
  /** That shard's random challenge. */
  readonly nonce: Bytes32;
}

/** The exact text a shard signs. */
export function linkProofMessage(proof: LinkProof): string {
  return [
    "Clearline shard link",
    `venue: ${getAddress(proof.venue)}`,
    `chain: ${proof.deployment.chainId.toString()}`,
    `adjudicator: ${getAddress(proof.deployment.adjudicator)}`,
    `from: ${proof.from}`,
    `to: ${proof.to}`,
    `nonce: ${proof.nonce.toLowerCase()}`,
  ].join("\n");
}

/** The EIP-191 digest of the proof's text. */
export function linkProofDigest(proof: LinkProof): Bytes32 {
  return hashMessage(linkProofMessage(proof)) as Bytes32;
}

/** Where a shard with public URL `url` accepts links. */
export function linkUrlOf(url: string): string {
  return new URL("shard-link", url.endsWith("/") ? url : `${url}/`).toString();
}

/** The path the link is served at, beside the investors' WebSocket. */
export const LINK_PATH = "/shard-link";
