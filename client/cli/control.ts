// The daemon's control socket (docs/cli.md, "daemon"): LevelDB admits one process per store, and the
// daemon holds the investor's store for as long as it runs, so the other commands of the same
// investor run inside the daemon. `<data-dir>/<address>/daemon.sock` is a unix socket only its owner
// may open (0600). One connection carries one command: the CLI sends one JSON line naming it
// (command-table.ts) with its arguments; the daemon answers with JSON lines — `{"out"}` and `{"err"}`
// text for the CLI's stdout and stderr, then `{"exit"}`; or `{"refused"}` with a CLI error code.
import { existsSync } from "node:fs";
import { createConnection, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { z } from "zod";
import { CLI_ERROR_CODES, CliError, type CliErrorCode } from "./errors.js";
import { STORE_COMMANDS, STORE_COMMAND_NAMES } from "./command-table.js";
import type { Streams } from "./output.js";

export const CONTROL_PROTOCOL_VERSION = 1;
/** The longest request line the daemon reads. */
export const MAX_CONTROL_REQUEST_BYTES = 64 * 1024;
/** The longest path a unix socket may have on Linux (sun_path less its terminating zero). */
const MAX_SOCKET_PATH = 107;

const socketPathFits = (path: string): boolean => Buffer.byteLength(path) <= MAX_SOCKET_PATH;

/** `<store>/daemon.sock`; with `forListening`, USAGE when it is too long for a unix socket (no daemon can listen there, so clients just find none). */
export function controlSocketPath(storeDir: string, forListening = false): string {
  const path = join(storeDir, "daemon.sock");
  if (forListening && !socketPathFits(path)) {
    throw new CliError("USAGE", `the daemon's control socket ${path} is longer than the ${MAX_SOCKET_PATH} bytes a unix socket path may have: use a shorter --data-dir`);
  }
  return path;
}

const optionValue = z.union([z.string().max(4_096), z.boolean()]);

export const controlRequestSchema = z.strictObject({
  v: z.literal(CONTROL_PROTOCOL_VERSION),
  /** The investor the CLI acts for: the daemon serves only its own. */
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  command: z.enum(STORE_COMMAND_NAMES),
  positional: z.array(z.string().max(4_096)).max(1),
  options: z.record(z.string().max(64), optionValue).refine((o) => Object.keys(o).length <= 32, "at most 32 options"),
  json: z.boolean(),
})
  .refine((r) => r.positional.length === STORE_COMMANDS[r.command].arity, { message: "wrong number of arguments for the command", path: ["positional"] });
export type ControlRequest = z.output<typeof controlRequestSchema>;

const frameSchema = z.union([
  z.strictObject({ out: z.string() }),
  z.strictObject({ err: z.string() }),
  z.strictObject({ exit: z.number().int().min(0).max(255) }),
  z.strictObject({ refused: z.strictObject({ code: z.enum(CLI_ERROR_CODES), message: z.string() }) }),
]);
export type ControlFrame = z.input<typeof frameSchema>;

export const frameLine = (frame: ControlFrame): string => `${JSON.stringify(frame)}\n`;

/** Connects to the socket; undefined when no daemon listens there (no socket, or one left by a daemon that died). */
async function dial(path: string): Promise<Socket | undefined> {
  if (!socketPathFits(path) || !existsSync(path)) return undefined;
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") resolve(undefined);
      else reject(new CliError("DAEMON_UNREACHABLE", `cannot reach the daemon at ${path}: ${error.message}`));
    };
    socket.once("error", onError);
  });
}

/** Whether a daemon listens on the control socket of this store. */
export async function daemonRunning(storeDir: string): Promise<boolean> {
  const socket = await dial(controlSocketPath(storeDir));
  socket?.destroy();
  return socket !== undefined;
}

/**
 * Runs `request` in the daemon of this store, copying its output to `streams`; resolves with the
 * command's exit code, or undefined when no daemon runs (the caller then runs it itself).
 */
