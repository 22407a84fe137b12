// `clearline daemon` (docs/cli.md, "daemon"): the process an investor keeps running. It stays
// connected to the venue's node — so payments routed to the investor get their invoices, and the
// venue's proposals the SDK countersigns unasked (locks of those payments, fills) are agreed —,
// reconnects and resyncs after a drop with a capped exponential back-off, and guards the channels on
// chain as `watch` does (channel-guard.ts). It holds the investor's store for as long as it runs, so
// the investor's other commands run inside it, sent over its control socket (control.ts).
import { chmodSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { nobleVerifier, type Address } from "../protocol/index.js";
import type { TxProgress } from "../chain/adjudicator.js";
import { ClearlineClient, type ClientEvent } from "../sdk/client.js";
import type { TradingClient } from "../sdk/trading.js";
import { anchorOf } from "./trading.js";
import { ChannelGuard, type GuardOptions } from "./channel-guard.js";
import { STORE_COMMANDS, type StoreCommand } from "./command-table.js";
import { controlSocketPath, daemonRunning, serveControl, type ControlRequest } from "./control.js";
import { CliError, describeError } from "./errors.js";
import { Output, type Streams } from "./output.js";
import { connectChain, openStore, short, type Session } from "./session.js";
import type { Settings } from "./settings.js";

export interface DaemonOptions extends GuardOptions {
  /** Milliseconds between checks of the chain. */
  readonly intervalMs: number;
  /** The first wait before reconnecting, doubled after each failed attempt … */
  readonly backoffMinMs: number;
  /** … up to this. */
  readonly backoffMaxMs: number;
  /** Commands (control connections) at once. */
  readonly maxCommands: number;
}

/** A control connection must send its request within this. */
const REQUEST_TIMEOUT_MS = 5_000;

/** The wait before reconnect attempt `attempt` (0, 1, …): doubling from `min`, capped at `max`, less up to a quarter at random (so investors do not all come back at once). */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const full = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(full * (1 - random() / 4));
}

/**
 * The daemon's SDK client: one TradingClient per venue anchor for the whole run. Each TradingClient
 * stays registered with its client to approve the lock pairs of its orders' fills, and numbers its
 * orders above its last nonce — one per command would pile up and could repeat a nonce when two
 * commands place orders in the same millisecond.
 */
class DaemonClient extends ClearlineClient {
  private readonly tradingClients = new Map<string, TradingClient>();

  override trading(anchor: Address): TradingClient {
    const key = anchor.toLowerCase();
    let trading = this.tradingClients.get(key);
    if (trading === undefined) {
      trading = super.trading(anchor);
      this.tradingClients.set(key, trading);
    }
    return trading;
  }
}

/** The daemon's log; a transaction's progress also goes to every command running then (they cannot be told apart: one wallet). */
class DaemonLog extends Output {
  readonly commands = new Set<Output>();

  override progress(progress: TxProgress): void {
    super.progress(progress);
    for (const output of this.commands) output.progress(progress);
  }
}

/** The venue's OrderLogAnchor from the deployment file; none when the venue takes no orders. */
function tradingAnchor(settings: Settings): Address | undefined {
  try {
    return anchorOf({}, settings.deployment);
  } catch (error) {
    if (error instanceof CliError && error.code === "MISSING_SETTING") return undefined;
    throw error;
  }
}

