// Deterministic channels, states and update summaries for the store tests, the crash writer and
// the store benchmark. Signatures are well-formed bytes, not real signatures: the store stores
// them, it does not verify them (the protocol core does).
import { getAddress, toBeHex, zeroPadValue } from "ethers";
import { channelIdOf } from "../../client/protocol/encoding.js";
import type { Deployment, Lock, ParticipantIndex, Params, SignedState } from "../../client/protocol/types.js";
import type { ChannelRecord, NewChannel, PendingProposal, UpdateSummary } from "../../client/store/store.js";

export const DEPLOYMENT: Deployment = { chainId: 31337n, adjudicator: getAddress(`0x${"ad".repeat(20)}`) };

/** A checksummed address derived from a number. */
export function addressOf(n: number): string {
  return getAddress(zeroPadValue(toBeHex(n + 0x1000), 20));
}

export const VENUE = addressOf(1);
export const SECURITY = addressOf(2);
export const CASH = addressOf(3);

/** Channel `i` between the venue and investor `i`, with a security token and a cash token. */
export function newChannel(i: number, me: ParticipantIndex = 0): NewChannel {
  const params: Params = {
    participants: [VENUE, addressOf(100_000 + i)],
    assets: [SECURITY, CASH],
    challengePeriod: 3600n,
    salt: zeroPadValue(toBeHex(i + 1), 32),
  };
  return {
    channelId: channelIdOf(params, DEPLOYMENT.chainId, DEPLOYMENT.adjudicator),
    params,
    deployment: DEPLOYMENT,
    me,
    createdAt: 1_700_000_000_000 + i,
  };
}

/** A 65-byte lowercase hex "signature", distinct per (participant, nonce). */
export function fakeSignature(participant: ParticipantIndex, nonce: bigint): string {
  const body = `${participant}${nonce.toString(16)}`.padEnd(128, "ab");
  return `0x${body.slice(0, 128)}1b`;
}

export interface StateOptions {
  /** Which signatures are present (default both). */
  readonly signers?: readonly [boolean, boolean];
  readonly net?: readonly [bigint, bigint];
  readonly withdrawn?: readonly [bigint, bigint];
  readonly locks?: readonly Lock[];
  readonly isFinal?: boolean;
}

/** A signed state of `channel` at `nonce`: the security token moved 0 → 1 by `nonce` units by default. */
export function signedState(channel: NewChannel, nonce: bigint, options: StateOptions = {}): SignedState {
  const [sign0, sign1] = options.signers ?? [true, true];
  const net = options.net ?? [nonce, -nonce * 10n];
  const [w0, w1] = options.withdrawn ?? [0n, 0n];
  return {
    state: {
      channelId: channel.channelId,
      nonce,
      allocations: channel.params.assets.map((token, i) => ({ token, net: net[i] ?? 0n, withdrawn0: w0, withdrawn1: w1 })),
      locks: options.locks ?? [],
      isFinal: options.isFinal ?? false,
    },
    signatures: [sign0 ? fakeSignature(0, nonce) : null, sign1 ? fakeSignature(1, nonce) : null],
  };
}

/** A trade: `units` of the security token 0 → 1 against `units × 10` of cash 1 → 0. */
export function tradeUpdate(units: bigint, at = 1_700_000_000_000, memo?: string): UpdateSummary {
  return {
    kind: "trade",
    movements: [
      { assetIndex: 0, amount: units, from: 0, to: 1 },
      { assetIndex: 1, amount: units * 10n, from: 1, to: 0 },
    ],
    at,
    ...(memo === undefined ? {} : { memo }),
  };
}

export function paymentUpdate(amount: bigint, at = 1_700_000_000_000): UpdateSummary {
  return { kind: "payment", movements: [{ assetIndex: 1, amount, from: 1, to: 0 }], at };
}

/** A proposal of state `nonce` by `proposer`, carrying only the proposer's signature. */
export function proposal(channel: NewChannel, nonce: bigint, proposer: ParticipantIndex): PendingProposal {
  return {
    proposer,
    signed: signedState(channel, nonce, { signers: proposer === 0 ? [true, false] : [false, true] }),
    update: tradeUpdate(1n, 1_700_000_000_000 + Number(nonce)),
  };
}

export const HASHLOCK = `0x${"42".repeat(32)}`;

/** An open channel's record (deposits in both assets, an agreed state of nonce 3), with `overrides`. */
export function openRecord(i: number, overrides: Partial<ChannelRecord> = {}): ChannelRecord {
  const channel = newChannel(i);
  return {
    ...channel,
    status: "open",
    latest: signedState(channel, 3n),
    pending: null,
    deposits: [
      [0n, 1_000n],
      [5n, 0n],
    ],
    checkpointNonce: 0n,
    dispute: null,
    concludedNonce: null,
    ...overrides,
  };
}
