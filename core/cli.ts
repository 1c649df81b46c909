/**
 * One command-line layer for every `deno task`: each task declares its flags once (name, type, default, help text,
 * zod validation) and gets
 *   - `--help` / `-h`: every flag with its default, exit 0;
 *   - a one-line error and exit 2 for an unknown flag or a bad value (no stack trace);
 *   - negative numbers without `=` (`--seed -1`);
 *   - every flag validated before the task does any work;
 *   - errors from the work itself as one line, exit 1 (`GASP_DEBUG=1` prints the stack).
 *
 * Flag keys are camelCase in code and kebab-case on the command line (`maxSteps` → `--max-steps`).
 * node:util's parseArgs is not used because it refuses a value that starts with "-" (`--seed -1`) and its errors
 * are multi-sentence; the grammar here is small: `--name value`, `--name=value`, `--flag`, `-h`, `--`.
 *
 * @example
 * const cmd = defineCommand({
 *   name: "eval",
 *   summary: "correspondence analysis",
 *   flags: { delta: flag.number("PCK threshold δ in patches", { default: 2, min: 0 }) },
 * });
 * await runCommand(cmd, Deno.args, async (args) => console.log(args.delta));
 */
import { z } from "zod";
import { ConfigError, GaspError } from "./errors.ts";

/** One declared flag: how it is written, documented and validated. */
export interface Flag<T> {
  /** "value" flags take an argument; "boolean" flags are present or not. */
  readonly kind: "value" | "boolean";
  /** Repeatable (`--model a --model b`); the raw value is then a string array. */
  readonly multiple: boolean;
  readonly help: string;
  /** What the value is, in help text (`N`, `DIR`, `FILE`). */
  readonly placeholder: string;
  /** The default as help prints it (absent: no default). */
  readonly defaultText?: string;
  /** A one-letter alias (`-n`). */
  readonly short?: string;
  /** Turns the raw value (string, string[], boolean or undefined when absent) into the flag's value. */
  readonly schema: z.ZodType<T>;
}

/** The parsed values of a flag set. */
export type FlagValues<F extends Record<string, Flag<unknown>>> = {
  [K in keyof F]: F[K] extends Flag<infer T> ? T : never;
};

/** A task's command line: its name (`deno task <name>`), help text and flags. */
export interface Command<F extends Record<string, Flag<unknown>>> {
  name: string;
  /** One line: what the task does. */
  summary: string;
  /** Further paragraphs for --help (what it reads, what it writes, defaults that need explaining). */
  description?: string;
  flags: F;
  /** Example invocations for --help. */
  examples?: string[];
  /** Cross-flag checks, run after every flag parsed; throw a ConfigError (or any Error) to refuse. */
  check?: (values: FlagValues<F>) => void;
}

/** A command-line mistake: printed as one line, exit status 2. */
export class UsageError extends GaspError {
  constructor(detail: string) {
    super(detail);
  }
}

/** Declares a command (identity; gives the flag types to TypeScript). */
export function defineCommand<F extends Record<string, Flag<unknown>>>(spec: Command<F>): Command<F> {
  for (const key of Object.keys(spec.flags)) {
    if (key === "help") throw new Error(`${spec.name}: --help is built in; do not declare it`);
  }
  return spec;
}

/** `maxSteps` → `max-steps`. */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

// ── flag builders ───────────────────────────────────────────────────────────────────────────────────────────────

/** A string value that parses to a number (or fails with a message naming what was expected). */
function numberFrom(what: string) {
  return z.string().transform((s, ctx) => {
    const n = Number(s);
    if (s.trim() === "" || !Number.isFinite(n)) {
      ctx.addIssue({ code: "custom", message: `expected ${what}, got "${s}"` });
      return z.NEVER;
    }
    return n;
  });
}

interface NumberOpts {
  min?: number;
  max?: number;
  /** Strictly above `min`. */
  exclusiveMin?: boolean;
  placeholder?: string;
  short?: string;
}

function numberSchema(integer: boolean, o: NumberOpts) {
  const what = integer ? "an integer" : "a number";
  return numberFrom(what).pipe(
    z.number().superRefine((n, ctx) => {
      const bad = (m: string) => ctx.addIssue({ code: "custom", message: m });
      if (integer && !Number.isInteger(n)) return bad(`expected an integer, got ${n}`);
      if (o.min !== undefined && (o.exclusiveMin ? n <= o.min : n < o.min)) {
        return bad(`expected ${what} ${o.exclusiveMin ? ">" : "≥"} ${o.min}, got ${n}`);
      }
      if (o.max !== undefined && n > o.max) return bad(`expected ${what} ≤ ${o.max}, got ${n}`);
    }),
  );
}

function valueFlag<T>(
  schema: z.ZodType<T>,
  help: string,
  placeholder: string,
  defaultText?: string,
  short?: string,
): Flag<T> {
  return { kind: "value", multiple: false, help, placeholder, defaultText, short, schema };
}

