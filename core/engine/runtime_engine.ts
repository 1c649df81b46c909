/**
 * An inference engine on our own runtime: the export dir's weights (core/model/export_onnx.ts loadExportDir) in
 * VlmModel with its KV cache (core/model/vlm_generate.ts), on the device `initDevice` chose (WASM on a software
 * adapter or none, WebGPU on a hardware one). Same seam, prompt assembly and decode loop as the onnxruntime-web
 * engine (core/engine/ort_engine.ts), so the two answer the same request with the same tokens up to float noise:
 * the processor (core/model/processing.ts) → prefill → one decode step per token, yielding to the event loop between
 * tokens. One generation at a time; a prompt over the context is refused before any work; abort resolves with
 * finishReason "cancelled".
 */
import { initDevice } from "../device_init.ts";
import { ContextLengthExceededError, EngineUnavailableError } from "../errors.ts";
import { preprocessOptions, type VisionPreprocessOptions } from "../image/preprocess.ts";
import type { VlmConfig } from "../model/config.ts";
import { loadExportDir } from "../model/export_onnx.ts";
import { encodePrompt } from "../model/processing.ts";
import { generate } from "../model/vlm_generate.ts";
import { type VlmInput, VlmModel } from "../model/vlm.ts";
import type { ChatMessage } from "../text/chat.ts";
import { TextTokenizer } from "../text/tokenizer.ts";
import { DEFAULT_CONTEXT_TOKENS } from "./ort_engine.ts";
import { countPromptTokens, ENGINE_MAX_PIXELS } from "./prompt_tokens.ts";
import { cancelledResult, type GenerateArgs, generationResult, SerialEngine } from "./serial.ts";
import type { EngineStatus, GenerationResult, InferenceEngine } from "./types.ts";

type PixelLimits = { minPixels?: number; maxPixels?: number };

export interface RuntimeEngineOptions {
  modelName?: string;
  /** Vision pixel budget per image (defaults: Qwen's min 3136, ENGINE_MAX_PIXELS as the ORT engine). */
  minPixels?: number;
  maxPixels?: number;
  /** Context to serve (default: config max_position_embeddings, else DEFAULT_CONTEXT_TOKENS), as the ORT engine. */
  contextTokens?: number;
}

/** The prompt as the ONNX runner builds it: the processor's (core/model/processing.ts) ids and vision inputs. */
export function runtimePrompt(
  config: VlmConfig,
  tokenizer: TextTokenizer,
  messages: ChatMessage[],
  limits: PixelLimits,
): VlmInput {
  const p = encodePrompt(config, tokenizer, messages, limits);
  const vis = (v: { gridThw: [number, number, number]; pixelValues: Float32Array }) => ({
    gridThw: v.gridThw,
    pixelValues: v.pixelValues,
  });
  return { inputIds: Array.from(p.inputIds), images: p.images.map(vis), videos: p.videos.map(vis) };
}

export class RuntimeEngine extends SerialEngine implements InferenceEngine {
  readonly id: string;
  readonly modelName: string;
  readonly contextTokens: number;
  #model: VlmModel | null;
  readonly #tokenizer: TextTokenizer;
  readonly #limits: PixelLimits;
  readonly #vision: VisionPreprocessOptions;

  private constructor(
    model: VlmModel,
    tokenizer: TextTokenizer,
    id: string,
    name: string,
    limits: PixelLimits,
    contextTokens: number | undefined,
  ) {
    super();
    this.#model = model;
    this.#tokenizer = tokenizer;
    this.id = id;
    this.modelName = name;
    this.#limits = limits;
    this.#vision = preprocessOptions(model.config, limits);
    const configured = (model.config as { max_position_embeddings?: number }).max_position_embeddings;
    this.contextTokens = Math.min(contextTokens ?? configured ?? DEFAULT_CONTEXT_TOKENS, configured ?? Infinity);
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
      opts.contextTokens,
    );
  }

  ready(): boolean {
    return this.#model !== null;
  }

  status(): EngineStatus {
    return this.#model ? "ok" : "failed";
  }

  countPromptTokens(messages: ChatMessage[]): Promise<number> {
    return Promise.resolve().then(() => countPromptTokens(this.#tokenizer, this.#vision, messages));
  }

  protected override async generateNow(...[req, onToken, signal]: GenerateArgs): Promise<GenerationResult> {
    const t0 = performance.now();
    const model = this.#model;
    if (!model) throw new EngineUnavailableError(`the ${this.id} engine was released`);
    if (signal?.aborted) {
      return cancelledResult();
    }
    const promptTokens = countPromptTokens(this.#tokenizer, this.#vision, req.messages);
    if (promptTokens + 1 > this.contextTokens) {
      throw new ContextLengthExceededError(promptTokens, 1, this.contextTokens, "context length");
    }
    const maxTokens = Math.min(req.maxTokens, this.contextTokens - promptTokens);
    const prompt = runtimePrompt(model.config, this.#tokenizer, req.messages, this.#limits);
    const r = await generate(
      model,
      this.#tokenizer,
      prompt,
      { maxTokens, temperature: req.temperature, topP: req.topP, stop: req.stop, seed: req.seed },
      onToken && ((delta) => onToken(delta)),
      signal,
    );
    return generationResult(r, t0);
  }

  /** Frees the weights after any running generation; ready() is false afterwards. */
  async release(): Promise<void> {
    const model = this.#model;
    this.#model = null;
    await this.idle();
    model?.dispose();
  }
}
