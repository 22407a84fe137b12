/**
 * One group-commit transaction of the PostgreSQL store as ONE simple-protocol query: the lease
 * check (postgres-lease.ts), then one statement per table. The database runs the
 * statements of one query message as one implicit transaction — all committed, or on any error
 * none — so a transaction costs one round trip however many tables it touches, and no transaction
 * is ever left open waiting for the client (a paused process cannot hold the lease row).
 *
 * The rows are folded per key first: a later write of a row in the same transaction replaces an
 * earlier one (only the last value could ever be visible), which also keeps each upsert from
 * touching a row twice. Values are inlined as SQL string literals of array literals; the
 * connection runs with standard_conforming_strings on, so doubling `'` is the whole quoting, and
 * no value holds a NUL character (event ids are checked; everything else is JSON or hex).
 */
import type { Bytes32 } from "../../../client/protocol/types.js";
import { textArray } from "./postgres-arrays.js";
import type { LeaseGrant } from "./postgres-lease.js";

/** One row change of one event. */
export type Op =
  | { readonly kind: "channel"; readonly id: Bytes32; readonly record: string }
  | { readonly kind: "history"; readonly id: Bytes32; readonly nonce: bigint; readonly entry: string }
  | { readonly kind: "event"; readonly eventId: string; readonly id: Bytes32 }
  | { readonly kind: "meta"; readonly key: string; readonly value: string }
  | { readonly kind: "secret"; readonly hashlock: Bytes32; readonly secret: Bytes32 | null }
  | { readonly kind: "invoice"; readonly hashlock: Bytes32; readonly expiresAt: number | null }
  /** Deletes the channel and its whole history: always a transaction of its own (takeGroup). */
  | { readonly kind: "abandon"; readonly id: Bytes32 };

/** A string as an SQL literal (standard_conforming_strings on). */
export function sqlText(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

const array = (values: readonly string[], type: "text" | "numeric" | "bigint"): string => `${sqlText(textArray(values))}::${type}[]`;

/** The SQL text of one transaction writing `ops`, checking first that `lease` still holds the store. */
export function transactionSql(ops: readonly Op[], lease: LeaseGrant): string {
  const channels = new Map<Bytes32, string>();
  const history: { id: Bytes32; nonce: bigint; entry: string }[] = [];
  const events = new Map<string, Bytes32>();
  const meta = new Map<string, string>();
  const secrets = new Map<Bytes32, Bytes32 | null>();
  const invoices = new Map<Bytes32, number | null>();
  const abandoned: Bytes32[] = [];
  for (const op of ops) {
    if (op.kind === "channel") channels.set(op.id, op.record);
    else if (op.kind === "history") history.push(op);
    else if (op.kind === "event") events.set(op.eventId, op.id);
    else if (op.kind === "meta") meta.set(op.key, op.value);
    else if (op.kind === "secret") secrets.set(op.hashlock, op.secret);
    else if (op.kind === "invoice") invoices.set(op.hashlock, op.expiresAt);
    else abandoned.push(op.id);
  }
  const kept = <V>(map: Map<string, V | null>): [string, V][] => [...map].filter((entry): entry is [string, V] => entry[1] !== null);
  const dropped = (map: Map<string, unknown>): string[] => [...map].filter(([, v]) => v === null).map(([k]) => k);

  const sql: string[] = [`SELECT check_lease(${sqlText(lease.epoch)}::bigint, ${sqlText(lease.holder)})`];
  if (abandoned.length > 0) {
    sql.push(`DELETE FROM channels WHERE channel_id = ANY(${array(abandoned, "text")})`);
    sql.push(`DELETE FROM history WHERE channel_id = ANY(${array(abandoned, "text")})`);
  }
  if (channels.size > 0) {
    sql.push(
      `INSERT INTO channels (channel_id, record) SELECT * FROM unnest(${array([...channels.keys()], "text")}, ${array([...channels.values()], "text")}) ` +
        "ON CONFLICT (channel_id) DO UPDATE SET record = EXCLUDED.record",
    );
  }
  if (history.length > 0) {
    const columns = [array(history.map((h) => h.id), "text"), array(history.map((h) => h.nonce.toString()), "numeric"), array(history.map((h) => h.entry), "text")];
    sql.push(`INSERT INTO history (channel_id, nonce, entry) SELECT * FROM unnest(${columns.join(", ")})`);
  }
  if (events.size > 0) {
    sql.push(`INSERT INTO events (event_id, channel_id) SELECT * FROM unnest(${array([...events.keys()], "text")}, ${array([...events.values()], "text")})`);
  }
  if (meta.size > 0) {
    sql.push(`INSERT INTO meta (key, value) SELECT * FROM unnest(${array([...meta.keys()], "text")}, ${array([...meta.values()], "text")}) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`);
  }
  const secretRows = kept(secrets);
  if (dropped(secrets).length > 0) sql.push(`DELETE FROM secrets WHERE hashlock = ANY(${array(dropped(secrets), "text")})`);
  if (secretRows.length > 0) {
    sql.push(
      `INSERT INTO secrets (hashlock, secret) SELECT * FROM unnest(${array(secretRows.map(([k]) => k), "text")}, ${array(secretRows.map(([, v]) => v), "text")}) ` +
        "ON CONFLICT (hashlock) DO UPDATE SET secret = EXCLUDED.secret",
    );
  }
  const invoiceRows = kept(invoices);
  if (dropped(invoices).length > 0) sql.push(`DELETE FROM invoices WHERE hashlock = ANY(${array(dropped(invoices), "text")})`);
  if (invoiceRows.length > 0) {
    sql.push(
      `INSERT INTO invoices (hashlock, expires_at) SELECT * FROM unnest(${array(invoiceRows.map(([k]) => k), "text")}, ${array(invoiceRows.map(([, v]) => String(v)), "bigint")}) ` +
        "ON CONFLICT (hashlock) DO UPDATE SET expires_at = EXCLUDED.expires_at",
    );
  }
  return sql.join(";\n");
}
