/**
 * Decodes the channel records of a store as it opens, for a restart with many channels
 * (docs/performance.md, "Restart and memory at scale"): a node loads every record at start, so
 * this runs 100,000 times on a large store.
 *
 * The common record (no pending proposal, no locks) is decoded by hand, with the same checks as
 * `decodeRecord` (codec.ts) except one: addresses are checked for their form but not re-checksummed
 * (a keccak per address, most of the cost of a load). The store only ever wrote checksummed
 * addresses of validated parameters, and trusts what it wrote as it trusts the channel id. Any
 * other record, or one this path does not accept, goes through `decodeRecord`, which decodes it or
 * reports CORRUPT with the schema's words.
 *
 * Memory: values repeated across records (the venue's and the tokens' addresses, the deployment,
 * the asset list, equal amounts, allocations and deposit pairs, the empty lock list) are shared,
 * and a state's channel id is the record's string. Records are immutable values (store.ts), so
 * sharing is safe; shared objects are frozen, so a mutation would throw instead of changing many.
 */
import { validateParams, checkStateBounds } from "../protocol/encoding.js";
import type { Address, Allocation, Bytes32, Deployment, Lock, Params, SignedState, State } from "../protocol/types.js";
import { decodeRecord } from "./codec.js";
import { StoreError } from "./errors.js";
import type { ChannelRecord, ChannelStatus, DisputeFacts } from "./store.js";

const BYTES32 = /^0x[0-9a-f]{64}$/;
const BYTES32_ANY_CASE = /^0x[0-9a-fA-F]{64}$/;
const SIGNATURE = /^0x[0-9a-f]{130}$/;
const SIGNATURE_ANY_CASE = /^0x[0-9a-fA-F]{130}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const UNSIGNED = /^(0|[1-9][0-9]{0,79})$/;
const SIGNED = /^(0|-?[1-9][0-9]{0,79})$/;
const STATUSES: ReadonlySet<string> = new Set<ChannelStatus>(["proposed", "open", "disputed", "concluded"]);
const NO_LOCKS: readonly Lock[] = Object.freeze([]);
/** Shared values are kept up to this many of each kind; past it the loader stops adding (still correct, less shared). */
const MAX_SHARED = 4_096;

const RECORD_KEYS = 12;
const PARAMS_KEYS = 4;
const STATE_KEYS = 5;
const ALLOCATION_KEYS = 4;

/** Thrown inside the fast path: the record is not of the shape it decodes; `decodeRecord` takes over. */
class NotFast extends Error {}
const notFast = (): never => {
  throw new NotFast();
};

type Json = Record<string, unknown>;

function object(value: unknown, keys: number): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value) || Object.keys(value).length !== keys) notFast();
  return value as Json;
}

/** `value` if it matches `lower`, else its lowercase form if it matches `anyCase`. */
function lowercase(value: unknown, lower: RegExp, anyCase: RegExp): string {
  if (typeof value === "string" && lower.test(value)) return value;
  return text(value, anyCase).toLowerCase();
}

function text(value: unknown, pattern: RegExp): string {
  if (typeof value !== "string" || !pattern.test(value)) notFast();
  return value as string;
}

/** Values shared by content, up to MAX_SHARED of them. */
class Shared<T> {
  private readonly values = new Map<string, T>();

  /** The value already known under `key`, or `make()`'s (frozen), kept for the next records. */
  get(key: string, make: () => T): T {
    let value = this.values.get(key);
    if (value === undefined) {
      value = Object.freeze(make());
      if (this.values.size < MAX_SHARED) this.values.set(key, value);
    }
    return value;
  }
}

export class RecordLoader {
  private readonly addresses = new Map<string, Address>();
  private readonly numbers = new Map<string, bigint>();
  private readonly deployments = new Shared<Deployment>();
  private readonly assetLists = new Shared<readonly Address[]>();
  private readonly allocations = new Shared<Allocation>();
  private readonly depositPairs = new Shared<readonly [bigint, bigint]>();

  /** The record stored under `key` (CORRUPT when it does not decode). */
  decode(value: string, key: string): ChannelRecord {
    let json: unknown;
    try {
      json = JSON.parse(value);
    } catch {
      return decodeRecord(value, key); // reports "not JSON"
    }
    try {
      return this.fast(json);
    } catch (error) {
      if (error instanceof NotFast) return decodeRecord(value, key);
      throw new StoreError("CORRUPT", `${key} holds an invalid value: ${error instanceof Error ? error.message : String(error)}`, { key }, { cause: error });
    }
  }

