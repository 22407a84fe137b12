// Child process of the crash test (level-store.test.ts): opens the LevelStore at argv[2] and, for
// each of argv[3] channels concurrently, agrees states with increasing nonces forever (group commit
// gathers them into shared synced batches), printing "<channel index> <nonce>" for each state once
// stateAgreed has resolved. The test SIGKILLs this process mid-stream. Resumes after the latest
// stored nonce, so it can be killed and restarted on the same directory repeatedly.
import { LevelStore } from "../../client/store/level-store.js";
import { newChannel, signedState, tradeUpdate } from "./fixtures.js";

const [, , location, channelCount = "8"] = process.argv;
if (location === undefined) throw new Error("usage: crash-writer.ts <dir> [channels]");

const store = await LevelStore.open(location);
const channels = Array.from({ length: Number(channelCount) }, (_, i) => newChannel(i));
for (const channel of channels) {
  if ((await store.channel(channel.channelId)) === undefined) await store.channelCreated(channel);
}
process.stdout.write("ready\n");

await Promise.all(
  channels.map(async (channel, index) => {
    let nonce = ((await store.channel(channel.channelId))?.latest?.state.nonce ?? 0n) + 1n;
    for (;;) {
      await store.stateAgreed(channel.channelId, signedState(channel, nonce), tradeUpdate(nonce, Date.now()));
      process.stdout.write(`${index} ${nonce}\n`);
      nonce += 1n;
    }
  }),
);
