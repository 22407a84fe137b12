// Number formats and the Markdown table shared by the report's sections.
export const int = (x: number) => Math.round(x).toLocaleString("en-US");
export const fixed = (x: number, digits = 1) => x.toFixed(digits);
export const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** A run's answers other than `accepted`, by code ("0" when there were none). */
export const refusalsText = (refusals: Record<string, number>) => Object.entries(refusals).map(([code, n]) => `${code} ${n}`).join(", ") || "0";

/** A Markdown table; the first column left-aligned and the rest right-aligned unless `align` says otherwise. */
export function table(headers: string[], rows: (string | number)[][], align?: ("l" | "r")[]): string {
  const line = (cells: (string | number)[]) => `| ${cells.join(" | ")} |`;
  const rule = `|${headers.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---")).join("|")}|`;
  return [line(headers), rule, ...rows.map(line)].join("\n");
}
