/**
 * EIP-712 digests of the trading messages (orders, cancels, receipts, checkpoints). All their
 * fields are static (addresses, unsigned integers, bytes32), so a struct hash is keccak256 of the
 * type hash and one 32-byte word per field; tests check every digest against ethers' TypedDataEncoder.
 */
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, hexToBytes, utf8ToBytes } from "@noble/hashes/utils.js";
import { domainSeparatorOf } from "../encoding.js";
import type { Bytes32, Eip712Domain } from "../types.js";

/** The name of the EIP-712 domain every trading message is signed under. */
export const ORDERS_EIP712_NAME = "Clearline Orders";
export const ORDERS_EIP712_VERSION = "1";

/** A field value: an unsigned integer, or 0x-hex (an address or bytes32) right-aligned in its word. */
export type Word = bigint | string;

/** The type hash of an EIP-712 type string such as `Checkpoint(uint64 size,bytes32 root,uint64 time)`. */
export function typeHashOf(type: string): Uint8Array {
  return keccak_256(utf8ToBytes(type));
}

function putWord(buffer: Uint8Array, offset: number, value: Word): void {
  if (typeof value === "bigint") {
    const view = new DataView(buffer.buffer, buffer.byteOffset + offset, 32);
    for (let i = 0; i < 4; i++) view.setBigUint64(24 - 8 * i, BigInt.asUintN(64, value >> BigInt(64 * i)));
  } else {
    const bytes = hexToBytes(value.slice(2));
    buffer.set(bytes, offset + 32 - bytes.length);
  }
}

/** `keccak256(0x1901 ‖ domainSeparator ‖ keccak256(typeHash ‖ words))`. */
export function typedDigest(domain: Eip712Domain, typeHash: Uint8Array, words: readonly Word[]): Bytes32 {
  const encoded = new Uint8Array(32 * (1 + words.length));
  encoded.set(typeHash, 0);
  words.forEach((word, i) => putWord(encoded, 32 * (i + 1), word));
  const envelope = new Uint8Array(66);
  envelope[0] = 0x19;
  envelope[1] = 0x01;
  envelope.set(hexToBytes(domainSeparatorOf(domain).slice(2)), 2);
  envelope.set(keccak_256(encoded), 34);
  return `0x${bytesToHex(keccak_256(envelope))}`;
}
