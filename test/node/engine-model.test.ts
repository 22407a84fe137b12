// Model-based test of the venue's engine (fast-check commands): random interleavings of investor
// proposals (valid and junk-signed), routed locks that make the venue propose, answers
// (countersigned, refused, junk), silence past the timeout, disconnects, reconnects with resync
// (with and without the venue's pending state countersigned), lock expiry sweeps and restarts over
// the same store, proposals that skip a nonce, and the clock passing the void bound. After every step:
// the venue never signed two different states of one nonce in a channel — every venue signature that
// left the engine (proposals and countersignatures) is recorded. And progress: once the investor
// refused the venue's proposal (it is void), the investor's proposal over the void is countersigned
// (or the venue has already proposed over it itself).
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { MemoryStore } from "../../client/store/memory-store.js";
import { NobleSigner, baseAfterVoid, hashlockOf, stateDigest, stateFromJson, type Channel, type State, type StateJson, type Update } from "../../client/protocol/index.js";
import { DEFAULT_ENGINE_BOUNDS } from "../../channel-node/src/limits.js";
import { PROTOCOL_VERSION, type ClientMessage, type NodeMessage } from "../../client/protocol/wire.js";
import type { ChannelEngine } from "../../channel-node/src/engine.js";
import { FakeSession, START, keyOf, makeEngine, openFunded, pay, propose } from "./engine-harness.js";

const signers = [new NobleSigner(keyOf(2)), new NobleSigner(keyOf(3))] as const;
const mallet = new NobleSigner(keyOf(9));
const TIMEOUT_MS = 15;
const GAP = 3_600n;

/** Every venue signature seen leaving the engine: `${channelId}:${nonce}` → digests. */
class Recorder {
  readonly signed = new Map<string, Set<string>>();
  /** What each investor proposed, by request id, to know what an `accepted` countersigned. */
  readonly proposedBy = new Map<string, { channel: Channel; state: State }>();

  record(channel: Channel, state: State): void {
    const key = `${channel.channelId}:${state.nonce}`;
    let digests = this.signed.get(key);
    if (digests === undefined) this.signed.set(key, (digests = new Set()));
    digests.add(stateDigest(state, channel.domain));
  }

  violations(): string[] {
    return [...this.signed].filter(([, digests]) => digests.size > 1).map(([key]) => key);
  }
}

/** A session that reports every venue signature it carries to the recorder, and the venue's proposals to `onProposal`. */
class RecordingSession extends FakeSession {
  constructor(
    id: number,
    address: string,
    private readonly recorder: Recorder,
    private readonly channel: Channel,
    private readonly onProposal: (id: string, state: State) => void,
  ) {
    super(id, address);
  }
  override send(message: NodeMessage): void {
    super.send(message);
    if (message.type === "propose") {
      const state = stateFromJson(message.state as unknown as StateJson);
      this.recorder.record(this.channel, state);
      this.onProposal(message.id, state);
    }
    if (message.type === "accepted") {
      const proposed = this.recorder.proposedBy.get(message.id);
      if (proposed !== undefined) this.recorder.record(proposed.channel, proposed.state);
    }
  }
}

interface Real {
  store: MemoryStore;
  engine: ChannelEngine;
  now: { value: bigint };
  /** The engine's wall clock (ms): the void bound of unanswered proposals runs on it. */
  clock: { value: number };
  recorder: Recorder;
  channels: [Channel, Channel];
  sessions: [RecordingSession | undefined, RecordingSession | undefined];
  /** Venue proposals each investor has seen and not answered (request id, state). */
  unanswered: [{ id: string; state: State }[], { id: string; state: State }[]];
  nextId: number;
  nextSecret: number;
}

type Model = Record<string, never>;
type Who = 0 | 1;

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

function connect(real: Real, who: Who): RecordingSession {
  const unanswered: { id: string; state: State }[] = [];
  const session = new RecordingSession(real.nextId++, signers[who].address, real.recorder, real.channels[who], (id, state) => unanswered.push({ id, state }));
  real.sessions[who] = session;
  real.unanswered[who] = unanswered;
  real.engine.onAuthenticated(session);
  return session;
}

/** Proposes `update` on the venue's latest agreed state (renumbered by `base`, e.g. to skip a nonce); resolves with the request id. */
async function investorProposes(real: Real, who: Who, update: Update, signer: NobleSigner, extra: object = {}, base = (latest: State) => latest): Promise<string | undefined> {
  const session = real.sessions[who];
  if (session === undefined) return undefined;
  const channel = real.channels[who];
  const id = `p${real.nextId++}`;
  let proposal;
  try {
    proposal = propose(channel, base(real.engine.latest(channel.channelId)!.state), update, signer, id, extra);
  } catch {
    return undefined; // not a state the core can even build (e.g. overspending): nothing to send
  }
  real.recorder.proposedBy.set(id, { channel, state: proposal.state });
  await real.engine.onMessage(session, proposal.message);
  return id;
}

