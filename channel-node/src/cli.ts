// The venue operator's CLI: start the node, list channels with balances, show a channel's history,
// force-close a channel of an unresponsive investor. The other commands talk to a running node's
// admin API (loopback only, bearer token from the node's data directory; the node owns its LevelDB
// directory exclusively).
import { join } from "node:path";
import { Command } from "commander";
import { loadNodeConfig } from "./config.js";
import { startNode } from "./node.js";
import { ADMIN_TOKEN_FILE, readAdminToken } from "./admin-auth.js";
import { PortInUseError } from "./transport.js";

const program = new Command("clearline-node").description("Clearline channel node: the venue's server");

program
  .command("start")
  .description("run the node until SIGINT/SIGTERM")
  .option("-c, --config <file>", "JSON config file (CLEARLINE_* environment variables override it)")
  .action(async (options: { config?: string }) => {
    const config = loadNodeConfig(options.config);
    const node = await startNode(config).catch((error: unknown) => {
      if (error instanceof PortInUseError) throw new Error(`${error.message}: set CLEARLINE_PORT (or "port" in the config file) to a free port`);
      throw error;
    });
    node.logger.info({ adminTokenFile: node.adminTokenFile }, "admin API token (send it with --token-file)");
    const stop = async () => {
      await node.stop();
      process.exit(0);
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => void stop());
  });

const adminUrl = (options: { url: string }, path: string) => new URL(`/admin${path}`, options.url.replace(/^ws/, "http"));

interface AdminOptions {
  url: string;
  tokenFile: string;
  json?: boolean;
}

async function admin(options: AdminOptions, method: string, path: string): Promise<unknown> {
  const token = readAdminToken(options.tokenFile);
  const response = await fetch(adminUrl(options, path), { method, headers: { authorization: `Bearer ${token}` } });
  const body: unknown = await response.json();
  if (!response.ok) {
    const message = typeof body === "object" && body !== null && "error" in body ? String(body.error) : response.statusText;
    throw new Error(`the node answered ${response.status}: ${message}`);
  }
  return body;
}

const withNode = (command: Command) =>
  command
    .option("-u, --url <url>", "the node's address", "http://127.0.0.1:7545")
    .option("-t, --token-file <file>", "the node's admin token file", join(process.env.CLEARLINE_DATA_DIR ?? ".clearline/node", ADMIN_TOKEN_FILE))
    .option("--json", "machine-readable output");

withNode(program.command("channels").description("list channels with balances")).action(async (options: AdminOptions) => {
  const channels = (await admin(options, "GET", "/channels")) as {
    channelId: string;
    investor: string;
    status: string;
    nonce: string;
    assets: string[];
    balances: { venue: string; investor: string }[];
  }[];
  if (options.json) return console.log(JSON.stringify(channels, null, 2));
  if (channels.length === 0) return console.log("no channels");
  for (const c of channels) {
    console.log(`${c.channelId}  ${c.status.padEnd(9)} nonce ${c.nonce}  investor ${c.investor}`);
    c.assets.forEach((asset, i) => console.log(`    ${asset}  venue ${c.balances[i]?.venue}  investor ${c.balances[i]?.investor}`));
  }
});

withNode(program.command("history").argument("<channelId>").description("show a channel's agreed updates, newest first")).action(
  async (channelId: string, options: AdminOptions) => {
    const history = (await admin(options, "GET", `/channels/${channelId}/history`)) as { nonce: string; kind: string; at: number; movements: unknown[] }[];
    if (options.json) return console.log(JSON.stringify(history, null, 2));
    for (const entry of history) console.log(`#${entry.nonce}  ${new Date(entry.at).toISOString()}  ${entry.kind}  ${JSON.stringify(entry.movements)}`);
  },
);

withNode(program.command("close").argument("<channelId>").description("force-close a channel on chain with the venue's latest state")).action(
  async (channelId: string, options: AdminOptions) => {
    const result = (await admin(options, "POST", `/channels/${channelId}/close`)) as { transactionHash: string };
    if (options.json) return console.log(JSON.stringify(result));
    console.log(`registered the venue's latest state on chain (tx ${result.transactionHash}); the node settles after the challenge period`);
  },
);

withNode(
  program
    .command("deposit")
    .argument("<channelId>")
    .requiredOption("--asset <index>", "asset index in the channel")
    .requiredOption("--amount <units>", "amount in the token's smallest units")
    .description("fund the venue's side of a channel on chain"),
).action(async (channelId: string, options: AdminOptions & { asset: string; amount: string }) => {
  const result = (await admin(options, "POST", `/channels/${channelId}/deposit?asset=${encodeURIComponent(options.asset)}&amount=${encodeURIComponent(options.amount)}`)) as {
    transactionHash: string;
  };
  if (options.json) return console.log(JSON.stringify(result));
  console.log(`deposited (tx ${result.transactionHash})`);
});

program.parseAsync().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
