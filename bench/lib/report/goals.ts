// "Against the goals": the performance issue's goals against this run (bench/lib/goals.ts).
import { goalsOf } from "../goals.js";
import { table } from "./format.js";
import type { BenchReport } from "./types.js";

export function goalsSection(report: BenchReport): string[] {
  return [
    "## Against the goals of the performance issue",
    "",
    table(
      ["goal", "target", "this run", "met", "measured limit, and what would move it"],
      goalsOf(report).map((g) => [g.goal, g.target, g.measured, g.met === undefined ? "not measured" : g.met ? "yes" : "**no**", g.limit]),
    ),
    "",
  ];
}
