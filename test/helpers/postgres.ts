// A real PostgreSQL server for the tests: `initdb` into a fresh temporary directory, `postgres` on a
// free port bound to 127.0.0.1 (its unix socket in that directory), stopped by pid. PostgreSQL refuses
// to run as root, so under root (CI, containers) it runs as the unprivileged `postgres` user that
// Debian's package creates. The binaries are found under /usr/lib/postgresql/<version>/bin, or in
// CLEARLINE_POSTGRES_BIN. Where they are missing, `POSTGRES_MISSING` says what is missing and the
// suites skip with that line (describe.skipIf).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "../../devstack/local-chain.js";

const PG_ROOT = "/usr/lib/postgresql";

const hasServer = (bin: string): boolean => existsSync(join(bin, "initdb")) && existsSync(join(bin, "postgres"));

/** CLEARLINE_POSTGRES_BIN when set (PostgreSQL installed elsewhere), else the newest /usr/lib/postgresql/<version>/bin holding initdb and postgres, or null. */
function findBinDir(): string | null {
  const configured = process.env.CLEARLINE_POSTGRES_BIN;
  if (configured !== undefined && configured !== "") return hasServer(configured) ? configured : null;
  if (!existsSync(PG_ROOT)) return null;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(PG_ROOT, version, "bin");
    if (hasServer(bin)) return bin;
  }
  return null;
}

/** uid/gid of the `postgres` user, from /etc/passwd. */
function postgresUser(): { uid: number; gid: number } | null {
  try {
    const line = readFileSync("/etc/passwd", "utf8")
      .split("\n")
      .find((l) => l.startsWith("postgres:"));
    if (line === undefined) return null;
    const [, , uid, gid] = line.split(":");
    return { uid: Number(uid), gid: Number(gid) };
  } catch {
    return null;
  }
}

const BIN_DIR = findBinDir();
/** Whom the server runs as: the current user ("self"), or `postgres` when we are root (null: nobody). */
const RUN_AS: { uid: number; gid: number } | "self" | null = process.getuid?.() === 0 ? postgresUser() : "self";

/** Why the PostgreSQL suites cannot run here (one line), or null when they can. */
export const POSTGRES_MISSING: string | null =
  BIN_DIR === null
    ? process.env.CLEARLINE_POSTGRES_BIN
      ? `PostgreSQL server binaries not found: CLEARLINE_POSTGRES_BIN=${process.env.CLEARLINE_POSTGRES_BIN} holds no initdb and postgres`
      : `PostgreSQL server binaries not found (no ${PG_ROOT}/*/bin/initdb): install Debian's 'postgresql' package (.ci/run does) or set CLEARLINE_POSTGRES_BIN`
    : RUN_AS === null
      ? "running as root and no unprivileged 'postgres' user to run PostgreSQL as (PostgreSQL refuses to run as root)"
      : null;

/** Prints the skip reason once per test file, so a plain `npm test` says which suites it skipped and why. */
export function reportPostgresSkip(suite: string): void {
  if (POSTGRES_MISSING !== null) console.warn(`skipping ${suite}: ${POSTGRES_MISSING}`);
}

export interface PostgresServer {
  /** postgres://clearline@127.0.0.1:<port>/postgres (trust authentication, local only). */
  readonly url: string;
  readonly port: number;
  /** The postmaster's pid, while running. */
  readonly pid: number | undefined;
  /** Fast shutdown (SIGINT to the postmaster), waits for it to exit; the data stays. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data directory. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function spawnOptions(cwd: string) {
  return { cwd, ...(RUN_AS !== null && RUN_AS !== "self" ? { uid: RUN_AS.uid, gid: RUN_AS.gid } : {}) };
}

/** initdb in a fresh temporary directory and start the server; throws when POSTGRES_MISSING. */
export async function startPostgres(): Promise<PostgresServer> {
  if (POSTGRES_MISSING !== null || BIN_DIR === null) throw new Error(POSTGRES_MISSING ?? "no PostgreSQL");
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Never leave a server behind (an uncaught exception, process.exit): immediate shutdown by pid.
    process.once("exit", () => {
      for (const child of running) child.kill("SIGQUIT");
    });
  }
  const dir = mkdtempSync(join(tmpdir(), "clearline-pg-"));
  if (RUN_AS !== null && RUN_AS !== "self") chownSync(dir, RUN_AS.uid, RUN_AS.gid);
  const data = join(dir, "data");
  const initdb = spawnSync(join(BIN_DIR, "initdb"), ["-D", data, "-U", "clearline", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"], {
    ...spawnOptions(dir),
    encoding: "utf8",
  });
  if (initdb.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr}`);
  }
  const port = await freePort();
  const url = `postgres://clearline@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  let log = "";

  async function start(): Promise<void> {
    if (child !== undefined) return;
    const started = spawn(
      join(BIN_DIR!, "postgres"),
      ["-D", data, "-p", String(port), "-k", dir, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=100", "-c", "synchronous_commit=on"],
      { ...spawnOptions(dir), stdio: ["ignore", "pipe", "pipe"] },
    );
    child = started;
    running.add(started);
    const collect = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-10_000));
    started.stdout?.on("data", collect);
    started.stderr?.on("data", collect);
    started.once("exit", () => {
      running.delete(started);
      if (child === started) child = undefined;
    });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (started.exitCode !== null || started.signalCode !== null) throw new Error(`postgres exited: ${log}`);
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
      client.on("error", () => undefined);
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
      }
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`postgres did not accept connections within 30 s: ${log}`);
      }
      await sleep(100);
    }
  }

  async function stop(): Promise<void> {
    const current = child;
    if (current === undefined || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once("exit", () => resolve()));
    current.kill("SIGINT"); // fast shutdown: rolls back open transactions, checkpoints, exits
    const timeout = sleep(15_000).then(() => "timeout" as const);
    if ((await Promise.race([exited.then(() => "exited" as const), timeout])) === "timeout") {
      current.kill("SIGKILL");
      await exited;
    }
  }

  try {
    await start();
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url,
    port,
    get pid() {
      return child?.pid;
    },
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let schemas = 0;

/** A schema name unique within this process (a fresh, empty store per test on one server). */
export function freshSchema(prefix = "t"): string {
  schemas += 1;
  return `${prefix}_${process.pid}_${schemas}`;
}
