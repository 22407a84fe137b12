// The e2e venue fixture (test/helpers/venue-fixture.ts) stops exactly what it started — the chain,
// every node process, the clients, the directory — at the end of a test, and when its setup fails
// half-way (the node already running, an investor's channel refused).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CASH_UNIT, ROLES, SECURITY_UNIT } from "../../devstack/stack.js";
import { startVenue } from "../helpers/venue-fixture.js";

const SECURITY = 0;
const CASH = 1;

/** This test process's children (the chain and the nodes are started as such). */
function children(): number[] {
  try {
    return execFileSync("pgrep", ["-P", String(process.pid)], { encoding: "utf8" }).split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the e2e venue fixture", () => {
  it("stop() closes the clients, stops every node started and the chain, and removes the directory; a second stop does nothing", async () => {
    const venue = await startVenue({ node: {}, investors: [{ role: ROLES.alice, own: [{ assetIndex: CASH, amount: 10n * CASH_UNIT }] }] });
    let started: number[] = [];
    try {
      const first = venue.node;
      const second = await venue.startNode({ dataDir: join(venue.dir, "second") });
      expect(venue.node).toBe(second);
      started = [venue.stack.chain.pid, first.pid, second.pid];
      expect(started.filter(alive)).toEqual(started);
      expect(venue.investors[0]!.opened.client.connected).toBe(true);
    } finally {
      await venue.stop();
    }
    expect(started.filter(alive)).toEqual([]);
    expect(venue.investors[0]!.opened.client.connected).toBe(false);
    expect(existsSync(venue.dir)).toBe(false);
    await venue.stop();
  });

  it("a setup that fails half-way (an investor's deposit it does not hold, the node running) stops what it started and throws the cause", async () => {
    const before = new Set(children());
    // Bob holds no securities (the default onboarding).
    await expect(startVenue({ node: {}, investors: [{ role: ROLES.bob, own: [{ assetIndex: SECURITY, amount: SECURITY_UNIT }] }] })).rejects.toThrow();
    expect(children().filter((pid) => !before.has(pid))).toEqual([]);
  });
});
