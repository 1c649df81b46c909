/**
 * deno task bench:train (`--help` lists the flags)
 * Training-step throughput of the tiny model in one run: ours on the WASM device and on WebGPU, and tfjs
 * (tfjs-backend-webgpu) on the decoder step; the real GASP step on both of our devices. `--json FILE` writes
 * {rows: [{step: "gasp" | "decoder", engine, ms, tokensPerS, firstLoss}]}.
 *
 * The compared step (same on both sides): a text-only decoder step of the tiny Qwen2.5-VL LLM (TINY_CONFIG: 4
 * layers, width 128, 4 query / 2 KV heads of 32, SwiGLU 256, vocab 640) on T tokens — token embedding, per layer
 * RMSNorm → q/k/v (with bias) → RoPE → causal GQA attention → o_proj → residual → RMSNorm → SwiGLU → residual,
 * final RMSNorm, untied LM head, mean cross-entropy; backward to every decoder parameter; one optimiser update.
 * Differences: ours applies M-RoPE (equal to 1-D RoPE on text-only positions) and AdamW; the tfjs step uses 1-D
 * RoPE and tf.train.adam (tfjs has no AdamW). The tfjs step was written only for this comparison.
 * Ours alone is also timed on the real GASP step (3 frames as images + 1 QA item, LoRA + heads on all layers).
 */
import { defineCommand, flag, parseFlagsOrExit } from "../core/cli.ts";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { backward, type Device, initGpu, Rng, tidyAsync, withDevice, zeroGrad } from "../core/runtime.ts";
import { deviceFlags, initWasm } from "../core/device_init.ts";
import { writeFileAtomic } from "../core/io/atomic.ts";
import * as op from "../core/ops/mod.ts";
import { TINY_CONFIG } from "../core/model/config.ts";
import { initParameters } from "../core/model/init.ts";
import { VlmModel } from "../core/model/vlm.ts";

const cmd = defineCommand({
  name: "bench:train",
  summary: "Training-step throughput: ours (WASM, WebGPU) and tfjs-webgpu on the decoder step, ours on the GASP step.",
  flags: {
    tokens: flag.int("tokens in the decoder step", { default: 256, min: 2 }),
    maxSteps: flag.int("timed steps per engine (after the warm-up)", { default: 5, min: 1 }),
    warmup: flag.int("untimed warm-up steps per engine", { default: 2, min: 0 }),
    json: flag.string("also write the rows as JSON", { placeholder: "FILE" }),
    threads: deviceFlags.threads,
  },
});
const values = parseFlagsOrExit(cmd, Deno.args);
const T = values.tokens, STEPS = values.maxSteps, WARMUP = values.warmup;
const c = TINY_CONFIG;
const H = c.hidden_size, Hq = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = H / Hq, V = c.vocab_size;
const rng = new Rng(0);
const ids = Int32Array.from({ length: T }, () => rng.int(600));
const targets = Int32Array.from({ length: T }, (_, t) => (t + 1 < T ? ids[t + 1] : -100));

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
}

interface Timing {
  engine: string;
  stepMs: number[];
}

/** One result row (the --json format). */
interface Row {
  step: "gasp" | "decoder";
  engine: string;
  ms: number;
  tokensPerS: number;
  /** Loss of the first step: the same weights and tokens must give the same loss (a check the steps match). */
  firstLoss: number;
}
const rows: Row[] = [];

/** First-step loss of each engine on the decoder step. */
const firstLoss: Record<string, number> = {};

async function timeSteps(engine: string, step: () => Promise<void>): Promise<Timing> {
  for (let i = 0; i < WARMUP; i++) await step();
  const stepMs: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const t0 = performance.now();
    await step();
    stepMs.push(performance.now() - t0);
  }
  return { engine, stepMs };
}

// ── ours, on each device ────────────────────────────────────────────────────────────────────────────────────────
await initGpu();
await initWasm(values.threads);
const weights = initParameters(c, 0);

