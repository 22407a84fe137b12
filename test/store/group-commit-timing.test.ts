// The group commit's timing (client/store/level-store.ts, the shared write path's LevelDB writer): a
// lone write goes to disk at once, with no batching window on a timer (which would add its length to
// every update under light load), and writes that arrive while a batch is syncing share the next one.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LevelStore } from "../../client/store/level-store.js";
import { newChannel, paymentUpdate, signedState } from "./fixtures.js";

const dirs: string[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function open(onBatch?: (ms: number) => void): Promise<LevelStore> {
  const dir = await mkdtemp(join(tmpdir(), "clearline-commit-timing-"));
  dirs.push(dir);
  return LevelStore.open(dir, onBatch === undefined ? {} : { onBatch });
}

describe("group commit timing", () => {
  it("a lone write is on disk without any timer firing", async () => {
    const store = await open();
    const channel = newChannel(1);
    await store.channelCreated(channel);
    // With timers frozen, a writer that waited for a window (setTimeout, setImmediate) would never write.
    vi.useFakeTimers({ toFake: ["setTimeout", "setInterval", "setImmediate"] });
    const before = store.stats.batches;
    const written = store.stateAgreed(channel.channelId, signedState(channel, 1n), paymentUpdate(1n));
    const outcome = await Promise.race([written.then(() => "written"), new Promise((resolve) => globalThis.queueMicrotask(() => setTimeoutReal(resolve, 2_000, "stuck")))]);
    expect(outcome).toBe("written");
    expect(store.stats.batches).toBe(before + 1);
    vi.useRealTimers();
    await store.close();
  });

  it("writes arriving while a batch syncs share the next batch, and each resolves once its own is durable", async () => {
    const store = await open();
    const channels = Array.from({ length: 50 }, (_, i) => newChannel(100 + i));
    await Promise.all(channels.map((c) => store.channelCreated(c)));
    const before = { batches: store.stats.batches, events: store.stats.events };
    // One write starts a batch; the 50 issued in the next tick find it syncing and queue behind it.
    const first = store.stateAgreed(channels[0]!.channelId, signedState(channels[0]!, 1n), paymentUpdate(1n));
    await Promise.resolve();
    await Promise.resolve();
    const rest = channels.slice(1).map((c) => store.stateAgreed(c.channelId, signedState(c, 1n), paymentUpdate(1n)));
    await Promise.all([first, ...rest]);
    expect(store.stats.batches - before.batches).toBe(2);
    expect(store.stats.events - before.events).toBe(50);
    for (const c of channels) expect((await store.channel(c.channelId))?.latest?.state.nonce).toBe(1n);
    await store.close();
  });

  it("reports each durable batch's time to onBatch (the node's clearline_store_batch_seconds), once per batch", async () => {
    const times: number[] = [];
    const store = await open((ms) => times.push(ms));
    const channels = Array.from({ length: 20 }, (_, i) => newChannel(200 + i));
    await Promise.all(channels.map((c) => store.channelCreated(c)));
    const first = store.stateAgreed(channels[0]!.channelId, signedState(channels[0]!, 1n), paymentUpdate(1n));
    await Promise.resolve();
    await Promise.resolve();
    await Promise.all([first, ...channels.slice(1).map((c) => store.stateAgreed(c.channelId, signedState(c, 1n), paymentUpdate(1n)))]);
    expect(times).toHaveLength(store.stats.batches);
    expect(times.length).toBeGreaterThanOrEqual(2);
    for (const ms of times) expect(ms).toBeGreaterThan(0);
    await store.close();
  });
});

/** The real setTimeout, captured before any test fakes timers. */
const realSetTimeout = globalThis.setTimeout;
function setTimeoutReal(resolve: (value: unknown) => void, ms: number, value: unknown): void {
  realSetTimeout(() => resolve(value), ms);
}
