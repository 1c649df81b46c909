/**
 * Peer engines for the kernel benchmark: the same op as a small ONNX graph built in memory with onnx-proto and run
 * by onnxruntime-web's WebGPU EP (sharing our GPUDevice, inputs and outputs left on the GPU) and WASM EP.
 */
import onnxProto from "onnx-proto";
import * as ort from "onnxruntime-web/webgpu";

// deno-lint-ignore no-explicit-any
const onnx: any = (onnxProto as any).onnx ?? onnxProto;

export interface GraphSpec {
  inputs: { name: string; dims: number[] }[];
  outputs: { name: string; dims: number[] }[];
  nodes: { op: string; inputs: string[]; outputs: string[]; attrs?: Record<string, number | number[]> }[];
  initializers?: { name: string; dims: number[]; data: Int32Array | BigInt64Array | Float32Array }[];
}

function valueInfo(name: string, dims: number[]) {
  return { name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

function attr(name: string, v: number | number[]) {
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  return Number.isInteger(v) ? { name, type: 2, i: v } : { name, type: 1, f: v };
}

export function buildModel(g: GraphSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "bench",
      node: g.nodes.map((n, i) => ({
        opType: n.op,
        input: n.inputs,
        output: n.outputs,
        name: `n${i}`,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attr(k, v)),
      })),
      input: g.inputs.map((i) => valueInfo(i.name, i.dims)),
      output: g.outputs.map((o) => valueInfo(o.name, o.dims)),
      initializer: (g.initializers ?? []).map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof Float32Array ? 1 : t.data instanceof Int32Array ? 6 : 7,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

export interface PeerRun {
  /** Issue the op `times` times back to back, then wait for completion once (the `--repeat` count). */
  run(times: number): Promise<void>;
  release(): Promise<void>;
}

/** A session for `graph` on `ep`, with random inputs already resident where the EP computes. */
export async function ortPeer(graph: GraphSpec, ep: "webgpu" | "wasm"): Promise<PeerRun> {
  ort.env.wasm.numThreads = 1;
  const bytes = buildModel(graph);
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: [ep],
    preferredOutputLocation: ep === "webgpu" ? "gpu-buffer" : "cpu",
    graphOptimizationLevel: "all",
  });
  // ORT's WebGPU EP creates its own device on the same adapter; inputs live there so no upload is timed.
  const device = ep === "webgpu" ? (await ort.env.webgpu.device) as unknown as GPUDevice : null;
  const feeds: Record<string, ort.Tensor> = {};
  const buffers: GPUBuffer[] = [];
  for (const inp of graph.inputs) {
    const n = inp.dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 0.5;
    if (device) {
      const buf = device.createBuffer({
        size: Math.ceil(n * 4 / 16) * 16,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
      device.queue.writeBuffer(buf, 0, data);
      buffers.push(buf);
      feeds[inp.name] = ort.Tensor.fromGpuBuffer(buf as never, { dataType: "float32", dims: inp.dims });
    } else {
      feeds[inp.name] = new ort.Tensor("float32", data, inp.dims);
    }
  }
  return {
    // What session.run does on the WebGPU EP (onnxruntime-web 1.30: the native C++ WebGPU EP in the asyncify build,
    // not JSEP), checked by wrapping the device's methods: pushErrorScope, one queue.submit of the whole graph
    // (OnRunEnd → Flush), then it awaits popErrorScope, which Deno's wgpu resolves in ~0.1 ms (validation is
    // CPU-side). It never calls onSubmittedWorkDone or mapAsync for gpu-buffer outputs, so it flushes once per run
    // and does NOT wait for the GPU: the onSubmittedWorkDone below is what makes a sample include the work. On
    // llvmpipe the submit itself executes the work synchronously (the run() returns after the compute, the wait adds
    // Deno's ~11 ms poll tick), which holds for every engine's submit alike. Disposing an output hands its buffer
    // back to ORT's cache; the next run may reuse it, which the queue orders after this run's reads.
    async run(times) {
      for (let i = 0; i < times; i++) {
        const out = await session.run(feeds);
        for (const t of Object.values(out)) t.dispose();
      }
      // WASM computes synchronously inside run(); only the WebGPU EP has queued work to wait for.
      if (device) await device.queue.onSubmittedWorkDone();
    },
    async release() {
      await session.release();
      buffers.forEach((b) => b.destroy());
    },
  };
}

/** Graphs for the benchmarked ops, written with standard opset-17 operators. */
export const peerGraphs = {
  matmul(m: number, k: number, n: number): GraphSpec {
    return {
      inputs: [{ name: "A", dims: [m, k] }, { name: "B", dims: [k, n] }],
      outputs: [{ name: "C", dims: [m, n] }],
      nodes: [{ op: "MatMul", inputs: ["A", "B"], outputs: ["C"] }],
    };
  },
  /** softmax(Q·Kᵀ/√D + causal)·V with GQA by repeating KV heads (Expand), as an exported decoder does it. */
  attention(t: number, hq: number, hkv: number, d: number): GraphSpec {
    const rep = hq / hkv;
    const mask = new Float32Array(t * t);
    for (let i = 0; i < t; i++) for (let j = i + 1; j < t; j++) mask[i * t + j] = -1e9;
    return {
      inputs: [
        { name: "Q", dims: [1, hq, t, d] },
        { name: "K", dims: [1, hkv, t, d] },
        { name: "V", dims: [1, hkv, t, d] },
      ],
      outputs: [{ name: "O", dims: [1, hq, t, d] }],
      initializers: [
        { name: "shape5", dims: [5], data: BigInt64Array.from([1n, BigInt(hkv), 1n, BigInt(t), BigInt(d)]) },
        { name: "expand5", dims: [5], data: BigInt64Array.from([1n, BigInt(hkv), BigInt(rep), BigInt(t), BigInt(d)]) },
        { name: "shape4", dims: [4], data: BigInt64Array.from([1n, BigInt(hq), BigInt(t), BigInt(d)]) },
        { name: "scale", dims: [], data: Float32Array.from([1 / Math.sqrt(d)]) },
        { name: "mask", dims: [t, t], data: mask },
      ],
      nodes: [
        { op: "Reshape", inputs: ["K", "shape5"], outputs: ["K5"] },
        { op: "Expand", inputs: ["K5", "expand5"], outputs: ["K5e"] },
        { op: "Reshape", inputs: ["K5e", "shape4"], outputs: ["Kr"] },
        { op: "Reshape", inputs: ["V", "shape5"], outputs: ["V5"] },
        { op: "Expand", inputs: ["V5", "expand5"], outputs: ["V5e"] },
        { op: "Reshape", inputs: ["V5e", "shape4"], outputs: ["Vr"] },
        { op: "Transpose", inputs: ["Kr"], outputs: ["Kt"], attrs: { perm: [0, 1, 3, 2] } },
        { op: "MatMul", inputs: ["Q", "Kt"], outputs: ["S0"] },
        { op: "Mul", inputs: ["S0", "scale"], outputs: ["S1"] },
        { op: "Add", inputs: ["S1", "mask"], outputs: ["S"] },
        { op: "Softmax", inputs: ["S"], outputs: ["P"], attrs: { axis: -1 } },
        { op: "MatMul", inputs: ["P", "Vr"], outputs: ["O"] },
      ],
    };
  },
  /** RMSNorm as Qwen2 computes it: x · rsqrt(mean(x²) + eps) · w. */
  rmsNorm(rows: number, d: number): GraphSpec {
    return {
      inputs: [{ name: "X", dims: [rows, d] }],
      outputs: [{ name: "Y", dims: [rows, d] }],
      initializers: [
        { name: "w", dims: [d], data: new Float32Array(d).fill(1) },
        { name: "eps", dims: [], data: Float32Array.from([1e-6]) },
      ],
      nodes: [
        { op: "Mul", inputs: ["X", "X"], outputs: ["X2"] },
        { op: "ReduceMean", inputs: ["X2"], outputs: ["M"], attrs: { axes: [-1], keepdims: 1 } },
        { op: "Add", inputs: ["M", "eps"], outputs: ["Me"] },
        { op: "Sqrt", inputs: ["Me"], outputs: ["R"] },
        { op: "Div", inputs: ["X", "R"], outputs: ["Xn"] },
        { op: "Mul", inputs: ["Xn", "w"], outputs: ["Y"] },
      ],
    };
  },
  softmax(rows: number, d: number): GraphSpec {
    return {
      inputs: [{ name: "X", dims: [rows, d] }],
      outputs: [{ name: "Y", dims: [rows, d] }],
      nodes: [{ op: "Softmax", inputs: ["X"], outputs: ["Y"], attrs: { axis: -1 } }],
    };
  },
};
