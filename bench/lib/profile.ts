// Summarises a V8 CPU profile (`node --cpu-prof`) of the node under load: self time by function, by
// component (libsecp256k1, keccak, schema validation, LevelDB, WebSocket, GC, …) and inclusive
// time of the node's own functions, so the report can name what an update costs.
import { readFileSync } from "node:fs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly ms: number;
  /** Share of the profile's busy (non-idle) time, in percent. */
  readonly percent: number;
}

export interface ProfileSummary {
  /** Samples counted: those inside the load window, when one was given. */
  readonly samples: number;
  readonly wallMs: number;
  readonly busyMs: number;
  readonly idleMs: number;
  readonly byComponent: readonly ProfileEntry[];
  readonly topSelf: readonly ProfileEntry[];
  readonly topInclusive: readonly ProfileEntry[];
}

/** The component a frame belongs to, by its script URL (and name for V8's pseudo-frames). */
function componentOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (functionName === "(idle)") return "idle";
  if (functionName === "(garbage collector)") return "garbage collection";
  if (functionName === "(program)") return "V8/native, unattributed (program)";
  const rules: [RegExp, string][] = [
    [/node_modules\/secp256k1\//, "libsecp256k1 (native sign/recover)"],
    [/node_modules\/@noble\/secp256k1\//, "@noble/secp256k1"],
    [/node_modules\/@noble\/hashes\//, "keccak-256 (@noble/hashes)"],
    [/node_modules\/zod\//, "zod schema validation"],
    [/node_modules\/ethers\//, "ethers (address checksums, ABI)"],
    [/node_modules\/(ws|bufferutil|utf-8-validate)\//, "ws (WebSocket framing)"],
    [/node_modules\/(level|classic-level|abstract-level|level-transcoder|module-error|maybe-combine-errors)/, "LevelDB binding (level)"],
    [/node_modules\/pino/, "pino logging"],
    [/node_modules\/prom-client\//, "prom-client metrics"],
    [/client\/store\//, "store: record encoding, group commit"],
    [/client\/protocol\/keccak/, "keccak-256 (core: keccak.ts)"],
    [/client\/protocol\/encoding/, "core: encoding, digest"],
    [/client\/protocol\/(wire|propose-parser)/, "core: wire parsing"],
    [/client\/protocol\/signing/, "core: signature wrappers"],
    [/client\/protocol\/compliance/, "core: compliance mirror"],
    [/client\/protocol\/trading\//, "core: trading (orders, matching, log tree)"],
    [/client\/protocol\//, "core: channel rules"],
    [/channel-node\/src\/trading\/settlement/, "node: fill settlement"],
    [/channel-node\/src\/trading\//, "node: trading desk (intake, log, books)"],
    [/channel-node\//, "node: engine, transport"],
    [/node_modules\//, "other dependencies"],
    [/^node:|^internal\/|^$/, "Node.js runtime (net, streams, JSON, timers)"],
  ];
  for (const [pattern, component] of rules) if (pattern.test(url)) return component;
  return "other";
}

function shortUrl(url: string): string {
  const at = url.lastIndexOf("node_modules/");
  if (at >= 0) return url.slice(at + "node_modules/".length);
  const repo = url.search(/(client|channel-node|scripts|bench)\//);
  return repo >= 0 ? url.slice(repo) : url.replace(/^file:\/\//, "");
}

function frameName(frame: ProfileNode["callFrame"]): string {
  const name = frame.functionName === "" ? "(anonymous)" : frame.functionName;
  if (frame.url === "") return name;
  // tsx's transpiled output has no useful line numbers for the repository's own TypeScript.
  const ownSource = !frame.url.includes("node_modules") && /\.ts$/.test(frame.url);
  return ownSource ? `${name} ${shortUrl(frame.url)}` : `${name} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
}

function top(map: Map<string, number>, busyMs: number, limit: number): ProfileEntry[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: Math.round((us / 1000 / busyMs) * 1000) / 10 }));
}

/**
 * Summarises the profile in `file`; with `window` (µs on the monotonic clock V8 stamps samples
 * with) only the samples inside it count, so start-up and idle time around the load are left out.
 */
export function summarizeProfile(file: string, window?: readonly [number, number]): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const selfByNode = new Map<number, number>();
  let at = profile.startTime;
  let samples = 0;
  let first = Infinity;
  let last = -Infinity;
  // timeDeltas[i] is the time between sample i−1 and sample i; it is charged to sample i.
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window !== undefined && (at < window[0] || at > window[1])) return;
    samples += 1;
    first = Math.min(first, at - delta);
    last = Math.max(last, at);
    selfByNode.set(id, (selfByNode.get(id) ?? 0) + delta);
  });

  const byComponent = new Map<string, number>();
  const bySelf = new Map<string, number>();
  const byInclusive = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfByNode) {
    const node = byId.get(id)!;
    totalUs += us;
    const component = componentOf(node.callFrame);
    if (component === "idle") {
      idleUs += us;
      continue;
    }
    byComponent.set(component, (byComponent.get(component) ?? 0) + us);
    const name = frameName(node.callFrame);
    bySelf.set(name, (bySelf.get(name) ?? 0) + us);
    // Inclusive time of the node's and the core's own functions: each once per stack (recursion-safe).
    const seen = new Set<string>();
    for (let frameId: number | undefined = id; frameId !== undefined; frameId = parent.get(frameId)) {
      const frame = byId.get(frameId)!.callFrame;
      if (!/(client|channel-node)\//.test(frame.url) || /node_modules/.test(frame.url)) continue;
      const key = frameName(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      byInclusive.set(key, (byInclusive.get(key) ?? 0) + us);
    }
  }
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    samples,
    wallMs: samples === 0 ? 0 : Math.round((last - first) / 1000),
    busyMs: Math.round(busyMs),
    idleMs: Math.round(idleUs / 1000),
    byComponent: top(byComponent, busyMs, 20),
    topSelf: top(bySelf, busyMs, 20),
    topInclusive: top(byInclusive, busyMs, 20),
  };
}