function oursDecoderStep(device: Device): Promise<Timing> {
  const engine = `ours-${device}`;
  return withDevice(device, async () => {
    const model = new VlmModel(c, weights, { trainable: true });
    const decoderParams = [...model.params.entries()].filter(([n]) => !n.startsWith("visual.")).map(([, t]) => t);
    for (const [n, t] of model.params) if (n.startsWith("visual.")) t.requiresGrad = false;
    const adamw = new op.AdamW([{ params: decoderParams, lr: 1e-4 }]);
    try {
      return await timeSteps(engine, async () => {
        await tidyAsync(async () => {
          const out = model.forward({ inputIds: ids });
          const loss = op.crossEntropy(out.logits!, targets, { ignoreIndex: -100 });
          backward(loss);
          adamw.step();
          zeroGrad(decoderParams);
          const value = await loss.item();
          firstLoss[engine] ??= value;
        });
      });
    } finally {
      adamw.dispose();
      model.dispose();
    }
  });
}
const oursDecoder = [await oursDecoderStep("wasm"), await oursDecoderStep("webgpu")];

// ── tfjs (webgpu) ─────────────────────────────────────────────────────────────────────────────────────────────────
await tf.setBackend("webgpu");
await tf.ready();
const vars = new Map<string, tf.Variable>();
for (const [n, w] of weights) {
  if (n.startsWith("visual.")) continue;
  const shape = n === "model.embed_tokens.weight" || n === "lm_head.weight" ? [V, H] : undefined;
  vars.set(n, tf.variable(shape ? tf.tensor(w, shape) : tf.tensor(w, inferShape(n, w.length)), true, n));
}
function inferShape(n: string, size: number): number[] {
  if (n.endsWith("norm.weight") || n.endsWith("layernorm.weight") || n.endsWith(".bias")) return [size];
  const out = n.includes("k_proj") || n.includes("v_proj")
    ? Hkv * Dh
    : n.includes("gate_proj") || n.includes("up_proj")
    ? c.intermediate_size
    : H;
  return [out, size / out];
}
const v = (n: string) => vars.get(n)!;
const inv = Array.from({ length: Dh / 2 }, (_, i) => 1 / c.rope_theta ** ((2 * i) / Dh));
const ang = tf.tensor2d(Array.from({ length: T }, (_, t) => inv.map((f) => t * f)).flat(), [T, Dh / 2]);
const cos = tf.reshape(tf.concat([tf.cos(ang), tf.cos(ang)], 1), [T, 1, Dh]);
const sin = tf.reshape(tf.concat([tf.sin(ang), tf.sin(ang)], 1), [T, 1, Dh]);
const causal = tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 1), 1e9);
const idsT = tf.tensor1d(ids, "int32");
const valid: number[] = Array.from(targets).map((t) => (t >= 0 ? 1 : 0));
const oneHot = tf.mul(
  tf.oneHot(tf.tensor1d(Array.from(targets).map((t) => Math.max(t, 0)), "int32"), V),
  tf.tensor2d(valid, [T, 1]),
);
// tfjs-core registers no gradient functions (its gradients ship as extensionless ESM that Deno cannot load, and the
// umbrella @tensorflow/tfjs package is not a dependency), so the tfjs step's backward is written out by hand.
type T2 = tf.Tensor2D;
const mm = (a: tf.Tensor, b: tf.Tensor, ta = false, tb = false) => tf.matMul(a as T2, b as T2, ta, tb);
const bmm = (a: tf.Tensor, b: tf.Tensor, ta = false, tb = false) =>
  tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D, ta, tb);
