// `clearline watch`: guards the investor's channels on chain (channel-guard.ts) and says what it
// does. It needs only the chain and the investor's store, never the venue's node (the venue may be
// the one misbehaving).
//
// The store is opened only for the moment it is read, once per check, so the other commands
// (pay, trade, …) keep working while `watch` runs.
import { setTimeout as sleep } from "node:timers/promises";
import { ChannelGuard, type GuardOptions, type StoreReader } from "./channel-guard.js";
import { CliError } from "./errors.js";
import type { Output } from "./output.js";
import { daemonRunning } from "./control.js";
import { connectChain, openStore, type ChainContext } from "./session.js";
import type { Settings } from "./settings.js";

export interface WatchOptions extends GuardOptions {
  /** Milliseconds between checks. */
  readonly intervalMs: number;
  /** One check, then exit (non-zero if an action failed or an alert was raised). */
  readonly once: boolean;
}

/** Opens the store for one read (waiting up to 3 s for another command to release it). */
export const storeOpenedPerRead =
  (ctx: ChainContext): StoreReader =>
  async (read) => {
    const store = await openStore(ctx, 3_000);
    try {
      return await read(store);
    } finally {
      await store.close();
    }
  };

/** Runs until SIGINT/SIGTERM (or one check with `once`); resolves with the exit code. */
export async function watchCommand(settings: Settings, output: Output, options: WatchOptions): Promise<number> {
  const ctx = await connectChain(settings, output);
  let stopping = false;
  let wake: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      output.note(`${signal} again: quitting without waiting for the current check`);
      process.exit(130);
    }
    stopping = true;
    output.note(`${signal}: stopping after the current check (send it again to quit at once)`);
    wake?.();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let exitCode = 0;
  try {
    // The daemon holds the store and guards the same channels: a second guard could not read them.
    if (await daemonRunning(ctx.storeDir)) throw new CliError("DAEMON_RUNNING", `clearline daemon runs for ${ctx.address} and guards its channels already`);
    const guard = new ChannelGuard(ctx, output, options, storeOpenedPerRead(ctx));
    const count = (await guard.readChannels()).length;
    output.event(
      `watching ${count} channel${count === 1 ? "" : "s"} of ${ctx.address} on chain ${ctx.chain.deployment.chainId} (adjudicator ${ctx.chain.address})${options.once ? "" : `, checking every ${options.intervalMs} ms; Ctrl-C to stop`}`,
      { event: "watching", address: ctx.address, channels: count, chainId: ctx.chain.deployment.chainId.toString(), adjudicator: ctx.chain.address, intervalMs: options.intervalMs },
    );
    while (!stopping) {
      const troubles = await guard.check();
      if (options.once) {
        exitCode = troubles > 0 ? 1 : 0;
        break;
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
        sleep(options.intervalMs).then(resolve, resolve);
      });
      wake = undefined;
    }
    output.event("stopped", { event: "stopped" });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    ctx.close();
  }
  return exitCode;
}
