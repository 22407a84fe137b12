#!/usr/bin/env node
// `clearline`: the investor's command line (docs/cli.md). Run as
//   node --import tsx client/cli/clearline.ts <command> [options]
// Settings come from options, CLEARLINE_KEY and the deployment file `npm start` writes; see --help.
import { join } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { computeAddress } from "ethers";
import { packageVersionOf } from "../package-version.js";
import { CliError, EXIT, describeError } from "./errors.js";
import { Output } from "./output.js";
import { withSession } from "./session.js";
import { STORE_COMMANDS, type CommandOptions, type StoreCommand, type StoreCommandName } from "./command-table.js";
import { runInDaemon } from "./control.js";
import { daemonCommand } from "./daemon.js";
import { DEFAULT_DATA_DIR, DEFAULT_DEPLOYMENT, KEY_ENV, resolveSettings, type GlobalOptions, type Settings } from "./settings.js";
import { watchCommand } from "./watch.js";

const jsonRequested = process.argv.includes("--json");
let exitCode: number = EXIT.OK;

// `clearline … | head` closes the pipe early: that is no error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(exitCode);
    throw error;
  });
}

const program = new Command("clearline")
  .description("Clearline investor client: channels with a venue for ERC-1404 security tokens and cash")
  .version(packageVersionOf(import.meta.url), "-V, --version")
  .option("--node <url>", "the venue's node (ws://…); default: nodeUrl of the deployment file")
  .option("--fallback-node <url>", "a standby node of the venue, tried when the node cannot be reached (repeatable); default: fallbackNodeUrls of the deployment file", (url: string, urls: string[] | undefined) => [...(urls ?? []), url])
  .option("--rpc <url>", "JSON-RPC URL of the chain; default: rpcUrl of the deployment file")
  .option("--adjudicator <address>", "the Adjudicator contract; default: from the deployment file")
  .option("--key <hex>", `the investor's private key (prefer the ${KEY_ENV} environment variable: --key shows in the process list)`)
  .option("--data-dir <dir>", "where the investor's agreed states are kept", DEFAULT_DATA_DIR)
  .option("--deployment <file>", `deployment file (rpc, adjudicator, token addresses, nodeUrl, accounts) (default: ${DEFAULT_DEPLOYMENT} when present)`)
  .option("--confirmations <n>", "confirmations to wait for on chain", "1")
  .option("--archive-old-store", "if your store belongs to another chain (e.g. a restarted local chain), move it aside and start an empty one")
  .option("--max-invoices <n>", "at most this many unpaid invoices for others' payments to you (default 1000)")
  .option("--invoice-ttl <seconds>", "an unpaid invoice expires after this long (default 3600)")
  .option("--json", "machine-readable output: one JSON document on stdout (errors as {\"error\": {code, …}})")
  .exitOverride()
  .configureOutput({
    // With --json a usage error is reported as JSON on stdout (below), not as commander's text.
    outputError: (text, write) => {
      if (!jsonRequested) write(`${text}(run clearline --help for usage)\n`);
    },
  });

program.addHelpText(
  "after",
  `
Assets are named by address, "security" or "cash" (from the deployment file) or by symbol; amounts
are decimals in the token's units (12.5). Channel ids may be shortened to a unique prefix.

Examples:
  export ${KEY_ENV}=0x…
  clearline open --asset cash --amount 1000
  clearline pay 0x1a2b3c --asset cash --amount 12.5 --memo "order 17"
  clearline pay 0x1a2b3c --asset security --amount 1 --to bob
  clearline trade 0x1a2b3c --give cash:100 --get security:1
  clearline balances 0x1a2b3c --json
  clearline watch
  clearline daemon

Exit codes: 0 done, 1 the operation failed (refused by the venue or a token rule, reverted,
unreachable), 2 the command line was wrong (usage, amount, key, unknown asset or channel).`,
);

/** Parses settings, runs `work`, prints a failure; resolves with the exit code. */
async function run(command: Command, work: (settings: Settings, output: Output) => Promise<number | void>): Promise<number> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const output = new Output(options.json === true);
  try {
    const settings = resolveSettings(options);
    return (await work(settings, output)) ?? EXIT.OK;
  } catch (error) {
    const described = describeError(error);
    output.failure(described);
    return described.exitCode;
  }
}

