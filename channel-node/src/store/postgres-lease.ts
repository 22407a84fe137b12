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
}

export interface LeaseSettings {
  readonly holder: string;
  readonly ttlMs: number;
  readonly renewMs: number;
  readonly retryMs: number;
}

export function leaseSettings(options: LeaseOptions): LeaseSettings {
  const ttlMs = options.ttlMs ?? 5_000;
  return {
    holder: options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`,
    ttlMs,
    renewMs: options.renewMs ?? Math.max(1, Math.floor(ttlMs / 3)),
    retryMs: options.retryMs ?? 500,
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
  return epoch === undefined ? null : { holder: settings.holder, epoch };
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
