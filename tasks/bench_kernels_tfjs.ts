/**
 * tfjs peers for the kernel benchmark only (tfjs is a comparison point, never part of the core runtime).
 * tfjs-webgpu runs on its own device (tfjs creates it); inputs are made on that backend before timing.
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-webgpu";
import type { BenchCase, ExtraPeer } from "../core/bench/kernels.ts";
import type { PeerRun } from "../core/bench/onnx_peers.ts";

async function useBackend(name: string): Promise<void> {
  if (name === "wasm") {
    // The wasm backend registers itself on import; its .wasm files are resolved next to the package.
    const mod = await import("@tensorflow/tfjs-backend-wasm");
    const dir = new URL("./", import.meta.resolve("@tensorflow/tfjs-backend-wasm")).href;
    mod.setWasmPaths(dir);
  }
  if (tf.getBackend() !== name) {
    const ok = await tf.setBackend(name);
    if (!ok) throw new Error(`tfjs backend ${name} failed to initialise`);
  }
  await tf.ready();
}

function build(c: BenchCase): { inputs: tf.Tensor[]; fn: (xs: tf.Tensor[]) => tf.Tensor } {
  const [a, b, cc, d] = c.dims;
  const rnd = (shape: number[]) =>
    tf.reshape(tf.sin(tf.mul(tf.range(0, shape.reduce((x, y) => x * y, 1)), 0.37)), shape);
  if (c.op === "matmul") return { inputs: [rnd([a, b]), rnd([b, cc])], fn: ([x, y]) => tf.matMul(x, y) };
  if (c.op === "attention") {
    const rep = b / cc;
    const mask = tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([a, a]), -1, 0), 1), 1e9);
    return {
      inputs: [rnd([b, a, d]), rnd([cc, a, d]), rnd([cc, a, d]), mask],
      fn: ([q, k, v, m]) => {
        const kr = tf.reshape(tf.tile(tf.reshape(k, [cc, 1, a, d]), [1, rep, 1, 1]), [b, a, d]);
        const vr = tf.reshape(tf.tile(tf.reshape(v, [cc, 1, a, d]), [1, rep, 1, 1]), [b, a, d]);
        const s = tf.add(tf.mul(tf.matMul(q, kr, false, true), 1 / Math.sqrt(d)), m);
        return tf.matMul(tf.softmax(s), vr);
      },
    };
  }
  if (c.op === "rmsnorm") {
    return {
      inputs: [rnd([a, b]), tf.ones([b])],
      fn: ([x, w]) => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), 1e-6))), w),
    };
  }
  return { inputs: [rnd([a, b])], fn: ([x]) => tf.softmax(x) };
}

function peer(backend: "webgpu" | "wasm"): ExtraPeer {
  return {
    engine: backend === "webgpu" ? "tfjs-webgpu" : "tfjs-wasm",
    async prepare(c: BenchCase): Promise<PeerRun> {
      await useBackend(backend);
      const { inputs, fn } = build(c);
      await Promise.all(inputs.map((t) => t.data()));
      return {
        // tfjs executes in queue order, so waiting on the last output's data() covers all `times` calls; it has no
        // other completion signal, so each sample (not each call) pays one readback of that output on both backends.
        // Earlier outputs are disposed as soon as they are issued; tfjs-webgpu holds back the buffers of tensors that
        // queued commands still use until those commands are submitted.
        async run(times) {
          for (let i = 1; i < times; i++) tf.tidy(() => fn(inputs)).dispose();
          const out = tf.tidy(() => fn(inputs));
          await out.data();
          out.dispose();
        },
        release() {
          inputs.forEach((t) => t.dispose());
          return Promise.resolve();
        },
      };
    },
  };
}

export const tfjsPeers: ExtraPeer[] = [peer("webgpu"), peer("wasm")];
