// Every key of the node's configuration can be set by an environment variable, nested keys and the
// contracts included: `CLEARLINE_` and the key's path in upper snake case (`contracts.adjudicator` →
// `CLEARLINE_CONTRACTS_ADJUDICATOR`, `engineBounds.maxLocksPerInvestor` →
// `CLEARLINE_ENGINE_BOUNDS_MAX_LOCKS_PER_INVESTOR`). The names are derived from the schema, so a key
// added to it gets its variable too. Text values are taken as they are; numbers, booleans, lists and
// objects are JSON (`CLEARLINE_CONTRACTS_CASH='["0x…"]'`).
import type { z } from "zod";

/** Keys whose variable keeps an established name instead of the derived one. */
const NAMED: Readonly<Record<string, string>> = { privateKey: "CLEARLINE_NODE_KEY", "store.url": "CLEARLINE_DATABASE_URL" };

export interface EnvSetting {
  /** The environment variable. */
  readonly name: string;
  /** The key's path in the configuration. */
  readonly path: readonly string[];
  /** Whether the value is JSON (numbers, booleans, lists, objects) rather than text. */
  readonly json: boolean;
}

const upperSnake = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

/** Every configuration key reachable through nested objects, with its environment variable. */
export function envSettingsOf(schema: z.ZodType): EnvSetting[] {
  const settings: EnvSetting[] = [];
  const walk = (node: z.ZodType, path: string[]): void => {
    const def = (node as unknown as { def: { type: string; innerType?: z.ZodType; in?: z.ZodType } }).def;
    switch (def.type) {
      case "object":
        for (const [key, child] of Object.entries((node as unknown as z.ZodObject).shape)) walk(child as z.ZodType, [...path, key]);
        return;
      case "optional":
      case "default":
      case "nullable":
      case "prefault":
        return walk(def.innerType!, path);
      case "pipe":
        // A transformed value (e.g. a checksummed address): what the environment gives is its input.
        return leaf(def.in!, path);
      default:
        return leaf(node, path);
    }
  };
  const leaf = (node: z.ZodType, path: string[]): void => {
    const type = (node as unknown as { def: { type: string } }).def.type;
    const joined = path.join(".");
    settings.push({ name: NAMED[joined] ?? `CLEARLINE_${path.map(upperSnake).join("_")}`, path, json: !["string", "enum", "union", "literal"].includes(type) });
  };
  walk(schema, []);
  return settings;
}

/** Sets `value` at `path` in `target`, creating the objects on the way (an env key inside an optional section creates it). */
export function setAtPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}
