// Bad input against a real node process, a real chain process and real WebSockets: a raw peer
// (test/helpers/raw-peer.ts) sends what a well-behaved client never would — bad JSON, wrong types,
// unknown messages, other protocol versions, messages before the handshake, forged handshakes,
// oversized frames, floods, forged, replayed, skipped, overspending, foreign-chain and foreign-channel
// proposals. Each gets its typed answer, changes nothing (the node's nonce and balances of the
// channel, read through the admin API, are unchanged), and the node stays usable afterwards: a valid
// proposal on the same connection (when it is still open) and a payment through the SDK succeed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { hexlify } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, type OpenedClient } from "../../client/sdk/index.js";
import {
  NobleSigner,
  applyUpdate,
  channelOf,
  stateDigest,
  stateToJson,
  type Bytes32,
  type Channel,
  type Deposits,
  type ParticipantIndex,
  type SignedState,
  type State,
} from "../../client/protocol/index.js";
import { PROTOCOL_VERSION, type NodeMessageParsed } from "../../client/protocol/wire.js";
import { CASH_UNIT, ROLES, SECURITY_UNIT, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, adminPost, eventually, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { RawPeer, type Answer } from "../helpers/raw-peer.js";

interface ChannelSummary {
  channelId: string;
  investor: string;
  status: string;
  nonce: string;
  balances: { venue: string; investor: string }[];
}

/** What the node holds of a channel: the part that bad input must never change. */
type Snapshot = Pick<ChannelSummary, "status" | "nonce" | "balances">;

/** The latest agreed state of a channel as the node reported it to its investor (welcome). */
interface View {
  channel: Channel;
  latest: SignedState;
  deposits: Deposits;
}

type Welcome = Extract<NodeMessageParsed, { type: "welcome" }>;

const SEC = 0;
const CASH = 1;
const RATE_LIMIT = { perSecond: 5, burst: 20 };
const MAX_FRAME_BYTES = 64 * 1024;
/** transport.ts MAX_REFUSALS: a connection refused more often than this is closed. */
const MAX_REFUSALS = 100;

const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);
const aliceSigner = new NobleSigner(alice.privateKey);
const bobSigner = new NobleSigner(bob.privateKey);

