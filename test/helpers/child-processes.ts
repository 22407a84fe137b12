// Child processes a test file starts (CLIs, daemons): each is tracked until it exits, so the file's
// afterAll can kill exactly the ones still running, whatever way the tests ended.
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Node's flags that make a child Node process exit once the test process that started it is gone
 * (test/helpers/exit-with-parent.mjs): put them first in the arguments of every Node process a test spawns.
 */
export const EXIT_WITH_PARENT: readonly string[] = ["--import", fileURLToPath(new URL("./exit-with-parent.mjs", import.meta.url))];

/** How a finished process ended and what it printed. */
export interface ProcessRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Waits for `child` to close and collects its output. */
export function collect(child: ChildProcess): Promise<ProcessRun> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

export class ChildProcesses {
  private readonly running = new Set<ChildProcess>();

  /**
   * Starts `command` with stdout and stderr piped; tracked until it exits. A Node process
   * (`process.execPath`) also exits on its own once this test process is gone.
   */
  spawn(command: string, args: readonly string[], options: Omit<SpawnOptions, "stdio"> = {}): ChildProcess {
    const guarded = command === process.execPath ? [...EXIT_WITH_PARENT, ...args] : args;
    const child = spawn(command, guarded, { ...options, stdio: ["ignore", "pipe", "pipe"] });
    this.running.add(child);
    child.once("exit", () => this.running.delete(child));
    return child;
  }

  /** Runs `command` to the end. */
  run(command: string, args: readonly string[], options: Omit<SpawnOptions, "stdio"> = {}): Promise<ProcessRun> {
    return collect(this.spawn(command, args, options));
  }

  /** SIGKILLs every process still running (an afterAll's job). */
  killAll(): void {
    for (const child of this.running) child.kill("SIGKILL");
  }
}
