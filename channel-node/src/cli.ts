// The venue operator's CLI: start the node; the other commands talk to a running node's admin API
// (loopback only, bearer token from the node's data directory; the node owns its LevelDB directory
// exclusively): getinfo, the venue wallet's balances, channels with balances, a channel's history,
// a deposit to the venue's side, a withdrawal of the venue's funds, a cooperative close and a
// force-close. Amounts are decimals with the token's symbol,
// a channel is named by a unique prefix of its id, failures are one sentence with a stable code.
import { join } from "node:path";
import { Command } from "commander";
import { formatEther } from "ethers";
import { loadNodeConfig } from "./config.js";
import { startNode } from "./node.js";
import { nodeLogger } from "./node-logger.js";
import { ADMIN_TOKEN_FILE, readAdminToken } from "./admin-auth.js";
import { isPortInUseError } from "./transport.js";
import { ChainError, type ChainErrorCode, type RevertInfo } from "../../client/chain/errors.js";
import { CliError, EXIT, describeError } from "../../client/cli/errors.js";
import { NODE_VERSION } from "./operator-info.js";
import { AdminError, assetOf, isAdminError, formatDeadline, parseUnits, resolveAsset, resolveChannel, units, type OperatorAsset } from "./operator-format.js";
import { isShardError } from "./shards/errors.js";

const program = new Command("clearline-node").description("Clearline channel node: the venue's server").version(NODE_VERSION, "-V, --version");
program.exitOverride();

program
  .command("start")
  .description("run the node until SIGINT/SIGTERM")
  .option("-c, --config <file>", "JSON config file (CLEARLINE_* environment variables override it)")
  .action(async (options: { config?: string }) => {
    // Since the process began (performance's time origin): Node's own start and loading the modules.
    const loadedMs = Math.round(performance.now());
    const config = loadNodeConfig(options.config);
    const logger = nodeLogger(config.logLevel);
    // A node that lost the leader lease has stopped serving; it exits so that its supervisor restarts it as a standby.
    const onSteppedDown = () => process.exit(EXIT.FAILED);
    const node = await startNode(config, { logger, onSteppedDown }).catch((error: unknown) => {
      if (isPortInUseError(error)) throw new Error(`${error.message}: set CLEARLINE_PORT (or "port" in the config file) to a free port`);
      throw error;
    });
    node.logger.info({ adminTokenFile: node.adminTokenFile }, "admin API token (send it with --token-file)");
    node.logger.info({ loadedMs, readyMs: Math.round(performance.now()) }, "node ready (ms since the process began: modules loaded, node listening)");
    const stop = async () => {
      await node.stop();
      process.exit(0);
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop());
  });

interface AdminOptions {
  url: string;
  tokenFile: string;
  json?: boolean;
}

interface NodeInfo {
  version: string;
  venue: string;
  chainId: string;
  adjudicator: string;
  block: number;
  lastProcessedBlock: number | null;
  watcherLagBlocks: number | null;
  channels: number;
  wallet: { ethWei: string };
  assets: (OperatorAsset & { wallet: string })[];
}

interface ChannelSummary {
  channelId: string;
  investor: string;
  status: string;
  nonce: string;
  assets: string[];
  balances: { venue: string; investor: string }[];
  dispute: { nonce: string; deadline: string } | null;
}

/** What the node answered with a failure status, as a typed error in words. */
function answerError(status: number, body: unknown): Error {
  const record = (typeof body === "object" && body !== null ? body : {}) as { code?: unknown; error?: unknown; action?: unknown; revert?: RevertInfo; transactionHash?: unknown };
  const code = typeof record.code === "string" ? record.code : `HTTP_${status}`;
  const message = typeof record.error === "string" ? record.error : `the node answered ${status}`;
  if (record.revert !== undefined || code === "REVERTED" || code === "INSUFFICIENT_FUNDS" || code === "NETWORK") {
    // A chain error the node met: described like the investor CLI describes it (the Adjudicator's errors in words).
    const revert = record.revert === undefined ? null : { ...record.revert, args: record.revert.args.map((a) => (typeof a === "string" && /^\d+$/.test(a) ? BigInt(a) : a)) };
    const action = typeof record.action === "string" ? record.action : undefined;
    return new ChainError(code as ChainErrorCode, message, { ...(action ? { action } : {}), revert, transactionHash: typeof record.transactionHash === "string" ? record.transactionHash : null });
  }
  if (code.startsWith("ADMIN_")) return new AdminError(code, `the node refused the request: ${message}`);
  return new AdminError(code, message);
}

