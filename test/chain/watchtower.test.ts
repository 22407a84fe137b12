// The watchtower executor against the in-process chain: the counterparty registers a stale state.
import { beforeEach, describe, expect, it } from "vitest";
import { keccak256 } from "ethers";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { ChainWatcher } from "../../client/chain/watcher.js";
import { Watchtower, type ActionResult, type WatchedChannel, type WatchtowerAction } from "../../client/chain/watchtower.js";
import type { Lock } from "../../client/protocol/types.js";
import { chainFixture, hex32, type ChainFixture } from "./fixture.js";

const summary = (results: ActionResult[]) => results.map((r) => `${r.action.kind}:${r.status}`);

describe("Watchtower", () => {
  let f: ChainFixture;

  beforeEach(async () => {
    f = await chainFixture();
  });

  async function balances(): Promise<bigint[]> {
    return Promise.all([
      f.balanceOf(f.system.token, f.venueWallet.address),
      f.balanceOf(f.system.token, f.investorWallet.address),
      f.balanceOf(f.system.cash, f.venueWallet.address),
      f.balanceOf(f.system.cash, f.investorWallet.address),
    ]);
  }

  function investorTower(channels: () => WatchedChannel[], client: AdjudicatorClient = f.investor, extra: Partial<ConstructorParameters<typeof Watchtower>[0]> = {}) {
    const alerts: WatchtowerAction[] = [];
    const tower = new Watchtower({ client, channels, safetyMargin: 300n, onAlert: (a) => alerts.push(a), ...extra });
    return { tower, alerts };
  }

  it("challenges a stale state registered by the counterparty with the latest, then settles exactly the latest amounts", async () => {
    const { params, channelId } = await f.fundedChannel();
    const stale = f.sign(f.stateOf(params, 3n, [10n, 10n]));
    const latest = f.sign(f.stateOf(params, 6n, [-150n, 400n]));
    const { tower, alerts } = investorTower(() => [{ params, latest }]);

    expect(await tower.check()).toEqual([]); // nothing registered: nothing to do
    const before = await balances();
    await f.venue.forceClose(params, stale);
    const registeredAt = await f.now();

    const first = await tower.check();
    expect(summary(first)).toEqual(["challenge:done"]);
    const record = await f.investor.channel(channelId);
    expect(record.phase).toBe("Disputed");
    expect(record.nonce).toBe(6n);
    // Answered at once: a full challenge period (3,600 s) is still ahead.
    expect(record.deadline - (await f.now())).toBeGreaterThanOrEqual(3600n - 1n);
    expect((await f.now()) - registeredAt).toBeLessThanOrEqual(1n);

    expect(await tower.check()).toEqual([]); // idempotent: the registered state is now our latest
    await f.mineAt(record.deadline - 10n);
    expect(await tower.check()).toEqual([]); // not before the deadline
    await f.mineAt(record.deadline);
    expect(summary(await tower.check())).toEqual(["settle:done"]);
    expect((await f.investor.channel(channelId)).phase).toBe("Concluded");

    const after = await balances();
    // Both deposited 1,000 of each. Token net -150: 150 from the investor to the venue; cash net 400 the other way.
    expect(after.map((b, i) => b - before[i]!)).toEqual([1150n, 850n, 600n, 1400n]);
    expect(await tower.check()).toEqual([]);
    expect(alerts).toEqual([]);
  });

  it("does nothing when the registered state is already the latest", async () => {
    const { params, channelId } = await f.fundedChannel();
    const latest = f.sign(f.stateOf(params, 4n, [1n, 2n]));
    await f.venue.forceClose(params, latest);
    const { tower, alerts } = investorTower(() => [{ params, latest }]);
    const venueTower = new Watchtower({ client: f.venue, channels: () => [{ params, latest }] });
    const sent = await f.provider.getTransactionCount(f.investorWallet.address);
    expect(await tower.plan()).toEqual([]);
    expect(await tower.check()).toEqual([]);
    expect(await venueTower.check()).toEqual([]);
    expect(await f.provider.getTransactionCount(f.investorWallet.address)).toBe(sent);
    expect(alerts).toEqual([]);

    // After the deadline the venue's tower settles; the investor's then finds nothing left to do.
    await f.mineAt((await f.venue.channel(channelId)).deadline);
    expect(summary(await venueTower.check())).toEqual(["settle:done"]);
    expect(await tower.check()).toEqual([]);
  });

  it("reveals the secret of a lock paid to us when it challenges, so that settlement pays the lock", async () => {
    const { params } = await f.fundedChannel();
    const secret = hex32(424242);
    const lock: Lock = { assetIndex: 0, sender: 0, amount: 100n, hashlock: keccak256(secret), expiry: (await f.now()) + 7200n };
    const stale = f.sign(f.stateOf(params, 2n, [0n, 0n]));
    const latest = f.sign(f.stateOf(params, 5n, [20n, 0n], { locks: [lock] }));
    const { tower } = investorTower(() => [{ params, latest, secrets: new Map([[lock.hashlock, secret]]) }]);
    const before = await balances();
    await f.venue.forceClose(params, stale);

    expect(summary(await tower.check())).toEqual(["challenge:done", "revealSecret:done"]);
    expect(await f.investor.secretRevealedAt(lock.hashlock)).toBeGreaterThan(0n);
    const { deadline } = await f.investor.channel(f.investor.channelIdOf(params));
    await f.mineAt(deadline);
    expect(summary(await tower.check())).toEqual(["settle:done"]);
    const after = await balances();
    // Token: net 20 plus the revealed lock of 100, both from the venue to the investor.
    expect(after.map((b, i) => b - before[i]!)).toEqual([880n, 1120n, 1000n, 1000n]);
  });

  it("claims a payout deferred while the investor was frozen, retrying after a failure", async () => {
    const { params } = await f.fundedChannel({ venue: [0n, 0n], investor: [300n, 0n] });
    await (await f.system.token.getFunction("freeze")(f.investorWallet.address)).wait();
    await f.venue.closeCooperatively(params, f.sign(f.stateOf(params, 1n, [0n, 0n], { isFinal: true })));
    const { tower } = investorTower(() => [{ params, latest: null }], f.investor, { retryAfterSeconds: 100n });

    const frozen = await tower.check();
    expect(summary(frozen)).toEqual(["claim:failed"]);
    const failure = frozen[0] as Extract<ActionResult, { status: "failed" }>;
    expect(failure.error.revert?.name).toBe("TransferRestricted");
    expect(summary(await tower.check())).toEqual(["claim:skipped"]); // waits for its retry time

    await (await f.system.token.getFunction("unfreeze")(f.investorWallet.address)).wait();
    await f.mineAt((await f.now()) + 100n);
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    expect(summary(await tower.check())).toEqual(["claim:done"]);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 300n);
    expect(await tower.check()).toEqual([]);
  });

  it("submits once when checks overlap, and treats a lost race with another tower as moot", async () => {
    const { params, channelId } = await f.fundedChannel();
    const latest = f.sign(f.stateOf(params, 9n, [7n, 7n]));
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 1n, [0n, 0n])));
    const channels = (): WatchedChannel[] => [{ params, latest }];
    const { tower } = investorTower(channels);
    // A third party may answer on the investor's behalf (anyone can submit a co-signed state).
    const outsider = new AdjudicatorClient(f.outsiderWallet, f.deployment);
    const { tower: helper } = investorTower(() => [{ params, latest, me: 1 }], outsider);

    const [a, b] = await Promise.all([tower.check(), tower.check()]);
    expect(a).toBe(b);
    expect(summary(a)).toEqual(["challenge:done"]);

    // The helper decided on facts from before the challenge landed: its submission is moot, not an error.
    const stale: WatchtowerAction = { kind: "challenge", key: `challenge:${channelId}:9`, channelId, params, signed: latest, urgent: false };
    const result = await helper.execute(stale);
    expect(result.status).toBe("moot");
    expect((result as Extract<ActionResult, { status: "moot" }>).error.revert?.name).toBe("StaleNonce");
    expect(await helper.check()).toEqual([]);
  });

  it("runs from a ChainWatcher: a StateRegistered event triggers the check, with the outcome taken from the event", async () => {
    const { params, channelId } = await f.fundedChannel();
    const latest = f.sign(f.stateOf(params, 8n, [3n, 3n]));
    const { tower } = investorTower(() => [{ params, latest }]);
    const results: ActionResult[] = [];
    let cursor: number | null = await f.provider.getBlockNumber();
    const watcher = new ChainWatcher({
      provider: f.provider,
      contracts: { adjudicators: [f.adjudicatorAddress] },
      loadCursor: async () => cursor,
      saveCursor: async (block) => {
        cursor = block;
      },
      handler: async (event) => {
        tower.observe(event);
        if (event.name === "StateRegistered" && event.channelId === channelId) results.push(...(await tower.check()));
      },
    });
    await f.venue.forceClose(params, f.sign(f.stateOf(params, 2n, [0n, 0n])));
    let lookups = 0;
    const lookup = f.investor.registeredOutcome.bind(f.investor);
    f.investor.registeredOutcome = async (...args) => {
      lookups += 1;
      return lookup(...args);
    };
    await watcher.pollOnce(); // delivers nonce 2's registration: the tower challenges
    await watcher.pollOnce(); // delivers our own challenge's registration: nothing more to do
    expect(summary(results)).toEqual(["challenge:done"]);
    expect((await f.investor.channel(channelId)).nonce).toBe(8n);
    expect(lookups).toBe(0);
  });

  it("answers several disputed channels in one check, confirming them concurrently", async () => {
    const one = await f.fundedChannel({ venue: [10n, 0n], investor: [10n, 0n] });
    const two = await f.fundedChannel({ venue: [10n, 0n], investor: [10n, 0n] });
    const latestOne = f.sign(f.stateOf(one.params, 4n, [1n, 0n]));
    const latestTwo = f.sign(f.stateOf(two.params, 6n, [-1n, 0n]));
    await f.venue.forceClose(one.params, f.sign(f.stateOf(one.params, 1n, [0n, 0n])));
    await f.venue.forceClose(two.params, f.sign(f.stateOf(two.params, 2n, [0n, 0n])));
    const client = new AdjudicatorClient(f.investorWallet, f.deployment, { confirmations: 2, pollIntervalMs: 5 });
    const { tower } = investorTower(
      () => [
        { params: one.params, latest: latestOne },
        { params: two.params, latest: latestTwo },
      ],
      client,
    );
    const checking = tower.check();
    // Both challenges are mined before either has its second confirmation.
    for (let i = 0; i < 400 && (await f.investor.channel(two.channelId)).nonce !== 6n; i++) await new Promise((r) => setTimeout(r, 5));
    expect((await f.investor.channel(one.channelId)).nonce).toBe(4n);
    await f.mine();
    expect(summary(await checking)).toEqual(["challenge:done", "challenge:done"]);
  });

  it("settles a channel the counterparty closed without a state", async () => {
    const { params } = await f.fundedChannel({ venue: [0n, 0n], investor: [250n, 0n] });
    await f.venue.forceCloseWithoutState(params);
    const { tower } = investorTower(() => [{ params, latest: null }]);
    expect(await tower.check()).toEqual([]);
    await f.mineAt((await f.investor.channel(f.investor.channelIdOf(params))).deadline);
    const before = await f.balanceOf(f.system.token, f.investorWallet.address);
    expect(summary(await tower.check())).toEqual(["settle:done"]);
    expect(await f.balanceOf(f.system.token, f.investorWallet.address)).toBe(before + 250n);
  });
});
