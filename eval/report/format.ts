/**
 * Number formatting shared by the README's generated tables: a fraction as a percentage, a signed difference in
 * points, a p-value, a plain metric, and a file's provenance line. Undefined numbers (null: NaN in the run) are "—".
 */

/** A fraction as "12.3 %"; null → "—". */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : `${(100 * x).toFixed(digits)} %`;
}

/** A fraction difference as signed points ("+3.2"); null → "—". */
export function points(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : `${x >= 0 ? "+" : ""}${(100 * x).toFixed(1)}`;
}

/** A p-value ("0.012", "< 0.001"); null → "—". */
export function pValue(p: number | null | undefined): string {
  return p === null || p === undefined || !Number.isFinite(p) ? "—" : p < 0.001 ? "< 0.001" : p.toFixed(3);
}

/** A metric of unknown scale: 3 decimals below 10, 1 above; null → "—". */
export function metric(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(digits);
}

/**
 * A Markdown table from a header and rows (cells escaped for `|`), columns padded as `deno fmt` pads them (by code
 * points), so a formatted README stays formatted after a rewrite.
 */
export function table(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cell = (s: string) => s.replaceAll("|", "\\|").replaceAll("\n", " ");
  const all = [head, ...rows].map((r) => r.map(cell));
  const width = head.map((_, j) => Math.max(1, ...all.map((r) => [...(r[j] ?? "")].length)));
  const line = (r: readonly string[]) =>
    `| ${width.map((w, j) => (r[j] ?? "") + " ".repeat(w - [...(r[j] ?? "")].length)).join(" | ")} |`;
  return [line(all[0]), line(width.map((w) => "-".repeat(w))), ...all.slice(1).map(line)];
}

/** "Source: `FILE`, written by `COMMAND`." */
export function sourceLine(file: string, command: string, extra = ""): string {
  return `Source: \`${file}\`, written by \`${command}\`${extra ? ` ${extra}` : ""}.`;
}

/** What a section says when its file does not exist yet. */
export function notRunYet(file: string, command: string): string {
  return `_Not run yet: \`${command}\` (writes \`${file}\`)._`;
}

/** The README's line width (deno.json fmt.lineWidth): prose is wrapped as `deno fmt` wraps it. */
export const LINE_WIDTH = 120;

/**
 * One paragraph wrapped greedily at LINE_WIDTH, breaking only at spaces outside code spans (a code span is never
 * split, as `deno fmt` does), so a formatted README stays formatted. The generated text avoids words that Markdown
 * would read as a block start at the beginning of a line ("-", "#", ">", "12."), where `deno fmt` breaks differently.
 */
export function paragraph(text: string): string {
  const words = text.match(/(?:[^\s`]|`[^`]*`)+/g) ?? [];
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && [...line].length + 1 + [...w].length > LINE_WIDTH) (lines.push(line), line = w);
    else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join("\n");
}

/** A section body with every prose block (blank-line separated, not a table) wrapped by `paragraph`. */
export function wrapProse(body: string): string {
  return body.split(/\n{2,}/).map((b) => (b.startsWith("|") ? b : paragraph(b))).join("\n\n");
}

/**
 * The command line a report records (`argv`: `["deno", "task", "bench", …]`, or the flags alone) as one string;
 * `deno task <task>` when it records none.
 */
export function commandFrom(argv: readonly string[] | null | undefined, task: string): string {
  if (!argv) return `deno task ${task}`;
  return (argv[0] === "deno" ? argv : ["deno", "task", task, ...argv]).join(" ");
}
