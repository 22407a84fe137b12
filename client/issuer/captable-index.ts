// What a cap table learns from logs (client/issuer/captable.ts), kept so that a reader that asks again
// (the venue's console) scans only the blocks it has not seen: every set here only grows with the
// chain, and the latest registered nets of a channel replace the earlier ones.
import { getAddress, type Interface, type Log, type Provider } from "ethers";
import { interfaceOf } from "../chain/abi.js";
import { toChainError } from "../chain/errors.js";
import { CliError } from "../cli/errors.js";
import type { Address } from "../protocol/index.js";

/** A channel that has the token among its assets. */
export interface IndexedChannel {
  readonly participants: [Address, Address];
  readonly assetIndex: number;
}

export interface CapTableIndex {
  /** The first block scanned. */
  readonly fromBlock: number;
  /** The last block scanned; `fromBlock - 1` before the first scan. */
  scannedTo: number;
  /** Every address but the zero address and the adjudicator in the token's Transfer events. */
  readonly holders: Set<Address>;
  /** Channels opened with the token, by id (lower-case). */
  readonly channels: Map<string, IndexedChannel>;
  /** Channels with a Deposited event of the token. */
  readonly deposited: Set<string>;
  /** The latest registered nets of each channel opened with the token. */
  readonly registered: Map<string, bigint[]>;
  /** Holders with a deferred payout of the token. */
  readonly claimants: Set<Address>;
  /** Sender and receiver of every held movement of the token. */
  readonly heldPairs: Map<string, [Address, Address]>;
}

export function newCapTableIndex(fromBlock: number): CapTableIndex {
  return { fromBlock, scannedTo: fromBlock - 1, holders: new Set(), channels: new Map(), deposited: new Set(), registered: new Map(), claimants: new Set(), heldPairs: new Map() };
}

export function copyCapTableIndex(index: CapTableIndex): CapTableIndex {
  return {
    fromBlock: index.fromBlock,
    scannedTo: index.scannedTo,
    holders: new Set(index.holders),
    channels: new Map(index.channels),
    deposited: new Set(index.deposited),
    registered: new Map(index.registered),
    claimants: new Set(index.claimants),
    heldPairs: new Map(index.heldPairs),
  };
}

export interface IndexScan {
  readonly provider: Provider;
  readonly token: Address;
  readonly tokenInterface: Interface;
  readonly symbol: string;
  readonly adjudicator: Address;
  /** Blocks per getLogs call. */
  readonly chunk: number;
  /** Holders at most (a USAGE error beyond). */
  readonly maxAccounts: number;
}

const ZERO = "0x0000000000000000000000000000000000000000";

/** Adds the logs of blocks `index.scannedTo + 1` … `toBlock` to `index`, a chunk at a time, in block order. */
export async function scanCapTableLogs(index: CapTableIndex, scan: IndexScan, toBlock: number): Promise<void> {
  const adjudicator = interfaceOf("Adjudicator");
  const tokenTopic = `0x${scan.token.slice(2).toLowerCase().padStart(64, "0")}`;
  const topicOf = (iface: Interface, event: string): string => iface.getEvent(event)!.topicHash;
  for (let start = index.scannedTo + 1; start <= toBlock; start += scan.chunk) {
    const end = Math.min(toBlock, start + scan.chunk - 1);
    const logs = async (address: Address, topics: (string | null)[]): Promise<Log[]> => {
      try {
        return await scan.provider.getLogs({ address, topics, fromBlock: start, toBlock: end });
      } catch (error) {
        throw toChainError(error, "getLogs");
      }
    };
    for (const log of await logs(scan.token, [topicOf(scan.tokenInterface, "Transfer")])) {
      const parsed = scan.tokenInterface.parseLog(log)!;
      for (const who of [parsed.args[0] as string, parsed.args[1] as string]) {
        const account = getAddress(who);
        if (who === ZERO || account === scan.adjudicator || index.holders.has(account)) continue;
        if (index.holders.size >= scan.maxAccounts) {
          throw new CliError("USAGE", `more than ${scan.maxAccounts} accounts hold or held ${scan.symbol}: raise --max-accounts or narrow --from-block`, { maxAccounts: scan.maxAccounts });
        }
        index.holders.add(account);
      }
    }
    // Opened before registered: a channel's ChannelOpened is never in a later block than its StateRegistered.
    for (const log of await logs(scan.adjudicator, [topicOf(adjudicator, "ChannelOpened")])) {
      const args = adjudicator.parseLog(log)!.args;
      const assetIndex = (args.getValue("assets") as string[]).findIndex((a) => getAddress(a) === scan.token);
      if (assetIndex < 0) continue;
      const participants: [Address, Address] = [getAddress(args.getValue("participant0") as string), getAddress(args.getValue("participant1") as string)];
      index.channels.set(log.topics[1]!.toLowerCase(), { participants, assetIndex });
    }
    for (const log of await logs(scan.adjudicator, [topicOf(adjudicator, "Deposited"), null, tokenTopic])) index.deposited.add(log.topics[1]!.toLowerCase());
    for (const log of await logs(scan.adjudicator, [topicOf(adjudicator, "StateRegistered")])) {
      const id = log.topics[1]!.toLowerCase();
      if (index.channels.has(id)) index.registered.set(id, Array.from(adjudicator.parseLog(log)!.args.getValue("nets") as bigint[]));
    }
    for (const log of await logs(scan.adjudicator, [topicOf(adjudicator, "PayoutDeferred"), null, tokenTopic])) index.claimants.add(getAddress(`0x${log.topics[3]!.slice(26)}`));
    for (const log of await logs(scan.adjudicator, [topicOf(adjudicator, "MovementHeld"), null, tokenTopic])) {
      const args = adjudicator.parseLog(log)!.args;
      const from = getAddress(args.getValue("from") as string);
      const to = getAddress(args.getValue("to") as string);
      index.heldPairs.set(`${from}${to}`, [from, to]);
    }
    index.scannedTo = end;
  }
}
