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

/**
 * WGSL `fn NAME(flat: u32) -> u32`: the element offset Σ_d coord_d · stride_d of row-major flat index `flat` over
 * the dims `SHAPE` (rank `RANK`, packed four to a vec4) with element strides `STRIDES`, all uniform fields. Permute,
 * broadcast masks and strided reductions address their inputs this way.
 */
export function stridedOffsetWgsl(name: string, rank: string, shape: string, strides: string): string {
  return `fn ${name}(flat: u32) -> u32 {
  var rem = flat;
  var off = 0u;
  for (var d = i32(${rank}) - 1; d >= 0; d--) {
    let dim = ${shape}[d / 4][d % 4];
    off += (rem % dim) * ${strides}[d / 4][d % 4];
    rem = rem / dim;
  }
  return off;
}`;
}
