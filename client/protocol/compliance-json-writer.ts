/**
 * Writes the canonical JSON text of `ComplianceFacts` (exactly `JSON.stringify(complianceFactsToJson(facts))`)
 * as a generator that pauses (`yield`) after every small step of work, so a caller can spread the
 * encoding of a large mirror (100,000 holders: ~47 MB) over many event-loop turns instead of one long
 * synchronous call. Keys are sorted by a merge sort that pauses too. Pure: the caller decides when to
 * resume; facts are immutable, so the snapshot being written cannot change meanwhile.
 */
import type { AttributeRecord, ComplianceFacts, JurisdictionFacts, RulesFacts, TokenFacts, ValidatorApproval } from "./compliance/index.js";
import { COMPLIANCE_FACTS_JSON_VERSION } from "./compliance-json.js";

/** A generator that pauses between steps and returns its result. */
export type Steps<T> = Generator<void, T, void>;

/** Entries written, or keys copied or merged, between pauses (each well under a millisecond). */
const STEP = 128;
const KEYS_STEP = 4_096;
/** Keys sorted natively at once, before merging; pieces joined into one chunk of the text. */
const RUN = 1_024;
const CHUNK = 2_048;

const ascending = <T extends string | bigint>(a: T, b: T): number => (a < b ? -1 : a > b ? 1 : 0);

/** `items` sorted ascending (distinct keys): runs sorted natively, then merged, pausing every STEP items. */
function* sorted<T extends string | bigint>(items: T[]): Steps<T[]> {
  if (items.length <= RUN) return items.sort(ascending);
  let runs: T[][] = [];
  for (let i = 0; i < items.length; i += RUN) {
    runs.push(items.slice(i, i + RUN).sort(ascending));
    yield;
  }
  while (runs.length > 1) {
    const merged: T[][] = [];
    for (let r = 0; r < runs.length; r += 2) {
      const a = runs[r]!;
      const b = runs[r + 1];
      if (b === undefined) {
        merged.push(a);
        continue;
      }
      const out = new Array<T>(a.length + b.length);
      let i = 0;
      let j = 0;
      let k = 0;
      while (i < a.length && j < b.length) {
        out[k++] = a[i]! < b[j]! ? a[i++]! : b[j++]!;
        if (k % KEYS_STEP === 0) yield;
      }
      while (i < a.length) out[k++] = a[i++]!;
      while (j < b.length) out[k++] = b[j++]!;
      merged.push(out);
      yield;
    }
    runs = merged;
  }
  return runs[0]!;
}

/** Collects the text in pieces; every few thousand pieces are joined, so no single join is long. */
class Text {
  private pieces: string[] = [];
  private readonly chunks: string[] = [];

  add(piece: string): void {
    this.pieces.push(piece);
    if (this.pieces.length >= CHUNK) this.flush();
  }

  private flush(): void {
    this.chunks.push(this.pieces.join(""));
    this.pieces = [];
  }

  /** The whole text. */
  *joined(): Steps<string> {
    this.flush();
    // Pairwise concatenation builds a rope in O(chunks); the consumer flattens it once when writing.
    let text = "";
    for (let i = 0; i < this.chunks.length; i++) {
      text += this.chunks[i]!;
      if (i % KEYS_STEP === 0) yield;
    }
    return text;
  }
}

const str = (value: string | null): string => JSON.stringify(value);
const num = (value: number): string => JSON.stringify(value);
const dec = (value: bigint): string => `"${value.toString()}"`;

/** The members of `items`, copied in steps. */
function* listed<T>(items: Iterable<T>): Steps<T[]> {
  const list: T[] = [];
  for (const item of items) {
    if (list.push(item) % KEYS_STEP === 0) yield;
  }
  return list;
}

/** Writes `[[key,value],…]` of `map`, keys ascending; `value` writes one entry's value. */
function* mapOf<K extends string | bigint, V>(out: Text, map: ReadonlyMap<K, V>, value: (out: Text, v: V) => Steps<void> | void): Steps<void> {
  const keys = yield* sorted(yield* listed(map.keys()));
  out.add("[");
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out.add(`${i === 0 ? "" : ","}[${typeof k === "bigint" ? dec(k) : str(k)},`);
    const inner = value(out, map.get(k)!);
    if (inner !== undefined) yield* inner;
    out.add("]");
    if (i % STEP === STEP - 1) yield;
  }
  out.add("]");
}

function* setOf<T extends string | bigint>(out: Text, set: ReadonlySet<T>): Steps<void> {
  const members = yield* sorted(yield* listed(set));
  out.add("[");
  for (let i = 0; i < members.length; i++) {
    const m = members[i]!;
    out.add(`${i === 0 ? "" : ","}${typeof m === "bigint" ? dec(m) : str(m)}`);
    if (i % STEP === STEP - 1) yield;
  }
  out.add("]");
}

const approval = (out: Text, a: ValidatorApproval): void => out.add(`{"approved":${a.approved},"generation":${num(a.generation)}}`);

const attribute = (out: Text, r: AttributeRecord): void =>
  out.add(`{"value":${dec(r.value)},"expiresAt":${dec(r.expiresAt)},"validator":${str(r.validator)},"generation":${num(r.generation)}}`);

function* jurisdiction(out: Text, j: JurisdictionFacts): Steps<void> {
  out.add(`{"approvals":`);
  yield* mapOf(out, j.approvals, (o, byValidator) => mapOf(o, byValidator, approval));
  out.add(`,"attributes":`);
  yield* mapOf(out, j.attributes, (o, byType) => mapOf(o, byType, attribute));
  out.add("}");
}

function* rules(out: Text, r: RulesFacts): Steps<void> {
  out.add(`{"jurisdiction":${str(r.jurisdiction)},"accreditationRequired":${r.accreditationRequired},"blockedCountries":`);
  yield* setOf(out, r.blockedCountries);
  out.add(`,"lockups":`);
  yield* mapOf(out, r.lockups, (o, until) => o.add(dec(until)));
  out.add(`,"maxBalance":${dec(r.maxBalance)}}`);
}

function* token(out: Text, t: TokenFacts): Steps<void> {
  out.add(`{"rules":${str(t.rules)},"paused":${t.paused},"frozen":`);
  yield* setOf(out, t.frozen);
  out.add(`,"balances":`);
  yield* mapOf(out, t.balances, (o, balance) => o.add(dec(balance)));
  out.add(`,"controllers":`);
  yield* setOf(out, t.controllers);
  out.add(`,"treasury":${str(t.treasury)}}`);
}

/** Writes the facts' JSON value after `prefix` and before `suffix` (e.g. inside a record). */
export function* complianceFactsJsonText(facts: ComplianceFacts, prefix = "", suffix = ""): Steps<string> {
  const out = new Text();
  const cursor = facts.cursor === null ? "null" : `{"blockNumber":${dec(facts.cursor.blockNumber)},"logIndex":${num(facts.cursor.logIndex)}}`;
  out.add(`${prefix}{"v":${COMPLIANCE_FACTS_JSON_VERSION},"cursor":${cursor},"jurisdictions":`);
  yield* mapOf(out, facts.jurisdictions, jurisdiction);
  out.add(`,"rules":`);
  yield* mapOf(out, facts.rules, rules);
  out.add(`,"tokens":`);
  yield* mapOf(out, facts.tokens, token);
  out.add(`}${suffix}`);
  return yield* out.joined();
}

/** Runs `steps` to the end at once (small facts, tests). */
export function runSteps<T>(steps: Steps<T>): T {
  for (;;) {
    const next = steps.next();
    if (next.done === true) return next.value;
  }
}
