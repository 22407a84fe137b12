/**
 * What building an update (updates.ts) and recognising one (transitions.ts) both reject: a malformed
 * update (INVALID_UPDATE) and a lock the state does not have (UNKNOWN_LOCK). Pure lookups over plain
 * data. Internal to the core: index.ts does not re-export it.
 */
import { ProtocolError } from "./errors.js";
import type { Bytes32, Lock, State } from "./types.js";

/** INVALID_UPDATE: the update is malformed or not one the protocol knows. */
export function invalidUpdate(why: string, details: Record<string, string | number | bigint> = {}): never {
  throw new ProtocolError("INVALID_UPDATE", why, details);
}

/** The first lock under `hashlock`; UNKNOWN_LOCK when the state has none. */
export function findLock(state: State, hashlock: Bytes32): Lock {
  const lock = state.locks.find((l) => l.hashlock === hashlock);
  if (lock === undefined) throw new ProtocolError("UNKNOWN_LOCK", "the state has no lock with this hashlock", { hashlock });
  return lock;
}

/** Every lock under `hashlock`: one, or the two of a lock pair (UNKNOWN_LOCK when none). */
export function locksUnder(state: State, hashlock: Bytes32): Lock[] {
  findLock(state, hashlock);
  return state.locks.filter((l) => l.hashlock === hashlock);
}

/** Whether the locks under one hashlock are a pair: two, one from each participant (`addLockPair` checked the rest). */
export function isLockPair(locks: readonly Lock[]): boolean {
  return locks.length === 2 && locks[0]!.sender !== locks[1]!.sender;
}
