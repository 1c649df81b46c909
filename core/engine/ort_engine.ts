/**
 * The real inference engine: the head-free model's export dir (core/model/export_onnx.ts) run by onnxruntime-web
 * through core/model/ort_runner.ts, behind the InferenceEngine seam the server and the benchmark runner share.
 *
 * - Execution provider: the runner's "auto" by default: the WebGPU EP when navigator.gpu gives a hardware adapter,
 *   the WASM EP otherwise (no adapter, or a software one such as Mesa llvmpipe, where WASM is faster). The choice
 *   and the reason are logged once at load; `executionProvider` and `id` ("ort-wasm" / "ort-webgpu") report it.
 * - Messages: image parts may be encoded files (PNG/JPEG bytes, header-checked by the caller), decoded by the runner
 *   one at a time with core/image/decode.ts, whose size limits apply before anything is allocated; a file that does
 *   not decode is a DataFormatError (HTTP 400).
 * - Images are resized by Qwen's smart resize into [minPixels, maxPixels] (default max 448² here, not Qwen's 12.8 M:
 *   the vision graph's attention is quadratic in patches, and the tiny model is trained on ~224² views).
 * - Context: config.json's max_position_embeddings (HF's default 32768 when the file names none), or less when
 *   `contextTokens` says so. generate() refuses a longer prompt with ContextLengthExceededError before any model
 *   work; countPromptTokens() gives the count up front. What fits in memory is usually less: the server's
 *   --max-prompt-tokens (serve/limits.ts) is the practical bound.
 * - One generation at a time (the runner is not re-entrant): concurrent calls wait their turn in arrival order.
 * - Event loop: the runner's decode loop (core/model/streaming.ts) yields between tokens, but vision encoding and
 *   prefill are single blocking calls (onnxruntime-web's WASM EP runs session.run synchronously). A server runs
 *   this engine in a Worker (core/engine/worker_engine.ts) so its own event loop never waits on them.
 * - Allocation failure (onnxruntime std::bad_alloc, a failed ArrayBuffer allocation): the request fails with
 *   EngineOutOfMemoryError, status() is "degraded" while the runner's sessions are released and created again, and
 *   the next request runs on the new sessions.
 * - Abort resolves with finishReason "cancelled" and the text produced so far; it never rejects.
 */
import { ContextLengthExceededError, EngineOutOfMemoryError, EngineUnavailableError } from "../errors.ts";
import { preprocessOptions, type VisionPreprocessOptions } from "../image/preprocess.ts";
import { type ExecutionProviderChoice, OrtVlmRunner, type RunnerLoadOptions } from "../model/ort_runner.ts";
import type { ChatMessage } from "../text/chat.ts";
import { countPromptTokens, ENGINE_MAX_PIXELS } from "./prompt_tokens.ts";
import { cancelledResult, type GenerateArgs, generationResult, SerialEngine } from "./serial.ts";

export { ENGINE_MAX_PIXELS };
import type { EngineStatus, GenerationResult, InferenceEngine } from "./types.ts";

/** Context of a config without max_position_embeddings (parseVlmConfig fills HF's default, so rarely used). */
export const DEFAULT_CONTEXT_TOKENS = 4096;

export interface OrtEngineOptions {
  /** "auto" (default): WebGPU EP on a hardware adapter, WASM EP otherwise. */
  executionProvider?: ExecutionProviderChoice;
  /** Name served under /v1/models (default "gasp-tiny"). */
  modelName?: string;
  /** Where load messages go (default console.error). */
  log?: (message: string) => void;
  /** Vision pixel budget per image (defaults: Qwen's min 3136, ENGINE_MAX_PIXELS). */
  minPixels?: number;
  maxPixels?: number;
  /** Context to serve (default: config max_position_embeddings, else DEFAULT_CONTEXT_TOKENS); at most the config's. */
  contextTokens?: number;
  /**
   * After an allocation failure, release and recreate the sessions in place (default true). A Worker host passes
   * false and restarts the whole Worker instead, which also returns the WebAssembly memory (it never shrinks).
   */
  recreateOnAllocationFailure?: boolean;
}

/** True for an error that says memory could not be allocated (onnxruntime, V8 or WebAssembly). */
export function isAllocationFailure(e: unknown): boolean {
  const m = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return /bad_alloc|failed to allocate|allocation failed|out of memory|Cannot allocate|WebAssembly\.Memory/i.test(m);
}

