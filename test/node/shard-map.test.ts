// The shard map: the hash default, the map from configuration (LevelDB) with its validation and
// the claim of a shard's live investors, and the map in a real PostgreSQL server (registration, pins
// on first contact that stay when a shard is added, claims, a conflict, the database gone).
import { getAddress } from "ethers";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadNodeConfig } from "../../channel-node/src/config.js";
import { defaultShardOf } from "../../channel-node/src/shards/assignment.js";
import { shardConfigSchema } from "../../channel-node/src/shards/config.js";
import { isShardError } from "../../channel-node/src/shards/errors.js";
import { openShardMap } from "../../channel-node/src/shards/open.js";
import { PostgresShardMap } from "../../channel-node/src/shards/postgres-shard-map.js";
import { ConfiguredShardMap } from "../../channel-node/src/shards/shard-map.js";
import type { Address } from "../../client/protocol/index.js";
import { POSTGRES_MISSING, freshSchema, reportPostgresSkip, startPostgres, type PostgresServer } from "../helpers/postgres.js";

reportPostgresSkip("the shard map on PostgreSQL");

const investors: Address[] = Array.from({ length: 400 }, (_, i) => getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`));
const URLS = { a: "ws://127.0.0.1:7001", b: "ws://127.0.0.1:7002", c: "wss://shard-c.example:443/ws" };

describe("defaultShardOf", () => {
  it("is the same whatever the order of the shard list, and spreads investors over every shard", () => {
    const counts = new Map<string, number>();
    for (const investor of investors) {
      const shard = defaultShardOf(investor, ["a", "b", "c"]);
      expect(defaultShardOf(investor, ["c", "a", "b"])).toBe(shard);
      expect(defaultShardOf(investor.toLowerCase() as Address, ["b", "c", "a"])).toBe(shard);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }
    // 400 investors over 3 shards: each gets a fair share (binomial, far from the bounds).
    for (const shard of ["a", "b", "c"]) expect(counts.get(shard)).toBeGreaterThan(90);
    expect(() => defaultShardOf(investors[0]!, [])).toThrow(RangeError);
  });
});

describe("the shard map from configuration", () => {
  const config = (section: unknown) => shardConfigSchema.parse(section);

  it("answers each investor's shard and URL, a pin before the hash default", async () => {
    const pinned = investors.find((i) => defaultShardOf(i, ["a", "b"]) === "a")!;
    const map = new ConfiguredShardMap(config({ id: "a", shards: { a: URLS.a, b: URLS.b }, investors: { [pinned.toLowerCase()]: "b" } }));
    expect(map.self).toEqual({ id: "a", url: URLS.a });
    expect(await map.shardOf(pinned)).toEqual({ id: "b", url: URLS.b });
    for (const investor of investors.slice(0, 50)) {
      if (investor === pinned) continue;
      const id = defaultShardOf(investor, ["a", "b"]);
      expect(await map.shardOf(investor)).toEqual({ id, url: URLS[id as "a" | "b"] });
    }
  });

  it("refuses a map without this shard, a pin to an unknown shard, a URL that differs from the map's (SHARD_MAP_INVALID)", () => {
    const invalid = (section: unknown) => {
      try {
        new ConfiguredShardMap(config(section));
      } catch (error) {
        return isShardError(error, "SHARD_MAP_INVALID");
      }
      return false;
    };
    expect(invalid({ id: "a" })).toBe(true);
    expect(invalid({ id: "a", shards: { b: URLS.b } })).toBe(true);
    expect(invalid({ id: "a", shards: { a: URLS.a }, investors: { [investors[0]!]: "z" } })).toBe(true);
    expect(invalid({ id: "a", url: URLS.b, shards: { a: URLS.a } })).toBe(true);
    expect(invalid({ id: "a", url: URLS.a, shards: { a: URLS.a } })).toBe(false);
  });

  it("the configuration refuses bad ids, URLs and addresses", () => {
    expect(shardConfigSchema.safeParse({ id: "A" }).success).toBe(false);
    expect(shardConfigSchema.safeParse({ id: "-a" }).success).toBe(false);
    expect(shardConfigSchema.safeParse({ id: "a".repeat(33) }).success).toBe(false);
    expect(shardConfigSchema.safeParse({ id: "a", url: "http://127.0.0.1:1" }).success).toBe(false);
    expect(shardConfigSchema.safeParse({ id: "a", shards: { a: "ws://x y" } }).success).toBe(false);
    expect(shardConfigSchema.safeParse({ id: "a", investors: { "0x12": "a" } }).success).toBe(false);
  });

  it("a claim of investors the map gives to another shard fails INVESTOR_ELSEWHERE naming them; the shard's own pass", async () => {
    const map = new ConfiguredShardMap(config({ id: "a", shards: { a: URLS.a, b: URLS.b } }));
    const own = investors.filter((i) => defaultShardOf(i, ["a", "b"]) === "a").slice(0, 3);
    const other = investors.find((i) => defaultShardOf(i, ["a", "b"]) === "b")!;
    await map.claim(own);
    const error = await map.claim([...own, other]).catch((e: unknown) => e);
    expect(isShardError(error, "INVESTOR_ELSEWHERE")).toBe(true);
    expect((error as Error).message).toContain(`${other} → b`);
  });

  it("the section comes from the environment too (CLEARLINE_SHARD_*, the maps as JSON), and a bad value is INVALID_CONFIG", () => {
    const env = {
      CLEARLINE_RPC_URL: "http://127.0.0.1:8545",
      CLEARLINE_NODE_KEY: `0x${"11".repeat(32)}`,
      CLEARLINE_CONTRACTS_ADJUDICATOR: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
      CLEARLINE_CONTRACTS_JURISDICTION: "0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0",
      CLEARLINE_CONTRACTS_SECURITIES: JSON.stringify([{ token: "0x8a791620dd6260079bf849dc5567adc3f2fdc318", rules: "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9" }]),
      CLEARLINE_CONTRACTS_CASH: JSON.stringify(["0xe7f1725e7734ce288f8367e1bb143e90bb3f0512"]),
      CLEARLINE_SHARD_ID: "b",
      CLEARLINE_SHARD_SHARDS: JSON.stringify({ a: URLS.a, b: URLS.b }),
      CLEARLINE_SHARD_INVESTORS: JSON.stringify({ [investors[0]!.toLowerCase()]: "a" }),
    };
    expect(loadNodeConfig(undefined, env).shard).toEqual({ id: "b", shards: { a: URLS.a, b: URLS.b }, investors: { [investors[0]!]: "a" }, mapSchema: "clearline_shard_map" });
    expect(() => loadNodeConfig(undefined, { ...env, CLEARLINE_SHARD_ID: "B" })).toThrow(ConfigError);
    expect(() => loadNodeConfig(undefined, { ...env, CLEARLINE_SHARD_URL: "http://127.0.0.1:1" })).toThrow(ConfigError);
  });

  it("openShardMap: none without the section; with PostgreSQL only id and url, and a schema of its own", async () => {
    expect(await openShardMap({ shard: undefined, store: undefined })).toBeUndefined();
    const store = { url: "postgres://nobody@127.0.0.1:1/none", schema: "venue", poolSize: 1, statementTimeoutMs: 500 };
    for (const shard of [
      config({ id: "a", url: URLS.a, shards: { a: URLS.a } }),
      config({ id: "a" }),
      config({ id: "a", url: URLS.a, mapSchema: "venue" }),
    ]) {
      expect(isShardError(await openShardMap({ shard, store }).catch((e: unknown) => e), "SHARD_MAP_INVALID")).toBe(true);
    }
    // Well-formed, but no database there.
    expect(isShardError(await openShardMap({ shard: config({ id: "a", url: URLS.a }), store }).catch((e: unknown) => e), "SHARD_MAP_UNAVAILABLE")).toBe(true);
  });
});

describe.skipIf(POSTGRES_MISSING !== null)(`the shard map on PostgreSQL${POSTGRES_MISSING === null ? "" : ` (skipped: ${POSTGRES_MISSING})`}`, () => {
  let server: PostgresServer;
  const maps: PostgresShardMap[] = [];

  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(async () => {
    for (const map of maps.splice(0)) await map.close();
    await server?.destroy();
  });

  async function open(schema: string, id: keyof typeof URLS): Promise<PostgresShardMap> {
    const map = await PostgresShardMap.open({ url: server.url, schema, self: { id, url: URLS[id] }, statementTimeoutMs: 5_000 });
    maps.push(map);
    return map;
  }

  it("registers each shard, pins an investor on first contact, and the pin stays when a shard is added", async () => {
    const schema = freshSchema("shardmap");
    const a = await open(schema, "a");
    const b = await open(schema, "b");
    const answers = new Map<Address, string>();
    for (const investor of investors.slice(0, 60)) {
      const fromA = await a.shardOf(investor);
      expect(fromA.id).toBe(defaultShardOf(investor, ["a", "b"]));
      expect(await b.shardOf(investor)).toEqual(fromA);
      answers.set(investor, fromA.id);
    }
    // A third shard: investors seen before keep their shard; new ones may go to c.
    const c = await open(schema, "c");
    for (const [investor, id] of answers) expect((await c.shardOf(investor)).id).toBe(id);
    const fresh = investors.slice(60).find((i) => defaultShardOf(i, ["a", "b", "c"]) === "c")!;
    expect(await a.shardOf(fresh)).toEqual({ id: "c", url: URLS.c });
    // A re-registered URL is what every shard answers from then on.
    maps.splice(maps.indexOf(c), 1);
    await c.close();
    const moved = await PostgresShardMap.open({ url: server.url, schema, self: { id: "c", url: "ws://127.0.0.1:7999" }, statementTimeoutMs: 5_000 });
    maps.push(moved);
    expect(await a.shardOf(fresh)).toEqual({ id: "c", url: "ws://127.0.0.1:7999" });
  });

  it("a claim pins a shard's investors to it; an investor pinned elsewhere fails INVESTOR_ELSEWHERE and changes no pin", async () => {
    const schema = freshSchema("shardclaim");
    const a = await open(schema, "a");
    const b = await open(schema, "b");
    // Whatever their hash default, investors with channels on a stay on a.
    const ofB = investors.filter((i) => defaultShardOf(i, ["a", "b"]) === "b").slice(0, 5);
    await a.claim(ofB);
    for (const investor of ofB) expect((await b.shardOf(investor)).id).toBe("a");
    const error = await b.claim(ofB.slice(0, 2)).catch((e: unknown) => e);
    expect(isShardError(error, "INVESTOR_ELSEWHERE")).toBe(true);
    for (const investor of ofB) expect((await b.shardOf(investor)).id).toBe("a");
    await a.claim([]);
  });

  it("concurrent first contacts at two shards agree on one pin", async () => {
    const schema = freshSchema("shardrace");
    const a = await open(schema, "a");
    const b = await open(schema, "b");
    const batch = investors.slice(100, 160);
    const [fromA, fromB] = await Promise.all([Promise.all(batch.map((i) => a.shardOf(i))), Promise.all(batch.map((i) => b.shardOf(i)))]);
    expect(fromA).toEqual(fromB);
    const db = new pg.Client({ connectionString: server.url });
    await db.connect();
    const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${schema}.investors`);
    await db.end();
    expect(Number(rows[0]!.n)).toBe(batch.length);
  });

  it("with the database gone a lookup fails SHARD_MAP_UNAVAILABLE, and works again once it is back", async () => {
    const schema = freshSchema("shardgone");
    const a = await open(schema, "a");
    const first = await a.shardOf(investors[0]!);
    await server.stop();
    try {
      expect(isShardError(await a.shardOf(investors[0]!).catch((e: unknown) => e), "SHARD_MAP_UNAVAILABLE")).toBe(true);
    } finally {
      await server.start();
    }
    expect(await a.shardOf(investors[0]!)).toEqual(first);
  }, 60_000);
});
