// Who may read the console's data. It shows every investor's balances, so it is never public:
// without a token, only a loopback client that addressed the node by a loopback name (a page served
// from another name resolving to 127.0.0.1 — DNS rebinding — is refused by its Host header); with
// `requireToken`, any client presenting the console token as a bearer token. The console token is
// not the admin token: it lets its holder read, never move funds.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { CodedError, isCodedError, type ErrorDetails } from "../../../client/protocol/coded-error.js";

/** The console token's file in the node's data directory (written like the admin token: 0600). */
export const CONSOLE_TOKEN_FILE = "console-token";

export const CONSOLE_REFUSAL_CODES = [
  /** Without `console.requireToken`, a client from another address than loopback (403). */
  "CONSOLE_NOT_LOOPBACK",
  /** Without `console.requireToken`, a loopback client that addressed the node by another name than a loopback one (403). */
  "CONSOLE_BAD_HOST",
  /** With `console.requireToken`, no or another bearer token than the console token (401). */
  "CONSOLE_UNAUTHORIZED",
  /** Another method than GET on the console's data (405). */
  "CONSOLE_METHOD_NOT_ALLOWED",
  /** No console data of that name (404). */
  "CONSOLE_NOT_FOUND",
] as const;
export type ConsoleRefusalCode = (typeof CONSOLE_REFUSAL_CODES)[number];

/** A console request refused: a stable code, the HTTP status, the cause in words (answered as is: no code suffix, the code has its own field). */
export class ConsoleRefusal<C extends ConsoleRefusalCode = ConsoleRefusalCode> extends CodedError<C> {
  override readonly name: string = "ConsoleRefusal";
  constructor(
    code: C,
    readonly status: 401 | 403 | 404 | 405,
    message: string,
    details: ErrorDetails = {},
  ) {
    super(code, message, details, { codeSuffix: false });
  }
}

/** Whether `error` is a ConsoleRefusal, optionally of a given code. */
export function isConsoleRefusal<C extends ConsoleRefusalCode>(error: unknown, code?: C): error is ConsoleRefusal<C> {
  return isCodedError(error, ConsoleRefusal, code);
}

const LOOPBACK_ADDRESSES = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;
const digest = (text: string) => createHash("sha256").update(text).digest();

/** Throws the ConsoleRefusal for a request that may not read the console's data. */
export function checkConsoleAccess(request: IncomingMessage, token: string | undefined): void {
  if (token === undefined) {
    const remote = request.socket.remoteAddress ?? "";
    if (!LOOPBACK_ADDRESSES.has(remote)) {
      throw new ConsoleRefusal("CONSOLE_NOT_LOOPBACK", 403, "the console answers loopback clients only (set console.requireToken to serve others with a token)", { remote });
    }
    const host = request.headers.host ?? "";
    if (!LOOPBACK_HOST.test(host)) {
      throw new ConsoleRefusal("CONSOLE_BAD_HOST", 403, "open the console as http://127.0.0.1:<port>/console/ (or localhost)", { host });
    }
    return;
  }
  const header = request.headers.authorization ?? "";
  const presented = header.startsWith("Bearer ") ? header.slice("Bearer ".length).trim() : "";
  // Compared as digests: equal length, constant time.
  if (presented === "" || !timingSafeEqual(digest(presented), digest(token))) {
    throw new ConsoleRefusal("CONSOLE_UNAUTHORIZED", 401, `send the node's console token (<dataDir>/${CONSOLE_TOKEN_FILE}) as "Authorization: Bearer <token>"`);
  }
}
