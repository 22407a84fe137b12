/**
 * A PostgreSQL array literal of text values (`{"a","b\"c"}`), for the store's `unnest($1::text[])`
 * statements. The `pg` client serializes a JavaScript array element by element, which costs more
 * than the database's work for the large transactions of group commit (4,000 channel records: about
 * 0.7 s against 0.1 s here); inside double quotes only `\` and `"` need escaping.
 */
export function textArray(values: readonly string[]): string {
  let literal = "{";
  for (let i = 0; i < values.length; i++) {
    if (i > 0) literal += ",";
    literal += `"${values[i]!.replace(/[\\"]/g, "\\$&")}"`;
  }
  return `${literal}}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether PostgreSQL can store `text` exactly: it holds no NUL character (text cannot) and no lone
 * surrogate (which would be stored as U+FFFD, another string).
 */
export function storableText(text: string): boolean {
  return !text.includes("\u0000") && !LONE_SURROGATE.test(text);
}

