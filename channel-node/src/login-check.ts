// The check of an investor's login, the `auth` answer to the node's challenge (docs/protocol.md,
// "Handshake"). It recovers with the protocol core's verifier — libsecp256k1 when its binding loads,
// ~0.1 ms of CPU, against ~3 ms for ethers' pure-JS recovery — and accepts only the canonical form the
// SDK signs: 65 bytes r‖s‖v, v 27 or 28, 0 < r < n, 0 < s ≤ n/2. A login is no chain transaction, so
// v 0/1, EIP-155 v ≥ 35 and high s are refused rather than normalised.
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";
import { loginDigest, type SessionChallenge } from "../../client/protocol/session.js";
import type { Verifier } from "../../client/protocol/signing.js";
import type { Address, SignatureHex } from "../../client/protocol/types.js";

export const LOGIN_ERROR_CODES = [
  /** Not a canonical, recoverable signature (length, v, r or s out of range, high s, no key recovers). */
  "BAD_SIGNATURE",
  /** A valid signature of the login message, by another address than the one claimed. */
  "WRONG_SIGNER",
] as const;
export type LoginErrorCode = (typeof LOGIN_ERROR_CODES)[number];

export class LoginError<C extends LoginErrorCode = LoginErrorCode> extends CodedError<C> {
  override readonly name: string = "LoginError";
}

/** Whether `error` is a LoginError, optionally of a given code. */
export function isLoginError<C extends LoginErrorCode>(error: unknown, code?: C): error is LoginError<C> {
  return isCodedError(error, LoginError, code);
}

/** Returns when `signature` is `claimed`'s canonical signature of the login message for `challenge`; else throws LoginError. */
export function checkLogin(verifier: Verifier, challenge: SessionChallenge, claimed: Address, signature: SignatureHex): void {
  let signer: Address;
  try {
    signer = verifier.recover(loginDigest(challenge), signature);
  } catch {
    throw new LoginError("BAD_SIGNATURE", "not a canonical secp256k1 signature (65 bytes, v 27 or 28, low s)");
  }
  if (signer.toLowerCase() !== claimed.toLowerCase()) throw new LoginError("WRONG_SIGNER", "the signature does not prove the claimed address");
}