/** `inner` for a given value, `def` when the flag is absent; inner's own messages on failure. */
function withDefault<T, D extends T | undefined>(inner: z.ZodType<T>, def: D): z.ZodType<T | D> {
  return z.unknown().transform((v, ctx) => {
    if (v === undefined) return def;
    const r = inner.safeParse(v);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.addIssue({ code: "custom", message: issue.message });
    return z.NEVER;
  }) as unknown as z.ZodType<T | D>;
}

function string(help: string, o: { default: string; placeholder?: string; short?: string }): Flag<string>;
function string(help: string, o?: { placeholder?: string; short?: string }): Flag<string | undefined>;
function string(
  help: string,
  o: { default?: string; placeholder?: string; short?: string } = {},
): Flag<string | undefined> {
  return valueFlag(withDefault(z.string(), o.default), help, o.placeholder ?? "S", o.default, o.short);
}

function int(help: string, o: NumberOpts & { default: number }): Flag<number>;
function int(help: string, o?: NumberOpts): Flag<number | undefined>;
function int(help: string, o: NumberOpts & { default?: number } = {}): Flag<number | undefined> {
  const def = o.default === undefined ? undefined : String(o.default);
  return valueFlag(withDefault(numberSchema(true, o), o.default), help, o.placeholder ?? "N", def, o.short);
}

function number(help: string, o: NumberOpts & { default: number }): Flag<number>;
function number(help: string, o?: NumberOpts): Flag<number | undefined>;
function number(help: string, o: NumberOpts & { default?: number } = {}): Flag<number | undefined> {
  const def = o.default === undefined ? undefined : String(o.default);
  return valueFlag(withDefault(numberSchema(false, o), o.default), help, o.placeholder ?? "X", def, o.short);
}

function choice<const C extends readonly string[]>(
  values: C,
  help: string,
  o: { default: C[number]; short?: string },
): Flag<C[number]>;
function choice<const C extends readonly string[]>(
  values: C,
  help: string,
  o?: { short?: string },
): Flag<C[number] | undefined>;
function choice<const C extends readonly string[]>(
  values: C,
  help: string,
  o: { default?: C[number]; short?: string } = {},
): Flag<C[number] | undefined> {
  const inner = z.string().refine((s) => values.includes(s), {
    message: `expected one of ${values.join(", ")}`,
  }) as unknown as z.ZodType<C[number]>;
  return valueFlag(withDefault(inner, o.default), help, values.join("|"), o.default, o.short);
}

function boolean(help: string, o: { short?: string } = {}): Flag<boolean> {
  return {
    kind: "boolean",
    multiple: false,
    help,
    placeholder: "",
    short: o.short,
    schema: withDefault(z.boolean(), false),
  };
}

/** A repeatable string flag (`--model a --model b`); absent → `[]`, or `default` when given. */
function list(help: string, o: { placeholder?: string; default?: string[]; choices?: readonly string[] } = {}) {
  const item = o.choices
    ? z.string().refine((s) => o.choices!.includes(s), { message: `expected one of ${o.choices.join(", ")}` })
    : z.string();
  return {
    kind: "value",
    multiple: true,
    help: help + " (repeatable)",
    placeholder: o.placeholder ?? (o.choices ? o.choices.join("|") : "S"),
    defaultText: o.default?.join(", "),
    schema: withDefault(z.array(item), o.default ?? []).transform((v) => [...v]),
  } as Flag<string[]>;
}

/** A value flag with a custom zod schema over the raw string (or undefined when absent). */
function custom<T>(schema: z.ZodType<T>, help: string, o: { placeholder?: string; defaultText?: string } = {}) {
  return valueFlag(schema, help, o.placeholder ?? "S", o.defaultText);
}

/** Flag builders: each returns a Flag whose value type follows from its options (a default makes it non-optional). */
export const flag = { string, int, number, choice, boolean, list, custom };

// ── parsing ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** Raw values by flag key; throws UsageError for unknown flags, missing values and repeats of one-shot flags. */
function tokenize(
  flags: Record<string, Flag<unknown>>,
  argv: readonly string[],
): { raw: Record<string, unknown>; help: boolean } {
  const byName = new Map<string, string>();
  for (const [key, f] of Object.entries(flags)) {
    byName.set("--" + kebab(key), key);
    if (f.short) byName.set("-" + f.short, key);
  }
  const raw: Record<string, unknown> = {};
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      if (i + 1 < argv.length) throw new UsageError(`unexpected argument "${argv[i + 1]}" after --`);
      break;
    }
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("-") || arg === "-") throw new UsageError(`unexpected argument "${arg}" (flags start with --)`);
    const eq = arg.indexOf("=");
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const key = byName.get(name);
    if (key === undefined) throw new UsageError(`unknown flag ${name}`);
    const f = flags[key];
    let value: string | boolean;
    if (f.kind === "boolean") {
      if (eq > 0) {
        const v = arg.slice(eq + 1);
        if (v !== "true" && v !== "false") throw new UsageError(`${name}: expected true or false, got "${v}"`);
        value = v === "true";
      } else value = true;
    } else if (eq > 0) value = arg.slice(eq + 1);
    else {
      // The next argument is the value even when it starts with "-" (negative numbers), unless it is a known flag.
      const next = argv[i + 1];
      if (next === undefined || byName.has(next.split("=")[0]) || next === "--help" || next === "-h") {
        throw new UsageError(`${name} needs a value (${f.placeholder})`);
      }
      value = next;
      i++;
    }
    if (f.multiple) ((raw[key] ??= []) as unknown[]).push(value);
    else if (key in raw) throw new UsageError(`${name} given twice`);
    else raw[key] = value;
  }
  return { raw, help };
}

