// The restart measurement reads how long each phase of the node's start took from the node's own
// log lines (the CLI's "node ready", the node's "channel node listening"), among other lines.
import { describe, expect, it } from "vitest";
import { startPhasesOf } from "../../bench/lib/node.js";

const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 30, time: 1, pid: 7, ...fields });

describe("startPhasesOf", () => {
  it("takes the modules phase from 'node ready' and the others from 'channel node listening', skipping other output", () => {
    const output = [
      line({ msg: "starting channel node" }),
      "not json {",
      line({ url: "ws://127.0.0.1:1", startMs: { chain: 210, store: 3100, engine: 300, watchers: 280, listen: 9 }, msg: "channel node listening" }),
      line({ adminTokenFile: "/x", msg: "admin API token (send it with --token-file)" }),
      line({ loadedMs: 640, readyMs: 4600, msg: "node ready (ms since the process began: modules loaded, node listening)" }),
      "",
    ].join("\n");
    expect(startPhasesOf(output)).toEqual({ modules: 640, chain: 210, store: 3100, engine: 300, watchers: 280, listen: 9 });
  });

  it("is undefined when either line is missing (a node logging above info)", () => {
    expect(startPhasesOf(line({ loadedMs: 640, msg: "node ready" }))).toBeUndefined();
    expect(startPhasesOf(line({ startMs: { chain: 1 }, msg: "channel node listening" }))).toBeUndefined();
    expect(startPhasesOf("")).toBeUndefined();
  });
});
