// What the CLI prints. stdout carries the result — lines for a person, or with --json exactly one
// JSON document (or, in `watch`, one JSON object per line) — and stderr carries progress (on-chain
// waits) and diagnostics, so `clearline --json … | jq` always sees clean JSON.
import type { TxProgress } from "../chain/adjudicator.js";
import type { Described } from "./errors.js";

export interface Streams {
  out: (text: string) => void;
  err: (text: string) => void;
}

const defaultStreams: Streams = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

/** JSON with bigints as decimal strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), indent);
}

export class Output {
  constructor(
    readonly json: boolean,
    private readonly streams: Streams = defaultStreams,
    /** The program's name, prefixed to failures on stderr. */
    private readonly program = "clearline",
  ) {}

  /** The command's result: `human` lines, or `data` as one JSON document. */
  result(human: string | readonly string[], data: unknown): void {
    if (this.json) this.streams.out(`${toJson(data, 2)}\n`);
    else this.streams.out(`${typeof human === "string" ? human : human.join("\n")}\n`);
  }

  /** One event of a long-running command: a line for a person, or one JSON object per line. */
  event(human: string, data: Record<string, unknown>): void {
    if (this.json) this.streams.out(`${toJson({ at: new Date().toISOString(), ...data })}\n`);
    else this.streams.out(`${timestamp()} ${human}\n`);
  }

  /** Progress and diagnostics (stderr). */
  note(human: string, data?: Record<string, unknown>): void {
    if (this.json) this.streams.err(`${toJson({ note: human, ...data })}\n`);
    else this.streams.err(`${human}\n`);
  }

  /** A transaction's progress (stderr): submitted with its hash, mined in a block, confirmed. */
  progress(progress: TxProgress): void {
    if (this.json) {
      this.streams.err(`${toJson({ progress: progress.stage, ...progress, stage: undefined })}\n`);
      return;
    }
    switch (progress.stage) {
      case "submitted":
        this.streams.err(`  ${progress.action}: submitted ${progress.hash}\n`);
        return;
      case "mined":
        this.streams.err(`  ${progress.action}: mined in block ${progress.blockNumber}\n`);
        return;
      case "confirmed":
        this.streams.err(`  ${progress.action}: confirmed (${progress.confirmations} confirmation${progress.confirmations === 1 ? "" : "s"})\n`);
        return;
    }
  }

  /** A failure: a sentence on stderr, or with --json `{ "error": … }` on stdout. */
  failure(described: Described): void {
    if (this.json) {
      const { exitCode: _exitCode, ...error } = described;
      this.streams.out(`${toJson({ error }, 2)}\n`);
    } else {
      this.streams.err(`${this.program}: ${described.message}\n`);
    }
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
}
