// The load generator's pre-signed proposals (bench/lib/presign.ts) and how many each open-loop lane
// needs (bench/lib/open-loop.ts `laneDueBy`): real states, real libsecp256k1 signatures, checked the
// way the node checks them.
import { describe, expect, it } from "vitest";
import { keccak256, toBeHex } from "ethers";
import {
  NativeSigner,
  applyUpdate,
  channelOf,
  genesisState,
  loadVerifier,
  stateDigest,
  stateFromJson,
  type Channel,
  type State,
  type Update,
} from "../../client/protocol/index.js";
import { ProposalSupply } from "../../bench/lib/presign.js";
import { arrivalsDueBy, dueAt, laneDueBy, openLoopSchedule } from "../../bench/lib/open-loop.js";

const PAYMENT: Update = { kind: "payment", leg: { assetIndex: 0, from: 1, amount: 1n } };
const deployment = { chainId: 31337n, adjudicator: "0x5FbDB2315678afecb367f032d93F642f64180aa3" };

async function setup(): Promise<{ channel: Channel; investor: NativeSigner }> {
  const venue = await NativeSigner.create(keccak256(toBeHex(1, 32)));
  const investor = await NativeSigner.create(keccak256(toBeHex(2, 32)));
  const channel = channelOf(
    {
      participants: [venue.address, investor.address],
      assets: ["0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002"],
      challengePeriod: 3_600n,
      salt: keccak256(toBeHex(3, 32)),
    },
    deployment,
  );
  return { channel, investor };
}

interface Sent {
  readonly id: string;
  readonly state: State;
  readonly signature: string;
}
const parse = (text: string): Sent => {
  const message = JSON.parse(text) as { type: string; id: string; state: unknown; signature: string };
  expect(message.type).toBe("propose");
  return { id: message.id, state: stateFromJson(message.state), signature: message.signature };
};

describe("bench pre-signed proposals", () => {
  it("pre-signs the channel's next states in nonce order and builds live once they run out, continuing the chain", async () => {
    const { channel, investor } = await setup();
    const verifier = await loadVerifier();
    const supply = new ProposalSupply(channel, investor, PAYMENT, genesisState(channel).state, (nonce) => nonce % 4n === 0n);
    supply.presign(5);
    expect(supply.presigned).toBe(5);

    let expected = genesisState(channel).state;
    const origins: boolean[] = [];
    for (let i = 0; i < 8; i++) {
      origins.push(supply.nextIsPresigned());
      const proposal = supply.next();
      // Asking again without an answer gives the same proposal (a refused one is sent again).
      expect(supply.next()).toBe(proposal);
      expected = applyUpdate(channel, expected, PAYMENT);
      const sent = parse(proposal.text);
      expect(sent.state).toEqual(expected);
      expect(sent.id).toBe(proposal.id);
      expect(proposal.id).toBe(`p${expected.nonce}`);
      const digest = stateDigest(expected, channel.domain);
      expect(verifier.verify(digest, sent.signature, investor.address)).toBe(true);
      // The digest is kept exactly for the nonces whose countersignature is verified.
      expect(proposal.digest).toBe(expected.nonce % 4n === 0n ? digest : undefined);
      supply.advance();
    }
    expect(origins).toEqual([true, true, true, true, true, false, false, false]);
    expect(supply.builtLive).toBe(3);
  });

  it("refuses what would break the chain: pre-signing after a live build, advancing past what was taken, a bad count", async () => {
    const { channel, investor } = await setup();
    const supply = new ProposalSupply(channel, investor, PAYMENT, genesisState(channel).state, () => false);
    const codeOf = (f: () => void) => {
      try {
        f();
      } catch (error) {
        return (error as { code?: string }).code;
      }
      return "no error";
    };
    expect(codeOf(() => supply.advance())).toBe("INVALID_PRESIGN");
    expect(codeOf(() => supply.presign(-1))).toBe("INVALID_PRESIGN");
    expect(codeOf(() => supply.presign(1.5))).toBe("INVALID_PRESIGN");
    supply.next();
    expect(codeOf(() => supply.presign(1))).toBe("INVALID_PRESIGN");
    expect(supply.presigned).toBe(0);
    expect(supply.builtLive).toBe(1);
  });

  it("gives each open-loop lane exactly the proposals due by a time, summing to the arrivals due", () => {
    for (const [rate, lanes, start] of [
      [1_768, 64, 0],
      [37, 5, 12.5],
      [3_000, 1_000, 1e6 / 3],
      [0.5, 3, 0],
    ] as const) {
      const schedule = openLoopSchedule(rate, lanes, start);
      for (const atMs of [start - 1, start, start + 999.9, start + 10_000, start + 12_345.678]) {
        let total = 0;
        for (let lane = 0; lane < lanes; lane++) {
          let brute = 0;
          while (dueAt(schedule, lane, brute) <= atMs) brute += 1;
          expect(laneDueBy(schedule, lane, atMs)).toBe(brute);
          total += brute;
        }
        expect(total).toBe(arrivalsDueBy(schedule, atMs));
      }
    }
    // At (or a hair before) a due time, where the division rounds either way: counted by dueAt itself.
    for (const [rate, lanes, start, lane, n] of [
      [1_645, 90, 123_456.789, 3, 51],
      [1_768, 74, 1e6 / 3, 57, 153],
      [333.3, 31, 1e6 / 3, 0, 221],
      [3, 93, 12.5, 62, 238],
    ] as const) {
      const schedule = openLoopSchedule(rate, lanes, start);
      for (const atMs of [dueAt(schedule, lane, n), dueAt(schedule, lane, n) - 1e-9]) {
        let brute = 0;
        while (dueAt(schedule, lane, brute) <= atMs) brute += 1;
        expect(laneDueBy(schedule, lane, atMs)).toBe(brute);
      }
    }
    expect(() => laneDueBy(openLoopSchedule(10, 2, 0), 2, 100)).toThrow(expect.objectContaining({ code: "INVALID_SCHEDULE" }));
  });
});
