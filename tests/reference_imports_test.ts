/**
 * The f64 references live in folders named `reference/` (train/reference/, core/model/reference/) and only tests and
 * other references import them: product code must never depend on the slow f64 path it is checked against.
 */
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SKIP_DIRS = new Set(["node_modules", "tests", "runs", "out", ".git"]);

/** Every module specifier a TypeScript source names: static imports/exports, side-effect and dynamic imports. */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const patterns = [
    /\b(?:import|export)\b[^;"'`]*?\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["'`]([^"'`]+)["'`]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.push(m[1]);
  return out;
}

/** True when a repo-relative path lies inside a folder named `reference`. */
const inReferenceFolder = (rel: string) => rel.split("/").slice(0, -1).includes("reference");

/** "file imports target" for every relative import from outside a reference folder into one. */
export function referenceImportViolations(files: Map<string, string>): string[] {
  const bad: string[] = [];
  for (const [rel, source] of files) {
    if (inReferenceFolder(rel)) continue;
    for (const spec of importSpecifiers(source)) {
      if (!spec.startsWith(".")) continue;
      const target = relative(ROOT, resolve(ROOT, dirname(rel), spec)).split("\\").join("/");
      if (inReferenceFolder(target)) bad.push(`${rel} imports ${target}`);
    }
  }
  return bad;
}

async function productSources(dir = ROOT, out = new Map<string, string>()): Promise<Map<string, string>> {
  for await (const e of Deno.readDir(dir)) {
    const path = join(dir, e.name);
    if (e.isDirectory && !SKIP_DIRS.has(e.name) && !e.name.startsWith(".")) await productSources(path, out);
    else if (e.isFile && /\.(ts|tsx|js|mjs)$/.test(e.name)) {
      out.set(relative(ROOT, path).split("\\").join("/"), await Deno.readTextFile(path));
    }
  }
  return out;
}

Deno.test("the violation check catches static, type-only, re-export and dynamic imports of a reference folder", () => {
  const files = new Map([
    ["train/loop.ts", 'import { lmLoss } from "./reference/losses.ts";\nimport type { X } from "./losses.ts";'],
    ["train/a.ts", 'export { y } from "../core/model/reference/forward.ts";'],
    ["train/b.ts", 'const m = await import("./reference/adamw.ts");'],
    ["core/c.ts", 'import "./model/reference/ops.ts";'],
    ["train/reference/head_loss.ts", 'import { infoNceLoss } from "./losses.ts";'],
    ["train/d.ts", 'import { referenceForward } from "./reference_like.ts";'],
  ]);
  assert.deepEqual(referenceImportViolations(files), [
    "train/loop.ts imports train/reference/losses.ts",
    "train/a.ts imports core/model/reference/forward.ts",
    "train/b.ts imports train/reference/adamw.ts",
    "core/c.ts imports core/model/reference/ops.ts",
  ]);
});

Deno.test("no product file (outside tests/ and reference/ folders) imports an f64 reference", async () => {
  const files = await productSources();
  assert.ok(files.has("train/loop.ts") && files.has("mod.ts"), `scanned ${files.size} files from ${ROOT}`);
  const refs = [...files.keys()].filter(inReferenceFolder);
  assert.ok(refs.includes("train/reference/losses.ts"), "the references live under reference/ folders");
  assert.deepEqual(referenceImportViolations(files), []);
});