  private fast(value: unknown): ChannelRecord {
    const json = object(value, RECORD_KEYS);
    if (json.pending !== null) notFast();
    const channelId = text(json.channelId, BYTES32);
    const params = this.params(json.params);
    const deployment = this.deployment(json.deployment);
    const me = json.me;
    if (me !== 0 && me !== 1) notFast();
    const createdAt = json.createdAt;
    if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || createdAt < 0) notFast();
    const status = json.status;
    if (typeof status !== "string" || !STATUSES.has(status)) notFast();
    const latest = json.latest === null ? null : this.signedState(json.latest, channelId, params);
    if (!Array.isArray(json.deposits) || json.deposits.length !== params.assets.length) notFast();
    const deposits = (json.deposits as unknown[]).map((pair): readonly [bigint, bigint] => {
      if (!Array.isArray(pair) || pair.length !== 2) notFast();
      const [d0, d1] = pair as unknown[];
      if (typeof d0 !== "string" || typeof d1 !== "string") notFast();
      return this.depositPairs.get(`${String(d0)}/${String(d1)}`, () => [this.unsigned(d0), this.unsigned(d1)]);
    });
    const checkpointNonce = this.unsigned(json.checkpointNonce);
    const dispute = json.dispute === null ? null : this.dispute(json.dispute);
    const concludedNonce = json.concludedNonce === null ? null : this.unsigned(json.concludedNonce);
    validateParams(params);
    if (latest !== null) checkStateBounds(latest.state);
    return { channelId, params, deployment, me: me as 0 | 1, createdAt: createdAt as number, status: status as ChannelStatus, latest, pending: null, deposits, checkpointNonce, dispute, concludedNonce };
  }

  private params(value: unknown): Params {
    const json = object(value, PARAMS_KEYS);
    const participants = json.participants;
    const assets = json.assets;
    if (!Array.isArray(participants) || participants.length !== 2 || !Array.isArray(assets) || assets.length < 1 || assets.length > 4) notFast();
    return {
      // The venue is one address for every channel; each investor's is its own.
      participants: [this.address((participants as unknown[])[0]), text((participants as unknown[])[1], ADDRESS)],
      assets: this.assetList(assets as unknown[]),
      challengePeriod: this.unsigned(json.challengePeriod),
      salt: lowercase(json.salt, BYTES32, BYTES32_ANY_CASE),
    };
  }

  private assetList(assets: unknown[]): readonly Address[] {
    const list = assets.map((asset) => this.address(asset));
    return this.assetLists.get(list.join(), () => list);
  }

  private deployment(value: unknown): Deployment {
    const json = object(value, 2);
    const chainId = text(json.chainId, UNSIGNED);
    const adjudicator = this.address(json.adjudicator);
    return this.deployments.get(`${chainId}/${adjudicator}`, () => ({ chainId: BigInt(chainId), adjudicator }));
  }

  private signedState(value: unknown, channelId: Bytes32, params: Params): SignedState {
    const json = object(value, 2);
    const signatures = json.signatures;
    if (!Array.isArray(signatures) || signatures.length !== 2) notFast();
    const signature = (s: unknown): string | null => (s === null ? null : lowercase(s, SIGNATURE, SIGNATURE_ANY_CASE));
    return { state: this.state(json.state, channelId, params), signatures: [signature((signatures as unknown[])[0]), signature((signatures as unknown[])[1])] };
  }

  private state(value: unknown, channelId: Bytes32, params: Params): State {
    const json = object(value, STATE_KEYS);
    // A state of another channel is left to decodeRecord, which keeps it as stored.
    if (json.channelId !== channelId) notFast();
    if (!Array.isArray(json.locks) || json.locks.length !== 0 || typeof json.isFinal !== "boolean") notFast();
    const allocations = json.allocations;
    if (!Array.isArray(allocations) || allocations.length < 1 || allocations.length > 4) notFast();
    return {
      channelId,
      nonce: this.unsigned(json.nonce),
      allocations: (allocations as unknown[]).map((allocation, i) => this.allocation(allocation, params.assets[i])),
      locks: NO_LOCKS,
      isFinal: json.isFinal as boolean,
    };
  }

  private allocation(value: unknown, asset: Address | undefined): Allocation {
    const json = object(value, ALLOCATION_KEYS);
    const token = asset !== undefined && json.token === asset ? asset : this.address(json.token);
    // Keyed by the stored text: an entry exists only once its values were checked.
    if (typeof json.net !== "string" || typeof json.withdrawn0 !== "string" || typeof json.withdrawn1 !== "string") notFast();
    return this.allocations.get(`${token}/${String(json.net)}/${String(json.withdrawn0)}/${String(json.withdrawn1)}`, () => ({
      token,
      net: this.number(json.net, SIGNED),
      withdrawn0: this.unsigned(json.withdrawn0),
      withdrawn1: this.unsigned(json.withdrawn1),
    }));
  }

  private dispute(value: unknown): DisputeFacts {
    const json = object(value, 2);
    return { nonce: this.unsigned(json.nonce), deadline: this.unsigned(json.deadline) };
  }

  /** A shared address: the venue's, a token's, the adjudicator's. */
  private address(value: unknown): Address {
    const known = typeof value === "string" ? this.addresses.get(value) : undefined;
    if (known !== undefined) return known;
    const address = text(value, ADDRESS);
    if (this.addresses.size < MAX_SHARED) this.addresses.set(address, address);
    return address;
  }

  private unsigned(value: unknown): bigint {
    return this.number(value, UNSIGNED);
  }

  /** A decimal string as a bigint, shared with every equal one. */
  private number(value: unknown, pattern: RegExp): bigint {
    const known = typeof value === "string" ? this.numbers.get(value) : undefined;
    if (known !== undefined) return known;
    const number = BigInt(text(value, pattern));
    if (this.numbers.size < MAX_SHARED) this.numbers.set(value as string, number);
    return number;
  }
}
