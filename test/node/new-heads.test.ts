// New-block notifications (channel-node/src/new-heads.ts): against a real Hardhat node process every
// mined block is announced with its number, and nothing after stop(); against an RPC that refuses
// eth_subscribe (a real WebSocket server answering an error) the subscription never goes live, is
// retried at the configured delay only, and notifications of a subscription it does not hold are
// ignored.
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { pino } from "pino";
import { WebSocketServer } from "ws";
import { NewHeadsSubscription } from "../../channel-node/src/new-heads.js";
import { freePort, startLocalChain, type LocalChain } from "../../devstack/local-chain.js";

const logger = pino({ level: "silent" });

describe("NewHeadsSubscription", () => {
  let chain: LocalChain;

  beforeAll(async () => {
    chain = await startLocalChain();
  });

  afterAll(async () => {
    await chain.stop();
  });

  async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
    const response = await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
    return ((await response.json()) as { result: unknown }).result;
  }

  it("announces every block a real node mines, and nothing after stop()", async () => {
    const heads: bigint[] = [];
    const states: boolean[] = [];
    const subscription = new NewHeadsSubscription({ url: chain.url.replace("http", "ws"), reconnectMs: 1_000, logger, onHead: (n) => heads.push(n), onState: (s) => states.push(s) });
    subscription.start();
    await vi.waitFor(() => expect(states).toEqual([true]));
    await rpc("evm_mine");
    await rpc("evm_mine");
    const head = BigInt(String(await rpc("eth_blockNumber")));
    await vi.waitFor(() => expect(heads).toEqual([head - 1n, head]));
    await subscription.stop();
    await rpc("evm_mine");
    await sleep(300);
    expect(heads).toEqual([head - 1n, head]);
  });

  it("stays polling-only against an RPC that refuses subscriptions, retrying at the configured delay, and ignores foreign notifications", async () => {
    const port = await freePort();
    const server = new WebSocketServer({ host: "127.0.0.1", port });
    let connections = 0;
    server.on("connection", (socket) => {
      connections += 1;
      // A notification for a subscription the client does not hold, then the refusal.
      socket.send(JSON.stringify({ jsonrpc: "2.0", method: "eth_subscription", params: { subscription: "0xforged", result: { number: "0x10" } } }));
      socket.on("message", () => socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, error: { code: -32601, message: "the method eth_subscribe does not exist" } })));
    });
    const heads: bigint[] = [];
    const states: boolean[] = [];
    const subscription = new NewHeadsSubscription({ url: `ws://127.0.0.1:${port}`, reconnectMs: 200, logger, onHead: (n) => heads.push(n), onState: (s) => states.push(s) });
    try {
      subscription.start();
      await sleep(1_100);
      expect(states).toEqual([]);
      expect(heads).toEqual([]);
      // One attempt at start, then one per 200 ms: about six, never a tight loop.
      expect(connections).toBeGreaterThanOrEqual(3);
      expect(connections).toBeLessThanOrEqual(7);
    } finally {
      await subscription.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
