/**
 * Batched matmul C = op(A) · op(B) (+ bias), op = identity or transpose, with a fused bias over columns.
 * A: (..., M, K) or (..., K, M) with transA; B: (..., K, N) or (..., N, K) with transB, or 2-D (shared by every
 * batch, as a linear layer's weight). Each invocation computes a TM × TN register tile; B is read as vec4 when its
 * rows are contiguous and N % 4 == 0. Tile sizes are parameters: llvmpipe favours large per-thread tiles and no
 * workgroup memory (see shared/reference/webgpu-on-llvmpipe.md); a real GPU wants workgroup-memory tiling.
 */
import { Tensor } from "../tensor.ts";
import { record } from "../autograd.ts";
import { ShapeMismatchError } from "../errors.ts";
import { GpuContext } from "../gpu/context.ts";
import { launch, packParams } from "./kernel.ts";
import { sumToShape } from "./reduce.ts";

export interface MatmulOptions {
  transA?: boolean;
  transB?: boolean;
  bias?: Tensor;
}

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

function code(transA: boolean, transB: boolean, vecB: boolean, bias: boolean, t: MatmulTiling) {
  const nv = t.tn / 4;
  const aIdx = transA ? "aBase + k * p.M + rr" : "aBase + rr * p.K + k";
  let loadB: string;
  if (vecB) {
    loadB = Array.from({ length: nv }, (_, j) => `let b${j} = B4[bBase4 + k * n4 + min(c4 + ${j}u, n4 - 1u)];`).join(
      "\n      ",
    );
  } else {
    const idx = (j: number) => {
      const c = `min(col0 + ${j}u, p.N - 1u)`;
      return transB ? `bBase + ${c} * p.K + k` : `bBase + k * p.N + ${c}`;
    };
    loadB = Array.from(
      { length: nv },
      (_, j) =>
        `let b${j} = vec4<f32>(B[${idx(4 * j)}], B[${idx(4 * j + 1)}], B[${idx(4 * j + 2)}], B[${idx(4 * j + 3)}]);`,
    ).join(
      "\n      ",
    );
  }
  // Accumulators as named vec4 variables: llvmpipe keeps these in registers, an indexed array may spill.
  const accName = (r: number, j: number) => `acc${r}_${j}`;
  const declAcc = Array.from(
    { length: t.tm },
    (_, r) => Array.from({ length: nv }, (_, j) => `var ${accName(r, j)} = vec4<f32>(0.0);`).join(" "),
  ).join("\n  ");
  const accum = Array.from(
    { length: t.tm },
    (_, r) => Array.from({ length: nv }, (_, j) => `${accName(r, j)} += a${r} * b${j};`).join(" "),
  ).join("\n      ");
  const loadA = Array.from({ length: t.tm }, (_, r) => `let a${r} = A[${aIdx.replace("rr", `ar${r}`)}];`).join(
    "\n      ",
  );
  const rowIdx = Array.from({ length: t.tm }, (_, r) => `let ar${r} = min(row0 + ${r}u, p.M - 1u);`).join("\n  ");
  const store = Array.from(
    { length: t.tm },
    (_, r) =>
      Array.from(
        { length: nv },
        (_, j) =>
          Array.from({ length: 4 }, (_, e) => `store(b, row0 + ${r}u, col0 + ${4 * j + e}u, ${accName(r, j)}[${e}]);`)
            .join(" "),
      ).join("\n  "),
  ).join("\n  ");
  return () => `
struct P { M: u32, N: u32, K: u32, strideA: u32, strideB: u32 }
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> ${vecB ? "B4: array<vec4<f32>>" : "B: array<f32>"};
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> C: array<f32>;
@group(0) @binding(4) var<uniform> p: P;
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

interface Dims {
  batchShape: number[];
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
}

function dims(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Dims {
  if (a.rank < 2 || b.rank < 2) {
    throw new ShapeMismatchError("matmul", `operands must be ≥ 2-D, got [${a.shape}] and [${b.shape}]`);
  }
  const [a0, a1] = a.shape.slice(-2);
  const [b0, b1] = b.shape.slice(-2);
  const m = transA ? a1 : a0, ka = transA ? a0 : a1;
  const kb = transB ? b1 : b0, n = transB ? b0 : b1;
  if (ka !== kb) {
    throw new ShapeMismatchError(
      "matmul",
      `inner dims differ: [${a.shape}]${transA ? "ᵀ" : ""} · [${b.shape}]${transB ? "ᵀ" : ""}`,
    );
  }
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  let batchShape: number[];
  if (bb.length === 0) batchShape = ba;
  else if (ba.length === 0) batchShape = bb;
  else if (ba.join() === bb.join()) batchShape = ba;
  else throw new ShapeMismatchError("matmul", `batch dims differ: [${a.shape}] vs [${b.shape}]`);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  return {
    batchShape,
    batch,
    m,
    n,
    k: ka,
    strideA: ba.length ? m * ka : 0,
    strideB: bb.length ? ka * n : 0,
  };
}

/** Forward only (no tape). */
export function matmulRaw(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const transA = !!opts.transA, transB = !!opts.transB;
  const d = dims(a, b, transA, transB);
  if (opts.bias && (opts.bias.size !== d.n)) {
    throw new ShapeMismatchError("matmul", `bias has ${opts.bias.size} elements, expected N = ${d.n}`);
  }
  const out = Tensor.empty([...d.batchShape, d.m, d.n]);
  if (out.size === 0) return out;
  const t = matmulTiling();
  const vecB = !transB && d.n % 4 === 0;
  const key = `matmul_${+transA}${+transB}${+vecB}${+!!opts.bias}_${t.tm}x${t.tn}_${t.wgX}x${t.wgY}`;
  if (d.batch > GpuContext.current().limits.maxComputeWorkgroupsPerDimension) {
    throw new ShapeMismatchError("matmul", `batch ${d.batch} exceeds the adapter's dispatch limit`);
  }
  if (d.k === 0) throw new ShapeMismatchError("matmul", "K = 0");
  launch(
    key,
    code(transA, transB, vecB, !!opts.bias, t),
    [a, b, opts.bias ?? a, out],
    packParams([["u32", d.m], ["u32", d.n], ["u32", d.k], ["u32", d.strideA], ["u32", d.strideB]]),
    [Math.ceil(d.n / (t.tn * t.wgX)), Math.ceil(d.m / (t.tm * t.wgY)), d.batch],
  );
  return out;
}

