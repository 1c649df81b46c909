/**
 * Reading benchmark parquet files (hyparquet) and validating each row with zod. Every failure is a
 * DataFormatError naming the file, the row and the field; nothing is skipped silently.
 * Binary columns stay Uint8Array (`utf8: false`); columns annotated UTF8/STRING decode to strings.
 */
import { parquetMetadata, parquetReadObjects, parquetSchema } from "hyparquet";
import type { z } from "zod";
import { DataFormatError } from "../../core/errors.ts";

export async function readParquetRows(
  path: string,
  requiredColumns: readonly string[],
): Promise<Record<string, unknown>[]> {
  let buf: ArrayBuffer;
  try {
    const bytes = await Deno.readFile(path);
    buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  } catch (e) {
    throw new DataFormatError(path, "(file)", "a readable file", (e as Error).message);
  }
  let columns: string[];
  try {
    const meta = parquetMetadata(buf);
    columns = parquetSchema(meta).children.map((c) => c.element.name);
  } catch (e) {
    throw new DataFormatError(path, "(file)", "a parquet file", (e as Error).message);
  }
  for (const c of requiredColumns) {
    if (!columns.includes(c)) {
      throw new DataFormatError(path, c, "a column of that name", `columns present: ${columns.join(", ")}`);
    }
  }
  try {
    return await parquetReadObjects({ file: buf, utf8: false }) as Record<string, unknown>[];
  } catch (e) {
    throw new DataFormatError(path, "(data pages)", "readable parquet data", (e as Error).message);
  }
}

/** Validates one row; the error names file, row number (0-based) and the failing field. */
export function parseRow<S extends z.ZodType>(schema: S, row: unknown, file: string, rowIndex: number): z.output<S> {
  const r = schema.safeParse(row);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length > 0 ? issue.path.map(String).join(".") : "(row)";
  const got = issue.path.reduce<unknown>(
    (v, k) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined),
    row,
  );
  throw new DataFormatError(file, `row ${rowIndex}: ${field}`, issue.message, `got ${describe(got)}`);
}

export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "missing";
  if (v instanceof Uint8Array) return `${v.length} bytes`;
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? v.slice(0, 60) + "…" : v);
  if (Array.isArray(v)) return `array(${v.length})`;
  return typeof v === "object" ? "object" : `${typeof v} ${String(v)}`;
}

/** `Deno.statSync(path)`, or a DataFormatError saying the path should be `expected` (a dataset folder or file). */
export function statDataPath(path: string, expected: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (e) {
    throw new DataFormatError(path, "(path)", expected, (e as Error).message);
  }
}