/**
 * A command over the investor's store: run in the investor's daemon when one runs (it holds the
 * store), else here over a Session of this process (connected to the node if the command needs it).
 */
function storeCommand(command: Command, name: StoreCommandName, positional: readonly string[], options: CommandOptions): Promise<number> {
  const entry: StoreCommand = STORE_COMMANDS[name];
  return run(command, async (settings, output) => {
    entry.check?.(options);
    const address = computeAddress(settings.privateKey());
    const inDaemon = await runInDaemon(join(settings.dataDir, address.toLowerCase()), { address, command: name, positional: [...positional], options: defined(options), json: settings.json }, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
    });
    if (inDaemon !== undefined) return inDaemon;
    return withSession(settings, output, { node: entry.node }, (s) => entry.run(s, output, positional, options));
  });
}

/** The options commander set (JSON has no undefined). */
const defined = (options: CommandOptions): Record<string, string | boolean> =>
  Object.fromEntries(Object.entries(options).filter((entry): entry is [string, string | boolean] => entry[1] !== undefined));

const done = (code: number) => {
  exitCode = code;
};

program
  .command("channels")
  .description("list your channels with their on-chain status and balances")
  .option("--prune", "first remove channels whose open never reached the chain (no transaction of yours pending)")
  .action(async (options: CommandOptions, command: Command) => done(await storeCommand(command, "channels", [], options)));

program
  .command("open")
  .description("open a channel with the venue, with a first deposit")
  .option("--asset <asset>", "asset of the first deposit (address, security, cash or symbol)")
  .option("--amount <decimal>", "amount of the first deposit")
  .option("--assets <list>", "the channel's assets, comma-separated (default: the deployment's security and cash tokens)")
  .option("--challenge-period <seconds>", "how long a registered state can be challenged (default 3600)")
  .action(async (options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "open", [], options)),
  );

program
  .command("deposit")
  .description("deposit more into a channel (on chain; waits until the venue has seen it)")
  .argument("<channel>", "channel id (or a unique prefix)")
  .requiredOption("--asset <asset>", "address, security, cash or symbol")
  .requiredOption("--amount <decimal>", "e.g. 12.5")
  .action(async (channel: string, options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "deposit", [channel], options)),
  );

program
  .command("pay")
  .description("pay the venue, or through it another investor (--to)")
  .argument("<channel>", "channel id (or a unique prefix)")
  .requiredOption("--asset <asset>", "address, security, cash or symbol")
  .requiredOption("--amount <decimal>", "e.g. 12.5")
  .option("--to <investor>", "pay this investor through the venue (an address or an account name of the deployment file)")
  .option("--memo <text>", "a reference kept in your history")
  .action(async (channel: string, options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "pay", [channel], options)),
  );

program
  .command("trade")
  .description("delivery versus payment with the venue: both legs in one state")
  .argument("<channel>", "channel id (or a unique prefix)")
  .requiredOption("--give <asset:amount>", "what you deliver, e.g. cash:100")
  .requiredOption("--get <asset:amount>", "what you receive, e.g. security:1")
  .action(async (channel: string, options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "trade", [channel], options)),
  );

program
  .command("withdraw")
  .description("withdraw to your wallet without closing the channel")
  .argument("<channel>", "channel id (or a unique prefix)")
  .requiredOption("--asset <asset>", "address, security, cash or symbol")
  .requiredOption("--amount <decimal>", "e.g. 12.5")
  .action(async (channel: string, options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "withdraw", [channel], options)),
  );

program
  .command("close")
  .description("close cooperatively: a final state agreed with the venue, paid out in one transaction")
  .argument("<channel>", "channel id (or a unique prefix)")
  .action(async (channel: string, _options: object, command: Command) => done(await storeCommand(command, "close", [channel], {})));

program
  .command("force-close")
  .description("register your latest agreed state on chain without the venue; settle after the challenge period")
  .argument("<channel>", "channel id (or a unique prefix)")
  .action(async (channel: string, _options: object, command: Command) => done(await storeCommand(command, "force-close", [channel], {})));