const eps = c.rms_norm_eps;
/** fwd: y = x · r · g, r = rsqrt(mean(x²) + eps). */
const rmsF = (x: tf.Tensor, g: tf.Tensor) => {
  const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps));
  return { y: tf.mul(tf.mul(x, r), g), r };
};
/** dx = r·(g⊙dy) − x·r³·mean(x ⊙ g⊙dy); dg = Σ_rows dy ⊙ x·r. */
const rmsB = (x: tf.Tensor, g: tf.Tensor, r: tf.Tensor, dy: tf.Tensor) => {
  const gdy = tf.mul(dy, g);
  const dx = tf.sub(tf.mul(gdy, r), tf.mul(tf.mul(x, tf.pow(r, 3)), tf.mean(tf.mul(x, gdy), -1, true)));
  return { dx, dg: tf.sum(tf.mul(dy, tf.mul(x, r)), 0) };
};
const rep = (t: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(t, [Hkv, 1, T, Dh]), [1, Hq / Hkv, 1, 1]), [Hq, T, Dh]);
const unrep = (t: tf.Tensor) => tf.sum(tf.reshape(t, [Hkv, Hq / Hkv, T, Dh]), 1); // (Hkv, T, Dh)
const toHeads = (t: tf.Tensor, n: number) => tf.transpose(tf.reshape(t, [T, n, Dh]), [1, 0, 2]); // (n, T, Dh)
const fromHeads = (t: tf.Tensor, n: number) => tf.reshape(tf.transpose(t, [1, 0, 2]), [T, n * Dh]);
const ropeF = (x: tf.Tensor, sign: number) => { // x (n, T, Dh); sign −1 gives the transpose (backward)
  const [a, b] = tf.split(x, 2, -1);
  return tf.add(tf.mul(x, cosH), tf.mul(tf.mul(tf.concat([tf.neg(b), a], -1), sinH), sign));
};
const cosH = tf.reshape(cos, [1, T, Dh]), sinH = tf.reshape(sin, [1, T, Dh]);
const nValid = valid.reduce((s, x) => s + x, 0);
const optimizer = tf.train.adam(1e-4);

