/**
 * The README's ablation table (issue 13 item 6: why the backbone does not change): one row per run, its overrides,
 * and every numeric metric the rows carry, whatever their names. Nested metrics become dotted columns
 * (`bench.synthetic-counting`); non-numeric values are not shown.
 */
import { metric, notRunYet, sourceLine, table } from "./format.ts";
import type { AblationFile } from "./inputs.ts";

/** The default command of the ablation runs (used when the file does not record its own). */
export const ABLATION_COMMAND = "deno task ablate";

/** Every numeric leaf of `value` by dotted key (null counts: a metric that was undefined in the run). */
export function numericLeaves(value: unknown, prefix = ""): [string, number | null][] {
  if (typeof value === "number" || value === null) return prefix ? [[prefix, value]] : [];
  if (typeof value !== "object" || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) =>
    numericLeaves(v, prefix ? `${prefix}.${k}` : k)
  );
}

/** The metric columns over all rows, in first-seen order. */
export function ablationColumns(a: AblationFile): string[] {
  return [...new Set(a.rows.flatMap((r) => numericLeaves(r.metrics).map(([k]) => k)))];
}

/** Overrides as one short line ("lambdaC=0.1, steps=480"); empty for the paper's settings. */
function overridesText(o: unknown): string {
  if (o === undefined || o === null) return "";
  if (typeof o !== "object") return String(o);
  return Object.entries(o as Record<string, unknown>).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ");
}

export function ablationCommand(a: AblationFile | null): string {
  return a?.command ?? (a?.argv ? `${ABLATION_COMMAND} ${a.argv.join(" ")}`.trim() : ABLATION_COMMAND);
}

export function ablationSection(a: AblationFile | null, file: string): string {
  if (!a) return notRunYet(file, ABLATION_COMMAND);
  const cols = ablationColumns(a);
  const rows = a.rows.map((r) => {
    const m = new Map(numericLeaves(r.metrics));
    return [
      r.name,
      r.description ?? "",
      overridesText(r.overrides),
      ...cols.map((c) => m.has(c) ? metric(m.get(c)) : ""),
    ];
  });
  return [
    sourceLine(file, ablationCommand(a)),
    "",
    ...table(["run", "what", "overrides", ...cols], rows),
    "",
    "Each row is one run from the same base; empty cells: the row does not carry that metric, — : undefined in the run.",
  ].join("\n");
}
