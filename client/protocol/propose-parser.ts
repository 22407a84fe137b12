/**
 * A hand-written parser of the wire's `propose` message, the one message of every update: it
 * accepts exactly what wire.ts's zod schema accepts, with the same output, at a fraction of zod's
 * cost (docs/performance.md). It returns undefined for anything it does not accept; the caller then
 * runs the zod schema, which produces the error, so the errors (and their codes) are zod's.
 * A property test checks both against each other (test/protocol/propose-parser.test.ts).
 */
import { checksumAddress } from "./address.js";
import { MAX_ASSETS, type Address, type Allocation, type Bytes32, type Lock, type SignatureHex, type State } from "./types.js";

/** A state as the zod schema outputs it (mutable arrays). */
export interface ParsedState extends State {
  allocations: Allocation[];
  locks: Lock[];
}

/** The `propose` message as the zod schema outputs it. */
export interface ParsedPropose {
  v: 1;
  type: "propose";
  id: string;
  channelId: Bytes32;
  state: ParsedState;
  signature: SignatureHex;
  secrets?: { hashlock: Bytes32; secret: Bytes32 }[] | undefined;
  route?: { to: Address } | undefined;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-fA-F]{130}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UNSIGNED = /^(0|[1-9][0-9]{0,79})$/;
const SIGNED = /^(0|-?[1-9][0-9]{0,79})$/;
const MAX_SECRETS = 16;
const MAX_LOCK_ENTRIES = 255;

/** Thrown inside the parser only: the input is not a well-formed proposal. */
const REJECT = Symbol("reject");

function reject(): never {
  throw REJECT;
}

type Json = Record<string, unknown>;

/** A plain object whose own keys are all in `allowed` (a strict object). */
function object(value: unknown, allowed: ReadonlySet<string>): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) reject();
  for (const key of Object.keys(value)) if (!allowed.has(key)) reject();
  return value as Json;
}

/** Each element of an array of `min`..`max` elements, parsed (a for loop: a hole is undefined, as zod sees it). */
function array<T>(value: unknown, min: number, max: number, element: (item: unknown) => T): T[] {
  if (!Array.isArray(value) || value.length < min || value.length > max) reject();
  const parsed: T[] = [];
  for (let i = 0; i < value.length; i++) parsed.push(element(value[i]));
  return parsed;
}

function matching(value: unknown, pattern: RegExp): string {
  if (typeof value !== "string" || !pattern.test(value)) reject();
  return value;
}

const bytes32 = (value: unknown): Bytes32 => matching(value, BYTES32).toLowerCase();
const unsigned = (value: unknown): bigint => BigInt(matching(value, UNSIGNED));

/** encoding.ts's `addressJson`: hex of an address whose checksum (if mixed case) is right, checksummed. */
function checksummed(value: unknown): Address {
  return checksumAddress(matching(value, ADDRESS)) ?? reject();
}

/** wire.ts's `address`: any case, checksummed. */
function anyCaseAddress(value: unknown): Address {
  return checksumAddress(matching(value, ADDRESS).toLowerCase()) ?? reject();
}

const ALLOCATION_KEYS = new Set(["token", "net", "withdrawn0", "withdrawn1"]);
const LOCK_KEYS = new Set(["assetIndex", "sender", "amount", "hashlock", "expiry"]);
const STATE_KEYS = new Set(["channelId", "nonce", "allocations", "locks", "isFinal"]);
const SECRET_KEYS = new Set(["hashlock", "secret"]);
const ROUTE_KEYS = new Set(["to"]);
const PROPOSE_KEYS = new Set(["v", "type", "id", "channelId", "state", "signature", "secrets", "route"]);

function allocation(value: unknown): Allocation {
  const json = object(value, ALLOCATION_KEYS);
  return {
    token: checksummed(json.token),
    net: BigInt(matching(json.net, SIGNED)),
    withdrawn0: unsigned(json.withdrawn0),
    withdrawn1: unsigned(json.withdrawn1),
  };
}

function lock(value: unknown): Lock {
  const json = object(value, LOCK_KEYS);
  const { assetIndex, sender } = json;
  if (typeof assetIndex !== "number" || !Number.isInteger(assetIndex) || assetIndex < 0 || assetIndex > 255) reject();
  if (sender !== 0 && sender !== 1) reject();
  return { assetIndex, sender, amount: unsigned(json.amount), hashlock: bytes32(json.hashlock), expiry: unsigned(json.expiry) };
}

function state(value: unknown): ParsedState {
  const json = object(value, STATE_KEYS);
  const channelId = bytes32(json.channelId);
  const nonce = unsigned(json.nonce);
  const allocations = array(json.allocations, 1, MAX_ASSETS, allocation);
  const locks = array(json.locks, 0, MAX_LOCK_ENTRIES, lock);
  if (typeof json.isFinal !== "boolean") reject();
  return { channelId, nonce, allocations, locks, isFinal: json.isFinal };
}

function secret(value: unknown): { hashlock: Bytes32; secret: Bytes32 } {
  const json = object(value, SECRET_KEYS);
  return { hashlock: bytes32(json.hashlock), secret: bytes32(json.secret) };
}

/** The proposal `value` (parsed JSON) is, or undefined when the zod schema has to say why not. */
export function parsePropose(value: unknown): ParsedPropose | undefined {
  try {
    const json = object(value, PROPOSE_KEYS);
    if (json.v !== 1 || json.type !== "propose") return undefined;
    const { id } = json;
    if (typeof id !== "string" || id.length < 1 || id.length > 64) return undefined;
    const parsed: ParsedPropose = {
      v: 1,
      type: "propose",
      id,
      channelId: bytes32(json.channelId),
      state: state(json.state),
      signature: matching(json.signature, SIGNATURE).toLowerCase(),
    };
    // An optional key present with the value undefined stays in zod's output (not from JSON, but the same).
    if ("secrets" in json) parsed.secrets = json.secrets === undefined ? undefined : array(json.secrets, 0, MAX_SECRETS, secret);
    if ("route" in json) parsed.route = json.route === undefined ? undefined : { to: anyCaseAddress(object(json.route, ROUTE_KEYS).to) };
    return parsed;
  } catch (error) {
    if (error === REJECT) return undefined;
    throw error;
  }
}
