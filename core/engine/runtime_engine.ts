/**
 * An inference engine on our own runtime: the export dir's weights (core/model/export_onnx.ts loadExportDir) in
 * VlmModel with its KV cache (core/model/vlm_generate.ts), on the device `initDevice` chose (WASM on a software
 * adapter or none, WebGPU on a hardware one). Same seam, prompt assembly and decode loop as the onnxruntime-web
 * engine (core/engine/ort_engine.ts), so the two answer the same request with the same tokens up to float noise:
 * chat template + vision preprocessing → pad expansion → prefill → one decode step per token, yielding to the
 * event loop between tokens. One generation at a time; abort resolves with finishReason "cancelled".
 */
import { initDevice } from "../device_init.ts";
import { EngineUnavailableError } from "../errors.ts";
import { type PixelValues, preprocessImage, preprocessOptions, preprocessVideo } from "../image/preprocess.ts";
import type { VlmConfig } from "../model/config.ts";
import { loadExportDir } from "../model/export_onnx.ts";
import { generate } from "../model/vlm_generate.ts";
import { type VlmInput, VlmModel } from "../model/vlm.ts";
import {
  type ChatMessage as RunnerMessage,
  expandVisionPads,
  renderChatTemplate,
  visionTokenCount,
} from "../text/chat_template.ts";
import { TextTokenizer } from "../text/tokenizer.ts";
import { ENGINE_MAX_PIXELS, toRunnerMessages } from "./ort_engine.ts";
import type { FinishReason, GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";

type PixelLimits = { minPixels?: number; maxPixels?: number };

export interface RuntimeEngineOptions {
  modelName?: string;
  /** Vision pixel budget per image (defaults: Qwen's min 3136, ENGINE_MAX_PIXELS as the ORT engine). */
  minPixels?: number;
  maxPixels?: number;
}

/** The prompt as the ONNX runner builds it (OrtVlmRunner.prepare): template, pads, ids, preprocessed vision inputs. */
export function runtimePrompt(
  config: VlmConfig,
  tokenizer: TextTokenizer,
  messages: RunnerMessage[],
  limits: PixelLimits,
): VlmInput {
  const popts = preprocessOptions(config, limits);
  const images: PixelValues[] = [], videos: PixelValues[] = [];
  for (const m of messages) {
    if (typeof m.content === "string") continue;
    for (const p of m.content) {
      if (p.type === "image" && p.image) images.push(preprocessImage(p.image, popts));
      else if (p.type === "video" && p.video) videos.push(preprocessVideo(p.video, popts));
    }
  }
  const M = config.vision_config.spatial_merge_size;
  const text = expandVisionPads(
    renderChatTemplate(messages),
    images.map((i) => visionTokenCount(i.gridThw, M)),
    videos.map((v) => visionTokenCount(v.gridThw, M)),
  );
  const vis = (p: PixelValues) => ({ gridThw: p.gridThw, pixelValues: p.pixelValues });
  return { inputIds: tokenizer.encode(text), images: images.map(vis), videos: videos.map(vis) };
}

export class RuntimeEngine implements InferenceEngine {
  readonly id: string;
  readonly modelName: string;
  #model: VlmModel | null;
  readonly #tokenizer: TextTokenizer;
  readonly #limits: PixelLimits;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(model: VlmModel, tokenizer: TextTokenizer, id: string, name: string, limits: PixelLimits) {
    this.#model = model;
    this.#tokenizer = tokenizer;
    this.id = id;
    this.modelName = name;
    this.#limits = limits;
  }

  /** Loads an export dir onto the chosen device (initDevice: kept if chosen, else auto). */
  static async load(modelDir: string, opts: RuntimeEngineOptions = {}): Promise<RuntimeEngine> {
    const { device } = await initDevice();
    const loaded = await loadExportDir(modelDir);
    const model = new VlmModel(loaded.config, loaded.weights);
    const limits = { minPixels: opts.minPixels, maxPixels: opts.maxPixels ?? ENGINE_MAX_PIXELS };
    return new RuntimeEngine(
      model,
      TextTokenizer.fromJson(loaded.tokenizerJson),
      `ours-${device}`,
      opts.modelName ?? "gasp-tiny",
      limits,
    );
  }

  ready(): boolean {
    return this.#model !== null;
  }

  generate(req: GenerationRequest, onToken?: (text: string) => void, signal?: AbortSignal): Promise<GenerationResult> {
    const run = this.#tail.then(() => this.#generateNow(req, onToken, signal));
    this.#tail = run.catch(() => {});
    return run;
  }

  async #generateNow(
    req: GenerationRequest,
    onToken: ((text: string) => void) | undefined,
    signal: AbortSignal | undefined,
  ): Promise<GenerationResult> {
    const t0 = performance.now();
    const model = this.#model;
    if (!model) throw new EngineUnavailableError(`the ${this.id} engine was released`);
    if (signal?.aborted) {
      return { text: "", promptTokens: 0, completionTokens: 0, finishReason: "cancelled", timingMs: 0 };
    }
    const prompt = runtimePrompt(model.config, this.#tokenizer, toRunnerMessages(req.messages), this.#limits);
    const r = await generate(
      model,
      this.#tokenizer,
      prompt,
      { maxTokens: req.maxTokens, temperature: req.temperature, topP: req.topP, stop: req.stop, seed: req.seed },
      onToken && ((delta) => onToken(delta)),
      signal,
    );
    const finishReason: FinishReason = r.finishReason === "abort" ? "cancelled" : r.finishReason;
    return {
      text: r.text,
      promptTokens: r.promptTokens,
      completionTokens: r.tokens.length,
      finishReason,
      timingMs: performance.now() - t0,
    };
  }

  /** Frees the weights after any running generation; ready() is false afterwards. */
  async release(): Promise<void> {
    const model = this.#model;
    this.#model = null;
    await this.#tail;
    model?.dispose();
  }
}