/** Runs until SIGINT/SIGTERM; resolves with the exit code. */
export async function daemonCommand(settings: Settings, output: Output, options: DaemonOptions): Promise<number> {
  const log = new DaemonLog(settings.json);
  const ctx = await connectChain(settings, log);
  const stop = stopSignal(output);
  try {
    if (await daemonRunning(ctx.storeDir)) throw new CliError("DAEMON_RUNNING", `a daemon for ${ctx.address} runs already (${controlSocketPath(ctx.storeDir)})`);
    const socketPath = controlSocketPath(ctx.storeDir, true);
    const nodeUrl = settings.nodeUrl();
    const store = await openStore(ctx, 10_000, { archiveOldStore: settings.archiveOldStore, output: log });
    try {
      const client = new DaemonClient({
        nodeUrl,
        fallbackUrls: settings.fallbackNodeUrls(),
        signer: ctx.signer,
        verifier: nobleVerifier,
        store,
        deployment: ctx.chain.deployment,
        chain: ctx.chain,
        reconnect: false, // the daemon reconnects itself, with back-off
        invoices: settings.invoices,
        onEvent: (event) => onClientEvent(event),
      });
      const session: Session = { ...ctx, client, store, deployment: settings.deployment, inDaemon: true };
      // The venue's lock pairs for fills of orders placed before this run (offered again at resync) settle too.
      const anchor = tradingAnchor(settings);
      if (anchor !== undefined) client.trading(anchor);
      let dropped: (() => void) | undefined;
      const onClientEvent = (event: ClientEvent) => {
        if (event.type === "disconnected") dropped?.();
        else logClientEvent(log, session, event);
      };

      // The control socket: only once we hold the store (a socket left by a daemon that died is ours to replace).
      rmSync(socketPath, { force: true });
      const server = createServer();
      const previousMask = process.umask(0o177);
      try {
        server.listen(socketPath);
      } finally {
        process.umask(previousMask);
      }
      await new Promise<void>((resolve, reject) => {
        server.once("listening", resolve);
        server.once("error", reject);
      });
      chmodSync(socketPath, 0o600);
      const control = serveControl(server, {
        address: ctx.address,
        maxCommands: options.maxCommands,
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        run: (request, streams) => runCommand(session, log, request, streams),
        onRefused: (code, message) => log.event(`refused a command: ${message}`, { event: "refused", code, message }),
      });

      const guard = new ChannelGuard(ctx, log, options, (read) => read(store));
      const count = (await guard.readChannels()).length;
      log.event(
        `daemon for ${ctx.address}: venue ${nodeUrl}, chain ${ctx.chain.deployment.chainId} (adjudicator ${ctx.chain.address}), ${count} channel${count === 1 ? "" : "s"}, checking the chain every ${options.intervalMs} ms; commands through ${socketPath}; Ctrl-C to stop`,
        { event: "started", address: ctx.address, nodeUrl, chainId: ctx.chain.deployment.chainId.toString(), adjudicator: ctx.chain.address, channels: count, socket: socketPath, intervalMs: options.intervalMs },
      );

      const connection = (async () => {
        for (let attempt = 0; !stop.requested; ) {
          try {
            const drop = new Promise<void>((resolve) => (dropped = resolve));
            await client.connect();
            const connectedAt = Date.now();
            const channels = (await store.channels()).length;
            log.event(`connected to ${nodeUrl}, ${channels} channel${channels === 1 ? "" : "s"} resynced`, { event: "connected", nodeUrl, channels });
            await Promise.race([drop, stop.wait]);
            if (stop.requested) return;
            // The back-off starts over only after a connection that held a while: one dropped at once
            // (e.g. replaced by another session of ours) keeps backing off.
            if (Date.now() - connectedAt >= options.backoffMaxMs) attempt = 0;
            log.event(`disconnected from ${nodeUrl}`, { event: "disconnected", nodeUrl });
          } catch (error) {
            const described = describeError(error);
            log.event(`cannot connect to ${nodeUrl}: ${described.message}`, { event: "error", code: described.code, message: described.message });
          }
          if (stop.requested) return;
          const delay = backoffDelay(attempt++, options.backoffMinMs, options.backoffMaxMs);
          log.event(`reconnecting in ${delay} ms`, { event: "reconnecting", attempt, delayMs: delay });
          await Promise.race([sleep(delay), stop.wait]);
        }
      })();

      const guarding = (async () => {
        while (!stop.requested) {
          await guard.check();
          await Promise.race([sleep(options.intervalMs), stop.wait]);
        }
      })();

      await stop.wait;
      // No new commands; those running finish (a transaction may be on its way), then everything closes.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (control.running() > 0) log.event(`waiting for ${control.running()} running command(s) to finish`, { event: "draining", commands: control.running() });
      await control.idle();
      await closed;
      await client.disconnect().catch(() => undefined);
      await Promise.all([connection, guarding]);
    } finally {
      await store.close().catch(() => undefined);
      rmSync(socketPath, { force: true });
    }
    log.event("stopped", { event: "stopped" });
    return 0;
  } finally {
    stop.dispose();
    ctx.close();
  }
}

