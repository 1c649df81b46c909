/** Reading data files: optional text files, and JSON checked by a zod schema with errors naming the file and field. */
import type { z } from "zod";
import { DataFormatError } from "../errors.ts";

/**
 * Parses `file` as JSON and checks it with `schema`. A missing or malformed file raises DataFormatError saying it
 * should be `what`; a schema mismatch raises one naming the field path of the first issue.
 */
export async function readJsonFile<S extends z.ZodType>(file: string, schema: S, what: string): Promise<z.output<S>> {
  let raw: unknown;
  try {
    raw = JSON.parse(await Deno.readTextFile(file));
  } catch (e) {
    throw new DataFormatError(file, "(file)", what, String(e));
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataFormatError(file, issue.path.join(".") || "(root)", issue.message);
  }
  return parsed.data;
}

/** The text of `file`, or null when it does not exist (any other read error propagates). */
export async function readTextIfExists(file: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(file);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw e;
  }
}
