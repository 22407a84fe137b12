// A deposed venue never countersigns: the real engine on a PostgresStore holding the leader lease
// accepts an investor's payment; once another instance has taken the store over, the same engine
// refuses the next payment (the commit is FENCED, so no countersignature leaves) and the database
// holds nothing of it. Real PostgreSQL, real engine, in-process sessions.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { NobleSigner, genesisState } from "../../client/protocol/index.js";
import { PostgresStore } from "../../channel-node/src/store/postgres-store.js";
import { FakeSession, keyOf, makeEngine, openFunded, pay, propose } from "../node/engine-harness.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the fencing test of the engine on PostgreSQL");

const aliceSigner = new NobleSigner(keyOf(2));

describe.skipIf(POSTGRES_MISSING !== null)(`a fenced venue engine${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  const stores: PostgresStore[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  });
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
  });

  it("countersigns while it holds the lease, and refuses (no countersignature, nothing stored) once deposed", async () => {
    const schema = freshSchema("fence");
    const fenced: string[] = [];
    const store = await PostgresStore.open({ url: server.url, schema, lease: { holder: "venue-a", ttlMs: 60_000 }, onFenced: (e) => fenced.push(e.code) });
    stores.push(store);
    const { engine } = makeEngine(store);
    const alice = new FakeSession(1, aliceSigner.address);
    engine.onAuthenticated(alice);
    const channel = await openFunded(engine, store, alice, [[0n, 0n], [0n, 1_000n]]);

    const first = propose(channel, genesisState(channel).state, pay(1, 1, 10n), aliceSigner, "p1");
    await engine.onMessage(alice, first.message);
    expect(alice.last()).toMatchObject({ type: "accepted", id: "p1" });

    // Another instance opens the schema without waiting for the lease: it takes the store over at once.
    const standby = await PostgresStore.open({ url: server.url, schema });
    stores.push(standby);
    expect(standby.leaseEpoch).toBe("2");

    const second = propose(channel, first.state, pay(1, 1, 20n), aliceSigner, "p2");
    // The store's refusal reaches the transport, which answers UNAVAILABLE; no countersignature was sent.
    await expect(engine.onMessage(alice, second.message)).rejects.toMatchObject({ code: "FENCED" });
    expect(alice.sent.filter((m) => m.type === "accepted").map((m) => (m as { id: string }).id)).toEqual(["p1"]);
    expect(fenced).toEqual(["FENCED"]);
    // The standby holds nonce 1 and nothing of nonce 2.
    const history = await standby.history(channel.channelId);
    expect(history.map((e) => e.signed.state.nonce)).toEqual([1n]);
    expect((await standby.channel(channel.channelId))?.latest?.state.nonce).toBe(1n);
  });
});
