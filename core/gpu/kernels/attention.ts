/** WGSL attention launches (FlashAttention-style forward, FlashAttention-2 backward; see core/ops/attention.ts). */
import { GpuContext } from "../context.ts";
import { grid1d, launch, packParams } from "../launch.ts";
import { deltaCode, dkvCode, dqCode, forwardCode, type Variant } from "./attention_wgsl.ts";
import type { AttentionPlan, Backend } from "../../kernels/types.ts";
import { Tensor } from "../../tensor.ts";

function variant(p: AttentionPlan): Variant {
  return { D: p.D, causal: p.causal, mask: p.mask, range: p.range !== null };
}

function params(p: AttentionPlan): ArrayBuffer {
  const ms = p.maskStrides;
  return packParams([
    ["u32", p.B],
    ["u32", p.Hq],
    ["u32", p.Hkv],
    ["u32", p.Tq],
    ["u32", p.Tk],
    ["f32", p.scale],
    ["i32", p.Tk - p.Tq],
    ["u32", ms[0]],
    ["u32", ms[1]],
    ["u32", ms[2]],
    ["u32", ms[3]],
    ["u32", p.tiling.bc],
  ]);
}

function key(op: string, v: Variant, extra: string): string {
  return `attn_${op}_d${v.D}_${+v.causal}${v.mask}${+v.range}_${extra}`;
}

export const attentionForward: Backend["attentionForward"] = ({ q, k, v, mask, out, lse }, p) => {
  const t = p.tiling, va = variant(p);
  const gx = Math.ceil(p.Tq / (t.wg * t.qr));
  launch(
    key("fwd", va, `${t.wg}x${t.bc}x${t.qr}`),
    forwardCode(va, t),
    [
      q,
      k,
      v,
      mask ?? q,
      p.range ?? q,
      out,
      lse,
    ],
    params(p),
    [gx, p.Hq, p.B],
  );
};

export const attentionBackward: Backend["attentionBackward"] = ({ q, k, v, mask, out, lse }, g, grads, p) => {
  const { B, Hq, Hkv, Tq, Tk, D } = p;
  const wg = p.tiling.wg, br = p.tiling.bwdRows, va = variant(p);
  const stats = Tensor.empty([B, Hq, Tq, 2], "f32", "webgpu");
  const nRows = B * Hq * Tq;
  launch(
    `attn_delta_d${D}`,
    deltaCode(D / 4, 64),
    [out, g, lse, stats],
    packParams([["u32", nRows]]),
    grid1d(nRows, 64),
  );
  const inputs = [q, k, v, mask ?? q, p.range ?? q, stats, g];
  launch(key("dq", va, `${wg}x${br}`), dqCode(va, wg, br), [...inputs, grads.dq], params(p), [
    Math.ceil(Tq / (wg * br)),
    Hq,
    B,
  ]);
  const dkv = Tensor.empty([2, B, Hkv, Tk, D], "f32", "webgpu");
  launch(key("dkv", va, `${wg}x${br}`), dkvCode(va, wg, br), [...inputs, dkv], params(p), [
    Math.ceil(Tk / (wg * br)),
    Hkv,
    B,
  ]);
  stats.dispose();
  const half = k.size * 4;
  const ctx = GpuContext.current();
  ctx.copy(dkv.buffer, 0, grads.dk.buffer, 0, half);
  ctx.copy(dkv.buffer, half, grads.dv.buffer, 0, half);
  dkv.dispose();
};