export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const out = matmulRaw(a, b, opts);
  const transA = !!opts.transA, transB = !!opts.transB;
  const inputs = opts.bias ? [a, b, opts.bias] : [a, b];
  return record(out, "matmul", inputs, (g) => {
    // fwd: C = op(A)·op(B) + bias. Each case below is dC pulled back through op(A)/op(B).
    let da: Tensor | null = null, db: Tensor | null = null;
    if (a.requiresGrad) {
      // op(A) = A:  dA = dC·op(B)ᵀ ;  op(A) = Aᵀ: dA = op(B)·dCᵀ
      da = transA ? matmulRaw(b, g, { transA: transB, transB: true }) : matmulRaw(g, b, { transB: !transB });
      da = sumToShape(da, a.shape);
    }
    if (b.requiresGrad) {
      if (b.rank === 2 && a.rank > 2 && !transA) {
        // Shared weight: fold the batch into rows so one matmul sums over it.
        const a2 = a.view([a.size / a.shape[a.rank - 1], a.shape[a.rank - 1]]);
        const g2 = g.view([g.size / g.shape[g.rank - 1], g.shape[g.rank - 1]]);
        db = transB ? matmulRaw(g2, a2, { transA: true }) : matmulRaw(a2, g2, { transA: true });
      } else {
        // op(B) = B: dB = op(A)ᵀ·dC ;  op(B) = Bᵀ: dB = dCᵀ·op(A)
        db = transB ? matmulRaw(g, a, { transA: true, transB: transA }) : matmulRaw(a, g, { transA: !transA });
        db = sumToShape(db, b.shape);
      }
    }
    const grads: (Tensor | null)[] = [da, db];
    if (opts.bias) grads.push(opts.bias.requiresGrad ? sumToShape(g, [opts.bias.size]).view(opts.bias.shape) : null);
    return grads;
  });
}

/** f64 reference (batch dims flattened; B may be shared). */
export function matmulReference(
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
  opts: { transA?: boolean; transB?: boolean; bias?: Float64Array } = {},
): Float64Array {
  const transA = !!opts.transA, transB = !!opts.transB;
  const [a0, a1] = aShape.slice(-2);
  const [b0, b1] = bShape.slice(-2);
  const m = transA ? a1 : a0, k = transA ? a0 : a1, n = transB ? b0 : b1;
  const batch = Math.max(
    aShape.slice(0, -2).reduce((x, y) => x * y, 1),
    bShape.slice(0, -2).reduce((x, y) => x * y, 1),
  );
  const sA = aShape.length > 2 ? m * k : 0, sB = bShape.length > 2 ? k * n : 0;
  const out = new Float64Array(batch * m * n);
  for (let bt = 0; bt < batch; bt++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = opts.bias ? opts.bias[j] : 0;
        for (let kk = 0; kk < k; kk++) {
          const av = a[bt * sA + (transA ? kk * m + i : i * k + kk)];
          const bv = b[bt * sB + (transB ? j * k + kk : kk * n + j)];
          acc += av * bv;
        }
        out[bt * m * n + i * n + j] = acc;
      }
    }
  }
  return out;
}
