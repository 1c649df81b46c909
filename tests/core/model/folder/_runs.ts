/**
 * Real model folders for resolution and loading tests, made by the training loop on the toy world
 * (tests/train/_toy.ts): a base model folder, an unfinished GASP run (step 1 of 2, no export yet), and a finished
 * one-step `--stage base` run (model folder + export + its step checkpoint).
 */
import { join } from "node:path";
import { writeModelFolder } from "../../../../core/model/folder/model_folder.ts";
import { initParameters } from "../../../../core/model/init.ts";
import { buildTinyTokenizerJson } from "../../../../core/text/build_tokenizer.ts";
import { resolveBaseConfig, resolveTrainConfig } from "../../../../train/config.ts";
import { train, type TrainResult } from "../../../../train/loop.ts";
import { TOY_CONFIG, toySequences } from "../../../train/_toy.ts";

export interface ToyRuns {
  base: string;
  gasp: string;
  gaspResult: TrainResult;
  baseRun: string;
  baseRunResult: TrainResult;
}

export async function makeToyRuns(dir: string): Promise<ToyRuns> {
  const tokenizerJson = buildTinyTokenizerJson(0);
  const sequences = toySequences(2, 3);
  const base = join(dir, "base");
  await writeModelFolder(base, { config: TOY_CONFIG, weights: initParameters(TOY_CONFIG, 0), tokenizerJson });
  const gasp = join(dir, "gasp");
  const config = resolveTrainConfig({
    preset: "full",
    overrides: { steps: 2, batch: 2, checkpointEvery: 1, lora: { rank: 4, alpha: 8 }, data: { framesPerItem: 3 } },
  });
  const quiet = () => {};
  const gaspResult = await train(config, { out: gasp, baseDir: base, sequences, maxSteps: 1, log: quiet });
  const baseRun = join(dir, "base-run");
  const baseRunResult = await train(resolveBaseConfig({ steps: 1, checkpointEvery: 1 }), {
    out: baseRun,
    sequences,
    modelConfig: TOY_CONFIG,
    tokenizerJson,
    log: quiet,
  });
  return { base, gasp, gaspResult, baseRun, baseRunResult };
}
