/**
 * Small, framework-neutral EVM test helpers for Hardhat 3 + ethers v6 + vitest: time travel,
 * snapshots, and custom-error / event assertions (Hardhat 3 has no chai matchers here).
 */
import { expect } from "vitest";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { ContractTransactionReceipt, ContractTransactionResponse, Interface, LogDescription } from "ethers";

/** Anything with an ethers `Interface` (every contract). */
export interface HasInterface {
  readonly interface: Interface;
}

/** Time helpers over the connection's provider (seconds, as bigint). */
export interface TimeHelpers {
  /** Timestamp of the latest mined block. */
  latest(): Promise<bigint>;
  /** Advances time by `seconds` and mines a block. */
  increase(seconds: bigint | number): Promise<void>;
  /** Mines a block with timestamp exactly `timestamp`. */
  increaseTo(timestamp: bigint | number): Promise<void>;
  /** Makes the next mined block (e.g. the next transaction) have timestamp exactly `timestamp`. */
  setNextBlockTimestamp(timestamp: bigint | number): Promise<void>;
}

export function timeHelpers(ethers: HardhatEthers): TimeHelpers {
  const latest = async (): Promise<bigint> => {
    const block = await ethers.provider.getBlock("latest");
    if (block === null) throw new Error("no latest block");
    return BigInt(block.timestamp);
  };
  return {
    latest,
    async increase(seconds) {
      await ethers.provider.send("evm_increaseTime", [Number(seconds)]);
      await ethers.provider.send("evm_mine", []);
    },
    async increaseTo(timestamp) {
      await ethers.provider.send("evm_mine", [Number(timestamp)]);
    },
    async setNextBlockTimestamp(timestamp) {
      await ethers.provider.send("evm_setNextBlockTimestamp", [Number(timestamp)]);
    },
  };
}

/** Takes an EVM snapshot; the returned function reverts to it (and can be called repeatedly). */
export async function takeSnapshot(ethers: HardhatEthers): Promise<() => Promise<void>> {
  let id = (await ethers.provider.send("evm_snapshot", [])) as string;
  return async () => {
    const ok = (await ethers.provider.send("evm_revert", [id])) as boolean;
    if (!ok) throw new Error(`evm_revert(${id}) failed`);
    // A snapshot is consumed by reverting to it: take it again so the restore can be reused.
    id = (await ethers.provider.send("evm_snapshot", [])) as string;
  };
}

/** Normalises values for comparison: numbers → bigint, addresses → lower case, Results → arrays. */
export function normalise(value: unknown): unknown {
  if (typeof value === "number") return BigInt(value);
  if (typeof value === "string" && /^0x[0-9a-fA-F]*$/.test(value)) return value.toLowerCase();
  if (Array.isArray(value)) return Array.from(value, normalise);
  return value;
}

function revertData(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (e: unknown): string | undefined => {
    if (e === null || typeof e !== "object" || seen.has(e)) return undefined;
    seen.add(e);
    const record = e as Record<string, unknown>;
    if (typeof record.data === "string" && record.data.startsWith("0x")) return record.data;
    for (const key of ["error", "info", "cause", "data"]) {
      const found = visit(record[key]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return visit(error);
}

/**
 * Asserts that `action` reverts with custom error `errorName` of `contract`'s ABI and, when given,
 * exactly the arguments `args` (numbers compare as bigint, addresses case-insensitively).
 */
export async function expectRevert(
  action: Promise<unknown>,
  contract: HasInterface,
  errorName: string,
  args?: readonly unknown[],
): Promise<void> {
  let thrown: unknown;
  try {
    await action;
  } catch (error) {
    thrown = error;
  }
  if (thrown === undefined) expect.fail(`expected a revert with ${errorName}, but it succeeded`);
  const data = revertData(thrown);
  if (data === undefined) expect.fail(`expected ${errorName}, got an error without revert data: ${String(thrown)}`);
  const parsed = contract.interface.parseError(data);
  expect(parsed?.name ?? `unknown error data ${data}`).toBe(errorName);
  if (args !== undefined && parsed !== null) expect(normalise(Array.from(parsed.args))).toEqual(normalise(args));
}

/** The parsed logs of `receipt` that `contract` emitted and its ABI knows, optionally only `eventName`. */
export function parseEvents(receipt: ContractTransactionReceipt, contract: HasInterface & { readonly target: unknown }, eventName?: string): LogDescription[] {
  const address = String(contract.target).toLowerCase();
  const events: LogDescription[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = contract.interface.parseLog(log);
    if (parsed !== null && (eventName === undefined || parsed.name === eventName)) events.push(parsed);
  }
  return events;
}

/**
 * Awaits `tx`, asserts that `contract` emitted `eventName` exactly once with arguments `args` (when
 * given), and returns the receipt.
 */
export async function expectEvent(
  tx: Promise<ContractTransactionResponse> | ContractTransactionResponse,
  contract: HasInterface & { readonly target: unknown },
  eventName: string,
  args?: readonly unknown[],
): Promise<ContractTransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null) expect.fail("transaction has no receipt");
  const events = parseEvents(receipt, contract, eventName);
  expect(events.length, `${eventName} events`).toBe(1);
  if (args !== undefined) expect(normalise(Array.from(events[0]!.args))).toEqual(normalise(args));
  return receipt;
}
