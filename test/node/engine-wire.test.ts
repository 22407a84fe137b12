// The engine's bounds over the wire: a node process on a chain process, raw WebSocket peers. An
// investor without valid KYC cannot register a channel (NOT_ELIGIBLE naming the ERC-1404 rule), an
// eligible one only up to the bound of unopened registrations, invoice requests are relayed only
// from channels open on chain; each refusal is counted on /metrics by reason.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hexlify, randomBytes } from "ethers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelOf } from "../../client/protocol/index.js";
import { PROTOCOL_VERSION } from "../../client/protocol/wire.js";
import { nodeConfigSchema } from "../../channel-node/src/config.js";
import { ROLES, devWallet, startStack, type Stack } from "../../devstack/stack.js";
import { adminGet, startNodeProcess, type NodeProcess } from "../helpers/node-process.js";
import { RawPeer } from "../helpers/raw-peer.js";

const venue = devWallet(ROLES.venue);
const alice = devWallet(ROLES.alice);
const carol = devWallet(ROLES.carol);

describe("engine bounds over the wire", () => {
  let stack: Stack;
  let node: NodeProcess;
  let dir: string;
  const peers: RawPeer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "clearline-engine-wire-"));
    stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.carol, identity: { kyc: false }, securities: 0n }] });
    const engineBounds = nodeConfigSchema.shape.engineBounds.unwrap().parse({ maxProposedChannelsPerInvestor: 1 });
    node = await startNodeProcess(stack.nodeConfig({ dataDir: join(dir, "node"), engineBounds }), dir);
  }, 180_000);

  afterAll(async () => {
    for (const peer of peers) await peer.close();
    await node?.stop();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function login(privateKey: string): Promise<RawPeer> {
    const { peer } = await RawPeer.login(node.url, privateKey);
    peers.push(peer);
    return peer;
  }

  function open(peer: RawPeer, investor: string) {
    const params = { participants: [venue.address, investor] as [string, string], assets: [stack.addresses.token, stack.addresses.cash], challengePeriod: "3600", salt: hexlify(randomBytes(32)) };
    const channelId = channelOf({ ...params, challengePeriod: 3_600n }, peer.deployment).channelId;
    return { channelId, answer: peer.request({ v: PROTOCOL_VERSION, type: "open", id: peer.newId(), params }) };
  }

  it("refuses, counts and changes nothing", async () => {
    const carolPeer = await login(carol.privateKey);
    const refused = await open(carolPeer, carol.address).answer;
    expect(refused.raw).toMatchObject({ type: "error", code: "NOT_ELIGIBLE" });
    expect(String(refused.raw.message)).toMatch(/RECEIVER_NOT_ELIGIBLE \(ERC-1404 0x57: Receiver lacks valid KYC\/AML\)/);

    const alicePeer = await login(alice.privateKey);
    const first = open(alicePeer, alice.address);
    expect((await first.answer).raw).toMatchObject({ type: "opened" });
    expect((await open(alicePeer, alice.address).answer).raw).toMatchObject({ type: "error", code: "TOO_MANY_PROPOSED_CHANNELS" });

    const request = { v: PROTOCOL_VERSION, type: "invoice_request", id: alicePeer.newId(), channelId: first.channelId, to: carol.address, token: stack.addresses.cash, amount: "1" };
    expect((await alicePeer.request(request)).raw).toMatchObject({ type: "rejected", code: "CHANNEL_NOT_OPEN" });

    const channels = await adminGet<{ investor: string }[]>(node, "/channels");
    expect(channels.map((c) => c.investor)).toEqual([alice.address]);
    const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/clearline_bound_refusals_total\{reason="NOT_ELIGIBLE"\} 1/);
    expect(metrics).toMatch(/clearline_bound_refusals_total\{reason="TOO_MANY_PROPOSED_CHANNELS"\} 1/);
  });
});
