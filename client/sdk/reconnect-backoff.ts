// How long the SDK's connection waits before its next reconnect attempt: a capped exponential
// back-off with jitter, so a node that is down or refuses logins is not hammered by every investor
// at once, and investors coming back after an outage spread out. Refusals for load
// (LOGIN_RATE_LIMITED, TOO_MANY_CONNECTIONS) wait longer still. Pure: the clock and the randomness
// are the caller's.
import { z } from "zod";
import { ClientError } from "./errors.js";

export interface ReconnectBackoff {
  /** The wait before the first attempt after a drop (ms); doubled after each failed attempt … */
  readonly initialDelayMs: number;
  /** … up to this (ms). */
  readonly maxDelayMs: number;
  /** After the node refused for load (LOGIN_RATE_LIMITED, TOO_MANY_CONNECTIONS) the wait is at least half of this (ms), and at most `maxDelayMs`. */
  readonly refusedDelayMs: number;
  /** The count of failed attempts starts over at a welcome once that connection held this long (ms): two sessions of one key replacing each other do not spin. */
  readonly stableAfterMs: number;
}

export const DEFAULT_RECONNECT_BACKOFF: ReconnectBackoff = { initialDelayMs: 250, maxDelayMs: 30_000, refusedDelayMs: 10_000, stableAfterMs: 10_000 };

/** Wire codes by which a node refuses a connection for load: try again later, not at once. */
export const LOAD_REFUSALS: ReadonlySet<string> = new Set(["LOGIN_RATE_LIMITED", "TOO_MANY_CONNECTIONS"]);

const DAY_MS = 86_400_000;
const backoffSchema = z
  .strictObject({
    initialDelayMs: z.number().int().min(1).max(DAY_MS),
    maxDelayMs: z.number().int().min(1).max(DAY_MS),
    refusedDelayMs: z.number().int().min(0).max(DAY_MS),
    stableAfterMs: z.number().int().min(0).max(DAY_MS),
  })
  .refine((b) => b.maxDelayMs >= b.initialDelayMs, { message: "maxDelayMs must be at least initialDelayMs" });

/** The defaults with `overrides`; INVALID_ARGUMENT for a value that is not a whole number of ms in range. */
export function reconnectBackoffOf(overrides: Partial<ReconnectBackoff> | undefined): ReconnectBackoff {
  const parsed = backoffSchema.safeParse({ ...DEFAULT_RECONNECT_BACKOFF, ...overrides });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ClientError("INVALID_ARGUMENT", `reconnectBackoff${issue.path.length > 0 ? `.${issue.path.join(".")}` : ""}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The wait before attempt `attempt` (0 after a welcome, counting failed attempts): a random time
 * between half and all of min(maxDelayMs, initialDelayMs·2^attempt) — never nothing. After a refusal
 * for load the ceiling is at least refusedDelayMs and twice the ordinary one (capped alike).
 */
export function reconnectDelay(attempt: number, backoff: ReconnectBackoff, refused = false, random: () => number = Math.random): number {
  const ordinary = backoff.initialDelayMs * 2 ** Math.min(attempt, 40);
  const ceiling = Math.min(backoff.maxDelayMs, refused ? Math.max(backoff.refusedDelayMs, 2 * ordinary) : ordinary);
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** The attempt count of one connection: delays for failed attempts, the count starting over after a stable welcome. */
export class ReconnectSchedule {
  private attempt = 0;
  private establishedAt: number | undefined;

  constructor(
    private readonly backoff: ReconnectBackoff,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failed attempts since the count last started over. */
  get attempts(): number {
    return this.attempt;
  }

  /** The connect completed (welcome) at `now`. */
  established(now: number): void {
    this.establishedAt = now;
  }

  /** The connection (or an attempt) ended at `now`: the wait before the next attempt. */
  next(now: number, refused: boolean): number {
    if (this.establishedAt !== undefined && now - this.establishedAt >= this.backoff.stableAfterMs) this.attempt = 0;
    this.establishedAt = undefined;
    return reconnectDelay(this.attempt++, this.backoff, refused, this.random);
  }
}
