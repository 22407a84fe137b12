// `npm start`: the main job. Without configuration it starts an embedded local chain on 127.0.0.1
// (Hardhat's node), deploys the system with Ignition, gives the venue and demo investors identities
// and tokens, and runs the venue's channel node against it. With CLEARLINE_RPC_URL (or
// CLEARLINE_NODE_CONFIG, a node config file) it runs the node against that chain instead.
// Ctrl-C stops everything it started.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadNodeConfig } from "../channel-node/src/config.js";
import { startNode, type RunningNode } from "../channel-node/src/node.js";
import { ROLES, devWallet, startStack, type Stack } from "./lib/stack.js";

const DATA_DIR = process.env.CLEARLINE_DATA_DIR ?? ".clearline";
let stack: Stack | undefined;
let node: RunningNode | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log("\nstopping…");
    await node?.stop();
    await stack?.stop();
  }
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

try {
  const external = process.env.CLEARLINE_NODE_CONFIG !== undefined || process.env.CLEARLINE_RPC_URL !== undefined;
  if (external) {
    node = await startNode(loadNodeConfig(process.env.CLEARLINE_NODE_CONFIG));
    console.log(`channel node for venue ${node.venue} listening on ${node.url} — Ctrl-C stops it`);
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
    node = await startNode(stack.nodeConfig({ dataDir: join(DATA_DIR, "node", `chain-${stack.chain.port}`), port, logLevel: "info" }));
    const deployment = {
      rpcUrl: stack.chain.url,
      chainId: stack.chainId.toString(),
      nodeUrl: node.url,
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
Demo investors (Hardhat's well-known test keys): alice ${deployment.accounts.alice}, bob ${deployment.accounts.bob},
carol ${deployment.accounts.carol} (no valid KYC).
Deployment written to ${join(DATA_DIR, "deployment.json")}. Connect a client, e.g.:
  CLEARLINE_KEY=${devWallet(ROLES.alice).privateKey} npm run clearline -- open --asset cash --amount 1000
Ctrl-C stops the node and the chain.`);
  }
} catch (error) {
  console.error(error);
  await stop(1);
}
