// Who may read the console's data. It shows every investor's balances, so it is never public:
// without a token, only a loopback client that addressed the node by a loopback name (a page served
// from another name resolving to 127.0.0.1 — DNS rebinding — is refused by its Host header); with
// `requireToken`, any client presenting the console token as a bearer token. The console token is
// not the admin token: it lets its holder read, never move funds.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The console token's file in the node's data directory (written like the admin token: 0600). */
export const CONSOLE_TOKEN_FILE = "console-token";

export type ConsoleRefusalCode = "CONSOLE_NOT_LOOPBACK" | "CONSOLE_BAD_HOST" | "CONSOLE_UNAUTHORIZED" | "CONSOLE_METHOD_NOT_ALLOWED" | "CONSOLE_NOT_FOUND";

/** A console request refused: a stable code, the HTTP status, the cause in words. */
export class ConsoleRefusal extends Error {
  override readonly name = "ConsoleRefusal";
  constructor(
    readonly code: ConsoleRefusalCode,
    readonly status: 401 | 403 | 404 | 405,
    message: string,
  ) {
    super(message);
  }
}

export function isConsoleRefusal(error: unknown, code?: ConsoleRefusalCode): error is ConsoleRefusal {
  return error instanceof ConsoleRefusal && (code === undefined || error.code === code);
}

const LOOPBACK_ADDRESSES = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/i;
const digest = (text: string) => createHash("sha256").update(text).digest();

/** Throws the ConsoleRefusal for a request that may not read the console's data. */
export function checkConsoleAccess(request: IncomingMessage, token: string | undefined): void {
  if (token === undefined) {
    if (!LOOPBACK_ADDRESSES.has(request.socket.remoteAddress ?? "")) {
      throw new ConsoleRefusal("CONSOLE_NOT_LOOPBACK", 403, "the console answers loopback clients only (set console.requireToken to serve others with a token)");
    }
    if (!LOOPBACK_HOST.test(request.headers.host ?? "")) {
      throw new ConsoleRefusal("CONSOLE_BAD_HOST", 403, "open the console as http://127.0.0.1:<port>/console/ (or localhost)");
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
