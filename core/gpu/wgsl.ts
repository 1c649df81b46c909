/**
 * The WGSL binding header every kernel starts with, written once: `bindings(["in X", "out O"], "P")` gives
 *   @group(0) @binding(0) var<storage, read> X: array<f32>;
 *   @group(0) @binding(1) var<storage, read_write> O: array<f32>;
 *   @group(0) @binding(2) var<uniform> p: P;
 * Entries are `"in NAME"` (read-only) or `"out NAME"` (read_write), optionally `: ELEMENT` (default f32). The order is
 * the binding order, which is the order `launch` binds the tensors in (then the uniform, if any).
 */
export function bindings(entries: readonly string[], uniform?: string): string {
  const lines = entries.map((e, i) => {
    const m = /^(in|out)\s+(\w+)\s*(?::\s*(.+))?$/.exec(e.trim());
    if (!m) throw new Error(`bindings: "${e}" is not "in NAME[: TYPE]" or "out NAME[: TYPE]"`);
    const access = m[1] === "in" ? "read" : "read_write";
    return `@group(0) @binding(${i}) var<storage, ${access}> ${m[2]}: array<${m[3] ?? "f32"}>;`;
  });
  if (uniform) lines.push(`@group(0) @binding(${entries.length}) var<uniform> p: ${uniform};`);
  return lines.join("\n");
}
