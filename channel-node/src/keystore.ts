// The venue's key from an encrypted keystore file (ethers' encrypted JSON, the Web3 Secret Storage
// format that geth, Foundry's `cast wallet` and ethers write) and its password, instead of a raw key
// in the configuration or the environment.
import { readFileSync } from "node:fs";
import { decryptKeystoreJsonSync, isKeystoreJson } from "ethers";
import { z } from "zod";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";

export const KEYSTORE_ERROR_CODES = ["KEYSTORE_UNREADABLE", "KEYSTORE_INVALID", "KEYSTORE_PASSWORD_MISSING", "KEYSTORE_WRONG_PASSWORD"] as const;
export type KeystoreErrorCode = (typeof KEYSTORE_ERROR_CODES)[number];

/** The keystore cannot give the key; the node prints its message as is when it does not start. */
export class KeystoreError<C extends KeystoreErrorCode = KeystoreErrorCode> extends CodedError<C> {
  override readonly name: string = "KeystoreError";
  constructor(code: C, message: string) {
    super(code, message, {}, { codeSuffix: false });
  }
}

/** Whether `error` is a KeystoreError, optionally of a given code. */
export function isKeystoreError<C extends KeystoreErrorCode>(error: unknown, code?: C): error is KeystoreError<C> {
  return isCodedError(error, KeystoreError, code);
}

/**
 * Where the key is: `file`, and its password in `passwordFile` (first line) or, from the
 * environment only, `password` (a password is never written into the configuration file).
 */
export const keystoreSettingsSchema = z.strictObject({
  file: z.string().min(1),
  passwordFile: z.string().min(1).optional(),
});

export interface KeystoreSource {
  readonly file: string;
  readonly password?: string | undefined;
  readonly passwordFile?: string | undefined;
}

/** Decrypts the keystore and returns its 0x-prefixed private key; every failure is a KeystoreError. */
export function keystorePrivateKey(source: KeystoreSource): string {
  const password = passwordOf(source);
  let json: string;
  try {
    json = readFileSync(source.file, "utf8");
  } catch (error) {
    throw new KeystoreError("KEYSTORE_UNREADABLE", `cannot read the keystore ${source.file}: ${(error as Error).message}`);
  }
  if (!isKeystoreJson(json)) throw new KeystoreError("KEYSTORE_INVALID", `${source.file} is not an encrypted JSON keystore`);
  try {
    return decryptKeystoreJsonSync(json, password).privateKey;
  } catch (error) {
    if (/incorrect password/i.test((error as Error).message)) {
      throw new KeystoreError("KEYSTORE_WRONG_PASSWORD", `wrong password for the keystore ${source.file}`);
    }
    throw new KeystoreError("KEYSTORE_INVALID", `cannot decrypt the keystore ${source.file}: ${(error as Error).message}`);
  }
}

function passwordOf(source: KeystoreSource): string {
  if (source.password !== undefined) return source.password;
  if (source.passwordFile === undefined) {
    throw new KeystoreError("KEYSTORE_PASSWORD_MISSING", "the keystore needs a password: set CLEARLINE_NODE_KEYSTORE_PASSWORD or a password file (keystore.passwordFile, CLEARLINE_NODE_KEYSTORE_PASSWORD_FILE)");
  }
  try {
    // The first line: a file written with `echo` ends in a newline that is not part of the password.
    return readFileSync(source.passwordFile, "utf8").split(/\r?\n/)[0]!;
  } catch (error) {
    throw new KeystoreError("KEYSTORE_UNREADABLE", `cannot read the keystore password file ${source.passwordFile}: ${(error as Error).message}`);
  }
}
