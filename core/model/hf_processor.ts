/**
 * The processor files of a Hugging Face Qwen2.5-VL folder, validated:
 *   tokenizer_config.json     chat_template (a string, or a list of {name, template} with "default"), eos/pad tokens
 *   chat_template.json        newer transformers keep the template here ({"chat_template": "..."})
 *   preprocessor_config.json  Qwen2VLImageProcessor: min/max pixels, patch/merge/temporal sizes, mean/std
 * Absent files take Qwen2.5-VL-Instruct's published values (the defaults below); a present file with a wrong type is
 * a DataFormatError naming it and the field. Patch geometry must agree with config.json's vision_config.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { DataFormatError } from "../errors.ts";
import { CLIP_MEAN, CLIP_STD, QWEN_PREPROCESS } from "../image/preprocess.ts";
import type { VlmConfig } from "./config.ts";

export interface HfProcessorConfig {
  /** The Jinja chat template, or null when the folder has none. */
  chatTemplate: string | null;
  eosToken: string;
  padToken: string | null;
  minPixels: number;
  maxPixels: number;
  patchSize: number;
  mergeSize: number;
  temporalPatchSize: number;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
}

const tokenString = z.union([z.string(), z.looseObject({ content: z.string() })]).transform((t) =>
  typeof t === "string" ? t : t.content
);

const TokenizerConfigSchema = z.looseObject({
  chat_template: z.union([z.string(), z.array(z.looseObject({ name: z.string(), template: z.string() }))]).optional(),
  eos_token: tokenString.nullable().optional(),
  pad_token: tokenString.nullable().optional(),
});

const triple = z.tuple([z.number(), z.number(), z.number()]);
const PreprocessorSchema = z.looseObject({
  min_pixels: z.number().int().positive().optional(),
  max_pixels: z.number().int().positive().optional(),
  // Newer processors spell the limits as size {shortest_edge: min_pixels, longest_edge: max_pixels}.
  size: z.looseObject({ shortest_edge: z.number().int().positive(), longest_edge: z.number().int().positive() })
    .optional(),
  patch_size: z.number().int().positive().optional(),
  merge_size: z.number().int().positive().optional(),
  temporal_patch_size: z.number().int().positive().optional(),
  image_mean: triple.optional(),
  image_std: triple.optional(),
});

function readJson(path: string): unknown | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new DataFormatError(path, "(contents)", "JSON", (e as Error).message);
  }
}

function parseWith<T>(schema: z.ZodType<T>, raw: unknown, path: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new DataFormatError(path, i.path.map(String).join(".") || "(root)", i.message);
  }
  return r.data;
}

/** Reads and checks the processor files of `dir` against the model config. */
export function readHfProcessorConfig(dir: string, config: VlmConfig): HfProcessorConfig {
  const tokPath = join(dir, "tokenizer_config.json");
  const tok = parseWith(TokenizerConfigSchema, readJson(tokPath) ?? {}, tokPath);
  const ctPath = join(dir, "chat_template.json");
  const ct = parseWith(z.looseObject({ chat_template: z.string().optional() }), readJson(ctPath) ?? {}, ctPath);
  let chatTemplate: string | null = ct.chat_template ?? null;
  if (chatTemplate === null && tok.chat_template !== undefined) {
    if (typeof tok.chat_template === "string") chatTemplate = tok.chat_template;
    else {
      const d = tok.chat_template.find((t) => t.name === "default");
      if (!d) throw new DataFormatError(tokPath, "chat_template", 'a template named "default" in the list');
      chatTemplate = d.template;
    }
  }
  const ppPath = join(dir, "preprocessor_config.json");
  const pp = parseWith(PreprocessorSchema, readJson(ppPath) ?? {}, ppPath);
  const v = config.vision_config;
  const out: HfProcessorConfig = {
    chatTemplate,
    eosToken: tok.eos_token ?? "<|im_end|>",
    padToken: tok.pad_token ?? null,
    minPixels: pp.min_pixels ?? pp.size?.shortest_edge ?? QWEN_PREPROCESS.minPixels,
    maxPixels: pp.max_pixels ?? pp.size?.longest_edge ?? QWEN_PREPROCESS.maxPixels,
    patchSize: pp.patch_size ?? v.patch_size,
    mergeSize: pp.merge_size ?? v.spatial_merge_size,
    temporalPatchSize: pp.temporal_patch_size ?? v.temporal_patch_size,
    imageMean: pp.image_mean ?? [...CLIP_MEAN],
    imageStd: pp.image_std ?? [...CLIP_STD],
  };
  const agree = (field: string, got: number, want: number, from: string) => {
    if (got !== want) throw new DataFormatError(ppPath, field, `${want} (config.json ${from})`, `got ${got}`);
  };
  agree("patch_size", out.patchSize, v.patch_size, "vision_config.patch_size");
  agree("merge_size", out.mergeSize, v.spatial_merge_size, "vision_config.spatial_merge_size");
  agree("temporal_patch_size", out.temporalPatchSize, v.temporal_patch_size, "vision_config.temporal_patch_size");
  if (out.minPixels > out.maxPixels) {
    throw new DataFormatError(ppPath, "min_pixels", `≤ max_pixels ${out.maxPixels}`, `got ${out.minPixels}`);
  }
  if (out.imageStd.some((s) => !(s > 0))) throw new DataFormatError(ppPath, "image_std", "positive values");
  return out;
}