/** One command: acts, lets the engine's follow-ups run, then checks the invariant. */
abstract class Step implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }
  async run(_model: Model, real: Real): Promise<void> {
    await this.act(real);
    await settle();
    expect(real.recorder.violations()).toEqual([]);
  }
  abstract act(real: Real): Promise<void>;
  abstract toString(): string;
}

class Pay extends Step {
  constructor(
    readonly who: Who,
    readonly junk: boolean,
    /** Skips a nonce, whether or not the venue voided one. */
    readonly skip: boolean,
  ) {
    super();
  }
  async act(real: Real) {
    const base = this.skip ? (latest: State) => ({ ...latest, nonce: latest.nonce + 1n }) : undefined;
    await investorProposes(real, this.who, pay(1, 1, 1n), this.junk ? mallet : signers[this.who], {}, base);
  }
  toString(): string {
    return `Pay(${this.who}${this.junk ? ", junk" : ""}${this.skip ? ", skipping a nonce" : ""})`;
  }
}

class Answer extends Step {
  constructor(
    readonly who: Who,
    readonly how: "accept" | "reject" | "junk",
    /** The newest proposal seen (the one being offered, if any), or the oldest (a late answer). */
    readonly newest: boolean,
  ) {
    super();
  }
  async act(real: Real) {
    const session = real.sessions[this.who];
    const proposal = this.newest ? real.unanswered[this.who].pop() : real.unanswered[this.who].shift();
    if (session === undefined || proposal === undefined) return;
    const channel = real.channels[this.who];
    const base = { v: PROTOCOL_VERSION, id: proposal.id, channelId: channel.channelId };
    const signer = this.how === "junk" ? mallet : signers[this.who];
    const message =
      this.how === "reject"
        ? { ...base, type: "rejected", code: "INVALID_UPDATE", message: "no" }
        : { ...base, type: "accepted", nonce: proposal.state.nonce.toString(), signature: signer.sign(stateDigest(proposal.state, channel.domain)) };
    await real.engine.onMessage(session, message as ClientMessage).catch(() => undefined); // a late answer is MALFORMED
  }
  toString(): string {
    return `Answer(${this.who}, ${this.how}${this.newest ? ", newest" : ""})`;
  }
}

/** How often `Proceed` found a void to build over (the progress check must have run). */
const progress = { checked: 0 };

/** After a refusal the channel moves on: the investor refuses the newest venue proposal it saw (if any), then its payment over the void is countersigned. */
class Proceed extends Step {
  constructor(readonly who: Who) {
    super();
  }
  async act(real: Real) {
    await new Answer(this.who, "reject", true).act(real);
    await settle();
    const session = real.sessions[this.who];
    const channel = real.channels[this.who];
    const voided = real.engine.record(channel.channelId)!.pending;
    if (session === undefined || voided?.voided !== true) return;
    const nonce = voided.signed.state.nonce;
    const id = await investorProposes(real, this.who, pay(1, 1, 1n), signers[this.who], {}, (latest) => baseAfterVoid(latest, nonce));
    const answer = session.sent.find((m) => (m as { id?: string }).id === id);
    const pending = real.engine.record(channel.channelId)!.pending;
    // The venue may have proposed over the void itself meanwhile (a routed lock queued first): progress too.
    const overtaken = answer?.type === "rejected" && answer.code === "CONFLICT" && pending?.proposer === 0 && pending.signed.state.nonce > nonce;
    if (!overtaken) {
      expect(answer).toMatchObject({ type: "accepted", nonce: (nonce + 1n).toString() });
      expect(real.engine.latest(channel.channelId)!.state.nonce).toBe(nonce + 1n);
    }
    progress.checked++;
  }
  toString(): string {
    return `Proceed(${this.who})`;
  }
}

class Route extends Step {
  constructor(readonly who: Who) {
    super();
  }
  async act(real: Real) {
    const secret = `0x${(real.nextSecret++).toString(16).padStart(64, "0")}`;
    const lock: Update = { kind: "addLock", lock: { assetIndex: 1, sender: 1, amount: 1n, hashlock: hashlockOf(secret), expiry: real.now.value + 3n * GAP } };
    await investorProposes(real, this.who, lock, signers[this.who], { route: { to: signers[this.who === 0 ? 1 : 0].address } });
  }
  toString(): string {
    return `Route(${this.who})`;
  }
}

class Silence extends Step {
  async act() {
    await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 5));
  }
  toString(): string {
    return "Silence";
  }
}

class Disconnect extends Step {
  constructor(readonly who: Who) {
    super();
  }
  async act(real: Real) {
    const session = real.sessions[this.who];
    if (session === undefined) return;
    real.engine.onClosed(session);
    real.sessions[this.who] = undefined;
  }
  toString(): string {
    return `Disconnect(${this.who})`;
  }
}