export async function runInDaemon(storeDir: string, request: Omit<ControlRequest, "v">, streams: Streams): Promise<number | undefined> {
  const path = controlSocketPath(storeDir);
  const socket = await dial(path);
  if (socket === undefined) return undefined;
  return new Promise<number>((resolve, reject) => {
    let buffered = "";
    let settled = false;
    const settle = (outcome: { exit: number } | { error: CliError }) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if ("exit" in outcome) resolve(outcome.exit);
      else reject(outcome.error);
    };
    const unreachable = (why: string) =>
      settle({ error: new CliError("DAEMON_UNREACHABLE", `the daemon at ${path} ${why}; the command may or may not have been carried out: check with balances or history`) });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf("\n"); end >= 0 && !settled; end = buffered.indexOf("\n")) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        let frame: z.output<typeof frameSchema>;
        try {
          frame = frameSchema.parse(JSON.parse(line));
        } catch {
          unreachable("sent an unreadable answer");
          return;
        }
        if ("out" in frame) streams.out(frame.out);
        else if ("err" in frame) streams.err(frame.err);
        else if ("exit" in frame) settle({ exit: frame.exit });
        else settle({ error: new CliError(frame.refused.code as CliErrorCode, frame.refused.message) });
      }
    });
    socket.on("error", (error) => unreachable(`failed: ${error.message}`));
    socket.on("close", () => unreachable("closed the connection before the command finished"));
    socket.write(`${JSON.stringify({ v: CONTROL_PROTOCOL_VERSION, ...request })}\n`);
  });
}

export interface ControlServerOptions {
  readonly address: string;
  /** Commands run at once at most; one more is refused DAEMON_BUSY. */
  readonly maxCommands: number;
  /** A connection must send its request within this many ms. */
  readonly requestTimeoutMs: number;
  /** Runs a checked request, writing its output to `streams`; resolves with its exit code. */
  readonly run: (request: ControlRequest, streams: Streams) => Promise<number>;
  /** Told of each refused request (for the daemon's log). */
  readonly onRefused: (code: CliErrorCode, message: string) => void;
}

/** Serves control connections on `server` (the caller listens and closes); resolves `idle()` when no command runs. */
export function serveControl(server: Server, options: ControlServerOptions): { running(): number; idle(): Promise<void> } {
  let running = 0;
  let connections = 0;
  let onIdle: (() => void) | undefined;
  server.on("connection", (socket) => {
    connections++;
    socket.once("close", () => connections--);
    socket.on("error", () => undefined); // a CLI that went away: its command still completes
    const send = (frame: ControlFrame) => {
      if (!socket.destroyed) socket.write(frameLine(frame));
    };
    // The answer is flushed and what the peer still sends is read and dropped (so the peer is not reset before it
    // reads the answer); a peer that does not close in a second is cut off, so it cannot hold the daemon's stop.
    const finish = () => {
      socket.end();
      socket.resume();
      setTimeout(() => socket.destroy(), 1_000).unref();
    };
    const refuse = (code: CliErrorCode, message: string) => {
      options.onRefused(code, message);
      send({ refused: { code, message } });
      finish();
    };
    // A connection still sending its request counts too: it is a command about to run.
    if (connections > options.maxCommands) {
      refuse("DAEMON_BUSY", `the daemon has ${connections - 1} commands running or arriving, the most it admits at once (daemon --max-commands ${options.maxCommands}); try again`);
      return;
    }
    let buffered = "";
    const timer = setTimeout(() => refuse("BAD_CONTROL_REQUEST", `no request within ${options.requestTimeoutMs} ms`), options.requestTimeoutMs);
    socket.once("close", () => clearTimeout(timer));
    socket.setEncoding("utf8");
    const onData = (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf("\n");
      if (end < 0) {
        if (Buffer.byteLength(buffered) > MAX_CONTROL_REQUEST_BYTES) {
          clearTimeout(timer);
          socket.off("data", onData);
          refuse("BAD_CONTROL_REQUEST", `the request is longer than ${MAX_CONTROL_REQUEST_BYTES} bytes`);
        }
        return;
      }
      clearTimeout(timer);
      socket.off("data", onData);
      let request: ControlRequest;
      try {
        request = controlRequestSchema.parse(JSON.parse(buffered.slice(0, end)));
      } catch (error) {
        refuse("BAD_CONTROL_REQUEST", `not a control request: ${error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message}`);
        return;
      }
      if (request.address.toLowerCase() !== options.address.toLowerCase()) {
        refuse("BAD_CONTROL_REQUEST", `this daemon serves ${options.address}, not ${request.address}`);
        return;
      }
      running++;
      options
        .run(request, { out: (text) => send({ out: text }), err: (text) => send({ err: text }) })
        .then((exit) => send({ exit }))
        .finally(() => {
          finish();
          running--;
          if (running === 0) onIdle?.();
        })
        .catch(() => undefined);
    };
    socket.on("data", onData);
  });
  return {
    running: () => running,
    idle: () => (running === 0 ? Promise.resolve() : new Promise<void>((resolve) => (onIdle = resolve))),
  };
}
