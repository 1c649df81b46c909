/**
 * WGSL batched matmul C = op(A) · op(B) (+ bias). Each invocation computes a TM × TN register tile; B is read as vec4
 * when its rows are contiguous and N % 4 == 0. Tile sizes are parameters: llvmpipe favours large per-thread tiles
 * and no workgroup memory (see shared/reference/webgpu-on-llvmpipe.md); a real GPU wants workgroup-memory tiling.
 */
import { GpuContext } from "../context.ts";
import { launch, packParams } from "../launch.ts";
import { bindings } from "../wgsl.ts";
import { ShapeMismatchError } from "../../errors.ts";
import type { MatmulPlan } from "../../kernels/types.ts";
import type { Tensor } from "../../tensor.ts";

export interface MatmulTiling {
  tm: number;
  tn: number;
  wgX: number;
  wgY: number;
}

/** Tile sizes per adapter class. */
export function matmulTiling(): MatmulTiling {
  return { tm: 8, tn: 8, wgX: 8, wgY: 8 };
}

/** Operand storage: f32, or f16 bit pairs in u32 words read with unpack2x16float (no shader-f16 needed). */
interface OperandTypes {
  aH: boolean;
  bH: boolean;
}

function code(transA: boolean, transB: boolean, vecB: boolean, bias: boolean, t: MatmulTiling, h: OperandTypes) {
  const nv = t.tn / 4;
  const aIdx = transA ? "aBase + k * p.M + rr" : "aBase + rr * p.K + k";
  const ldB = (i: string) => h.bH ? `ldB(${i})` : `B[${i}]`;
  let loadB: string;
  if (vecB) {
    const v4 = (i: string) => h.bH ? `ldB4(${i})` : `B4[${i}]`;
    loadB = Array.from({ length: nv }, (_, j) => `let b${j} = ${v4(`bBase4 + k * n4 + min(c4 + ${j}u, n4 - 1u)`)};`)
      .join("\n      ");
  } else {
    const idx = (j: number) => {
      const c = `min(col0 + ${j}u, p.N - 1u)`;
      return transB ? `bBase + ${c} * p.K + k` : `bBase + k * p.N + ${c}`;
    };
    loadB = Array.from(
      { length: nv },
      (_, j) =>
        `let b${j} = vec4<f32>(${ldB(idx(4 * j))}, ${ldB(idx(4 * j + 1))}, ${ldB(idx(4 * j + 2))}, ${
          ldB(idx(4 * j + 3))
        });`,
    ).join("\n      ");
  }
  // Accumulators as named vec4 variables: llvmpipe keeps these in registers, an indexed array may spill.
  const accName = (r: number, j: number) => `acc${r}_${j}`;
  const rows = (f: (r: number) => string, sep: string) => Array.from({ length: t.tm }, (_, r) => f(r)).join(sep);
  const cols = (f: (j: number) => string, sep: string) => Array.from({ length: nv }, (_, j) => f(j)).join(sep);
  const declAcc = rows((r) => cols((j) => `var ${accName(r, j)} = vec4<f32>(0.0);`, " "), "\n  ");
  const accum = rows((r) => cols((j) => `${accName(r, j)} += a${r} * b${j};`, " "), "\n      ");
  const ldA = (i: string) => h.aH ? `ldA(${i})` : `A[${i}]`;
  const loadA = rows((r) => `let a${r} = ${ldA(aIdx.replace("rr", `ar${r}`))};`, "\n      ");
  const rowIdx = rows((r) => `let ar${r} = min(row0 + ${r}u, p.M - 1u);`, "\n  ");
  const store = rows(
    (r) =>
      cols(
        (j) =>
          Array.from({ length: 4 }, (_, e) => `store(b, row0 + ${r}u, col0 + ${4 * j + e}u, ${accName(r, j)}[${e}]);`)
            .join(" "),
        "\n  ",
      ),
    "\n  ",
  );
  return () => `
struct P { M: u32, N: u32, K: u32, strideA: u32, strideB: u32 }
${
    bindings([
      h.aH ? "in A: u32" : "in A",
      vecB ? (h.bH ? "in B4: vec2<u32>" : "in B4: vec4<f32>") : h.bH ? "in B: u32" : "in B",
      "in bias",
      "out C",
    ], "P")
  }
${h.aH ? "fn ldA(i: u32) -> f32 { return unpack2x16float(A[i >> 1u])[i & 1u]; }" : ""}
${h.bH && !vecB ? "fn ldB(i: u32) -> f32 { return unpack2x16float(B[i >> 1u])[i & 1u]; }" : ""}
${
    h.bH && vecB
      ? "fn ldB4(i: u32) -> vec4<f32> { let w = B4[i]; return vec4<f32>(unpack2x16float(w.x), unpack2x16float(w.y)); }"
      : ""
  }
fn store(b: u32, row: u32, col: u32, v: f32) {
  if (row < p.M && col < p.N) {
    C[b * p.M * p.N + row * p.N + col] = v${bias ? " + bias[col]" : ""};
  }
}
@compute @workgroup_size(${t.wgX}, ${t.wgY}, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  _ = bias[0]; // keep the binding in the auto layout when unused
  let col0 = gid.x * ${t.tn}u;
  let row0 = gid.y * ${t.tm}u;
  let b = gid.z;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let aBase = b * p.strideA;
  let bBase = b * p.strideB;
  let n4 = p.N / 4u;
  let bBase4 = bBase / 4u;
  let c4 = col0 / 4u;
  ${rowIdx}
  ${declAcc}
  for (var k = 0u; k < p.K; k++) {
      ${loadA}
      ${loadB}
      ${accum}
  }
  ${store}
}`;
}

export function matmul(a: Tensor, b: Tensor, bias: Tensor | null, out: Tensor, d: MatmulPlan): void {
  const t = matmulTiling();
  const vecB = !d.transB && d.n % 4 === 0;
  const h = { aH: a.dtype === "f16", bH: b.dtype === "f16" };
  const key = `matmul_${+d.transA}${+d.transB}${+vecB}${+!!bias}${+h.aH}${+h.bH}_${t.tm}x${t.tn}_${t.wgX}x${t.wgY}`;
  if (d.batch > GpuContext.current().limits.maxComputeWorkgroupsPerDimension) {
    throw new ShapeMismatchError("matmul", `batch ${d.batch} exceeds the adapter's dispatch limit`);
  }
  launch(
    key,
    code(d.transA, d.transB, vecB, !!bias, t, h),
    [a, b, bias ?? a, out],
    packParams([["u32", d.m], ["u32", d.n], ["u32", d.k], ["u32", d.strideA], ["u32", d.strideB]]),
    [Math.ceil(d.n / (t.tn * t.wgX)), Math.ceil(d.m / (t.tm * t.wgY)), d.batch],
  );
}