/** SIGINT/SIGTERM ask the daemon to stop after what runs; a second one quits at once. */
function stopSignal(output: Output): { readonly requested: boolean; readonly wait: Promise<void>; dispose(): void } {
  let requested = false;
  let resolve!: () => void;
  const wait = new Promise<void>((r) => (resolve = r));
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested) {
      output.note(`${signal} again: quitting at once`);
      process.exit(130);
    }
    requested = true;
    output.note(`${signal}: stopping (send it again to quit at once)`);
    resolve();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    get requested() {
      return requested;
    },
    wait,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** A command sent by the CLI, run over the daemon's session; one log line says which and how it ended. */
async function runCommand(session: Session, log: DaemonLog, request: ControlRequest, streams: Streams): Promise<number> {
  const output = new Output(request.json, streams);
  const entry: StoreCommand = STORE_COMMANDS[request.command];
  log.commands.add(output);
  let exit: number;
  try {
    entry.check?.(request.options);
    exit = (await entry.run(session, output, request.positional, request.options)) ?? 0;
  } catch (error) {
    const described = describeError(error);
    output.failure(described);
    exit = described.exitCode;
  } finally {
    log.commands.delete(output);
  }
  log.event(`ran ${request.command}${request.positional.length > 0 ? ` ${request.positional.join(" ")}` : ""}: exit ${exit}`, { event: "command", command: request.command, positional: request.positional, exit });
  return exit;
}

function logClientEvent(log: Output, s: Session, event: Exclude<ClientEvent, { type: "disconnected" }>): void {
  switch (event.type) {
    case "connected":
      return; // the connection loop says so, with the resync
    case "agreed": {
      const by = event.proposer === "venue" ? "proposed by the venue, countersigned" : "proposed by us";
      log.event(`channel ${short(event.channelId)}: state #${event.nonce} agreed (${event.summary.kind}, ${by})`, {
        event: "agreed",
        channelId: event.channelId,
        nonce: event.nonce.toString(),
        kind: event.summary.kind,
        proposer: event.proposer,
      });
      return;
    }
    case "deposits":
      log.event(`channel ${short(event.channelId)}: deposits ${event.status}`, { event: "deposits", channelId: event.channelId, status: event.status });
      return;
    case "claimFailed":
      log.event(`channel ${short(event.channelId)}: claiming a lock paid to us failed (${describeError(event.error).message}); retried after the next reconnect`, {
        event: "claimFailed",
        channelId: event.channelId,
        message: describeError(event.error).message,
      });
      return;
    case "invoiceRefused":
      log.event(`refused an invoice for a payment from ${event.from}: ${event.code}`, { event: "invoiceRefused", from: event.from, code: event.code });
      return;
    case "abandoned":
      log.event(`removed channel ${event.channelId} from the store: its open never reached the chain`, { event: "abandoned", channelId: event.channelId });
      return;
    case "orderFilled": {
      const { fill } = event;
      const security = s.deployment?.security;
      const cash = s.deployment?.cash;
      const amounts = async () =>
        security === undefined || cash === undefined ? `${fill.quantity} units at ${fill.price} units per lot` : `${await s.tokens.format(security, BigInt(fill.quantity))} at ${await s.tokens.format(cash, BigInt(fill.price))} per lot`;
      amounts()
        .catch(() => `${fill.quantity} units at ${fill.price} units per lot`)
        .then((what) =>
          log.event(`order #${event.orderSequence} filled: ${what} (fill #${fill.sequence}, ${fill.state})`, {
            event: "orderFilled",
            orderSequence: event.orderSequence.toString(),
            fill,
          }),
        )
        .catch(() => undefined);
      return;
    }
  }
}
