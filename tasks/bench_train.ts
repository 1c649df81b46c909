/**
 * deno task bench:train [--tokens T] [--steps N] [--warmup W]
 * Training-step throughput of the tiny model, ours (core runtime, WebGPU) vs tfjs (tfjs-backend-webgpu), in one run.
 *
 * The compared step (same on both sides): a text-only decoder step of the tiny Qwen2.5-VL LLM (TINY_CONFIG: 4
 * layers, width 128, 4 query / 2 KV heads of 32, SwiGLU 256, vocab 640) on T tokens — token embedding, per layer
 * RMSNorm → q/k/v (with bias) → RoPE → causal GQA attention → o_proj → residual → RMSNorm → SwiGLU → residual,
 * final RMSNorm, untied LM head, mean cross-entropy; backward to every decoder parameter; one optimiser update.
 * Differences: ours applies M-RoPE (equal to 1-D RoPE on text-only positions) and AdamW; the tfjs step uses 1-D
 * RoPE and tf.train.adam (tfjs has no AdamW). The tfjs step was written only for this comparison.
 * Ours alone is also timed on the real GASP step (3 frames as images + 1 QA item, LoRA + heads on all layers).
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import { backward, initGpu, Rng, tidyAsync, zeroGrad } from "../core/runtime.ts";
import * as op from "../core/ops/mod.ts";
import { TINY_CONFIG } from "../core/model/config.ts";
import { initParameters } from "../core/model/init.ts";
import { VlmModel } from "../core/model/vlm.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    tokens: { type: "string", default: "256" },
    steps: { type: "string", default: "5" },
    warmup: { type: "string", default: "2" },
  },
  strict: true,
});
const T = Number(values.tokens), STEPS = Number(values.steps), WARMUP = Number(values.warmup);
const c = TINY_CONFIG;
const H = c.hidden_size, Hq = c.num_attention_heads, Hkv = c.num_key_value_heads, Dh = H / Hq, V = c.vocab_size;
const rng = new Rng(0);
const ids = Int32Array.from({ length: T }, () => rng.int(600));
const targets = Int32Array.from({ length: T }, (_, t) => (t + 1 < T ? ids[t + 1] : -100));

interface Timing {
  engine: string;
  stepMs: number[];
}

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

// ── ours ────────────────────────────────────────────────────────────────────────────────────────────────────────
await initGpu();
const weights = initParameters(c, 0);
const model = new VlmModel(c, weights, { trainable: true });
const decoderParams = [...model.params.entries()].filter(([n]) => !n.startsWith("visual.")).map(([, t]) => t);
for (const [n, t] of model.params) if (n.startsWith("visual.")) t.requiresGrad = false;
const adamw = new op.AdamW([{ params: decoderParams, lr: 1e-4 }]);
const ours = await timeSteps("ours (core runtime, WebGPU)", async () => {
  await tidyAsync(async () => {
    const out = model.forward({ inputIds: ids });
    const loss = op.crossEntropy(out.logits!, targets, { ignoreIndex: -100 });
    backward(loss);
    adamw.step();
    zeroGrad(decoderParams);
    await loss.item();
  });
});
model.dispose();

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
const rms = (x: tf.Tensor, w: tf.Tensor) =>
  tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), c.rms_norm_eps))), w);
const lin = (x: tf.Tensor, n: string, bias: boolean) => {
  const y = tf.matMul(x as tf.Tensor2D, v(`${n}.weight`) as tf.Tensor2D, false, true);
  return bias ? tf.add(y, v(`${n}.bias`)) : y;
};
const rope = (x: tf.Tensor) => {
  const [a, b] = tf.split(x, 2, -1);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(b), a], -1), sin));
};
const optimizer = tf.train.adam(1e-4);
const tfLoss = (): tf.Scalar => {
  let x: tf.Tensor = tf.gather(v("model.embed_tokens.weight"), idsT);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`;
    const xn = rms(x, v(p + "input_layernorm.weight"));
    const q = rope(tf.reshape(lin(xn, p + "self_attn.q_proj", true), [T, Hq, Dh]));
    const k = rope(tf.reshape(lin(xn, p + "self_attn.k_proj", true), [T, Hkv, Dh]));
    const vv = tf.reshape(lin(xn, p + "self_attn.v_proj", true), [T, Hkv, Dh]);
    const rep = (t: tf.Tensor) => tf.reshape(tf.tile(tf.reshape(t, [T, Hkv, 1, Dh]), [1, 1, Hq / Hkv, 1]), [T, Hq, Dh]);
    const qh = tf.transpose(q, [1, 0, 2]), kh = tf.transpose(rep(k), [1, 0, 2]), vh = tf.transpose(rep(vv), [1, 0, 2]);
    const s = tf.add(tf.mul(tf.matMul(qh as tf.Tensor3D, kh as tf.Tensor3D, false, true), 1 / Math.sqrt(Dh)), causal);
    const a = tf.reshape(tf.transpose(tf.matMul(tf.softmax(s) as tf.Tensor3D, vh as tf.Tensor3D), [1, 0, 2]), [T, H]);
    const h = tf.add(x, lin(a, p + "self_attn.o_proj", false));
    const hn = rms(h, v(p + "post_attention_layernorm.weight"));
    const m = tf.mul(
      tf.mul(lin(hn, p + "mlp.gate_proj", false), tf.sigmoid(lin(hn, p + "mlp.gate_proj", false))),
      lin(hn, p + "mlp.up_proj", false),
    );
    x = tf.add(h, lin(m, p + "mlp.down_proj", false));
  }
  const logits = lin(rms(x, v("model.norm.weight")), "lm_head", false);
  const logp = tf.logSoftmax(logits);
  return tf.div(tf.neg(tf.sum(tf.mul(logp, oneHot))), valid.reduce((s, x) => s + x, 0)) as tf.Scalar;
};
const theirs = await timeSteps("tfjs-webgpu 4.22", async () => {
  const loss = optimizer.minimize(tfLoss, true, [...vars.values()])!;
  await loss.data();
  loss.dispose();
});

// ── ours on the real GASP step (no tfjs peer) ──────────────────────────────────────────────────────────────────────
const gaspStep = await timeGaspStep();

// ── report ──────────────────────────────────────────────────────────────────────────────────────────────────────────
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `bench:train — decoder training step of the tiny model on ${T} tokens (median of ${STEPS}, ${WARMUP} warm-up)`,
);
for (const r of [ours, theirs]) {
  const ms = median(r.stepMs);
  console.log(
    `${r.engine.padEnd(30)} ${ms.toFixed(0).padStart(7)} ms/step  ${(1000 / ms).toFixed(2)} steps/s  ${
      (T * 1000 / ms).toFixed(0)
    } tokens/s`,
  );
}
console.log(
  `ours, full GASP step (1 × 3-frame item + 1 QA item, LoRA + heads): ${gaspStep.ms.toFixed(0)} ms/step, ` +
    `${(gaspStep.tokens * 1000 / gaspStep.ms).toFixed(0)} tokens/s (${gaspStep.tokens} tokens)`,
);

async function timeGaspStep(): Promise<{ ms: number; tokens: number }> {
  const { resolveTrainConfig } = await import("../train/config.ts");
  const { train, saveBaseModel } = await import("../train/loop.ts");
  const { buildTinyTokenizerJson } = await import("../core/text/build_tokenizer.ts");
  const dir = await Deno.makeTempDir();
  try {
    await saveBaseModel(`${dir}/base`, c, weights, buildTinyTokenizerJson(0));
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
    return { ms: median(timed.map((m) => m.stepTimeS * 1000)), tokens: median(timed.map((m) => m.tokens)) };
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