program
  .command("challenge")
  .description("answer a stale state registered on chain with your latest agreed state")
  .argument("<channel>", "channel id (or a unique prefix)")
  .action(async (channel: string, _options: object, command: Command) => done(await storeCommand(command, "challenge", [channel], {})));

program
  .command("settle")
  .description("pay out a disputed channel after its challenge period")
  .argument("<channel>", "channel id (or a unique prefix)")
  .action(async (channel: string, _options: object, command: Command) => done(await storeCommand(command, "settle", [channel], {})));

program
  .command("claim")
  .description("withdraw a payout the adjudicator could not push to your wallet")
  .requiredOption("--asset <asset>", "address, security, cash or symbol")
  .action(async (options: CommandOptions, command: Command) => done(await storeCommand(command, "claim", [], options)));

program
  .command("balances")
  .description("what you and the venue hold in a channel (latest agreed state)")
  .argument("<channel>", "channel id (or a unique prefix)")
  .action(async (channel: string, _options: object, command: Command) => done(await storeCommand(command, "balances", [channel], {})));

program
  .command("history")
  .description("a channel's agreed updates, newest first")
  .argument("<channel>", "channel id (or a unique prefix)")
  .option("--limit <n>", "at most this many entries")
  .action(async (channel: string, options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "history", [channel], options)),
  );

const order = program.command("order").description("orders at the venue's book of the security against cash (docs/cli.md, Trading)");
const anchorOption = () => new Option("--anchor <address>", "the venue's OrderLogAnchor; default: contracts.orderLogAnchor of the deployment file");

order
  .command("place")
  .description("sign and place a limit order; prints the venue's checked receipt, the fills and what rests (cancelled when this command disconnects, or with clearline daemon running when the daemon does)")
  .requiredOption("--side <side>", "buy or sell")
  .requiredOption("--quantity <decimal>", "security tokens, a whole number of lots")
  .requiredOption("--price <decimal>", "cash per lot")
  .option("--lot <decimal>", "security tokens per lot, as the venue's market has it", "1")
  .option("--expiry <seconds>", "the order no longer trades this many seconds from now")
  .option("--client-id <text>", "your reference (at most 31 bytes, or 0x and 64 hex digits)")
  .option("--ioc", "immediate or cancel: trade what crosses now, rest nothing")
  .addOption(anchorOption())
  .action(async (options: CommandOptions, command: Command) =>
    done(await storeCommand(command, "order place", [], options)),
  );

order
  .command("cancel")
  .description("cancel a resting order of yours by its hash")
  .argument("<order>", "the order hash `order place` printed")
  .addOption(anchorOption())
  .action(async (orderHash: string, options: CommandOptions, command: Command) => done(await storeCommand(command, "order cancel", [orderHash], options)));

order
  .command("list")
  .description("your resting orders at the venue with their open quantity")
  .addOption(anchorOption())
  .action(async (options: CommandOptions, command: Command) => done(await storeCommand(command, "order list", [], options)));

program
  .command("fills")
  .description("your fills at the venue, oldest first (matched, not yet settled in the channels)")
  .option("--limit <n>", "the latest n fills (1–1000, default 100)")
  .addOption(anchorOption())
  .action(async (options: CommandOptions, command: Command) => done(await storeCommand(command, "fills", [], options)));

program
  .command("book")
  .description("the venue's book of the security against cash: resting quantity per price level, best first")
  .option("--levels <n>", "at most this many price levels a side (1–100, default 20)")
  .addOption(anchorOption())
  .action(async (options: CommandOptions, command: Command) => done(await storeCommand(command, "book", [], options)));

const receipts = program.command("receipts").description("the venue's receipts kept in your data dir, and its order log");

receipts
  .command("audit")
  .description("fetch the venue's whole order log, check it against its signed checkpoint, and report every price–time priority violation (exit 1 if any)")
  .option("--max-entries <n>", "refuse a log longer than this (default 100000)")
  .option("--matching <who>", "who matched the venue's fills, checked against what the venue signed in its checkpoint (by default the audit follows that): builtIn (fills follow their taker's order) or external (an engine's fills come later)")
  .addOption(anchorOption())
  .action(async (options: CommandOptions, command: Command) => done(await storeCommand(command, "receipts audit", [], options)));