async function admin(options: AdminOptions, method: string, path: string): Promise<unknown> {
  const token = readAdminToken(options.tokenFile);
  const base = options.url.replace(/^ws/, "http");
  let response: Response;
  try {
    response = await fetch(new URL(`/admin${path}`, base), { method, headers: { authorization: `Bearer ${token}` } });
  } catch {
    throw new AdminError("NODE_UNREACHABLE", `the node is not running at ${base} (nothing answers there; start it with \`npm run node -- start\` or pass --url)`);
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (!response.ok) throw answerError(response.status, body);
  return body;
}

const info = (options: AdminOptions) => admin(options, "GET", "/info") as Promise<NodeInfo>;
const channels = (options: AdminOptions) => admin(options, "GET", "/channels") as Promise<ChannelSummary[]>;
const channelIdOf = async (options: AdminOptions, prefix: string) => resolveChannel(prefix, (await channels(options)).map((c) => c.channelId));

const withNode = (command: Command) =>
  command
    .option("-u, --url <url>", "the node's address", "http://127.0.0.1:7545")
    .option("-t, --token-file <file>", "the node's admin token file", join(process.env.CLEARLINE_DATA_DIR ?? ".clearline/node", ADMIN_TOKEN_FILE))
    .option("--json", "machine-readable output");

const print = (options: AdminOptions, json: unknown, lines: () => string[]) =>
  console.log(options.json ? JSON.stringify(json, null, 2) : lines().join("\n"));

withNode(program.command("getinfo").description("the node's version, venue address, chain, block and watcher lag")).action(async (options: AdminOptions) => {
  const i = await info(options);
  print(options, i, () => [
    `clearline-node ${i.version}`,
    `venue        ${i.venue}`,
    `chain        ${i.chainId}  adjudicator ${i.adjudicator}`,
    `block        ${i.block}  processed ${i.lastProcessedBlock ?? "none yet"}  (watcher ${i.watcherLagBlocks === null ? "not started" : `${i.watcherLagBlocks} block${i.watcherLagBlocks === 1 ? "" : "s"} behind`})`,
    `channels     ${i.channels}`,
  ]);
});

withNode(program.command("balances").description("the venue wallet's tokens and ETH for gas")).action(async (options: AdminOptions) => {
  const i = await info(options);
  const json = { venue: i.venue, eth: formatEther(i.wallet.ethWei), ethWei: i.wallet.ethWei, assets: i.assets.map((a) => ({ ...a, amount: units(a.wallet, a).split(" ")[0], units: a.wallet })) };
  print(options, json, () => [`venue wallet ${i.venue}`, `  ETH  ${formatEther(i.wallet.ethWei)} (gas)`, ...i.assets.map((a) => `  ${a.symbol.padEnd(4)} ${units(a.wallet, a).split(" ")[0]}`)]);
});

withNode(program.command("channels").description("list channels with balances")).action(async (options: AdminOptions) => {
  const [list, known] = await Promise.all([channels(options), options.json ? Promise.resolve(undefined) : info(options).then((i) => i.assets)]);
  if (options.json || known === undefined) return console.log(JSON.stringify(list, null, 2));
  if (list.length === 0) return console.log("no channels");
  for (const c of list) {
    const dispute = c.dispute === null ? "" : `  dispute #${c.dispute.nonce} settles ${formatDeadline(c.dispute.deadline)}`;
    console.log(`${c.channelId}  ${c.status.padEnd(9)} nonce ${c.nonce}  investor ${c.investor}${dispute}`);
    c.assets.forEach((address, i) => {
      const asset = assetOf(address, known);
      console.log(`    ${asset.symbol.padEnd(6)} venue ${units(c.balances[i]?.venue ?? "0", asset)}  investor ${units(c.balances[i]?.investor ?? "0", asset)}`);
    });
  }
});

withNode(program.command("history").argument("<channel>", "channel id or a unique prefix").description("show a channel's agreed updates, newest first")).action(
  async (prefix: string, options: AdminOptions) => {
    const channelId = await channelIdOf(options, prefix);
    const history = (await admin(options, "GET", `/channels/${channelId}/history`)) as { nonce: string; kind: string; at: number; movements: unknown[] }[];
    if (options.json) return console.log(JSON.stringify(history, null, 2));
    for (const entry of history) console.log(`#${entry.nonce}  ${new Date(entry.at).toISOString()}  ${entry.kind}  ${JSON.stringify(entry.movements)}`);
  },
);

withNode(
  program
    .command("close")
    .argument("<channel>", "channel id or a unique prefix")
    .option("--force", "register the venue's latest state on chain instead (an unresponsive investor): settles after the challenge period")
    .description("close a channel cooperatively: the investor countersigns a final state of the latest balances, both sides are paid out at once"),
).action(async (prefix: string, options: AdminOptions & { force?: boolean }) => {
  const channelId = await channelIdOf(options, prefix);
  if (options.force === true) {
    const result = (await admin(options, "POST", `/channels/${channelId}/close`)) as { transactionHash: string };
    if (options.json) return console.log(JSON.stringify({ channelId, ...result }));
    return console.log(`registered the venue's latest state of ${channelId} on chain (tx ${result.transactionHash}); the node settles after the challenge period`);
  }
  const result = (await admin(options, "POST", `/channels/${channelId}/cooperative-close`)) as { nonce: string; transactionHash: string };
  if (options.json) return console.log(JSON.stringify({ channelId, ...result }));
  console.log(`closed ${channelId} cooperatively with final state #${result.nonce}: both sides are paid out (tx ${result.transactionHash})`);
});

withNode(
  program
    .command("withdraw")
    .argument("<channel>", "channel id or a unique prefix")
    .requiredOption("--asset <asset>", "the asset's symbol (or address, or index in the channel)")
    .requiredOption("--amount <decimal>", "amount in whole tokens, e.g. 10 or 0.5")
    .description("withdraw the venue's own funds from a channel without closing it (the investor countersigns)"),
).action(async (prefix: string, options: AdminOptions & { asset: string; amount: string }) => {
  const [list, i] = await Promise.all([channels(options), info(options)]);
  const channelId = resolveChannel(prefix, list.map((c) => c.channelId));
  const channel = list.find((c) => c.channelId === channelId)!;
  const assetIndex = resolveAsset(options.asset, channel.assets, i.assets);
  const asset = assetOf(channel.assets[assetIndex]!, i.assets);
  const amount = parseUnits(options.amount, asset);
  const held = BigInt(channel.balances[assetIndex]?.venue ?? "0");
  if (channel.status === "open" && amount > held) throw new AdminError("INSUFFICIENT_BALANCE", `the venue holds ${units(held, asset)} in ${channelId}, less than the ${units(amount, asset)} to withdraw`);
  const result = (await admin(options, "POST", `/channels/${channelId}/withdraw?asset=${assetIndex}&amount=${amount}`)) as { nonce: string; transactionHash: string };
  if (options.json) return console.log(JSON.stringify({ channelId, asset: asset.address, symbol: asset.symbol, amount: units(amount, asset).split(" ")[0], units: amount.toString(), ...result }));
  console.log(`withdrew ${units(amount, asset)} of the venue's funds from ${channelId} (state #${result.nonce}, tx ${result.transactionHash})`);
});

withNode(
  program
    .command("deposit")
    .argument("<channel>", "channel id or a unique prefix")
    .requiredOption("--asset <asset>", "the asset's symbol (or address, or index in the channel)")
    .requiredOption("--amount <decimal>", "amount in whole tokens, e.g. 10 or 0.5")
    .description("fund the venue's side of a channel on chain"),
).action(async (prefix: string, options: AdminOptions & { asset: string; amount: string }) => {
  const [list, i] = await Promise.all([channels(options), info(options)]);
  const channelId = resolveChannel(prefix, list.map((c) => c.channelId));
  const channel = list.find((c) => c.channelId === channelId)!;
  const assetIndex = resolveAsset(options.asset, channel.assets, i.assets);
  const asset = assetOf(channel.assets[assetIndex]!, i.assets);
  const amount = parseUnits(options.amount, asset);
  const result = (await admin(options, "POST", `/channels/${channelId}/deposit?asset=${assetIndex}&amount=${amount}`)) as { transactionHash: string };
  if (options.json) return console.log(JSON.stringify({ channelId, asset: asset.address, symbol: asset.symbol, amount: units(amount, asset).split(" ")[0], units: amount.toString(), ...result }));
  console.log(`deposited ${units(amount, asset)} to the venue's side of ${channelId} (tx ${result.transactionHash})`);
});

/** One line on stderr naming the cause, with the error's stable code; exit 2 for a wrong command line, 1 otherwise. */
function fail(error: unknown): never {
  if (isAdminError(error) || isShardError(error)) {
    console.error(`${error.message} (${error.code})`);
    process.exit(EXIT.FAILED);
  }
  if (error instanceof CliError || error instanceof ChainError) {
    const described = describeError(error);
    console.error(`${described.message} (${described.code})`);
    process.exit(described.exitCode);
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && code.startsWith("commander.")) {
    process.exit(code === "commander.helpDisplayed" || code === "commander.version" ? EXIT.OK : EXIT.USAGE);
  }
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(EXIT.FAILED);
}

program.parseAsync().catch(fail);