/**
 * Parses and validates `argv` against the command's flags. Returns `{help: true}` when help was asked for (nothing
 * else is validated then); throws UsageError (one line) otherwise on any problem.
 */
export function parseCommand<F extends Record<string, Flag<unknown>>>(
  cmd: Command<F>,
  argv: readonly string[],
): { help: true } | { help: false; values: FlagValues<F> } {
  const { raw, help } = tokenize(cmd.flags, argv);
  if (help) return { help: true };
  const values: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(cmd.flags)) {
    const r = f.schema.safeParse(raw[key]);
    if (!r.success) {
      const msg = r.error.issues.map((i) => i.message).join("; ");
      throw new UsageError(`--${kebab(key)}: ${msg}`);
    }
    values[key] = r.data;
  }
  try {
    cmd.check?.(values as FlagValues<F>);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { help: false, values: values as FlagValues<F> };
}

/** The --help text: usage line, summary, description, every flag with its default, examples. */
export function helpText<F extends Record<string, Flag<unknown>>>(cmd: Command<F>): string {
  const rows: [string, string][] = Object.entries(cmd.flags as Record<string, Flag<unknown>>).map(([key, f]) => {
    const names = (f.short ? `-${f.short}, ` : "    ") + `--${kebab(key)}` +
      (f.kind === "value" ? ` ${f.placeholder}` : "");
    const def = f.defaultText !== undefined && f.defaultText !== "" ? ` (default: ${f.defaultText})` : "";
    return [names, f.help + def];
  });
  rows.push(["-h, --help", "show this help and exit"]);
  const width = Math.min(34, Math.max(...rows.map(([n]) => n.length)) + 2);
  const lines = [`deno task ${cmd.name} [flags]`, "", cmd.summary];
  if (cmd.description) lines.push("", wrap(cmd.description.trim(), 100));
  lines.push("", "Flags:");
  for (const [names, text] of rows) {
    lines.push(
      names.length + 2 > width ? `  ${names}\n  ${" ".repeat(width)}${text}` : `  ${names.padEnd(width)}${text}`,
    );
  }
  if (cmd.examples?.length) lines.push("", "Examples:", ...cmd.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

function wrap(text: string, width: number): string {
  const out: string[] = [];
  for (const para of text.split("\n")) {
    let line = "";
    for (const word of para.split(/\s+/)) {
      if (line && line.length + 1 + word.length > width) (out.push(line), line = word);
      else line = line ? `${line} ${word}` : word;
    }
    out.push(line);
  }
  return out.join("\n");
}

/** One line for an error from a task's work: its name (for our named errors) and message. */
export function errorLine(e: unknown): string {
  if (e instanceof Error) {
    const first = e.message.split("\n")[0];
    return e instanceof GaspError ? `${e.name}: ${first}` : first;
  }
  return String(e);
}

/** The flags' values; on --help prints the help and exits 0, on a bad flag prints one line and exits 2. */
export function parseFlagsOrExit<F extends Record<string, Flag<unknown>>>(
  cmd: Command<F>,
  argv: readonly string[],
): FlagValues<F> {
  let parsed;
  try {
    parsed = parseCommand(cmd, argv);
  } catch (e) {
    console.error(`deno task ${cmd.name}: ${(e as Error).message} (see --help)`);
    Deno.exit(2);
  }
  if (parsed.help) {
    console.log(helpText(cmd));
    Deno.exit(0);
  }
  return parsed.values;
}

/**
 * Parses the flags (help → print, exit 0; a bad flag → one line on stderr, exit 2), then runs `main`. An error
 * thrown by `main` prints as one line on stderr and exits 1 (with the stack when GASP_DEBUG is set).
 */
export async function runCommand<F extends Record<string, Flag<unknown>>>(
  cmd: Command<F>,
  argv: readonly string[],
  main: (values: FlagValues<F>) => Promise<void> | void,
): Promise<void> {
  const values = parseFlagsOrExit(cmd, argv);
  try {
    await main(values);
  } catch (e) {
    console.error(`deno task ${cmd.name}: ${errorLine(e)}`);
    if (Deno.env.get("GASP_DEBUG") && e instanceof Error && e.stack) console.error(e.stack);
    else if (!(e instanceof GaspError)) console.error("(set GASP_DEBUG=1 to see the stack trace)");
    // A bad flag value found while validating (a ConfigError) is a usage error too.
    Deno.exit(e instanceof UsageError || e instanceof ConfigError ? 2 : 1);
  }
}
