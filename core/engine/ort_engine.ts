/**
 * The real inference engine: the head-free model's export dir (core/model/export_onnx.ts) run by onnxruntime-web
 * through core/model/ort_runner.ts, behind the InferenceEngine seam the server and the benchmark runner share.
 *
 * - Execution provider: the runner's "auto" by default: the WebGPU EP when navigator.gpu gives a hardware adapter,
 *   the WASM EP otherwise (no adapter, or a software one such as Mesa llvmpipe, where WASM is faster). The choice
 *   and the reason are logged once at load; `executionProvider` and `id` ("ort-wasm" / "ort-webgpu") report it.
 * - Messages: text parts pass through; image parts (PNG/JPEG bytes, already header-checked by the caller) are
 *   decoded here with core/image/decode.ts; a file that does not decode is a DataFormatError (HTTP 400).
 * - Images are resized by Qwen's smart resize into [minPixels, maxPixels] (default max 448² here, not Qwen's 12.8 M:
 *   the vision graph's attention is quadratic in patches, and the tiny model is trained on ~224² views).
 * - One generation at a time (the runner is not re-entrant): concurrent calls wait their turn in arrival order.
 * - Decoding yields to the event loop between tokens (core/engine/decode_loop.ts): onnxruntime-web's WASM EP would
 *   otherwise starve timers and I/O for the whole generation (no disconnects, timeouts or /healthz meanwhile).
 * - Abort resolves with finishReason "cancelled" and the text produced so far; it never rejects.
 */
import { DataFormatError, EngineUnavailableError } from "../errors.ts";
import { decodeImage } from "../image/decode.ts";
import { type ExecutionProviderChoice, OrtVlmRunner } from "../model/ort_runner.ts";
import type { ChatMessage as RunnerMessage, ChatPart } from "../text/chat_template.ts";
import { generateYielding } from "./decode_loop.ts";
import type { ChatMessage, FinishReason, GenerationRequest, GenerationResult, InferenceEngine } from "./types.ts";

/** Default pixel ceiling per image (448 x 448 = 256 merged vision tokens with 14 px patches and a 2x2 merge). */
export const ENGINE_MAX_PIXELS = 448 * 448;

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
}

export class OrtEngine implements InferenceEngine {
  readonly id: string;
  readonly modelName: string;
  readonly executionProvider: "wasm" | "webgpu";
  readonly modelDir: string;
  /** Generations started, and those that ended cancelled (abort signal): tests read these. */
  calls = 0;
  abortsSeen = 0;
  readonly #runner: OrtVlmRunner;
  #tail: Promise<unknown> = Promise.resolve();
  #released = false;

  private constructor(runner: OrtVlmRunner, modelDir: string, modelName: string) {
    this.#runner = runner;
    this.executionProvider = runner.executionProvider;
    this.id = `ort-${runner.executionProvider}`;
    this.modelDir = modelDir;
    this.modelName = modelName;
  }

  /** Loads an export dir (config.json, tokenizer.json, vision.onnx, decoder.onnx) into onnxruntime-web sessions. */
  static async load(modelDir: string, opts: OrtEngineOptions = {}): Promise<OrtEngine> {
    const runner = await OrtVlmRunner.load(modelDir, {
      executionProvider: opts.executionProvider ?? "auto",
      log: opts.log,
      minPixels: opts.minPixels,
      maxPixels: opts.maxPixels ?? ENGINE_MAX_PIXELS,
    });
    return new OrtEngine(runner, modelDir, opts.modelName ?? "gasp-tiny");
  }

  ready(): boolean {
    return !this.#released;
  }

  generate(
    req: GenerationRequest,
    onToken?: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<GenerationResult> {
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
    this.calls++;
    if (this.#released) throw new EngineUnavailableError(`the engine for ${this.modelDir} was released`);
    if (signal?.aborted) {
      this.abortsSeen++;
      return { text: "", promptTokens: 0, completionTokens: 0, finishReason: "cancelled", timingMs: 0 };
    }
    const messages = toRunnerMessages(req.messages);
    const r = await generateYielding(
      this.#runner,
      messages,
      { maxTokens: req.maxTokens, temperature: req.temperature, topP: req.topP, stop: req.stop, seed: req.seed },
      onToken,
      signal,
    );
    const finishReason: FinishReason = r.finishReason === "abort" ? "cancelled" : r.finishReason;
    if (finishReason === "cancelled") this.abortsSeen++;
    return {
      text: r.text,
      promptTokens: r.promptTokens,
      completionTokens: r.tokens.length,
      finishReason,
      timingMs: performance.now() - t0,
    };
  }

  /** Frees the onnxruntime sessions after any running generation; ready() is false afterwards. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#tail;
    await this.#runner.release();
  }
}

/** The seam's messages (encoded image bytes) as the runner's chat messages (decoded RGB images). */
export function toRunnerMessages(messages: ChatMessage[]): RunnerMessage[] {
  let imageIndex = 0;
  return messages.map((m) => ({
    role: m.role,
    content: m.content.map((p): ChatPart => {
      if (p.type === "text") return { type: "text", text: p.text };
      const where = `image ${imageIndex++}`;
      let image;
      try {
        image = decodeImage(p.bytes, where);
      } catch (e) {
        if (e instanceof DataFormatError) throw e;
        throw new DataFormatError(where, "bytes", `a decodable ${p.mime} file`, (e as Error).message);
      }
      if (image.width !== p.width || image.height !== p.height) {
        throw new DataFormatError(
          where,
          "size",
          `${p.width}x${p.height} as its header says`,
          `decoded ${image.width}x${image.height}`,
        );
      }
      return { type: "image", image };
    }),
  }));
}
