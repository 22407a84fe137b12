// The node's log: human-readable lines (pino-pretty) when stdout is a terminal, JSON lines otherwise
// (for a log collector). CLEARLINE_LOG_FORMAT=json or =pretty overrides the choice.
import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

export function nodeLogger(level: string, format: string | undefined = process.env.CLEARLINE_LOG_FORMAT, terminal = process.stdout.isTTY === true): Logger {
  if (format !== undefined && format !== "json" && format !== "pretty") {
    throw new Error(`CLEARLINE_LOG_FORMAT is "${format}": write json or pretty`);
  }
  if (format === "json" || (format === undefined && !terminal)) return pino({ level });
  return pino({ level }, pretty({ colorize: terminal, translateTime: "SYS:yyyy-mm-dd HH:MM:ss", ignore: "pid,hostname", sync: true }));
}
