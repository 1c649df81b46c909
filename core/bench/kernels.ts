/**
 * The kernel benchmark behind `deno task bench:kernels` (see tasks/bench_kernels.ts): our kernels on both devices
 * (WebGPU; WASM on every thread and on one) beside onnxruntime-web and tfjs on the same shapes, plus the SIMD128
 * FMA peak of this machine measured in the same run (one thread and all threads), so a GEMM's GFLOP/s can be read
 * as a fraction of what the CPU can do.
 */
import { GpuContext, initGpu } from "../gpu/context.ts";
import { noGrad } from "../autograd.ts";
import { Tensor, tidy } from "../tensor.ts";
import { type Device, withDevice } from "../device.ts";
import { initWasm } from "../device_init.ts";
import { WasmRuntime } from "../wasm/runtime.ts";
import { measureFmaPeak } from "../wasm/kernels/peak.ts";
import * as ops from "../ops/mod.ts";
import { type GraphSpec, ortPeer, peerGraphs, type PeerRun } from "./onnx_peers.ts";
import { checkRepeat, timeMedian } from "./timing.ts";

export type Engine =
  | "ours-webgpu"
  | "ours-wasm"
  | "ours-wasm-1t"
  | "ort-webgpu"
  | "ort-wasm"
  | "tfjs-webgpu"
  | "tfjs-wasm";

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
  /** Timed samples whose median `ms` is (after one warm-up sample). */
  runs?: number;
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

/**
 * Our implementation of a case on `device` (oneThread: the WASM device kept on the calling thread), or an error
 * naming the missing op.
 */
function oursFor(c: BenchCase, device: Device, oneThread = false): PeerRun {
  return withDevice(device, () => oursOn(c, device, oneThread));
}

function oursOn(c: BenchCase, device: Device, oneThread: boolean): PeerRun {
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
      const rt = device === "wasm" ? WasmRuntime.current() : null;
      const threshold = rt?.threadThreshold ?? 0;
      if (rt && oneThread) rt.threadThreshold = Infinity;
      try {
        // tidy disposes each output, so its storage returns to our pool (on WebGPU the queue orders its reuse after
        // the op); WASM ops run synchronously, WebGPU waits for the queue once per sample.
        for (let i = 0; i < times; i++) noGrad(() => tidy(() => void fn()));
      } finally {
        if (rt) rt.threadThreshold = threshold;
      }
      if (device === "webgpu") await GpuContext.current().sync();
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
  /** WASM threads (default: the available cores). */
  threads?: number;
  log?: (s: string) => void;
}): Promise<KernelReport> {
  const repeat = opts.repeat ?? 1;
  checkRepeat(repeat);
  const ctx = await initGpu();
  const rt = await initWasm(opts.threads);
  const log = opts.log ?? (() => {});
  const rows: BenchRow[] = [];
  const cases = opts.cases ?? defaultCases(opts.quick);
  // The SIMD128 FMA peak, measured first (one thread, then every thread): what the matmul rows are a fraction of.
  for (const [engine, which] of [["ours-wasm-1t", "one"], ["ours-wasm", "all"]] as const) {
    const gflops = measureFmaPeak(which);
    rows.push({ op: "fma-peak", shape: "12 chains", engine, ms: NaN, repeat, gflops });
    log(`SIMD128 FMA peak, ${which === "one" ? "1 thread" : `${rt.threads} threads`}: ${gflops.toFixed(1)} GFLOP/s`);
  }
  const engines: { engine: Engine; prepare: (c: BenchCase) => Promise<PeerRun> }[] = [
    { engine: "ours-webgpu", prepare: (c) => Promise.resolve(oursFor(c, "webgpu")) },
    { engine: "ours-wasm", prepare: (c) => Promise.resolve(oursFor(c, "wasm")) },
    { engine: "ours-wasm-1t", prepare: (c) => Promise.resolve(oursFor(c, "wasm", true)) },
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
        // The same rule for every engine: the warm-up's time decides how many samples fit the budget (at least 1,
        // at most 7; --quick: 0.3 s per engine and case, else 2 s), and the median of those is reported.
        const w0 = performance.now();
        await peer.run(repeat);
        const warmMs = performance.now() - w0;
        const budget = opts.quick ? 300 : 2000;
        const runs = Math.max(1, Math.min(7, Math.floor(budget / Math.max(warmMs, 1e-3))));
        const t = await timeMedian((n) => peer!.run(n), { warmup: 0, runs, repeat });
        const row: BenchRow = { op: c.op, shape, engine: e.engine, ms: t.ms, repeat, runs };
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
  const adapter = `${ctx.description}; WASM ${rt.threads} threads${rt.features.relaxedSimd ? ", relaxed FMA" : ""}`;
  return { adapter, repeat, rows, table: formatTable(adapter, rows, repeat) };
}

/** Three significant digits at most, so sub-millisecond per-call times (large `repeat` on a real GPU) stay visible. */
function fmtMs(ms: number): string {
  return ms >= 10 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3);
}