export class OrtEngine extends SerialEngine implements InferenceEngine {
  readonly id: string;
  readonly modelName: string;
  readonly executionProvider: "wasm" | "webgpu";
  readonly modelDir: string;
  readonly contextTokens: number;
  /** Generations started, those that ended cancelled, and sessions recreated after allocation failures. */
  calls = 0;
  abortsSeen = 0;
  recoveries = 0;
  #runner: OrtVlmRunner;
  readonly #loadOptions: RunnerLoadOptions;
  readonly #vision: VisionPreprocessOptions;
  readonly #recreate: boolean;
  #status: EngineStatus = "ok";
  #released = false;

  private constructor(runner: OrtVlmRunner, modelDir: string, o: OrtEngineOptions, loadOptions: RunnerLoadOptions) {
    super();
    this.#runner = runner;
    this.#loadOptions = loadOptions;
    this.executionProvider = runner.executionProvider;
    this.id = `ort-${runner.executionProvider}`;
    this.modelDir = modelDir;
    this.modelName = o.modelName ?? "gasp-tiny";
    this.#recreate = o.recreateOnAllocationFailure ?? true;
    this.#vision = preprocessOptions(runner.config, { minPixels: o.minPixels, maxPixels: o.maxPixels });
    const configured = (runner.config as { max_position_embeddings?: number }).max_position_embeddings;
    const ceiling = configured ?? DEFAULT_CONTEXT_TOKENS;
    this.contextTokens = Math.min(o.contextTokens ?? ceiling, configured ?? Infinity);
  }

  /** Loads an export dir (config.json, tokenizer.json, vision.onnx, decoder.onnx) into onnxruntime-web sessions. */
  static async load(modelDir: string, opts: OrtEngineOptions = {}): Promise<OrtEngine> {
    const loadOptions: RunnerLoadOptions = {
      executionProvider: opts.executionProvider ?? "auto",
      log: opts.log,
      minPixels: opts.minPixels,
      maxPixels: opts.maxPixels ?? ENGINE_MAX_PIXELS,
    };
    const runner = await OrtVlmRunner.load(modelDir, loadOptions);
    return new OrtEngine(runner, modelDir, { ...opts, maxPixels: loadOptions.maxPixels }, {
      ...loadOptions,
      executionProvider: runner.executionProvider, // a reload keeps the EP chosen now
      log: () => {},
    });
  }

  ready(): boolean {
    return this.#status === "ok";
  }

  status(): EngineStatus {
    return this.#status;
  }

  countPromptTokens(messages: ChatMessage[]): Promise<number> {
    return Promise.resolve().then(() => countPromptTokens(this.#runner.tokenizer, this.#vision, messages));
  }

  protected override async generateNow(...[req, onToken, signal]: GenerateArgs): Promise<GenerationResult> {
    const t0 = performance.now();
    this.calls++;
    if (this.#released) throw new EngineUnavailableError(`the engine for ${this.modelDir} was released`);
    if (this.#status === "failed") throw new EngineUnavailableError("the engine could not recreate its session");
    if (signal?.aborted) {
      this.abortsSeen++;
      return cancelledResult();
    }
    const promptTokens = countPromptTokens(this.#runner.tokenizer, this.#vision, req.messages);
    if (promptTokens + 1 > this.contextTokens) {
      throw new ContextLengthExceededError(promptTokens, 1, this.contextTokens, "context length");
    }
    const maxTokens = Math.min(req.maxTokens, this.contextTokens - promptTokens);
    try {
      const r = await this.#runner.generate(
        req.messages,
        { maxTokens, temperature: req.temperature, topP: req.topP, stop: req.stop, seed: req.seed },
        onToken && ((delta) => onToken(delta)),
        signal,
      );
      if (r.finishReason === "cancelled") this.abortsSeen++;
      return generationResult(r, t0);
    } catch (e) {
      if (!isAllocationFailure(e)) throw e;
      if (this.#recreate) await this.#recreateSession();
      else this.#status = "failed"; // the host replaces this engine
      throw new EngineOutOfMemoryError((e as Error).message.slice(0, 200));
    }
  }

  /** Releases the runner's sessions and creates them again; "degraded" meanwhile, "failed" if that fails. */
  async #recreateSession(): Promise<void> {
    this.#status = "degraded";
    try {
      await this.#runner.release().catch(() => {});
      this.#runner = await OrtVlmRunner.load(this.modelDir, this.#loadOptions);
      this.recoveries++;
      this.#status = "ok";
    } catch (e) {
      this.#status = "failed";
      throw new EngineUnavailableError(`recreating the onnxruntime session failed: ${(e as Error).message}`);
    }
  }

  /** Frees the onnxruntime sessions after any running generation; ready() is false afterwards. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.idle();
    this.#status = "failed";
    await this.#runner.release();
  }
}
