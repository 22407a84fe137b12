// A venue engine with in-process sessions for engine tests: fixed keys and tokens, a session that
// records what the engine sends, and helpers to open funded channels and sign proposals.
import { vi, expect } from "vitest";
import { pino } from "pino";
import { HDNodeWallet, Mnemonic, getAddress, hexlify, randomBytes } from "ethers";
import { ChannelEngine, type EngineOptions } from "../../channel-node/src/engine.js";
import { createMetrics } from "../../channel-node/src/metrics.js";
import type { Session } from "../../channel-node/src/transport.js";
import type { ChannelStore } from "../../client/store/store.js";
import {
  NobleSigner,
  applyUpdate,
  channelOf,
  emptyComplianceFacts,
  nobleVerifier,
  stateDigest,
  stateFromJson,
  type Channel,
  type Params,
  type State,
  type StateJson,
  type Update,
} from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type ClientMessage, type NodeMessage } from "../../client/protocol/wire.js";

const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
export const keyOf = (i: number): string => HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${i}`).privateKey;
export const venueSigner = new NobleSigner(keyOf(1));
export const deployment = { chainId: 31337n, adjudicator: getAddress("0x5fbdb2315678afecb367f032d93f642f64180aa3") };
export const SECURITY = getAddress("0x8a791620dd6260079bf849dc5567adc3f2fdc318");
export const CASH = getAddress("0xe7f1725e7734ce288f8367e1bb143e90bb3f0512");
export const START = 1_000n;

/** A real Transport's settings for an engine behind it on a free loopback port (the tests add handler, logger, metrics, http). */
export const LOOPBACK_TRANSPORT = {
  host: "127.0.0.1",
  port: 0,
  maxFrameBytes: 1 << 20,
  rateLimit: { perSecond: 1_000, burst: 1_000 },
  handshakeTimeoutMs: 5_000,
  maxConnections: 8,
  maxConnectionsPerAddress: 4,
  venue: venueSigner.address,
  deployment,
} as const;

/** A session whose sent messages are collected. */
export class FakeSession implements Session {
  readonly sent: NodeMessage[] = [];
  closed = false;
  constructor(
    readonly id: number,
    readonly address: string,
  ) {}
  send(message: NodeMessage): void {
    this.sent.push(message);
  }
  close(): void {
    this.closed = true;
  }
  last(): NodeMessage | undefined {
    return this.sent.at(-1);
  }
  proposals(): { id: string; channelId: string; state: State; signature: string }[] {
    return this.sent
      .filter((m) => m.type === "propose")
      .map((m) => {
        const p = m as unknown as { id: string; channelId: string; state: StateJson; signature: string };
        return { ...p, state: stateFromJson(p.state) };
      });
  }
}

export interface Harness {
  engine: ChannelEngine;
  options: EngineOptions;
  now: { value: bigint };
  clock: { value: number };
}

/** An engine over `store`; `overrides` replace any option (bounds among them). */
export function makeEngine(store: ChannelStore, overrides: Partial<EngineOptions> = {}): Harness {
  const now = { value: START };
  const clock = { value: 1_700_000_000_000 };
  const options: EngineOptions = {
    store,
    signer: venueSigner,
    verifier: nobleVerifier,
    deployment,
    assets: [SECURITY, CASH],
    minChallengePeriod: 60n,
    maxChallengePeriod: 86_400n,
    prices: [{ security: SECURITY, cash: CASH, price: "100/1", toleranceBps: 0 }],
    responseTimeoutMs: 2_000,
    facts: () => emptyComplianceFacts(),
    now: () => now.value,
    clock: () => clock.value,
    logger: pino({ level: "silent" }),
    metrics: createMetrics(),
    ...overrides,
  };
  return { engine: new ChannelEngine(options), options, now, clock };
}

export function paramsFor(investor: string, challengePeriod = 3_600n): Params {
  return { participants: [venueSigner.address, investor], assets: [SECURITY, CASH], challengePeriod, salt: hexlify(randomBytes(32)) };
}

/** Opens a channel for `session`, marks it open on chain and credits deposits [security, cash] per [venue, investor]. */
export async function openFunded(
  engine: ChannelEngine,
  store: ChannelStore,
  session: FakeSession,
  deposits: [[bigint, bigint], [bigint, bigint]],
  params = paramsFor(session.address),
): Promise<Channel> {
  await engine.onMessage(session, { v: PROTOCOL_VERSION, type: "open", id: "o1", params } as ClientMessage);
  const channel = channelOf(params, deployment);
  await store.channelOpened(channel.channelId, `open-${channel.channelId}`);
  for (const [assetIndex, perParticipant] of deposits.entries()) {
    for (const [participant, amount] of perParticipant.entries()) {
      if (amount > 0n) {
        await store.depositConfirmed(channel.channelId, { assetIndex, participant: participant as 0 | 1, amount }, `dep-${channel.channelId}-${assetIndex}-${participant}`);
      }
    }
  }
  await engine.refresh(channel.channelId);
  return channel;
}

/** `update` on `base`, signed by `signer`, as a `propose` message. */
export function propose(channel: Channel, base: State, update: Update, signer: NobleSigner, id: string, extra: object = {}) {
  const state = applyUpdate(channel, base, update);
  const signature = signer.sign(stateDigest(state, channel.domain));
  const message = { v: PROTOCOL_VERSION, type: "propose", id, channelId: channel.channelId, state, signature, ...extra } as ClientMessage;
  return { state, message };
}

export const pay = (from: 0 | 1, assetIndex: number, amount: bigint): Update => ({ kind: "payment", leg: { from, assetIndex, amount } });

/** Waits until `session` has received `count` venue proposals; returns the last. */
export async function proposalTo(session: FakeSession, count: number) {
  await vi.waitFor(() => expect(session.proposals().length).toBe(count));
  return session.proposals().at(-1)!;
}
