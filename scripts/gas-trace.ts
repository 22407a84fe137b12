// `npm run gas:trace`: where the gas of a deposit goes, opcode by opcode. Deploys the system on a fresh
// in-process chain, then traces open + first deposit (on an adjudicator that holds none of the token, and
// again on one that does) and a top-up with `debug_traceTransaction`, and prints the adjudicator's own
// gas per opcode, each call into the token as one figure (the breakdowns of docs/gas.md).
import hre from "hardhat";
import { MaxUint256, toBeHex, type Contract, type ContractTransactionResponse } from "ethers";
import { deploySystem, onboard } from "../devstack/system.js";

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
}

const CALLS = new Set(["CALL", "STATICCALL", "DELEGATECALL"]);

const connection = await hre.network.create();
const { ethers } = connection;
const [, venue, investor] = await ethers.getSigners();
const system = await deploySystem(connection);
const adjudicatorAddress = await system.adjudicator.getAddress();
const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
for (const account of [venue!, investor!]) {
  const address = await account.getAddress();
  await onboard(system, address, now);
  await (await system.cash.getFunction("mint")(address, 1_000_000n)).wait();
  await (await (system.cash.connect(account) as Contract).getFunction("approve")(adjudicatorAddress, MaxUint256)).wait();
}
const participants = [await venue!.getAddress(), await investor!.getAddress()];
const cash = await system.cash.getAddress();
const paramsWithSalt = (salt: number) => [participants, [cash], 600n, toBeHex(salt, 32)];
const adjudicator = system.adjudicator.connect(investor!) as Contract;

/** Prints gasUsed, the intrinsic + calldata part, and the execution gas per opcode (calls as one figure each). */
async function trace(label: string, sent: Promise<ContractTransactionResponse>): Promise<void> {
  const receipt = (await (await sent).wait())!;
  const { structLogs } = (await ethers.provider.send("debug_traceTransaction", [receipt.hash, {}])) as { structLogs: StructLog[] };
  const byOp = new Map<string, number>();
  structLogs.forEach((step, i) => {
    if (step.depth !== 1) return;
    if (CALLS.has(step.op)) {
      // A call costs what it took from the caller: the gas before it minus the gas after it returned.
      const after = structLogs.slice(i + 1).find((next) => next.depth === 1);
      byOp.set(`${step.op} #${i}`, after === undefined ? step.gasCost : step.gas - after.gas);
      return;
    }
    byOp.set(step.op, (byOp.get(step.op) ?? 0) + step.gasCost);
  });
  const last = structLogs.at(-1)!;
  const execution = structLogs[0]!.gas - last.gas + last.gasCost;
  const gasUsed = Number(receipt.gasUsed);
  console.log(`\n${label}: gasUsed ${gasUsed}, intrinsic + calldata ${gasUsed - execution}, execution ${execution}`);
  const top = [...byOp.entries()].sort((a, b) => b[1] - a[1]).slice(0, 24);
  console.log(top.map(([op, gas]) => `${op} ${gas}`).join(" · "));
}

await trace("open + first deposit, fresh adjudicator", adjudicator.getFunction("open")(paramsWithSalt(1), 0, 1000n));
await trace("open + first deposit, adjudicator already holds the token", adjudicator.getFunction("open")(paramsWithSalt(2), 0, 1000n));
await trace("top-up deposit", adjudicator.getFunction("deposit")(paramsWithSalt(1), 0, 500n));
await connection.close();
