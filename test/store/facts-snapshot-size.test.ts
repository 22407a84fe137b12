// A large facts snapshot (the saved compliance mirror of many holders, tens of MB) is checked by the
// store only for its framing as a JSON object, not parsed (a parse held the event loop ~0.5 s at
// 100,000 holders); the mirror checks it fully when it reads it back. Text that is not framed as an
// object is still refused (INVALID_ARGUMENT) and changes nothing; a small snapshot is still parsed.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { LevelStore } from "../../client/store/level-store.js";
import { MemoryStore } from "../../client/store/memory-store.js";
import { expectStoreError } from "./store-suite.js";

const dirs: string[] = [];
const open: { close(): Promise<void> }[] = [];

afterEach(async () => {
  for (const store of open.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function levelStore(): Promise<LevelStore> {
  const dir = mkdtempSync(join(tmpdir(), "clearline-facts-size-"));
  dirs.push(dir);
  const store = await LevelStore.open(dir);
  open.push(store);
  return store;
}

/** A JSON object's text of about 2 MiB (over the size the store parses). */
const large = JSON.stringify({ v: 1, holders: Array.from({ length: 40_000 }, (_, i) => [`0x${i.toString(16).padStart(40, "0")}`, "1"]) });

describe.each([
  ["MemoryStore", async () => new MemoryStore()],
  ["LevelStore", levelStore],
])("facts snapshot size: %s", (_, make) => {
  it("stores a large JSON object's text as is, and refuses large text not framed as an object", async () => {
    expect(large.length).toBeGreaterThan(2 ** 20);
    const store = await make();
    await store.factsSaved(large);
    expect(await store.facts()).toBe(large);
    for (const bad of [`[${large}]`, large.slice(0, -1), large.slice(1), `x${large}`]) {
      await expectStoreError(store.factsSaved(bad), "INVALID_ARGUMENT");
      expect(await store.facts()).toBe(large);
    }
    // A small text is parsed as before.
    await expectStoreError(store.factsSaved("{not json}"), "INVALID_ARGUMENT");
    expect(await store.facts()).toBe(large);
  });
});