/** Reconnects and resyncs: with the venue's latest, or with the venue's pending state countersigned (a lost answer). */
class Reconnect extends Step {
  constructor(
    readonly who: Who,
    readonly withPending: boolean,
  ) {
    super();
  }
  async act(real: Real) {
    const channel = real.channels[this.who];
    const pending = real.engine.record(channel.channelId)?.pending;
    let latest = real.engine.latest(channel.channelId)!;
    if (this.withPending && pending?.proposer === 0) {
      const digest = stateDigest(pending.signed.state, channel.domain);
      latest = { state: pending.signed.state, signatures: [pending.signed.signatures[0], signers[this.who].sign(digest)] };
    }
    const session = connect(real, this.who);
    await real.engine.onMessage(session, { v: PROTOCOL_VERSION, type: "resync", id: `rs${real.nextId++}`, channels: [{ channelId: channel.channelId, latest }] } as ClientMessage);
  }
  toString(): string {
    return `Reconnect(${this.who}${this.withPending ? ", with the pending state signed" : ""})`;
  }
}

/** Chain time past the locks' expiries, wall clock past the void bound of unanswered venue proposals. */
class Expire extends Step {
  async act(real: Real) {
    real.now.value += 2n * GAP + 1n;
    real.clock.value += DEFAULT_ENGINE_BOUNDS.venueProposalVoidMs;
    real.engine.sweepLocks();
  }
  toString(): string {
    return "Expire";
  }
}

class Restart extends Step {
  async act(real: Real) {
    for (const who of [0, 1] as const) if (real.sessions[who] !== undefined) real.engine.onClosed(real.sessions[who]);
    real.engine = makeEngine(real.store, { responseTimeoutMs: TIMEOUT_MS, now: () => real.now.value, clock: () => real.clock.value }).engine;
    await real.engine.load();
    // Investors who were online reconnect and resync with what they hold.
    for (const who of [0, 1] as const) {
      if (real.sessions[who] === undefined) continue;
      const channel = real.channels[who];
      const session = connect(real, who);
      const latest = real.engine.latest(channel.channelId)!;
      await real.engine.onMessage(session, { v: PROTOCOL_VERSION, type: "resync", id: `rs${real.nextId++}`, channels: [{ channelId: channel.channelId, latest }] } as ClientMessage);
    }
  }
  toString(): string {
    return "Restart";
  }
}

const who = fc.constantFrom<Who>(0, 1);
const commands = [
  fc.tuple(who, fc.boolean(), fc.boolean()).map(([w, junk, skip]) => new Pay(w, junk, skip)),
  fc.tuple(who, fc.boolean()).map(([w, junk]) => new Pay(w, junk, false)),
  who.map((w) => new Proceed(w)),
  who.map((w) => new Proceed(w)),
  who.map((w) => new Route(w)),
  who.map((w) => new Route(w)),
  fc.constant(new Silence()),
  fc.tuple(who, fc.constantFrom("accept", "reject", "junk") as fc.Arbitrary<"accept" | "reject" | "junk">, fc.boolean()).map(([w, how, newest]) => new Answer(w, how, newest)),
  fc.tuple(who, fc.constantFrom("accept", "reject") as fc.Arbitrary<"accept" | "reject">).map(([w, how]) => new Answer(w, how, true)),
  fc.constant(new Silence()),
  who.map((w) => new Disconnect(w)),
  fc.tuple(who, fc.boolean()).map(([w, withPending]) => new Reconnect(w, withPending)),
  fc.constant(new Expire()),
  fc.constant(new Restart()),
];

describe("ChannelEngine model: never two venue-signed states of one nonce, and progress past a void", () => {
  it("holds under random interleavings of proposals, answers, timeouts, reconnects and restarts", async () => {
    progress.checked = 0;
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 40 }), async (cmds) => {
        const store = new MemoryStore();
        const now = { value: START };
        const clock = { value: 1_700_000_000_000 };
        const { engine } = makeEngine(store, { responseTimeoutMs: TIMEOUT_MS, now: () => now.value, clock: () => clock.value });
        const setupSessions = signers.map((s, i) => new FakeSession(100 + i, s.address));
        for (const s of setupSessions) engine.onAuthenticated(s);
        const channels = [
          await openFunded(engine, store, setupSessions[0]!, [[0n, 0n], [1_000n, 1_000n]]),
          await openFunded(engine, store, setupSessions[1]!, [[0n, 0n], [1_000n, 1_000n]]),
        ] as [Channel, Channel];
        const real: Real = { store, engine, now, clock, recorder: new Recorder(), channels, sessions: [undefined, undefined], unanswered: [[], []], nextId: 1, nextSecret: 1 };
        connect(real, 0);
        connect(real, 1);
        await fc.asyncModelRun(() => ({ model: {} as Model, real }), cmds);
        await new Promise((resolve) => setTimeout(resolve, TIMEOUT_MS + 5)); // let the last timers fire before the next run
      }),
      { numRuns: 100 },
    );
    expect(progress.checked).toBeGreaterThan(0);
  }, 120_000);
});
