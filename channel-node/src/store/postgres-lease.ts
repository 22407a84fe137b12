/**
 * The leader lease: fencing of node processes sharing one PostgreSQL database. One row (`leader`,
 * id 1) names the holder, its epoch and when the lease expires, by the DATABASE's clock (so the
 * nodes' clocks never matter). A node acquires the lease only once it has expired (the epoch goes
 * up), renews it on a timer, and every write transaction of the store first locks the row and
 * checks that it still holds it with an unexpired lease (`check_lease()`, postgres-schema.ts). A deposed or paused leader
 * therefore cannot commit, and since the node countersigns only after the commit, it cannot sign.
 *
 * The check locks the row FOR SHARE until its transaction ends, so a takeover (which updates the
 * row) waits for a write in flight and never interleaves with it. A transaction is one query
 * message (postgres-batch.ts), so it never waits for its client: a paused leader cannot hold the row.
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import type pg from "pg";

/** A connection or a pool: anything that runs a query. */
export type Queryable = pg.ClientBase | pg.Pool;

export interface LeaseOptions {
  /** Who holds the lease; unique per process (default `<host>:<pid>:<random>`). */
  readonly holder?: string;
  /** How long a lease lasts without renewal (default 5,000 ms): the standby takes over within about ttl + retry. */
  readonly ttlMs?: number;
  /** How often the holder renews (default ttl / 3). */
  readonly renewMs?: number;
  /** How often a node waiting for the lease tries again (default 500 ms). */
  readonly retryMs?: number;
  /** Stops waiting for the lease (the open rejects with CLOSED). */
  readonly signal?: AbortSignal;
  /** Told after each attempt that found the lease held: the holder's lease (what a standby's /health reports). */
  readonly onWaiting?: (held: HeldLease) => void;
}

export interface LeaseSettings {
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewMs: number;
  readonly retryMs: number;
  readonly onWaiting?: (held: HeldLease) => void;
}

/** The lease another node holds, as a waiting node sees it (the holder's name stays private). */
export interface HeldLease {
  readonly epoch: string;
  /** Until the lease expires unless renewed, by the database's clock (0: expired, about to be taken; null: taken without expiry by a node without a lease). */
  readonly expiresInMs: number | null;
}

export function leaseSettings(options: LeaseOptions): LeaseSettings {
  const ttlMs = options.ttlMs ?? 5_000;
  return {
    holder: options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`,
    ttlMs,
    renewMs: options.renewMs ?? Math.max(1, Math.floor(ttlMs / 3)),
    retryMs: options.retryMs ?? 500,
    ...(options.onWaiting === undefined ? {} : { onWaiting: options.onWaiting }),
  };
}

/** What a holder knows of its lease. */
export interface LeaseGrant {
  readonly holder: string;
  readonly epoch: string;
}

/** Takes the lease if nobody holds an unexpired one; resolves with the new grant, or null. */
export async function tryAcquireLease(client: Queryable, settings: LeaseSettings): Promise<LeaseGrant | null> {
  const { rows } = await client.query<{ epoch: string }>(
    `INSERT INTO leader (id, epoch, holder, expires_at) VALUES (1, 1, $1, clock_timestamp() + $2 * interval '1 millisecond')
     ON CONFLICT (id) DO UPDATE SET epoch = leader.epoch + 1, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
     WHERE leader.expires_at <= clock_timestamp()
     RETURNING epoch::text AS epoch`,
    [settings.holder, settings.ttlMs],
  );
  const epoch = rows[0]?.epoch;
  if (epoch !== undefined) return { holder: settings.holder, epoch };
  if (settings.onWaiting !== undefined) {
    const held = await client.query<{ epoch: string; expires_in_ms: string | null }>(
      `SELECT epoch::text AS epoch, CASE WHEN expires_at = 'infinity' THEN NULL
         ELSE GREATEST(0, floor(extract(epoch FROM expires_at - clock_timestamp()) * 1000))::text END AS expires_in_ms
       FROM leader WHERE id = 1`,
    );
    const row = held.rows[0];
    if (row !== undefined) settings.onWaiting({ epoch: row.epoch, expiresInMs: row.expires_in_ms === null ? null : Number(row.expires_in_ms) });
  }
  return null;
}

/**
 * Takes the lease at once, whoever holds it, without expiry: a store opened without a lease (one
 * node per schema) deposes every earlier instance, e.g. the process it restarts. A transaction of
 * the old instance still in flight at the database either committed before (the takeover waits for
 * its lock on the row) or fails its check after, so the new instance loads everything ever committed.
 */
export async function takeOverLease(client: Queryable, holder: string): Promise<LeaseGrant> {
  const { rows } = await client.query<{ epoch: string }>(
    `INSERT INTO leader (id, epoch, holder, expires_at) VALUES (1, 1, $1, 'infinity')
     ON CONFLICT (id) DO UPDATE SET epoch = leader.epoch + 1, holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
     RETURNING epoch::text AS epoch`,
    [holder],
  );
  return { holder, epoch: rows[0]!.epoch };
}

/** Extends an unexpired lease of `grant`; false when it is lost (expired or taken over). */
export async function renewLease(client: Queryable, grant: LeaseGrant, ttlMs: number): Promise<boolean> {
  const { rowCount } = await client.query(
    `UPDATE leader SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
     WHERE id = 1 AND epoch = $1 AND holder = $2 AND expires_at > clock_timestamp()`,
    [grant.epoch, grant.holder, ttlMs],
  );
  return rowCount === 1;
}

/** Ends the lease at once (a clean stop), so a standby takes over without waiting for the ttl. */
export async function releaseLease(client: Queryable, grant: LeaseGrant): Promise<void> {
  await client.query("UPDATE leader SET expires_at = clock_timestamp() WHERE id = 1 AND epoch = $1 AND holder = $2", [grant.epoch, grant.holder]);
}
