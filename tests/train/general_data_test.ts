import assert from "node:assert/strict";
import { join } from "node:path";
import { generalInstructionItem } from "../../core/instruct/general.ts";
import { Rng } from "../../core/random.ts";
import { DEFAULT_DATASET, generateDataset } from "../../core/scene/dataset.ts";
import { readShards } from "../../core/scene/shards.ts";
import { loadTrainSequences } from "../../train/loop.ts";

Deno.test("training sequences keep the object pixel counts, so they yield the same general items as the shards", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = join(dir, "data");
    await generateDataset(data, {
      ...DEFAULT_DATASET,
      trainSequences: 2,
      heldoutSequences: 0,
      robustnessSequences: 0,
      trainFramesMin: 8,
      trainFramesMax: 8,
      workers: 0,
    });
    const loaded = await loadTrainSequences(data);
    assert.ok(loaded.every((s) => s.frames.every((f) => f.objectId === undefined && f.objectPixels)));
    const full = [];
    for await (const s of readShards(data, "train")) full.push(s);
    const kinds = new Set<string>();
    for (const format of ["vsi-number", "cv-bench"] as const) {
      const a = new Rng(1), b = new Rng(1);
      for (let i = 0; i < 40; i++) {
        const x = generalInstructionItem(loaded[i % 2], a, { format });
        const y = generalInstructionItem(full[i % 2], b, { format });
        assert.deepEqual(x && [x.kind, x.prompt, x.answer], y && [y.kind, y.prompt, y.answer]);
        if (x) kinds.add(x.kind);
      }
    }
    assert.ok(kinds.has("count"), `object questions are asked: ${[...kinds]}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
