// The guard every Node process a test starts carries (test/helpers/exit-with-parent.mjs): once the
// test process that started it dies without cleaning up, it exits; without the guard it lives on.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { eventually } from "./node-process.js";
import { EXIT_WITH_PARENT } from "./child-processes.js";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/**
 * Starts a parent Node process that starts an idle child Node process (with `childFlags`) and prints
 * the child's pid; then SIGKILLs the parent, as a killed vitest worker dies. Returns the orphan's pid.
 */
async function orphanChild(childFlags: readonly string[]): Promise<number> {
  const script = `
    const { spawn } = require("node:child_process");
    const child = spawn(process.execPath, [...${JSON.stringify(childFlags)}, "-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    console.log(child.pid);
    setInterval(() => {}, 1000);`;
  const parent = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const pid = await new Promise<number>((resolve, reject) => {
    parent.stdout!.once("data", (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
    parent.once("exit", (code) => reject(new Error(`the parent exited early (${code})`)));
  });
  // Let the child load its flags (the guard notes its parent's pid at start).
  await sleep(1_000);
  const exited = new Promise<void>((resolve) => parent.once("exit", () => resolve()));
  parent.kill("SIGKILL");
  await exited;
  return pid;
}

describe("a Node process a test starts does not outlive the test process", () => {
  const leftovers: number[] = [];

  afterEach(() => {
    for (const pid of leftovers.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  });

  it("with the guard, the orphaned child exits within a second or two", async () => {
    const pid = await orphanChild(EXIT_WITH_PARENT);
    leftovers.push(pid);
    await eventually(async () => alive(pid), (living) => !living, 10_000);
  });

  it("without the guard, the orphaned child lives on (what the guard is for)", async () => {
    const pid = await orphanChild([]);
    leftovers.push(pid);
    await sleep(2_000);
    expect(alive(pid)).toBe(true);
  });
});
