// Child process of the lease test (postgres-lease.test.ts): opens the PostgresStore at argv[2]
// (schema argv[3]) holding the leader lease (ttl argv[4] ms), creates channel 0 if needed and agrees
// states on it with increasing nonces, printing "<nonce>" once stateAgreed resolved. When a write is
// refused it prints "refused <code>" and exits 3. The test SIGSTOPs it and lets a standby take over.
import { PostgresStore } from "../../channel-node/src/store/postgres-store.js";
import { newChannel, signedState, tradeUpdate } from "./fixtures.js";

const [, , url, schema, ttl] = process.argv;
if (url === undefined || schema === undefined || ttl === undefined) throw new Error("usage: postgres-lease-writer.ts <url> <schema> <ttlMs>");

const store = await PostgresStore.open({ url, schema, lease: { ttlMs: Number(ttl), retryMs: 50 } });
const channel = newChannel(0);
if ((await store.channel(channel.channelId)) === undefined) await store.channelCreated(channel);
process.stdout.write(`leader ${store.leaseEpoch}\n`);
let nonce = ((await store.channel(channel.channelId))?.latest?.state.nonce ?? 0n) + 1n;
for (;;) {
  try {
    await store.stateAgreed(channel.channelId, signedState(channel, nonce), tradeUpdate(nonce, Date.now()));
  } catch (error) {
    process.stdout.write(`refused ${(error as { code?: string }).code ?? String(error)}\n`);
    process.exit(3);
  }
  process.stdout.write(`${nonce}\n`);
  nonce += 1n;
}
