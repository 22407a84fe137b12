// The shard map: which shard serves an investor, and each shard's public URL. An investor is served
// where it is pinned, else by its hash default (assignment.ts). A shard claims the investors of its
// live channels at start, so an investor never moves while it has channels: with PostgreSQL they
// are pinned to it; from configuration a channel of an investor the map gives elsewhere stops the
// start (INVESTOR_ELSEWHERE) until the operator pins the investor (docs/operations.md, "Adding a shard").
import type { Address } from "../../../client/protocol/types.js";
import { defaultShardOf } from "./assignment.js";
import type { ShardConfig } from "./config.js";
import { ShardError } from "./errors.js";

export interface ShardEntry {
  readonly id: string;
  readonly url: string;
}

export interface ShardMap {
  /** This process's shard. */
  readonly self: ShardEntry;
  /** The shard serving `investor` (PostgreSQL: pins it there if nobody had). */
  shardOf(investor: Address): Promise<ShardEntry>;
  /** Every shard of the venue, this one included. */
  shards(): Promise<readonly ShardEntry[]>;
  /** Keeps `investors` (those with live channels here) on this shard: INVESTOR_ELSEWHERE names those the map gives to another. */
  claim(investors: readonly Address[]): Promise<void>;
  close(): Promise<void>;
}

/** INVESTOR_ELSEWHERE for `elsewhere` (investor → the shard the map names), unless empty. */
export function checkClaim(self: string, elsewhere: ReadonlyMap<Address, string>): void {
  if (elsewhere.size === 0) return;
  const listed = [...elsewhere].slice(0, 10).map(([investor, shard]) => `${investor} → ${shard}`);
  throw new ShardError(
    "INVESTOR_ELSEWHERE",
    `shard ${self} holds live channels of ${elsewhere.size} investor(s) the shard map gives to another shard (${listed.join(", ")}${elsewhere.size > 10 ? ", …" : ""}): pin them to ${self}`,
    { shard: self, investors: Object.fromEntries(elsewhere) },
  );
}

/** The map from configuration (LevelDB: one store per process), the same file for every shard. */
export class ConfiguredShardMap implements ShardMap {
  readonly self: ShardEntry;
  private readonly urls: ReadonlyMap<string, string>;
  private readonly pins: ReadonlyMap<Address, string>;

  constructor(config: ShardConfig) {
    if (config.shards === undefined) throw new ShardError("SHARD_MAP_INVALID", "shard.shards (every shard's id and URL) is required with the LevelDB store");
    this.urls = new Map(Object.entries(config.shards));
    const url = this.urls.get(config.id);
    if (url === undefined) throw new ShardError("SHARD_MAP_INVALID", `shard.shards does not name this shard (${config.id})`, { shard: config.id });
    if (config.url !== undefined && config.url !== url) throw new ShardError("SHARD_MAP_INVALID", `shard.url (${config.url}) differs from shard.shards.${config.id} (${url})`, { shard: config.id });
    this.pins = new Map(Object.entries(config.investors ?? {}) as [Address, string][]);
    for (const [investor, shard] of this.pins) {
      if (!this.urls.has(shard)) throw new ShardError("SHARD_MAP_INVALID", `shard.investors pins ${investor} to ${shard}, which shard.shards does not name`, { investor, shard });
    }
    this.self = { id: config.id, url };
  }

  async shardOf(investor: Address): Promise<ShardEntry> {
    const id = this.pins.get(investor) ?? defaultShardOf(investor, [...this.urls.keys()]);
    return { id, url: this.urls.get(id)! };
  }

  async shards(): Promise<readonly ShardEntry[]> {
    return [...this.urls].map(([id, url]) => ({ id, url }));
  }

  async claim(investors: readonly Address[]): Promise<void> {
    const elsewhere = new Map<Address, string>();
    for (const investor of investors) {
      const { id } = await this.shardOf(investor);
      if (id !== this.self.id) elsewhere.set(investor, id);
    }
    checkClaim(this.self.id, elsewhere);
  }

  async close(): Promise<void> {}
}
