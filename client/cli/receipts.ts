// The venue's receipts of the orders the CLI placed, kept in the investor's data dir
// (<data-dir>/<address>/receipts/<sequence>.json) so that `clearline receipts verify` can check
// later that the venue's log still holds them: the receipt's signature, its inclusion proof at its
// own log size, and the consistency of that log with the venue's checkpoint now.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getAddress } from "ethers";
import { z } from "zod";
import { nobleVerifier, type Address, type Bytes32, type Eip712Domain } from "../protocol/index.js";
import {
  checkpointDigest,
  receiptCoversEntry,
  signedOrderFromJson,
  signedOrderToJson,
  verifyReceipt,
  type OrderEntry,
  type SignedCheckpoint,
  type SignedOrder,
  type SignedReceipt,
} from "../protocol/trading/index.js";
import type { TradingClient } from "../sdk/trading.js";
import { CliError } from "./errors.js";

/** A receipt as stored: the venue's signed receipt and our own signed order it covers. */
export interface StoredReceipt {
  readonly chainId: bigint;
  readonly anchor: Address;
  readonly receipt: SignedReceipt;
  readonly signed: SignedOrder;
}

const decimal = z.string().regex(/^\d{1,20}$/);
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/);
const fileSchema = z.strictObject({
  chainId: decimal,
  anchor: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  receipt: z.strictObject({ sequence: decimal, receivedAt: decimal, orderHash: bytes32, logSize: decimal, logRoot: bytes32 }),
  signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  signed: z.unknown(),
});

export const receiptsDir = (storeDir: string): string => join(storeDir, "receipts");

/** Writes the receipt as <sequence>.json (atomically); returns the file. */
export function saveReceipt(storeDir: string, stored: StoredReceipt): string {
  const directory = receiptsDir(storeDir);
  mkdirSync(directory, { recursive: true });
  const { receipt, signature } = stored.receipt;
  const data = {
    chainId: stored.chainId.toString(),
    anchor: stored.anchor,
    receipt: {
      sequence: receipt.sequence.toString(),
      receivedAt: receipt.receivedAt.toString(),
      orderHash: receipt.orderHash,
      logSize: receipt.logSize.toString(),
      logRoot: receipt.logRoot,
    },
    signature,
    signed: signedOrderToJson(stored.signed),
  };
  const file = join(directory, `${receipt.sequence}.json`);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(data, null, 2)}\n`);
  renameSync(temporary, file);
  return file;
}

/** Reads a stored receipt: a file path, or a sequence number of a receipt in the data dir. */
export function loadReceipt(storeDir: string, spec: string): { file: string; stored: StoredReceipt } {
  const file = /^\d+$/.test(spec) ? join(receiptsDir(storeDir), `${BigInt(spec)}.json`) : spec;
  if (!existsSync(file)) throw new CliError("UNKNOWN_RECEIPT", `no receipt ${spec}: give a receipt file or the sequence number of a receipt in ${receiptsDir(storeDir)}`);
  let parsed;
  try {
    parsed = fileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
  } catch (error) {
    throw new CliError("BAD_RECEIPT", `${file} is not a receipt file: ${error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message}`, { file });
  }
  try {
    const receipt: SignedReceipt = {
      receipt: {
        sequence: BigInt(parsed.receipt.sequence),
        receivedAt: BigInt(parsed.receipt.receivedAt),
        orderHash: parsed.receipt.orderHash as Bytes32,
        logSize: BigInt(parsed.receipt.logSize),
        logRoot: parsed.receipt.logRoot as Bytes32,
      },
      signature: parsed.signature,
    };
    return { file, stored: { chainId: BigInt(parsed.chainId), anchor: getAddress(parsed.anchor), receipt, signed: signedOrderFromJson(parsed.signed) } };
  } catch (error) {
    throw new CliError("BAD_RECEIPT", `${file} holds no valid signed order: ${(error as Error).message}`, { file });
  }
}

/** The stored receipt of the order with `orderHash` (for a cancel's target), if any. */
export function findOrderReceipt(storeDir: string, orderHash: Bytes32): StoredReceipt | undefined {
  const directory = receiptsDir(storeDir);
  if (!existsSync(directory)) return undefined;
  for (const name of readdirSync(directory)) {
    if (!/^\d+\.json$/.test(name)) continue;
    const { stored } = loadReceipt(storeDir, join(directory, name));
    if (stored.receipt.receipt.orderHash === orderHash) return stored;
  }
  return undefined;
}

export interface Verification {
  readonly sequence: bigint;
  readonly orderHash: Bytes32;
  /** The log the receipt names. */
  readonly receiptLog: { readonly size: bigint; readonly root: Bytes32 };
  /** The venue's checkpoint now, which extends the receipt's log. */
  readonly checkpoint: SignedCheckpoint;
}

/**
 * Checks a stored receipt against the venue's log now: signed by the venue (the signer of its
 * checkpoint), for exactly our signed message at its sequence in the receipt's log (inclusion
 * proof), and that log a prefix of the current one (consistency proof). BAD_RECEIPT for a receipt
 * of another venue or chain, or one the venue did not sign; NODE_MISBEHAVED (from the SDK, or here)
 * when the venue's proofs do not check out.
 */
export async function verifyStoredReceipt(stored: StoredReceipt, trading: TradingClient, domain: Eip712Domain): Promise<Verification> {
  if (stored.chainId !== domain.chainId || stored.anchor !== getAddress(domain.verifyingContract)) {
    throw new CliError("BAD_RECEIPT", `the receipt is of the venue ${stored.anchor} on chain ${stored.chainId}, not of ${domain.verifyingContract} on chain ${domain.chainId}`);
  }
  const checkpoint = await trading.checkpoint();
  const venue = nobleVerifier.recover(checkpointDigest(checkpoint.checkpoint, domain), checkpoint.signature);
  try {
    verifyReceipt(stored.receipt, domain, nobleVerifier, venue);
  } catch {
    throw new CliError("BAD_RECEIPT", `the receipt is not signed by the venue ${venue}`);
  }
  const { receipt } = stored.receipt;
  const entry: OrderEntry = { kind: "order", sequence: receipt.sequence, receivedAt: receipt.receivedAt, signed: stored.signed };
  const proof = await trading.inclusionProof(receipt.sequence, receipt.logSize);
  if (!receiptCoversEntry(receipt, entry, proof, domain)) {
    throw new CliError("NOT_IN_LOG", `the venue's log of ${receipt.logSize} entries does not hold this receipt's entry at ${receipt.sequence}`);
  }
  if (!(await trading.isExtendedBy(receipt.logSize, receipt.logRoot, checkpoint.checkpoint))) {
    throw new CliError("NOT_IN_LOG", `the venue's log now (${checkpoint.checkpoint.size} entries) does not extend the log of ${receipt.logSize} entries the receipt names`);
  }
  return { sequence: receipt.sequence, orderHash: receipt.orderHash, receiptLog: { size: receipt.logSize, root: receipt.logRoot }, checkpoint };
}
