import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const CORE = fileURLToPath(new URL("../../core/", import.meta.url));

/** Every .ts file under `dir`. */
function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) out.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/**
 * Relative static imports of a module: `import … from "./x.ts"`, `import type …`, `export … from`, `import "./x.ts"`.
 * Type-only imports count too: a circle of types is still a circle in the design. Dynamic import() does not.
 */
export function staticImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const re = /(?:^|[;\n])\s*(?:import|export)\s+(?:type\s+)?(?:[\w*\s{},$]*?\s+from\s+)?["']([^"']+)["']/g;
  const specs: string[] = [];
  for (const m of code.matchAll(re)) if (m[1].startsWith(".")) specs.push(m[1]);
  return specs;
}

/** The import graph of core/ (edges only between core/ files) and its cycles (strongly connected components). */
function coreCycles(): string[][] {
  const files = tsFiles(CORE).map((f) => resolve(f));
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const f of files) {
    const deps = staticImports(Deno.readTextFileSync(f)).map((s) => resolve(dirname(f), s)).filter((d) => known.has(d));
    edges.set(f, deps);
  }
  // Tarjan's strongly connected components; any component of 2+ files (or a self-import) is a cycle.
  let index = 0;
  const idx = new Map<string, number>(), low = new Map<string, number>(), onStack = new Set<string>();
  const stack: string[] = [];
  const cycles: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v)!) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || edges.get(v)!.includes(v)) cycles.push(comp.map((c) => relative(CORE, c)).sort());
    }
  };
  for (const f of files) if (!idx.has(f)) visit(f);
  return cycles;
}

Deno.test("the import scanner sees every static import form and skips dynamic imports and comments", () => {
  const src = `
import { a } from "./a.ts";
import type { B } from "../b.ts";
import * as c from "./c.ts";
export { d } from "./d.ts";
export * from "./e.ts";
import "./f.ts";
import {
  g,
  h,
} from "./gh.ts";
// import { x } from "./commented.ts";
/* import { y } from "./block.ts"; */
const z = await import("./dynamic.ts");
import { hono } from "hono";`;
  assert.deepEqual(staticImports(src), ["./a.ts", "../b.ts", "./c.ts", "./d.ts", "./e.ts", "./f.ts", "./gh.ts"]);
});

Deno.test("core/ has no import cycles (tape below the ops, raw kernels below the recording ops)", () => {
  const cycles = coreCycles();
  assert.deepEqual(cycles, [], `import cycles under core/:\n${cycles.map((c) => "  " + c.join(" <-> ")).join("\n")}`);
});