export function formatTable(adapter: string, rows: BenchRow[], repeat = 1): string {
  const per = repeat === 1 ? "1 op call per sample" : `${repeat} op calls per sample, one sync each; ms is per call`;
  const lines = [`adapter: ${adapter} · repeat ${repeat} (${per})`, ""];
  const ratio = (r: BenchRow, ours: Engine) => {
    const o = rows.find((x) => x.op === r.op && x.shape === r.shape && x.engine === ours);
    return o && !r.error && !o.error && Number.isFinite(r.ms) ? (r.ms / o.ms).toFixed(2) + "×" : "—";
  };
  lines.push(
    "| op | shape | engine | ms | GFLOP/s or GB/s | ours-wasm ÷ this | ours-webgpu ÷ this |",
    "|---|---|---|---|---|---|---|",
  );
  for (const r of rows) {
    const rate = r.gflops ?? r.gbps;
    const unit = r.gflops !== undefined ? "GFLOP/s" : "GB/s";
    lines.push(
      `| ${r.op} | ${r.shape} | ${r.engine} | ${r.error || !Number.isFinite(r.ms) ? "—" : fmtMs(r.ms)} | ${
        r.error ? `unavailable: ${r.error}` : `${rate!.toFixed(2)} ${unit}`
      } | ${ratio(r, "ours-wasm")} | ${ratio(r, "ours-webgpu")} |`,
    );
  }
  const summary = targetSummary(rows);
  if (summary) lines.push("", summary);
  return lines.join("\n");
}

/** The issue-14 targets read off one run: ours-wasm against ort-wasm and the measured SIMD peak. */
export function targetSummary(rows: BenchRow[]): string {
  const get = (op: string, shape: string | null, engine: Engine) =>
    rows.find((r) => r.op === op && (shape === null || r.shape === shape) && r.engine === engine && !r.error);
  const out: string[] = [];
  const peak = get("fma-peak", null, "ours-wasm");
  const mm = get("matmul", "1024x1024x1024", "ours-wasm"), mmOrt = get("matmul", "1024x1024x1024", "ort-wasm");
  if (mm && mmOrt) {
    out.push(
      `matmul 1024³: ours-wasm ${mm.gflops!.toFixed(1)} GFLOP/s = ${(mmOrt.ms / mm.ms).toFixed(2)}× ort-wasm` +
        (peak
          ? `, ${(100 * mm.gflops! / peak.gflops!).toFixed(0)} % of the ${peak.gflops!.toFixed(1)} GFLOP/s peak`
          : ""),
    );
  }
  for (const r of rows.filter((x) => x.op === "attention" && x.engine === "ours-wasm" && !x.error)) {
    const o = get("attention", r.shape, "ort-wasm");
    if (o) out.push(`attention ${r.shape}: ours-wasm = ${(o.ms / r.ms).toFixed(2)}× ort-wasm`);
  }
  return out.join("\n");
}
