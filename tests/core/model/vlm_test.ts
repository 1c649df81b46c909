import assert from "node:assert/strict";
import { initGpu, noGrad, Rng, tidyAsync } from "../../../core/runtime.ts";
import { TINY_CONFIG, tinySpecialId } from "../../../core/model/config.ts";
import { initParameters } from "../../../core/model/init.ts";
import { referenceForward, type VisionItem } from "../../../core/model/reference/forward.ts";
import { VlmModel } from "../../../core/model/vlm.ts";
import { assertClose } from "../ops/_check.ts";

const c = TINY_CONFIG;

function randomVision(rng: Rng, gridThw: [number, number, number]): VisionItem {
  const n = gridThw[0] * gridThw[1] * gridThw[2];
  const px = new Float32Array(n * 3 * 2 * 14 * 14);
  for (let i = 0; i < px.length; i++) px[i] = rng.normal();
  return { gridThw, pixelValues: px };
}

/** text, <vision_start> pads <vision_end>, text … for each item. */
function prompt(items: { kind: "image" | "video"; tokens: number }[]): number[] {
  const ids = [tinySpecialId("<|im_start|>"), 11, 42, 7];
  for (const it of items) {
    ids.push(c.vision_start_token_id);
    for (let i = 0; i < it.tokens; i++) ids.push(it.kind === "image" ? c.image_token_id : c.video_token_id);
    ids.push(c.vision_end_token_id, 99, 5);
  }
  ids.push(tinySpecialId("<|im_end|>"), 300, 17);
  return ids;
}

Deno.test("GPU forward matches the f64 reference on logits and per-layer Q/K for image and video prompts", async () => {
  await initGpu();
  const rng = new Rng(7);
  const weights = initParameters(c, 3);
  const model = new VlmModel(c, weights);
  const image = randomVision(rng, [1, 8, 12]); // 4×6 merged tokens; windows pad (gh 4, gw 6 with W 2)
  const video = randomVision(rng, [2, 4, 4]); // 2 temporal steps of 2×2 merged tokens
  const cases = [
    { name: "image", ids: prompt([{ kind: "image", tokens: 24 }]), images: [image], videos: [] },
    { name: "video", ids: prompt([{ kind: "video", tokens: 8 }]), images: [], videos: [video] },
  ];
  for (const k of cases) {
    const ref = referenceForward(c, weights, { inputIds: k.ids, images: k.images, videos: k.videos });
    await tidyAsync(async () => {
      const out = noGrad(() =>
        model.forward({ inputIds: k.ids, images: k.images, videos: k.videos }, {
          capture: { hidden: true, qk: "both" },
        })
      );
      assertClose(`${k.name} logits`, await out.logits!.toArray(), ref.logits, 0, 1e-3);
      assert.deepEqual(Array.from(out.visualPositions), Array.from(ref.visualPositions));
      for (let l = 0; l < c.num_hidden_layers; l++) {
        const f = out.layers[l];
        assertClose(`${k.name} L${l} hidden`, await f.hidden!.toArray(), ref.layers[l].hidden, 0, 1e-3);
        assertClose(`${k.name} L${l} qPre`, await f.qPre!.toArray(), ref.layers[l].qPreRope, 0, 1e-3);
        assertClose(`${k.name} L${l} kPost`, await f.kPost!.toArray(), ref.layers[l].kPostRope, 0, 1e-3);
      }
    });
  }
  model.dispose();
});