receipts
  .command("verify")
  .description("check a receipt: the venue's signature, its inclusion in the log it names, and that the venue's log now extends that log")
  .argument("<receipt>", "a receipt file, or the sequence number of a receipt in your data dir")
  .addOption(anchorOption())
  .action(async (receipt: string, options: CommandOptions, command: Command) => done(await storeCommand(command, "receipts verify", [receipt], options)));

const wholeNumber = (name: string, text: string, min: number): number => {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < min) throw new CliError("USAGE", `${name} must be a whole number ≥ ${min}, not "${text}"`);
  return value;
};

interface GuardFlags {
  interval: string;
  safetyMargin: string;
  retryAfter: string;
  claim: boolean;
}

/** The chain-guard options `watch` and `daemon` share. */
const withGuardOptions = (command: Command): Command =>
  command
    .addOption(new Option("--interval <ms>", "milliseconds between checks of the chain").default("2000"))
    .addOption(new Option("--safety-margin <seconds>", "seconds before a deadline at which an answer is urgent").default("600"))
    .addOption(new Option("--retry-after <seconds>", "chain seconds a failed action waits before it is tried again").default("60"))
    .option("--no-claim", "do not claim claimable balances");

const guardOptions = (options: GuardFlags) => ({
  intervalMs: wholeNumber("--interval", options.interval, 50),
  safetyMargin: BigInt(wholeNumber("--safety-margin", options.safetyMargin, 0)),
  retryAfter: BigInt(wholeNumber("--retry-after", options.retryAfter, 0)),
  claim: options.claim,
});

withGuardOptions(program.command("watch"))
  .description("guard your channels on chain until Ctrl-C: challenge a stale state, settle after the deadline, claim (no node needed)")
  .option("--once", "check once and exit (exit code 1 if an action failed or an alert was raised)")
  .action(async (options: GuardFlags & { once?: boolean }, command: Command) =>
    done(await run(command, (settings, output) => watchCommand(settings, output, { ...guardOptions(options), once: options.once === true }))),
  );

withGuardOptions(program.command("daemon"))
  .description("stay connected to the venue until Ctrl-C: answer invoices (payments to you), countersign, reconnect, guard the chain; your other commands run through it")
  .addOption(new Option("--backoff-min <ms>", "first wait before reconnecting, doubled after each failed attempt").default("500"))
  .addOption(new Option("--backoff-max <ms>", "longest wait between reconnect attempts").default("30000"))
  .addOption(new Option("--max-commands <n>", "commands run through the daemon at once (1–1000)").default("16"))
  .action(async (options: GuardFlags & { backoffMin: string; backoffMax: string; maxCommands: string }, command: Command) =>
    done(
      await run(command, (settings, output) => {
        const backoffMinMs = wholeNumber("--backoff-min", options.backoffMin, 10);
        const maxCommands = wholeNumber("--max-commands", options.maxCommands, 1);
        if (maxCommands > 1_000) throw new CliError("USAGE", `--max-commands must be at most 1000, not ${maxCommands}`);
        return daemonCommand(settings, output, {
          ...guardOptions(options),
          backoffMinMs,
          backoffMaxMs: wholeNumber("--backoff-max", options.backoffMax, backoffMinMs),
          maxCommands,
        });
      }),
    ),
  );

async function flushAndExit(code: number): Promise<never> {
  await new Promise<void>((resolve) => process.stdout.write("", () => resolve()));
  await new Promise<void>((resolve) => process.stderr.write("", () => resolve()));
  process.exit(code);
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    if (error.exitCode === 0) await flushAndExit(0);
    if (jsonRequested) new Output(true).failure({ code: "USAGE", source: "cli", message: error.message.replace(/^error: /, ""), exitCode: EXIT.USAGE });
    await flushAndExit(EXIT.USAGE);
  }
  new Output(jsonRequested).failure(describeError(error));
  await flushAndExit(EXIT.FAILED);
}
await flushAndExit(exitCode);
