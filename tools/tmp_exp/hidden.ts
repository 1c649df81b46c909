import { heldoutPeakPck } from "../../train/pipeline.ts";
import { openModel } from "../../core/model/folder/open.ts";
import { resolveModelDir } from "../../core/model/folder/resolve.ts";
import { VlmModel } from "../../core/model/vlm.ts";
import { TextTokenizer } from "../../core/text/tokenizer.ts";
import { initDevice } from "../../core/device_init.ts";
import { modelFeatureSources } from "../../core/analysis/model_features.ts";
await initDevice();
for (const dir of Deno.args) {
  const m = await openModel(resolveModelDir(dir));
  const tok = TextTokenizer.fromJson(m.tokenizerJson);
  const model = await VlmModel.load(m.config, m.weights, {});
  m.close();
  const layers = [...Array(m.config.num_hidden_layers).keys()];
  const { reports } = await heldoutPeakPck("runs/data", modelFeatureSources(model, tok, {
    name: dir, centred: false, heads: { layers, embed: (_l, x) => x },
  }), 24, () => {});
  for (const r of reports) console.log(r.source, r.perLayer.map((x) => (100 * x).toFixed(1)).join(" / "), "moved", r.perLayerMoved.map((x) => (100 * x).toFixed(1)).join(" / "));
  model.dispose();
}
