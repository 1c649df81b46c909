/**
 * Writes to a full disk (Linux's /dev/full, which needs --allow-all in Deno, hence a child process) and prints the
 * error as JSON {name, path, message}. `checkpoint DIR`: a checkpoint whose second file goes to /dev/full.
 * `metrics DIR`: a toy GASP run whose metrics.jsonl becomes /dev/full after step 1.
 */
import { join } from "node:path";
import { IoError } from "../../core/errors.ts";
import { writeModelFolder } from "../../core/model/folder/model_folder.ts";
import { initParameters } from "../../core/model/init.ts";
import { Rng } from "../../core/random.ts";
import { buildTinyTokenizerJson } from "../../core/text/build_tokenizer.ts";
import { saveCheckpoint } from "../../train/checkpoint.ts";
import { DEFAULT_TRAIN_CONFIG, resolveTrainConfig } from "../../train/config.ts";
import { train } from "../../train/loop.ts";
import { TOY_CONFIG, toySequences } from "./_toy.ts";

const [what, dir] = Deno.args;

async function checkpointToFullDisk(run: string): Promise<void> {
  const rng = new Rng(1);
  const w = { shape: [2], data: Float32Array.from([1, 2]) };
  await saveCheckpoint(run, {
    step: 3,
    config: DEFAULT_TRAIN_CONFIG,
    base: { model: "tiny" },
    rng: { data: rng.state(), dropout: rng.state() },
    adapters: new Map([["w", w]]),
    optimizer: { step: 3, expAvg: new Map([["w", w]]), expAvgSq: new Map([["w", w]]) },
  }, {
    afterFile: async (name) => {
      if (name !== "adapters.safetensors") return;
      const tmp = [...Deno.readDirSync(run)].find((e) => e.name.startsWith("step-000003.tmp-"))!.name;
      await Deno.symlink("/dev/full", join(run, tmp, "optimizer.safetensors"));
    },
  });
}

async function metricsToFullDisk(root: string): Promise<void> {
  const base = join(root, "base"), out = join(root, "run");
  await writeModelFolder(base, {
    config: TOY_CONFIG,
    weights: initParameters(TOY_CONFIG, 0),
    tokenizerJson: buildTinyTokenizerJson(0),
  });
  const config = resolveTrainConfig({
    preset: "full",
    overrides: { steps: 3, batch: 2, checkpointEvery: 10, lora: { rank: 4, alpha: 8 }, data: { framesPerItem: 3 } },
  });
  const metrics = join(out, "metrics.jsonl");
  const log = (l: string) => {
    if (!l.startsWith("step 1/")) return;
    Deno.removeSync(metrics);
    Deno.symlinkSync("/dev/full", metrics);
  };
  await train(config, { out, baseDir: base, sequences: toySequences(2, 3), log, exportModel: false, plot: false });
}

try {
  await (what === "checkpoint" ? checkpointToFullDisk(dir) : metricsToFullDisk(dir));
  console.log(JSON.stringify({ name: "none" }));
} catch (e) {
  const err = e as Error;
  console.log(JSON.stringify({ name: err.name, path: e instanceof IoError ? e.path : null, message: err.message }));
}