describe("bad input against a node process, a chain process and real WebSockets", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  let investor: OpenedClient;
  let channelId: Bytes32;
  const peers: RawPeer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-e2e-bad-input-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }] });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node"), rateLimit: RATE_LIMIT, maxFrameBytes: MAX_FRAME_BYTES }), dir);
    investor = await openClient({
      nodeUrl: node.url,
      privateKey: alice.privateKey,
      rpcUrl: stack.chain.url,
      adjudicator: stack.addresses.adjudicator,
      dataDir: join(dir, "client"),
      responseTimeoutMs: 5_000,
      // The raw peer logs in as Alice too, and the node keeps one session per investor: the SDK
      // must not reconnect on its own and push the raw peer out.
      reconnect: false,
    });
    await investor.client.connect();
    channelId = await investor.client.openChannel({ assets: [stack.addresses.token, stack.addresses.cash], deposit: { assetIndex: CASH, amount: 1_000n * CASH_UNIT } });
    await adminPost(node, `/channels/${channelId}/deposit?asset=${SEC}&amount=${100n * SECURITY_UNIT}`);
    await eventually(snapshot, (s) => s.balances[SEC]?.venue === (100n * SECURITY_UNIT).toString());
    await investor.client.pay(channelId, { assetIndex: CASH, amount: 10n * CASH_UNIT });
    await investor.client.disconnect();
    expect(await snapshot()).toMatchObject({ status: "open", nonce: "1", balances: [{ venue: `${100n * SECURITY_UNIT}`, investor: "0" }, { venue: `${10n * CASH_UNIT}`, investor: `${990n * CASH_UNIT}` }] });
  });

  afterAll(async () => {
    for (const peer of peers) await peer.close();
    await investor?.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // ---------------------------------------------------------------------------------- helpers

  async function snapshot(): Promise<Snapshot> {
    const channels = await adminGet<ChannelSummary[]>(node, "/channels");
    const summary = channels.find((c) => c.channelId === channelId);
    if (summary === undefined) throw new Error(`the node does not list ${channelId}`);
    return { status: summary.status, nonce: summary.nonce, balances: summary.balances };
  }

  async function connect(): Promise<RawPeer> {
    const peer = await RawPeer.connect(node.url);
    peers.push(peer);
    return peer;
  }

  async function login(privateKey: string): Promise<{ peer: RawPeer; welcome: Welcome }> {
    const { peer, welcome } = await RawPeer.login(node.url, privateKey);
    peers.push(peer);
    return { peer, welcome };
  }

  /** Alice's channel as the welcome reports it, ready to build proposals on. */
  function viewOf(peer: RawPeer, welcome: Welcome): View {
    const report = welcome.channels.find((c) => c.channelId === channelId);
    if (report === undefined) throw new Error("the welcome does not report the channel");
    return {
      channel: channelOf(report.params, peer.deployment),
      latest: report.latest,
      deposits: report.deposits.map(([a, b]) => [BigInt(a), BigInt(b)] as const),
    };
  }

  async function loginAlice(): Promise<{ peer: RawPeer; view: View }> {
    const { peer, welcome } = await login(alice.privateKey);
    return { peer, view: viewOf(peer, welcome) };
  }

  function payment(view: View, from: ParticipantIndex, assetIndex: number, amount: bigint): State {
    return applyUpdate(view.channel, view.latest.state, { kind: "payment", leg: { assetIndex, from, amount } });
  }

  function sign(signer: NobleSigner, state: State, channel: Channel): string {
    return signer.sign(stateDigest(state, channel.domain));
  }

  function proposal(state: State, signature: string, onChannel: Bytes32 = channelId): Record<string, unknown> {
    return { v: PROTOCOL_VERSION, type: "propose", channelId: onChannel, state: stateToJson(state), signature };
  }

  /** The next `error` answer (transport refusals of unreadable messages carry no id). */
  function nextError(peer: RawPeer): Promise<Answer> {
    return peer.next((a) => a.raw.type === "error");
  }

  function expectError(answer: Answer, code: string, id?: string): void {
    expect(answer.typed, answer.schemaError).toBeDefined();
    expect(answer.raw).toMatchObject({ v: PROTOCOL_VERSION, type: "error", code });
    expect(answer.raw.id).toBe(id);
    expect(typeof answer.raw.message).toBe("string");
  }

  /** The id the node echoes for a refused message: its `id` when that is a readable request id. */
  function echoedId(message: unknown): string | undefined {
    if (typeof message !== "object" || message === null || !("id" in message)) return undefined;
    return typeof message.id === "string" && message.id.length <= 64 ? message.id : undefined;
  }

  /** A `rejected` answer to a proposal on a channel other than Alice's own. */
  function expectRejectedOn(answer: Answer, code: string, id: string, onChannel: string): void {
    expect(answer.typed, answer.schemaError).toBeDefined();
    expect(answer.raw).toMatchObject({ v: PROTOCOL_VERSION, type: "rejected", id, channelId: onChannel, code });
  }

  function expectRejected(answer: Answer, code: string, id: string): void {
    expect(answer.typed, answer.schemaError).toBeDefined();
    expect(answer.raw).toMatchObject({ v: PROTOCOL_VERSION, type: "rejected", id, channelId, code });
  }

  /** Every answer the peer received conforms to the node's own wire schema. */
  function expectWellFormedAnswers(peer: RawPeer): void {
    const bad = peer.answers.filter((a) => a.typed === undefined).map((a) => `${a.text} (${a.schemaError})`);
    expect(bad).toEqual([]);
  }

  /**
   * Proves the node is still usable and that only the valid request changed anything: on `peer`
   * (Alice's connection, when still open) a valid payment of 1 cash unit is accepted; then, with
   * the raw peer gone, Alice's SDK connects, resyncs, pays 1 cash unit and disconnects. The node's
   * nonce and Alice's cash move by exactly those payments.
   */
  async function expectStillUsable(before: Snapshot, peer?: RawPeer, view?: View): Promise<void> {
    let expected = { nonce: BigInt(before.nonce), cash: BigInt(before.balances[CASH]!.investor) };
    if (peer !== undefined && view !== undefined) {
      expect(peer.isOpen).toBe(true);
      const state = payment(view, 1, CASH, 1n);
      const answer = await peer.request(proposal(state, sign(aliceSigner, state, view.channel)));
      expect(answer.raw).toMatchObject({ type: "accepted", channelId, nonce: state.nonce.toString() });
      expected = { nonce: expected.nonce + 1n, cash: expected.cash - 1n };
      expectWellFormedAnswers(peer);
      await peer.close();
    }
    await investor.client.connect();
    try {
      const agreed = await investor.client.pay(channelId, { assetIndex: CASH, amount: 1n });
      expect(agreed.state.nonce).toBe(expected.nonce + 1n);
    } finally {
      await investor.client.disconnect();
    }
    const after = await snapshot();
    expect(after.nonce).toBe((expected.nonce + 1n).toString());
    expect(after.balances[CASH]!.investor).toBe((expected.cash - 1n).toString());
    expect(after.balances[SEC]).toEqual(before.balances[SEC]);
    expect(after.status).toBe("open");
  }

  // ---------------------------------------------------------------------------------- transport

  it("answers malformed JSON and binary frames with MALFORMED and changes nothing", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    for (const text of ["{not json", '{"v":1,"type":"propose","id":"x"', "", "\u0000\u0001", "undefined"]) {
      peer.sendText(text);
      expectError(await nextError(peer), "MALFORMED");
    }
    // A binary frame, even one holding a perfectly valid proposal, is not a message.
    const valid = payment(view, 1, CASH, 1n);
    peer.sendBinary(Buffer.from(JSON.stringify({ ...proposal(valid, sign(aliceSigner, valid, view.channel)), id: "bin" })));
    expectError(await nextError(peer), "MALFORMED");
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before, peer, view);
  });

  it("answers wrong field types with MALFORMED and changes nothing", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const state = payment(view, 1, CASH, 1n);
    const good = { ...proposal(state, sign(aliceSigner, state, view.channel)), id: "typed" };
    const json = stateToJson(state);
    const variants: Record<string, unknown>[] = [
      { ...good, state: { ...json, nonce: Number(state.nonce) } }, // a number, not a decimal string
      { ...good, state: { ...json, nonce: "-3" } },
      { ...good, state: { ...json, nonce: "1e3" } },
      { ...good, state: { ...json, isFinal: "false" } },
      { ...good, state: { ...json, allocations: json.allocations.map((a) => ({ ...a, net: 5 })) } },
      { ...good, state: { ...json, allocations: [] } },
      { ...good, state: null },
      { ...good, signature: 42 },
      { ...good, signature: "0x1234" },
      { ...good, channelId: "not-a-channel" },
      { ...good, id: 7 },
      { ...good, id: "x".repeat(65) },
      { ...good, v: undefined }, // no version at all
      { ...good, extra: true }, // unknown fields are refused too
      { v: PROTOCOL_VERSION, type: "open", id: "o", params: { participants: "venue,me" } },
      { v: PROTOCOL_VERSION, type: "resync", id: "r", channels: "all" },
    ];
    for (const variant of variants) {
      peer.send(variant);
      const answer = await nextError(peer);
      expectError(answer, "MALFORMED", echoedId(variant));
      expect(answer.raw.message).toMatch(/malformed message/);
    }
    expect(await snapshot()).toEqual(before);
    // The same proposal with the right types is accepted: only the types were wrong.
    const accepted = await peer.request(good);
    expect(accepted.raw).toMatchObject({ type: "accepted", id: "typed", nonce: state.nonce.toString() });
    await expectStillUsable(await snapshot());
    expectWellFormedAnswers(peer);
  });

  it("answers unknown message types with MALFORMED", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    for (const message of [
      { v: PROTOCOL_VERSION, type: "transfer", id: "t1", to: bob.address, amount: "1" },
      { v: PROTOCOL_VERSION, type: "welcome", id: "t2", address: alice.address, channels: [] }, // a node message
      { v: PROTOCOL_VERSION, type: "error", id: "t3", code: "X", message: "y" },
      { v: PROTOCOL_VERSION, id: "t4" }, // no type
      { v: PROTOCOL_VERSION, type: null, id: "t5" },
      [],
      null,
      42,
      "propose",
    ]) {
      peer.send(message);
      expectError(await nextError(peer), "MALFORMED", echoedId(message));
    }
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before, peer, view);
  });

  it("answers other protocol versions with UNSUPPORTED_VERSION, even for an otherwise valid proposal", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const state = payment(view, 1, CASH, 1n);
    const valid = { ...proposal(state, sign(aliceSigner, state, view.channel)), id: "versioned" };
    for (const v of [2, 0, "1", 1.5, null, 999_999]) {
      peer.send({ ...valid, v });
      const answer = await nextError(peer);
      expectError(answer, "UNSUPPORTED_VERSION", "versioned");
      expect(answer.raw.message).toMatch(/protocol version .* is not supported; this peer speaks 1/);
    }
    expect(await snapshot()).toEqual(before);
    // At version 1 the very same proposal is accepted: the version alone was refused.
    expect((await peer.request(valid)).raw).toMatchObject({ type: "accepted", id: "versioned" });
    await expectStillUsable(await snapshot());
  });

  it("refuses every message before the handshake with NOT_AUTHENTICATED, then lets the peer authenticate", async () => {
    const peer = await connect();
    const before = await snapshot();
    // Alice's genuinely signed proposal, sent before proving who is talking, is not looked at.
    const { peer: probe, view } = await loginAlice();
    await probe.close();
    const state = payment(view, 1, CASH, 1n);
    const requests: Record<string, unknown>[] = [
      { ...proposal(state, sign(aliceSigner, state, view.channel)), id: "pre1" },
      { v: PROTOCOL_VERSION, type: "resync", id: "pre2", channels: [] },
      { v: PROTOCOL_VERSION, type: "accepted", id: "pre3", channelId, nonce: "1", signature: sign(aliceSigner, state, view.channel) },
      { v: PROTOCOL_VERSION, type: "open", id: "pre4", params: { participants: [devWallet(ROLES.venue).address, alice.address], assets: [stack.addresses.cash], challengePeriod: "3600", salt: hexlify(randomBytes(32)) } },
    ];
    for (const request of requests) {
      const answer = await peer.request(request);
      expectError(answer, "NOT_AUTHENTICATED", request.id as string);
    }
    expect(peer.isOpen).toBe(true);
    expect(await snapshot()).toEqual(before);
    // The same connection may still answer its challenge.
    const welcome = await peer.authenticate(alice.privateKey);
    expect(welcome.raw).toMatchObject({ type: "welcome", address: alice.address });
    await expectStillUsable(before, peer, viewOf(peer, welcome.typed as Welcome));
  });

  it("closes a forged handshake with BAD_AUTH and 1008, and the real investor's session is untouched", async () => {
    await investor.client.connect(); // the genuine Alice is online while others try to pass as her
    try {
      const before = await snapshot();
      // Bob's key, Alice's address.
      const forged = await connect();
      expectError(await forged.authenticate(bob.privateKey, alice.address), "BAD_AUTH", "raw1");
      expect(await forged.waitClosed()).toEqual({ code: 1008, reason: "handshake failed" });

      // Alice's genuine signature, but from another connection's challenge: a replay.
      const genuine = await connect();
      const replayed = await connect();
      const signature = genuine.loginSignature(aliceSigner);
      replayed.send({ v: PROTOCOL_VERSION, type: "auth", id: "replay", address: alice.address, signature });
      expectError(await nextError(replayed), "BAD_AUTH", "replay");
      expect((await replayed.waitClosed()).code).toBe(1008);
      await genuine.close();

      // A signature that recovers to nobody (r = s = 0).
      const garbage = await connect();
      garbage.send({ v: PROTOCOL_VERSION, type: "auth", id: "zero", address: alice.address, signature: `0x${"00".repeat(64)}1b` });
      expectError(await nextError(garbage), "BAD_AUTH", "zero");
      expect((await garbage.waitClosed()).code).toBe(1008);

      for (const peer of [forged, replayed, garbage]) expectWellFormedAnswers(peer);
      expect(await snapshot()).toEqual(before);
      // None of this pushed the genuine Alice out: her session still pays.
      expect(investor.client.connected).toBe(true);
      const agreed = await investor.client.pay(channelId, { assetIndex: CASH, amount: 1n });
      expect(agreed.state.nonce).toBe(BigInt(before.nonce) + 1n);
    } finally {
      await investor.client.disconnect();
    }
    await expectStillUsable(await snapshot());
  });

  it("closes a connection that sends a frame above maxFrameBytes with 1009 and keeps serving the others", async () => {
    const before = await snapshot();
    const { peer: bobPeer } = await login(bob.privateKey);
    // Exactly at the limit is still read (and refused for its shape); the connection stays.
    const { peer: alicePeer, view } = await loginAlice();
    const envelope = JSON.stringify({ v: PROTOCOL_VERSION, type: "resync", id: "big", pad: "" });
    alicePeer.sendText(envelope.replace('"pad":""', `"pad":"${"a".repeat(MAX_FRAME_BYTES - envelope.length)}"`));
    expectError(await nextError(alicePeer), "MALFORMED", "big");
    expect(alicePeer.isOpen).toBe(true);
    // One byte more, authenticated or not, and the connection is closed.
    const anonymous = await connect();
    anonymous.sendText("x".repeat(MAX_FRAME_BYTES + 1));
    expect((await anonymous.waitClosed()).code).toBe(1009);
    alicePeer.sendText(`[${"1,".repeat(MAX_FRAME_BYTES)}1]`);
    expect((await alicePeer.waitClosed()).code).toBe(1009);
    // Bob's connection, open all along, is still served.
    const resynced = await bobPeer.request({ v: PROTOCOL_VERSION, type: "resync", channels: [] });
    expect(resynced.raw).toMatchObject({ type: "resynced", channels: [] });
    expect((await fetch(`${node.httpUrl}/health`)).ok).toBe(true);
    expect(await snapshot()).toEqual(before);
    expect(view.latest.state.nonce.toString()).toBe(before.nonce);
    await expectStillUsable(before);
  });

  it("answers a burst above the configured burst with RATE_LIMITED and serves the peer again once it slows down", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const burst = RATE_LIMIT.burst + 10;
    for (let i = 0; i < burst; i++) peer.send({ v: PROTOCOL_VERSION, type: "resync", id: `b${i}`, channels: [] });
    const answers = await peer.collect(burst, (a) => a.raw.type === "resynced" || a.raw.type === "error");
    const served = answers.filter((a) => a.raw.type === "resynced");
    const limited = answers.filter((a) => a.raw.type === "error");
    for (const answer of limited) expectError(answer, "RATE_LIMITED", answer.raw.id as string);
    expect(limited.every((a) => /^b\d+$/.test(a.raw.id as string))).toBe(true);
    // The bucket holds `burst` tokens (the auth took one) and refills at perSecond: a burst sent at
    // once gets about `burst` through.
    expect(served.length).toBeGreaterThanOrEqual(RATE_LIMIT.burst - 1);
    expect(served.length).toBeLessThanOrEqual(RATE_LIMIT.burst + 2);
    expect(limited.length).toBe(burst - served.length);
    expect(peer.isOpen).toBe(true);
    expect(await snapshot()).toEqual(before);
    await sleep(1_000 / RATE_LIMIT.perSecond + 100); // a token refills
    await expectStillUsable(before, peer, view);
  });

  it("closes a connection that keeps flooding past the refusal limit with 1008, and only that one", async () => {
    const before = await snapshot();
    const { peer: bobPeer } = await login(bob.privateKey);
    const flooder = await connect();
    const total = RATE_LIMIT.burst + MAX_REFUSALS + 30;
    for (let i = 0; i < total; i++) flooder.sendText("x");
    expect(await flooder.waitClosed()).toEqual({ code: 1008, reason: "rate limit" });
    const limited = flooder.answers.filter((a) => a.raw.code === "RATE_LIMITED");
    expect(limited.length).toBe(MAX_REFUSALS + 1);
    expectWellFormedAnswers(flooder);
    expect((await bobPeer.request({ v: PROTOCOL_VERSION, type: "resync", channels: [] })).raw.type).toBe("resynced");
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before);
  });

  // ---------------------------------------------------------------------------------- proposals

  it("rejects proposals with bad signatures with BAD_SIGNATURE", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const state = payment(view, 1, CASH, 1n);
    const other = payment(view, 1, CASH, 2n);
    const signatures = {
      byBob: sign(bobSigner, state, view.channel),
      forAnotherState: sign(aliceSigner, other, view.channel),
      random: `0x${hexlify(randomBytes(64)).slice(2)}1b`,
      badV: `${sign(aliceSigner, state, view.channel).slice(0, -2)}00`,
      zero: `0x${"00".repeat(65)}`,
    };
    for (const [what, signature] of Object.entries(signatures)) {
      const id = `sig-${what}`;
      expectRejected(await peer.request({ ...proposal(state, signature), id }), "BAD_SIGNATURE", id);
    }
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before, peer, view);
  });

  it("rejects a replayed nonce and a skipped nonce with BAD_NONCE", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const latest = view.latest.state;
    expect(latest.nonce.toString()).toBe(before.nonce);
    // The latest agreed state again, with Alice's own signature from it.
    expectRejected(await peer.request({ ...proposal(latest, view.latest.signatures[1]!), id: "replay" }), "BAD_NONCE", "replay");
    // A proposal that was accepted, sent again word for word.
    const state = payment(view, 1, CASH, 1n);
    const accepted = { ...proposal(state, sign(aliceSigner, state, view.channel)), id: "once" };
    expect((await peer.request(accepted)).raw).toMatchObject({ type: "accepted", nonce: state.nonce.toString() });
    const afterOne = await snapshot();
    expect(afterOne.nonce).toBe((latest.nonce + 1n).toString());
    expectRejected(await peer.request(accepted), "BAD_NONCE", "once");
    // n + 2 (skipping one; n is now the accepted nonce) and nonce 0.
    const next: View = { ...view, latest: { state, signatures: [null, null] } };
    const successor = applyUpdate(view.channel, state, { kind: "payment", leg: { assetIndex: CASH, from: 1, amount: 1n } });
    const skipped = { ...successor, nonce: successor.nonce + 1n };
    expect(skipped.nonce).toBe(BigInt(afterOne.nonce) + 2n);
    expectRejected(await peer.request({ ...proposal(skipped, sign(aliceSigner, skipped, view.channel)), id: "skip" }), "BAD_NONCE", "skip");
    const zero = { ...successor, nonce: 0n };
    expectRejected(await peer.request({ ...proposal(zero, sign(aliceSigner, zero, view.channel)), id: "zero" }), "BAD_NONCE", "zero");
    expect(await snapshot()).toEqual(afterOne);
    await expectStillUsable(afterOne, peer, next);
  });

  it("accepts exactly one of two different proposals for the same nonce sent back to back", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const one = payment(view, 1, CASH, 3n);
    const two = payment(view, 1, CASH, 5n);
    const first = peer.request({ ...proposal(one, sign(aliceSigner, one, view.channel)), id: "race1" });
    const second = peer.request({ ...proposal(two, sign(aliceSigner, two, view.channel)), id: "race2" });
    const answers = await Promise.all([first, second]);
    expect(answers.map((a) => a.raw.type)).toEqual(["accepted", "rejected"]);
    expectRejected(answers[1]!, "BAD_NONCE", "race2");
    const after = await snapshot();
    expect(after.nonce).toBe((BigInt(before.nonce) + 1n).toString());
    expect(after.balances[CASH]!.investor).toBe((BigInt(before.balances[CASH]!.investor) - 3n).toString());
    await expectStillUsable(after, peer, { ...view, latest: { state: one, signatures: [null, null] } });
  });

  it("rejects overspending with INSUFFICIENT_BALANCE", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const cash = BigInt(before.balances[CASH]!.investor);
    const tooMuch = payment(view, 1, CASH, cash + 1n);
    expectRejected(await peer.request({ ...proposal(tooMuch, sign(aliceSigner, tooMuch, view.channel)), id: "over" }), "INSUFFICIENT_BALANCE", "over");
    // Alice holds no security in the channel at all.
    const noSecurities = payment(view, 1, SEC, 1n);
    expect(before.balances[SEC]!.investor).toBe("0");
    expectRejected(await peer.request({ ...proposal(noSecurities, sign(aliceSigner, noSecurities, view.channel)), id: "none" }), "INSUFFICIENT_BALANCE", "none");
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before, peer, view);
  });

  it("answers a proposal on an unknown channel with UNKNOWN_CHANNEL", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const unknown = hexlify(randomBytes(32));
    const state = { ...payment(view, 1, CASH, 1n), channelId: unknown };
    const answer = await peer.request({ ...proposal(state, sign(aliceSigner, state, view.channel), unknown), id: "unknown" });
    expectRejectedOn(answer, "UNKNOWN_CHANNEL", "unknown", unknown);
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before, peer, view);
  });

  it("rejects a state made for another chain (chainId + 1)", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    const foreign = channelOf(view.channel.params, { ...view.channel.deployment, chainId: view.channel.deployment.chainId + 1n });
    expect(foreign.channelId).not.toBe(channelId);
    const base = { ...view.latest.state, channelId: foreign.channelId, allocations: view.latest.state.allocations };
    const foreignState = applyUpdate(foreign, base, { kind: "payment", leg: { assetIndex: CASH, from: 1, amount: 1n } });
    const foreignSignature = sign(aliceSigner, foreignState, foreign);
    // Sent on our channel: the state names another channel.
    expectRejected(await peer.request({ ...proposal(foreignState, foreignSignature), id: "chain1" }), "WRONG_CHANNEL", "chain1");
    // Our channel id in the state, but signed over the other chain's EIP-712 domain.
    const ours = payment(view, 1, CASH, 1n);
    expectRejected(await peer.request({ ...proposal(ours, sign(aliceSigner, ours, foreign)), id: "chain2" }), "BAD_SIGNATURE", "chain2");
    // Sent on the other chain's channel id: the venue has no such channel.
    expectRejectedOn(await peer.request({ ...proposal(foreignState, foreignSignature, foreign.channelId), id: "chain3" }), "UNKNOWN_CHANNEL", "chain3", foreign.channelId);
    expect(await snapshot()).toEqual(before);
    await expectStillUsable(before, peer, view);
  });

  it("answers a proposal on another investor's channel with NOT_PARTICIPANT, even one the owner signed", async () => {
    const { peer: alicePeer, view } = await loginAlice();
    await alicePeer.close();
    const { peer } = await login(bob.privateKey);
    const before = await snapshot();
    const state = payment(view, 1, CASH, 1n);
    for (const [what, signer] of [["bob", bobSigner], ["alice", aliceSigner]] as const) {
      const id = `np-${what}`;
      expectRejectedOn(await peer.request({ ...proposal(state, sign(signer, state, view.channel)), id }), "NOT_PARTICIPANT", id, channelId);
    }
    // Nor may Bob answer, or resync, for Alice's channel.
    expectError(
      await peer.request({ v: PROTOCOL_VERSION, type: "accepted", id: "np-answer", channelId, nonce: state.nonce.toString(), signature: sign(bobSigner, state, view.channel) }),
      "NOT_PARTICIPANT",
      "np-answer",
    );
    // A resync naming Alice's channel neither touches it nor reports it to Bob (the node answers
    // NOT_PARTICIPANT, or skips the entry and reports only Bob's own channels: none).
    const resync = await peer.request({ v: PROTOCOL_VERSION, type: "resync", id: "np-resync", channels: [{ channelId, latest: { state: stateToJson(view.latest.state), signatures: view.latest.signatures } }] });
    if (resync.raw.type === "error") expectError(resync, "NOT_PARTICIPANT", "np-resync");
    else expect(resync.raw).toMatchObject({ type: "resynced", id: "np-resync", channels: [] });
    expect(await snapshot()).toEqual(before);
    expectWellFormedAnswers(peer);
    await peer.close();
    await expectStillUsable(before);
  });

  // ---------------------------------------------------------------------------------- value from the venue

  // The venue countersigns nothing an investor proposes that moves the venue's funds, except a
  // trade at its price: otherwise an investor could sign itself a gift enforceable on chain.
  it("refuses an investor's proposal that makes the venue pay the investor", async () => {
    const { peer, view } = await loginAlice();
    const before = await snapshot();
    expect(BigInt(before.balances[SEC]!.venue)).toBeGreaterThanOrEqual(SECURITY_UNIT);
    // Alice signs a state in which the venue hands her 1 of its securities; nobody asked the venue.
    const gift = payment(view, 0, SEC, SECURITY_UNIT);
    const answer = await peer.request({ ...proposal(gift, sign(aliceSigner, gift, view.channel)), id: "gift" });
    expect(answer.typed, answer.schemaError).toBeDefined();
    expect(answer.raw).toMatchObject({ type: "rejected", id: "gift", channelId, code: "INVALID_UPDATE" });
    expect(await snapshot()).toEqual(before);
  });
});
