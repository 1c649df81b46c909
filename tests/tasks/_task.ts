/** Runs a `deno task` as deno.json defines it (same permission flags, script path absolute) from a scratch folder. */
import assert from "node:assert/strict";
import { join } from "node:path";
import denoJson from "../../deno.json" with { type: "json" };

export const ROOT = new URL("../../", import.meta.url).pathname;
export const TASKS = Object.entries(denoJson.tasks as Record<string, string>).filter(([name]) => name !== "test");

/** The task's command line from deno.json with `deno` → this Deno, the script path absolute. */
export function commandOf(name: string): string[] {
  const line = (denoJson.tasks as Record<string, string>)[name];
  assert.ok(line, `no deno task "${name}"`);
  const parts = line.split(/\s+/);
  assert.equal(parts[0], "deno", `${name}: task must start with "deno"`);
  return parts.slice(1).map((p) => (p.startsWith("tasks/") ? join(ROOT, p) : p));
}

export interface TaskResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export async function runTask(
  name: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<TaskResult> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...commandOf(name), ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const dec = new TextDecoder();
  // Deno itself prints "Download <url>" on stderr the first time an npm package is fetched into its cache (a fresh
  // machine): not the task's output, so the one-line checks must not count it.
  const stderr = dec.decode(out.stderr).replace(/^Download https?:\/\/\S+\n/gm, "");
  return { code: out.code, stdout: dec.decode(out.stdout), stderr, ms: performance.now() - t0 };
}
