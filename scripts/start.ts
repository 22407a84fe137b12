// `npm start`: the main job. Without configuration it starts an embedded local chain on 127.0.0.1
// (Hardhat's node), deploys the system with Ignition, gives the venue and demo investors identities
// and tokens, and runs the venue's channel node against it, trading one market of the security against
// cash (fills settled in the channels). With CLEARLINE_RPC_URL (or
// CLEARLINE_NODE_CONFIG, a node config file) it runs the node against that chain instead.
// Every exit path (Ctrl-C, SIGTERM, SIGHUP, a failed start, an unexpected error) stops everything it
// started; a busy port is a one-line error naming the port and the variable that changes it.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadNodeConfig } from "../channel-node/src/config.js";
import { CodedError } from "../client/protocol/coded-error.js";
import { startNode, type RunningNode } from "../channel-node/src/node.js";
import { isPortInUseError } from "../channel-node/src/transport.js";
import { stopLocalChains } from "../devstack/local-chain.js";
import { ROLES, demoTrading, devWallet, startStack, type Stack } from "../devstack/stack.js";

const DATA_DIR = process.env.CLEARLINE_DATA_DIR ?? ".clearline";
const external = process.env.CLEARLINE_NODE_CONFIG !== undefined || process.env.CLEARLINE_RPC_URL !== undefined;
let stack: Stack | undefined;
let node: RunningNode | undefined;
let stopping = false;

/** Stops what was started (the node, then the chain, also one still starting) and exits. */
async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    try {
      await node?.stop();
      await stack?.stop();
    } catch (error) {
      console.error(`stopping failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      await stopLocalChains();
    }
  }
  process.exit(code);
}

/** One line for what the operator can fix; the whole error for what is a bug. */
function failed(error: unknown): Promise<never> {
  if (isPortInUseError(error)) {
    const where = external ? 'CLEARLINE_PORT (or "port" in the node config file)' : "CLEARLINE_PORT";
    console.error(`clearline: ${error.message}; set ${where} to a free port`);
  } else if (error instanceof CodedError) {
    console.error(`clearline: ${error.shortMessage} (${error.code})`);
  } else if (error instanceof Error && "code" in error && typeof error.code === "string") {
    console.error(`clearline: ${error.message} (${error.code})`);
  } else {
    console.error(error);
  }
  return stop(1);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(signal, () => {
    console.log("\nstopping…");
    void stop(0);
  });
}
process.on("uncaughtException", (error) => void failed(error));
process.on("unhandledRejection", (error) => void failed(error));

try {
  if (external) {
    node = await startNode(loadNodeConfig(process.env.CLEARLINE_NODE_CONFIG));
    console.log(`channel node for venue ${node.venue} listening on ${node.url} (admin token ${node.adminTokenFile}; web console ${node.url.replace("ws", "http")}/console/) — Ctrl-C stops it`);
  } else {
    stack = await startStack({
      investors: [
        { index: ROLES.alice },
        { index: ROLES.bob },
        // carol's KYC has lapsed: transfers to her are refused (ERC-1404 0x57)
        { index: ROLES.carol, identity: { kyc: false }, securities: 0n },
      ],
    });
    const port = Number(process.env.CLEARLINE_PORT ?? 7545);
    const trading = demoTrading(stack);
    node = await startNode(stack.nodeConfig({ dataDir: join(DATA_DIR, "node", `chain-${stack.chain.port}`), port, logLevel: "info", trading }));
    const deployment = {
      rpcUrl: stack.chain.url,
      chainId: stack.chainId.toString(),
      nodeUrl: node.url,
      // The embedded chain starts empty: every Clearline event is at or after block 0.
      startBlock: 0,
      contracts: stack.addresses,
      accounts: {
        venue: devWallet(ROLES.venue).address,
        alice: devWallet(ROLES.alice).address,
        bob: devWallet(ROLES.bob).address,
        carol: devWallet(ROLES.carol).address,
      },
    };
    mkdirSync(DATA_DIR, { recursive: true });
    writeFileSync(join(DATA_DIR, "deployment.json"), JSON.stringify(deployment, null, 2) + "\n");
    console.log(`
Clearline is running on an embedded chain.
  chain         ${stack.chain.url} (chain id ${stack.chainId}, Hardhat node pid ${stack.chain.pid})
  adjudicator   ${stack.addresses.adjudicator}
  security      ${stack.addresses.token} (restricted, ERC-1404)
  cash          ${stack.addresses.cash}
  venue node    ${node.url}  (health: ${node.url.replace("ws", "http")}/health, metrics: /metrics)
  market        ${trading.markets[0]!.security} against ${trading.markets[0]!.cash}, lots of 1 token, order log anchor ${trading.orderLogAnchor}
  web console   ${node.url.replace("ws", "http")}/console/  (read-only: docs/operations.md, "Web console")
  admin token   ${node.adminTokenFile} (operator: npm run node -- channels --url ${node.url.replace("ws", "http")} --token-file ${node.adminTokenFile})
Demo investors (Hardhat's well-known test keys; set one as CLEARLINE_KEY):
  alice         ${deployment.accounts.alice}  key ${devWallet(ROLES.alice).privateKey}
  bob           ${deployment.accounts.bob}  key ${devWallet(ROLES.bob).privateKey}
  carol         ${deployment.accounts.carol}  (no valid KYC)
Issuer, controller and identity validator (set as CLEARLINE_ISSUER_KEY for npm run issuer):
  issuer        ${devWallet(ROLES.issuer).address}  key ${devWallet(ROLES.issuer).privateKey}
Deployment written to ${join(DATA_DIR, "deployment.json")}. Connect a client, e.g.:
  CLEARLINE_KEY=${devWallet(ROLES.alice).privateKey} npm run clearline -- open --asset cash --amount 1000
Ctrl-C stops the node and the chain.`);
  }
} catch (error) {
  await failed(error);
}
