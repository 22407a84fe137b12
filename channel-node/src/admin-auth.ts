// Who may use the operator's admin API: a loopback client, not a browser, holding the node's admin
// token. The token is 32 random bytes written at first start into the data directory with mode 0600,
// so only the operator's account can read it; the operator CLI sends it as a bearer header. Browsers
// are refused by their `Origin` / `Sec-Fetch-Site` headers, because a web page in the operator's
// browser can send requests to 127.0.0.1 (a cross-origin POST is executed even if its answer is
// not readable by the page).
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { chmodSync, closeSync, openSync, readFileSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { IncomingMessage } from "node:http";
import { CodedError, isCodedError } from "../../client/protocol/coded-error.js";

/** The token file's name inside the node's data directory. */
export const ADMIN_TOKEN_FILE = "admin-token";

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;
const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

export type AdminTokenErrorCode = "ADMIN_TOKEN_EXPOSED" | "ADMIN_TOKEN_INVALID" | "ADMIN_TOKEN_MISSING";

/** The token file cannot be used; the node's CLI prints its message as is. */
export class AdminTokenError<C extends AdminTokenErrorCode = AdminTokenErrorCode> extends CodedError<C> {
  override readonly name: string = "AdminTokenError";
  constructor(code: C, message: string) {
    super(code, message, {}, { codeSuffix: false });
  }
}

/** Whether `error` is an AdminTokenError, optionally of a given code. */
export function isAdminTokenError<C extends AdminTokenErrorCode>(error: unknown, code?: C): error is AdminTokenError<C> {
  return isCodedError(error, AdminTokenError, code);
}

/** Reads a token file, refusing one that others can read or that does not hold a token. */
export function readAdminToken(file: string): string {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    throw new AdminTokenError("ADMIN_TOKEN_MISSING", `no admin token at ${file} (the node writes it at its first start)`);
  }
  if ((mode & 0o077) !== 0) {
    throw new AdminTokenError("ADMIN_TOKEN_EXPOSED", `${file} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${file}`);
  }
  const token = readFileSync(file, "utf8").trim();
  if (!TOKEN_PATTERN.test(token)) throw new AdminTokenError("ADMIN_TOKEN_INVALID", `${file} does not hold an admin token (64 hex digits)`);
  return token;
}

/** The node's admin token: read from `<dataDir>/admin-token` (or `fileName`: the console's token), created there (mode 0600) if absent. */
export function ensureAdminToken(dataDir: string, fileName: string = ADMIN_TOKEN_FILE): { token: string; file: string } {
  const file = join(dataDir, fileName);
  let fd: number;
  try {
    // "wx": created here or not at all, never following or truncating what exists.
    fd = openSync(file, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return { token: readAdminToken(file), file };
  }
  const token = randomBytes(32).toString("hex");
  try {
    chmodSync(file, 0o600); // the umask may have narrowed the mode: make it exactly owner read/write
    writeSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
  return { token, file };
}

export type AdminRefusalCode = "ADMIN_NOT_LOOPBACK" | "ADMIN_BROWSER_REFUSED" | "ADMIN_UNAUTHORIZED";

export interface AdminRefusal {
  readonly status: 401 | 403;
  readonly code: AdminRefusalCode;
  readonly message: string;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/** Why `request` may not use the admin API, or undefined if it may. */
export function refuseAdmin(request: IncomingMessage, token: string): AdminRefusal | undefined {
  if (!LOOPBACK.has(request.socket.remoteAddress ?? "")) {
    return { status: 403, code: "ADMIN_NOT_LOOPBACK", message: "the admin API answers loopback clients only" };
  }
  if (request.headers.origin !== undefined || request.headers["sec-fetch-site"] !== undefined) {
    return { status: 403, code: "ADMIN_BROWSER_REFUSED", message: "the admin API refuses requests from browsers" };
  }
  const header = request.headers.authorization ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  // Compared as digests: equal length, constant time.
  if (presented === "" || !timingSafeEqual(digest(presented), digest(token))) {
    return { status: 401, code: "ADMIN_UNAUTHORIZED", message: `send the node's admin token (<dataDir>/${ADMIN_TOKEN_FILE}) as "Authorization: Bearer <token>"` };
  }
  return undefined;
}