function tfStep(): tf.Scalar {
  const grads: Record<string, tf.Tensor> = {};
  const loss = tf.tidy(() => {
    const W = (n: string) => v(n);
    // forward, keeping what backward needs
    const x0 = tf.gather(W("model.embed_tokens.weight"), idsT); // (T, H)
    const caches = [];
    let x: tf.Tensor = x0;
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}.`;
      const n1 = rmsF(x, W(p + "input_layernorm.weight"));
      const q = ropeF(
        toHeads(tf.add(mm(n1.y, W(p + "self_attn.q_proj.weight"), false, true), W(p + "self_attn.q_proj.bias")), Hq),
        1,
      );
      const k = ropeF(
        toHeads(tf.add(mm(n1.y, W(p + "self_attn.k_proj.weight"), false, true), W(p + "self_attn.k_proj.bias")), Hkv),
        1,
      );
      const vh = toHeads(
        tf.add(mm(n1.y, W(p + "self_attn.v_proj.weight"), false, true), W(p + "self_attn.v_proj.bias")),
        Hkv,
      );
      const kr = rep(k), vr = rep(vh);
      const P = tf.softmax(tf.add(tf.mul(bmm(q, kr, false, true), 1 / Math.sqrt(Dh)), causal)); // (Hq, T, T)
      const a = fromHeads(bmm(P, vr), Hq); // (T, H)
      const h = tf.add(x, mm(a, W(p + "self_attn.o_proj.weight"), false, true));
      const n2 = rmsF(h, W(p + "post_attention_layernorm.weight"));
      const gt = mm(n2.y, W(p + "mlp.gate_proj.weight"), false, true),
        up = mm(n2.y, W(p + "mlp.up_proj.weight"), false, true);
      const sg = tf.sigmoid(gt), m = tf.mul(tf.mul(gt, sg), up);
      const xn = tf.add(h, mm(m, W(p + "mlp.down_proj.weight"), false, true));
      caches.push({ p, x, n1, q, kr, vr, P, a, h, n2, gt, up, sg, m });
      x = xn;
    }
    const nf = rmsF(x, W("model.norm.weight"));
    const logits = mm(nf.y, W("lm_head.weight"), false, true); // (T, V)
    const logp = tf.logSoftmax(logits);
    const lossV = tf.div(tf.neg(tf.sum(tf.mul(logp, oneHot))), nValid);
    // backward
    const keepG = (n: string, g: tf.Tensor) => (grads[n] = tf.keep(g));
    const dLogits = tf.div(tf.sub(tf.mul(tf.exp(logp), tf.sum(oneHot, -1, true)), oneHot), nValid); // (T, V)
    keepG("lm_head.weight", mm(dLogits, nf.y, true));
    const fb = rmsB(x, W("model.norm.weight"), nf.r, mm(dLogits, W("lm_head.weight")));
    keepG("model.norm.weight", fb.dg);
    let dx = fb.dx;
    for (let l = c.num_hidden_layers - 1; l >= 0; l--) {
      const { p, x: xin, n1, q, kr, vr, P, a, h, n2, gt, up, sg, m } = caches[l];
      // fwd: x' = h + m Wdᵀ, m = silu(gt)·up
      keepG(p + "mlp.down_proj.weight", mm(dx, m, true));
      const dm = mm(dx, W(p + "mlp.down_proj.weight"));
      const dgt = tf.mul(tf.mul(dm, up), tf.mul(sg, tf.add(1, tf.mul(gt, tf.sub(1, sg)))));
      const dup = tf.mul(dm, tf.mul(gt, sg));
      keepG(p + "mlp.gate_proj.weight", mm(dgt, n2.y, true));
      keepG(p + "mlp.up_proj.weight", mm(dup, n2.y, true));
      const dn2 = tf.add(mm(dgt, W(p + "mlp.gate_proj.weight")), mm(dup, W(p + "mlp.up_proj.weight")));
      const b2 = rmsB(h, W(p + "post_attention_layernorm.weight"), n2.r, dn2);
      keepG(p + "post_attention_layernorm.weight", b2.dg);
      const dh = tf.add(dx, b2.dx);
      // fwd: h = x + a Woᵀ, a = P V, P = softmax(q kᵀ / √d + mask)
      keepG(p + "self_attn.o_proj.weight", mm(dh, a, true));
      const dA = toHeads(mm(dh, W(p + "self_attn.o_proj.weight")), Hq); // (Hq, T, Dh)
      const dP = bmm(dA, vr, false, true);
      const dvr = bmm(P, dA, true);
      const dS = tf.mul(tf.mul(P, tf.sub(dP, tf.sum(tf.mul(dP, P), -1, true))), 1 / Math.sqrt(Dh));
      const dq = ropeF(bmm(dS, kr), -1), dk = ropeF(unrep(bmm(dS, q, true)), -1), dv = unrep(dvr);
      let dxn: tf.Tensor | null = null;
      for (const [name, g, n] of [["q_proj", dq, Hq], ["k_proj", dk, Hkv], ["v_proj", dv, Hkv]] as const) {
        const g2 = fromHeads(g, n); // (T, n·Dh)
        keepG(p + `self_attn.${name}.weight`, mm(g2, n1.y, true));
        keepG(p + `self_attn.${name}.bias`, tf.sum(g2, 0));
        const d = mm(g2, W(p + `self_attn.${name}.weight`));
        dxn = dxn ? tf.add(dxn, d) : d;
      }
      const b1 = rmsB(xin, W(p + "input_layernorm.weight"), n1.r, dxn!);
      keepG(p + "input_layernorm.weight", b1.dg);
      dx = tf.add(dh, b1.dx);
    }
    keepG("model.embed_tokens.weight", tf.unsortedSegmentSum(dx, idsT, V));
    return lossV as tf.Scalar;
  });
  optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
  for (const g of Object.values(grads)) g.dispose();
  return loss;
}
const theirs = await timeSteps("tfjs-webgpu", async () => {
  const loss = tfStep();
  firstLoss["tfjs-webgpu"] ??= (await loss.data())[0];
  loss.dispose();
});

for (const r of [...oursDecoder, theirs]) {
  const ms = median(r.stepMs);
  rows.push({ step: "decoder", engine: r.engine, ms, tokensPerS: (T * 1000) / ms, firstLoss: firstLoss[r.engine] });
}

// ── ours on the real GASP step, on each device (no tfjs peer) ──────────────────────────────────────────────────────
let frames = 0;
for (const device of ["wasm", "webgpu"] as const) {
  const g = await withDevice(device, () => timeGaspStep());
  frames = g.frames;
  rows.push({
    step: "gasp",
    engine: `ours-${device}`,
    ms: g.ms,
    tokensPerS: (g.tokens * 1000) / g.ms,
    firstLoss: g.firstLoss,
  });
}

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────────────

console.log(`bench:train — median of ${STEPS} steps after ${WARMUP} warm-up, one process`);
console.log(
  `decoder: the tiny model's decoder on ${T} tokens; gasp: 1 × ${frames}-frame item + 1 QA item, LoRA + heads\n`,
);
console.log("| step | engine | ms/step | tokens/s | first-step loss | ours-wasm ÷ this |\n|---|---|---|---|---|---|");
for (const r of rows) {
  const w = rows.find((x) => x.step === r.step && x.engine === "ours-wasm")!;
  console.log(
    `| ${r.step} | ${r.engine} | ${r.ms.toFixed(0)} | ${r.tokensPerS.toFixed(0)} | ${r.firstLoss.toFixed(6)} | ${
      (w.tokensPerS / r.tokensPerS).toFixed(2)
    }× |`,
  );
}
const gw = rows.find((r) => r.step === "gasp" && r.engine === "ours-wasm")!;
const gg = rows.find((r) => r.step === "gasp" && r.engine === "ours-webgpu")!;
console.log(
  `\nGASP step: ours-wasm ${(gg.ms / gw.ms).toFixed(2)}× faster than ours-webgpu; first-step loss differs by ${
    Math.abs(gw.firstLoss - gg.firstLoss).toExponential(1)
  }`,
);
if (values.json) {
  await writeFileAtomic(values.json, JSON.stringify({ tokens: T, steps: STEPS, warmup: WARMUP, rows }, null, 2) + "\n");
  console.log(`wrote ${values.json}`);
}

async function timeGaspStep(): Promise<{ ms: number; tokens: number; frames: number; firstLoss: number }> {
  const { resolveTrainConfig } = await import("../train/config.ts");
  const { train } = await import("../train/loop.ts");
  const { writeModelFolder } = await import("../core/model/folder/model_folder.ts");
  const { buildTinyTokenizerJson } = await import("../core/text/build_tokenizer.ts");
  const dir = await Deno.makeTempDir();
  try {
    await writeModelFolder(`${dir}/base`, { config: c, weights, tokenizerJson: buildTinyTokenizerJson(0) });
    const seqs = await synthSequences();
    const config = resolveTrainConfig({
      preset: "full",
      overrides: { steps: WARMUP + STEPS, checkpointEvery: 10_000 },
    });
    const r = await train(config, {
      out: `${dir}/run`,
      sequences: seqs,
      baseDir: `${dir}/base`,
      log: () => {},
      exportModel: false,
    });
    const timed = r.history.slice(WARMUP);
    r.model.dispose();
    return {
      ms: median(timed.map((m) => m.stepTimeS * 1000)),
      tokens: median(timed.map((m) => m.tokens)),
      frames: config.data.framesPerItem,
      firstLoss: r.history[0].loss.total,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One rendered-like sequence per call site is enough for timing: runs/data's first train sequences when present. */
async function synthSequences() {
  const { loadTrainSequences } = await import("../train/loop.ts");
  try {
    return await loadTrainSequences("runs/data", 2);
  } catch {
    throw new Error("bench:train needs runs/data (run `deno task data` first) for the GASP step timing");
  }
}
