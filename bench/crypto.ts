/**
 * Crypto micro-benchmark of the protocol core: state digests per second (ours and ethers'
 * TypedDataEncoder for reference) and, for each signer implementation, signs, verifies and
 * recovers per second on one core. It is the "crypto ceiling" a node's update rate is compared
 * with; `measureCrypto` is exported so a larger bench can take it in the same run.
 *
 *   npx tsx bench/crypto.ts [--seconds 0.5] [--json]
 */
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { TypedDataEncoder } from "ethers";
import { keccak_256 } from "@noble/hashes/sha3.js";
import {
  NativeSigner,
  NobleSigner,
  STATE_EIP712_TYPES,
  domainOf,
  isNativeAvailable,
  stateDigest,
  typedStateOf,
  type Signer,
  type State,
} from "../client/protocol/index.js";

export interface CryptoBench {
  /** Seconds each measurement ran. */
  readonly secondsPerMeasurement: number;
  readonly keccak64PerSecond: number;
  readonly stateDigestPerSecond: number;
  readonly ethersTypedDataHashPerSecond: number;
  readonly signers: readonly {
    readonly implementation: string;
    readonly signPerSecond: number;
    readonly verifyPerSecond: number;
    readonly recoverPerSecond: number;
  }[];
}

/**
 * Runs `operation` repeatedly for about `seconds` and returns operations per second of this
 * process's CPU time (not wall time: on a shared machine other tenants would otherwise lower the
 * floor the node's CPU per update is compared with).
 */
function rate(seconds: number, operation: (i: number) => unknown): number {
  for (let i = 0; i < 50; i++) operation(i); // warm up the JIT
  const deadline = performance.now() + seconds * 1000;
  const start = process.cpuUsage();
  let count = 0;
  // Check the clock every 16 operations so that reading it does not dominate fast operations.
  while (performance.now() < deadline) {
    for (let i = 0; i < 16; i++) operation(count + i);
    count += 16;
  }
  const used = process.cpuUsage(start);
  return Math.round(count / ((used.user + used.system) / 1e6));
}

/** A typical state: one security token and one cash token, no locks. */
function sampleState(nonce: bigint): State {
  return {
    channelId: `0x${"c1".repeat(32)}`,
    nonce,
    allocations: [
      { token: "0x5FbDB2315678afecb367f032d93F642f64180aa3", net: 1_234n * 10n ** 18n, withdrawn0: 0n, withdrawn1: 10n ** 18n },
      { token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", net: -98_765_000_000n, withdrawn0: 5_000_000n, withdrawn1: 0n },
    ],
    locks: [],
    isFinal: false,
  };
}

export async function measureCrypto(seconds = 0.5): Promise<CryptoBench> {
  const domain = domainOf({ chainId: 31_337n, adjudicator: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0" });
  const states = Array.from({ length: 64 }, (_, i) => sampleState(BigInt(i + 1)));
  const digests = states.map((state) => stateDigest(state, domain));
  const block = new Uint8Array(64);

  const secretKey = `0x${"2a".repeat(32)}`;
  const signers: Signer[] = [new NobleSigner(secretKey)];
  if (await isNativeAvailable()) signers.push(await NativeSigner.create(secretKey));
  // Both sign identically, so one set of signatures serves every verifier.
  const signatures = digests.map((digest) => signers[0]!.sign(digest));
  const pick = <T>(items: readonly T[], i: number): T => items[i % items.length] as T;

  return {
    secondsPerMeasurement: seconds,
    keccak64PerSecond: rate(seconds, (i) => {
      block[0] = i;
      keccak_256(block);
    }),
    stateDigestPerSecond: rate(seconds, (i) => stateDigest(pick(states, i), domain)),
    ethersTypedDataHashPerSecond: rate(seconds, (i) => TypedDataEncoder.hash(domain, STATE_EIP712_TYPES, typedStateOf(pick(states, i)))),
    signers: signers.map((signer) => ({
      implementation: signer.implementation,
      signPerSecond: rate(seconds, (i) => signer.sign(pick(digests, i))),
      verifyPerSecond: rate(seconds, (i) => signer.verify(pick(digests, i), pick(signatures, i), signer.address)),
      recoverPerSecond: rate(seconds, (i) => signer.recover(pick(digests, i), pick(signatures, i))),
    })),
  };
}

function printTable(result: CryptoBench): void {
  const row = (label: string, value: number) => console.log(`${label.padEnd(34)}${value.toLocaleString("en-US").padStart(12)} /s`);
  console.log(`crypto ceiling, one core (${result.secondsPerMeasurement}s per measurement)`);
  row("keccak-256 of 64 bytes", result.keccak64PerSecond);
  row("stateDigest (core)", result.stateDigestPerSecond);
  row("TypedDataEncoder.hash (ethers)", result.ethersTypedDataHashPerSecond);
  for (const s of result.signers) {
    row(`sign (${s.implementation})`, s.signPerSecond);
    row(`verify (${s.implementation})`, s.verifyPerSecond);
    row(`recover (${s.implementation})`, s.recoverPerSecond);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { seconds: { type: "string", default: "0.5" }, json: { type: "boolean", default: false } } });
  const result = await measureCrypto(Number(values.seconds));
  if (values.json) console.log(JSON.stringify(result, null, 2));
  else printTable(result);
}
