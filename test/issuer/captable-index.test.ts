// The cap table's kept log index (client/issuer/captable-index.ts), as the venue's console uses it: a
// second read scans only the blocks since the first (less the reorganisation margin) and gives the same
// table as a fresh scan, on a real chain (a Hardhat node process with the whole system deployed).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Contract, Wallet, ZeroHash, type Filter, type FilterByBlockHash, type Log, type Provider } from "ethers";
import { startStack, devWallet, ROLES, SECURITY_UNIT, type Stack } from "../../devstack/stack.js";
import { AdjudicatorClient } from "../../client/chain/adjudicator.js";
import { restrictedTokenAbi } from "../../client/chain/abi.js";
import { CAP_TABLE_REORG_MARGIN, readCapTable, type CapTableSource, type KeptCapTableIndex } from "../../client/issuer/captable.js";
import type { Address, Params } from "../../client/protocol/index.js";

const venue = devWallet(ROLES.venue);
const alice = devWallet(ROLES.alice);
const bob = devWallet(ROLES.bob);

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ investors: [{ index: ROLES.alice }, { index: ROLES.bob }] });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
});

/** A cap-table source over the stack's token whose provider records the first block of every getLogs call. */
function source(): { source: CapTableSource; scannedFrom: number[] } {
  const provider = stack.connection.ethers.provider;
  const scannedFrom: number[] = [];
  const recording = new Proxy(provider, {
    get(target, property, receiver) {
      if (property === "getLogs") {
        return (filter: Filter | FilterByBlockHash): Promise<Log[]> => {
          scannedFrom.push(Number((filter as Filter).fromBlock));
          return target.getLogs(filter);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as Provider;
  const token = new Contract(stack.addresses.token, restrictedTokenAbi() as never, recording);
  return {
    scannedFrom,
    source: {
      provider: recording,
      adjudicator: stack.addresses.adjudicator as Address,
      token: () => token,
      tokenFacts: async () => ({ address: stack.addresses.token as Address, symbol: "CLS", decimals: 18 }),
      view: (contract, method, ...args) => contract.getFunction(method).staticCall(...args) as Promise<unknown>,
    },
  };
}

async function adjudicatorAs(wallet: { privateKey: string }): Promise<AdjudicatorClient> {
  return AdjudicatorClient.connect(new Wallet(wallet.privateKey, stack.connection.ethers.provider), stack.addresses.adjudicator as Address);
}

const channelOf = (investor: Address, salt: string): Params => ({
  participants: [investor, venue.address as Address],
  assets: [stack.addresses.token as Address],
  challengePeriod: 60n,
  salt: salt as Params["salt"],
});

describe("cap table with a kept log index", () => {
  it("scans only new blocks on the next read, and reads the same table as a fresh scan", async () => {
    await (await adjudicatorAs(alice)).open(channelOf(alice.address as Address, ZeroHash), 0, 10n * SECURITY_UNIT);
    // Blocks one by one (hardhat_mine's reserved blocks have no state to read at).
    for (let i = 0; i < 2 * CAP_TABLE_REORG_MARGIN; i++) await stack.connection.ethers.provider.send("evm_mine", []);

    const kept: KeptCapTableIndex = {};
    const first = source();
    const read1 = await readCapTable(first.source, {}, kept);
    const head1 = read1.data.block;
    expect(kept.index!.scannedTo).toBe(head1 - CAP_TABLE_REORG_MARGIN);
    expect(Math.min(...first.scannedFrom)).toBe(0);
    expect(read1.data).toEqual((await readCapTable(source().source, {})).data);

    // Later: bob opens a channel, alice sends bob tokens in her wallet.
    await (await adjudicatorAs(bob)).open(channelOf(bob.address as Address, `0x${"01".padStart(64, "0")}`), 0, 3n * SECURITY_UNIT);
    const tokenAsAlice = new Contract(stack.addresses.token, restrictedTokenAbi() as never, new Wallet(alice.privateKey, stack.connection.ethers.provider));
    await (await tokenAsAlice.getFunction("transfer")(bob.address, 7n * SECURITY_UNIT)).wait();

    const second = source();
    const read2 = await readCapTable(second.source, {}, kept);
    // Only what the kept index had not seen: from its last block onwards, nothing from block 0.
    expect(Math.min(...second.scannedFrom)).toBe(head1 - CAP_TABLE_REORG_MARGIN + 1);
    expect(read2.data).toEqual((await readCapTable(source().source, {})).data);
    const bobRow = read2.data.holders.find((h) => h.address === bob.address)!;
    expect(bobRow).toMatchObject({ channelsUnits: (3n * SECURITY_UNIT).toString() });
    expect(read2.data.channels).toHaveLength(2);

    // A read as of a block older than the index has seen starts it over, and is right for that block.
    const older = kept.index!.scannedTo - 1;
    const past = await readCapTable(source().source, { block: String(older) }, kept);
    expect(kept.index!.scannedTo).toBe(older - CAP_TABLE_REORG_MARGIN);
    expect(past.data).toEqual((await readCapTable(source().source, { block: String(older) })).data);
    expect(past.data.channels).toHaveLength(1);
  }, 120_000);
});
