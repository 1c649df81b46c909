/** The kernel benchmark behind `deno task bench:kernels` (see tasks/bench_kernels.ts). */
import { GpuContext, initGpu } from "../gpu/context.ts";
import { noGrad } from "../autograd.ts";
import { Tensor, tidy } from "../tensor.ts";
import * as ops from "../ops/mod.ts";
import { type GraphSpec, ortPeer, peerGraphs, type PeerRun } from "./onnx_peers.ts";
import { checkRepeat, timeMedian } from "./timing.ts";

export type Engine = "ours-webgpu" | "ort-webgpu" | "ort-wasm" | "tfjs-webgpu" | "tfjs-wasm";

export interface BenchCase {
  op: "matmul" | "attention" | "rmsnorm" | "softmax";
  /** matmul: [m, k, n]; attention: [t, hq, hkv, d]; rmsnorm/softmax: [rows, d]. */
  dims: number[];
}

export interface BenchRow {
  op: string;
  shape: string;
  engine: Engine;
  /** Milliseconds per op call: the median sample time / `repeat`. */
  ms: number;
  /** Op calls per timed sample (each sample waits for completion once). */
  repeat: number;
  gflops?: number;
  gbps?: number;
  error?: string;
}

export interface ExtraPeer {
  engine: Engine;
  prepare(c: BenchCase): Promise<PeerRun>;
}

function work(c: BenchCase): { flops?: number; bytes?: number } {
  const [a, b, cc, d] = c.dims;
  if (c.op === "matmul") return { flops: 2 * a * b * cc };
  if (c.op === "attention") return { flops: 4 * a * a * b * d / 2 }; // causal: half of QKᵀ and PV
  return { bytes: 2 * a * b * 4 };
}

function graphFor(c: BenchCase): GraphSpec {
  const [a, b, cc, d] = c.dims;
  if (c.op === "matmul") return peerGraphs.matmul(a, b, cc);
  if (c.op === "attention") return peerGraphs.attention(a, b, cc, d);
  if (c.op === "rmsnorm") return peerGraphs.rmsNorm(a, b);
  return peerGraphs.softmax(a, b);
}

type OpFn = (...args: unknown[]) => Tensor;

/** Our implementation of a case, or an error naming the missing op. */
function oursFor(c: BenchCase): PeerRun {
  const ctx = GpuContext.current();
  const reg = ops as unknown as Record<string, OpFn | undefined>;
  const rnd = (shape: number[]) => {
    const n = shape.reduce((x, y) => x * y, 1);
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = Math.sin(i * 0.37) * 0.5;
    return Tensor.from(d, shape);
  };
  const [a, b, cc, d] = c.dims;
  let inputs: Tensor[];
  let fn: () => Tensor;
  if (c.op === "matmul") {
    inputs = [rnd([a, b]), rnd([b, cc])];
    fn = () => ops.matmulRaw(inputs[0], inputs[1]);
  } else if (c.op === "attention") {
    const attention = reg.attention;
    if (!attention) throw new Error("no attention op in core/ops");
    inputs = [rnd([1, b, a, d]), rnd([1, cc, a, d]), rnd([1, cc, a, d])];
    fn = () => attention(inputs[0], inputs[1], inputs[2], { causal: true });
  } else if (c.op === "rmsnorm") {
    const rmsNorm = reg.rmsNorm;
    if (!rmsNorm) throw new Error("no rmsNorm op in core/ops");
    inputs = [rnd([a, b]), Tensor.full([b], 1)];
    fn = () => rmsNorm(inputs[0], inputs[1], 1e-6);
  } else {
    const softmax = reg.softmax;
    if (!softmax) throw new Error("no softmax op in core/ops");
    inputs = [rnd([a, b])];
    fn = () => softmax(inputs[0]);
  }
  return {
    async run(times) {
      // tidy disposes each output, so its buffer returns to our pool; the queue orders its reuse after the op.
      for (let i = 0; i < times; i++) noGrad(() => tidy(() => void fn()));
      await ctx.sync();
    },
    release() {
      inputs.forEach((t) => t.dispose());
      return Promise.resolve();
    },
  };
}

