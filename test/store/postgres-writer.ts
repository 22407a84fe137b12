// Child process of the PostgreSQL crash and lease tests: opens the PostgresStore at argv[2] (schema
// argv[3]), holding the leader lease with ttl argv[4] ms unless it is "none", and for each of
// argv[5] channels (default 1) concurrently agrees states with increasing nonces forever (group
// commit gathers them into shared transactions), printing "<channel index> <nonce>" once stateAgreed
// resolved. When a write is refused it prints "refused <code>" and exits 3. Resumes after the latest
// stored nonce, so it can be killed and restarted on the same schema repeatedly.
import { PostgresStore } from "../../channel-node/src/store/postgres-store.js";
import { newChannel, signedState, tradeUpdate } from "./fixtures.js";

const [, , url, schema, ttl, channelCount = "1"] = process.argv;
if (url === undefined || schema === undefined || ttl === undefined) throw new Error("usage: postgres-writer.ts <url> <schema> <ttlMs|none> [channels]");

const store = await PostgresStore.open({ url, schema, ...(ttl === "none" ? {} : { lease: { ttlMs: Number(ttl), retryMs: 50 } }) });
const channels = Array.from({ length: Number(channelCount) }, (_, i) => newChannel(i));
for (const channel of channels) {
  if ((await store.channel(channel.channelId)) === undefined) await store.channelCreated(channel);
}
process.stdout.write(`ready ${store.leaseEpoch}\n`);

await Promise.all(
  channels.map(async (channel, index) => {
    let nonce = ((await store.channel(channel.channelId))?.latest?.state.nonce ?? 0n) + 1n;
    for (;;) {
      try {
        await store.stateAgreed(channel.channelId, signedState(channel, nonce), tradeUpdate(nonce, Date.now()));
      } catch (error) {
        process.stdout.write(`refused ${(error as { code?: string }).code ?? String(error)}\n`);
        process.exit(3);
      }
      process.stdout.write(`${index} ${nonce}\n`);
      nonce += 1n;
    }
  }),
);
