// The node's order log on a real LevelDB: appended entries come back in order after a reopen,
// an append is all or nothing, and a corrupt store is refused instead of replayed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Level } from "level";
import { LevelOrderLog } from "../../channel-node/src/trading/log-store.js";
import { signOrder, type LogEntry } from "../../client/protocol/trading/index.js";
import { DOMAIN, NOW, alice, order } from "./fixtures.js";

const signed = signOrder(order(), DOMAIN, alice);
const entries: LogEntry[] = [
  { kind: "order", sequence: 0n, receivedAt: NOW, signed },
  { kind: "order", sequence: 1n, receivedAt: NOW, signed: signOrder(order({ side: "sell", nonce: 2n }), DOMAIN, alice) },
  { kind: "fill", sequence: 2n, makerSequence: 0n, takerSequence: 1n, quantity: 5_000n, price: 1_250_000n },
  { kind: "venueCancel", sequence: 3n, receivedAt: NOW + 1n, target: 0n, reason: "disconnected" },
];

describe("LevelOrderLog", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "clearline-order-log-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("returns every appended entry in sequence order after a reopen (past 16 entries: keys sort as numbers)", async () => {
    const many: LogEntry[] = [...entries];
    for (let i = 4n; i < 40n; i++) many.push({ kind: "fill", sequence: i, makerSequence: 0n, takerSequence: 1n, quantity: 1_000n, price: i });
    const log = await LevelOrderLog.open(join(dir, "orders"));
    await log.append(many.slice(0, 3));
    await log.append(many.slice(3));
    await log.close();
    const reopened = await LevelOrderLog.open(join(dir, "orders"));
    expect(await reopened.entries()).toEqual(many);
    await reopened.close();
  });

  it("writes an append all or nothing: an entry that cannot be encoded leaves the log as it was", async () => {
    const log = await LevelOrderLog.open(join(dir, "orders"));
    await log.append(entries.slice(0, 1));
    const bad: LogEntry = { kind: "fill", sequence: 2n, makerSequence: 0n, takerSequence: 1n, quantity: 2n ** 128n, price: 1n };
    await expect(log.append([entries[1]!, bad])).rejects.toMatchObject({ code: "OUT_OF_RANGE" });
    expect(await log.entries()).toEqual(entries.slice(0, 1));
    await log.close();
  });

  it("refuses a store whose entry sits under another key, or whose bytes are not an entry", async () => {
    const path = join(dir, "orders");
    const log = await LevelOrderLog.open(path);
    await log.append(entries.slice(0, 2));
    await log.close();
    const raw = new Level<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await raw.open();
    const second = await raw.get("0000000000000001");
    await raw.put("0000000000000002", second!);
    await raw.close();
    const moved = await LevelOrderLog.open(path);
    await expect(moved.entries()).rejects.toThrow(/stored under 0000000000000002/);
    await moved.close();

    const raw2 = new Level<string, string>(path, { keyEncoding: "utf8", valueEncoding: "utf8" });
    await raw2.open();
    await raw2.put("0000000000000002", "05");
    await raw2.close();
    const garbage = await LevelOrderLog.open(path);
    await expect(garbage.entries()).rejects.toMatchObject({ code: "MALFORMED" });
    await garbage.close();
  });
});