/** The issue's shapes; `quick` keeps one of each op kind at sizes a software adapter finishes in about a minute. */
export function defaultCases(quick = false): BenchCase[] {
  if (quick) {
    return [
      { op: "matmul", dims: [256, 256, 256] },
      { op: "matmul", dims: [1024, 1024, 1024] },
      { op: "attention", dims: [512, 14, 2, 64] },
      { op: "rmsnorm", dims: [1024, 896] },
      { op: "softmax", dims: [14 * 512, 512] },
    ];
  }
  return [
    { op: "matmul", dims: [256, 256, 256] },
    { op: "matmul", dims: [512, 512, 512] },
    { op: "matmul", dims: [1024, 1024, 1024] },
    { op: "matmul", dims: [1024, 896, 4864] },
    { op: "attention", dims: [512, 14, 2, 64] },
    { op: "attention", dims: [1024, 14, 2, 64] },
    { op: "rmsnorm", dims: [1024, 896] },
    { op: "softmax", dims: [14 * 512, 512] },
  ];
}

export interface KernelReport {
  adapter: string;
  /** Op calls per timed sample, as passed with `--repeat`. */
  repeat: number;
  rows: BenchRow[];
  table: string;
}

export async function runKernelBenchmark(opts: {
  quick: boolean;
  extraPeers?: ExtraPeer[];
  cases?: BenchCase[];
  /** Op calls per timed sample, with one completion wait (default 1); the reported ms is per call. */
  repeat?: number;
  log?: (s: string) => void;
}): Promise<KernelReport> {
  const repeat = opts.repeat ?? 1;
  checkRepeat(repeat);
  const ctx = await initGpu();
  const log = opts.log ?? (() => {});
  const rows: BenchRow[] = [];
  const cases = opts.cases ?? defaultCases(opts.quick);
  const engines: { engine: Engine; prepare: (c: BenchCase) => Promise<PeerRun> }[] = [
    { engine: "ours-webgpu", prepare: (c) => Promise.resolve(oursFor(c)) },
    { engine: "ort-webgpu", prepare: (c) => ortPeer(graphFor(c), "webgpu") },
    { engine: "ort-wasm", prepare: (c) => ortPeer(graphFor(c), "wasm") },
    ...(opts.extraPeers ?? []).map((p) => ({ engine: p.engine, prepare: (c: BenchCase) => p.prepare(c) })),
  ];
  for (const c of cases) {
    const w = work(c);
    const shape = c.dims.join("x");
    for (const e of engines) {
      let peer: PeerRun | null = null;
      try {
        peer = await e.prepare(c);
        const big = (w.flops ?? 0) > 4e9;
        const runs = opts.quick ? 1 : (big ? 3 : 5);
        const t = await timeMedian((n) => peer!.run(n), { warmup: 1, runs, repeat });
        const row: BenchRow = { op: c.op, shape, engine: e.engine, ms: t.ms, repeat };
        if (w.flops) row.gflops = w.flops / t.ms / 1e6;
        if (w.bytes) row.gbps = w.bytes / t.ms / 1e6;
        rows.push(row);
        log(`${c.op} ${shape} ${e.engine}: ${fmtMs(t.ms)} ms/call (repeat ${repeat})`);
      } catch (err) {
        rows.push({
          op: c.op,
          shape,
          engine: e.engine,
          ms: NaN,
          repeat,
          error: String(err).split("\n")[0].slice(0, 160),
        });
        log(`${c.op} ${shape} ${e.engine}: unavailable (${String(err).split("\n")[0].slice(0, 120)})`);
      } finally {
        await peer?.release();
      }
    }
  }
  return { adapter: ctx.description, repeat, rows, table: formatTable(ctx.description, rows, repeat) };
}

/** Three significant digits at most, so sub-millisecond per-call times (large `repeat` on a real GPU) stay visible. */
function fmtMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

export function formatTable(adapter: string, rows: BenchRow[], repeat = 1): string {
  const per = repeat === 1 ? "1 op call per sample" : `${repeat} op calls per sample, one sync each; ms is per call`;
  const lines = [`adapter: ${adapter} · repeat ${repeat} (${per})`, ""];
  lines.push("| op | shape | engine | ms | GFLOP/s or GB/s | ours ÷ this |", "|---|---|---|---|---|---|");
  for (const r of rows) {
    const ours = rows.find((o) => o.op === r.op && o.shape === r.shape && o.engine === "ours-webgpu");
    const rate = r.gflops ?? r.gbps;
    const unit = r.gflops !== undefined ? "GFLOP/s" : "GB/s";
    const ratio = ours && !r.error && !ours.error ? (r.ms / ours.ms).toFixed(2) + "×" : "—";
    lines.push(
      `| ${r.op} | ${r.shape} | ${r.engine} | ${r.error ? "—" : fmtMs(r.ms)} | ${
        r.error ? `unavailable: ${r.error}` : `${rate!.toFixed(2)} ${unit}`
      } | ${r.engine === "ours-webgpu" ? "1.00×" : ratio} |`,
    );
  }
  return lines.join("\n");
}
