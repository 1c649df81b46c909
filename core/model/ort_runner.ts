/**
 * Runs an export dir (core/model/export_onnx.ts) with onnxruntime-web: WASM EP, or the WebGPU EP when a WebGPU
 * adapter exists (Deno exposes navigator.gpu; ort's WebGPU build works there, Mesa llvmpipe included). The plain
 * "onnxruntime-web" import resolves to ort's node build in Deno (WASM only), so the WebGPU path loads
 * "onnxruntime-web/webgpu" (which also carries the WASM EP).
 *
 * Flow: chat messages -> encodePrompt (template, vision preprocessing, pad expansion, M-RoPE ids) ->
 * vision.onnx per image/video -> decoder.onnx prefill -> decode steps with the KV cache -> sampling with stop strings.
 */
import * as ortWasm from "onnxruntime-web";
import type { Tensor as OrtTensor } from "onnxruntime-web";
import { join } from "node:path";
import { existsSync } from "node:fs";
import type { VlmConfig } from "./config.ts";
import { parseVlmConfig } from "./config.ts";
import { headDim } from "./config.ts";
import { TextTokenizer } from "../text/tokenizer.ts";
import type { ChatMessage } from "../text/chat_template.ts";
import type { PixelValues } from "../image/preprocess.ts";
import { decodePositionIds } from "./rope_index.ts";
import { encodePrompt } from "./processing.ts";
import { visionGraphInputs } from "./onnx_vision_graph.ts";
import { DataFormatError } from "../errors.ts";
import { decodeLoop, type FinishReason, yieldToEventLoop } from "./streaming.ts";
import { concatFloats } from "../io/concat.ts";

type Ort = typeof ortWasm;
type OrtSession = Awaited<ReturnType<Ort["InferenceSession"]["create"]>>;

/** onnxruntime-web's execution provider: "auto" is WebGPU on a hardware adapter, else WASM. */
export type ExecutionProviderChoice = "wasm" | "webgpu" | "auto";

/** How {@linkcode OrtVlmRunner.load} starts its sessions. */
export interface RunnerLoadOptions {
  /** "auto" (default): WebGPU when navigator.gpu yields a hardware adapter, else WASM (software adapters: WASM). */
  executionProvider?: ExecutionProviderChoice;
  /** Where to say which EP was chosen (default console.error). */
  log?: (message: string) => void;
  /** Vision pixel budget (defaults: Qwen's 3136 .. 12845056). */
  minPixels?: number;
  /** Vision pixel ceiling per image (default Qwen's 12845056). */
  maxPixels?: number;
}

/** A chat turned into decoder inputs: ids, vision features at the pad positions, M-RoPE ids. */
export interface PreparedPrompt {
  /** (T) token ids, vision pads included. */
  inputIds: number[];
  /** (T, H) vision features at pad positions, zeros elsewhere. */
  visualEmbeds: Float32Array;
  /** (3, T) M-RoPE position ids (t, h, w). */
  positionIds: [Int32Array, Int32Array, Int32Array];
  /** max position + 1 − T: decode position p gets p + ropeDelta. */
  ropeDelta: number;
}

/** The decoder's KV cache between steps: per layer present keys and values (1, Hkv, length, D). */
export interface KvCache {
  /** Per layer, the keys. */
  keys: OrtTensor[];
  /** Per layer, the values. */
  values: OrtTensor[];
  /** Tokens held. */
  length: number;
  /** The prompt's M-RoPE delta. */
  ropeDelta: number;
}

/** Sampling settings of {@linkcode OrtVlmRunner.generate}. */
export interface GenerateOptions {
  /** Most new tokens. */
  maxTokens?: number;
  /** Softmax temperature; 0 is greedy. */
  temperature?: number;
  /** Nucleus sampling mass. */
  topP?: number;
  /** Stop strings (not included in the text). */
  stop?: string[];
  /** Seed of the sampler. */
  seed?: number;
}

/** One generation's text, tokens and timing. */
export interface GenerateResult {
  /** The generated text (stop string excluded). */
  text: string;
  /** The generated token ids. */
  tokens: number[];
  /** Why generation ended. */
  finishReason: FinishReason;
  /** Prompt length in tokens. */
  promptTokens: number;
  /** Vision encoding and prefill time. */
  prefillMs: number;
  /** Decode time. */
  decodeMs: number;
}

/**
 * A head-free export dir run by onnxruntime-web: `load`, then `generate` from chat messages.
 *
 * @example Answer a question with the model `deno task train` exported
 * ```ts
 * import { OrtVlmRunner } from "@gasp/gasp-ts";
 * const runner = await OrtVlmRunner.load("runs/gasp/export", { executionProvider: "wasm" });
 * const r = await runner.generate([{ role: "user", content: "What colour is the box?" }], { maxTokens: 8 });
 * console.log(r.text, r.finishReason);
 * await runner.release();
 * ```
 */
export class OrtVlmRunner {
  /** The model's config (config.json of the export). */
  readonly config: VlmConfig;
  /** The model's tokenizer (tokenizer.json). */
  readonly tokenizer: TextTokenizer;
  /** The execution provider the sessions run on. */
  readonly executionProvider: "wasm" | "webgpu";
  readonly #ort: Ort;
  readonly #vision: OrtSession;
  readonly #decoder: OrtSession;
  readonly #limits: { minPixels?: number; maxPixels?: number };

  private constructor(
    ort: Ort,
    ep: "wasm" | "webgpu",
    config: VlmConfig,
    tok: TextTokenizer,
    vision: OrtSession,
    decoder: OrtSession,
    limits: { minPixels?: number; maxPixels?: number },
  ) {
    this.#ort = ort;
    this.executionProvider = ep;
    this.config = config;
    this.tokenizer = tok;
    this.#vision = vision;
    this.#decoder = decoder;
    this.#limits = limits;
  }

  /** Opens `dir`'s vision.onnx and decoder.onnx on the chosen execution provider. */
  static async load(dir: string, opts: RunnerLoadOptions = {}): Promise<OrtVlmRunner> {
    const log = opts.log ?? ((m: string) => console.error(m));
    const config = parseVlmConfig(JSON.parse(await Deno.readTextFile(join(dir, "config.json"))));
    const tok = await TextTokenizer.fromFile(join(dir, "tokenizer.json"));
    let choice = opts.executionProvider ?? "auto";
    let why = "requested";
    if (choice === "auto") {
      const adapter = await navigator.gpu?.requestAdapter().catch(() => null);
      const name = adapter ? `${adapter.info.vendor} ${adapter.info.description}`.trim() : "";
      // ort's WebGPU EP recompiles shaders as the KV length grows; on a software adapter that is ~50x slower than WASM
      const software = !!adapter && (adapter.info.isFallbackAdapter || /llvmpipe|lavapipe|swiftshader/i.test(name));
      choice = adapter && !software ? "webgpu" : "wasm";
      why = !adapter
        ? "no WebGPU adapter"
        : software
        ? `software adapter (${name}) is slower than WASM`
        : `adapter ${name}`;
    }
    const ort: Ort = choice === "webgpu" ? await import("onnxruntime-web/webgpu") as Ort : ortWasm;
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = "error";
    const create = async (file: string) => {
      const bytes = await Deno.readFile(join(dir, file));
      // External-data exports (> 1.5 GB) keep each tensor in <file>_data/<name> (core/onnx/write.ts); older ones
      // kept all of them in <file>.data. ort takes them as (location, bytes) pairs.
      const externalData: { path: string; data: Uint8Array }[] = [];
      const single = await Deno.readFile(join(dir, file + ".data")).catch(() => null);
      if (single) externalData.push({ path: file + ".data", data: single });
      const perTensor = join(dir, file + "_data");
      if (existsSync(perTensor)) {
        for (const e of [...Deno.readDirSync(perTensor)].sort((a, b) => (a.name < b.name ? -1 : 1))) {
          if (!e.isFile) continue;
          externalData.push({ path: `${file}_data/${e.name}`, data: await Deno.readFile(join(perTensor, e.name)) });
        }
      }
      return await ort.InferenceSession.create(bytes, {
        executionProviders: [choice],
        externalData: externalData.length ? externalData : undefined,
      });
    };
    const vision = await create("vision.onnx");
    const decoder = await create("decoder.onnx");
    log(`ort_runner: onnxruntime-web ${choice} execution provider (${why}) for ${dir}`);
    return new OrtVlmRunner(ort, choice, config, tok, vision, decoder, opts);
  }

  /** Vision features (U, H) of one image or video, merged tokens in pixel_values order. */
  async encodeVision(pv: PixelValues): Promise<Float32Array> {
    const T = this.#ort.Tensor;
    const vi = visionGraphInputs(this.config, [pv.gridThw]);
    const N = pv.numPatches, U = vi.windowIndex.length, D = vi.rotaryCos.length / N;
    const out = await this.#vision.run({
      pixel_values: new T("float32", pv.pixelValues, [N, pv.patchDim]),
      window_index: new T("int64", vi.windowIndex, [U]),
      reverse_window_index: new T("int64", vi.reverseWindowIndex, [U]),
      rotary_cos: new T("float32", vi.rotaryCos, [N, D]),
      rotary_sin: new T("float32", vi.rotarySin, [N, D]),
      window_attention_bias: new T("float32", vi.windowAttentionBias, [N, N]),
      full_attention_bias: new T("float32", vi.fullAttentionBias, [N, N]),
    });
    return out.image_features.data as Float32Array;
  }

  /** The processor's prompt (core/model/processing.ts), then each image / video through vision.onnx. */
  async prepare(messages: ChatMessage[]): Promise<PreparedPrompt> {
    const { minPixels, maxPixels } = this.#limits;
    const p = encodePrompt(this.config, this.tokenizer, messages, { minPixels, maxPixels });
    const inputIds = Array.from(p.inputIds);
    const imgF: Float32Array[] = [], vidF: Float32Array[] = [];
    for (const i of p.images) imgF.push(await this.encodeVision(i));
    for (const v of p.videos) vidF.push(await this.encodeVision(v));
    const visualEmbeds = fillVisualEmbeds(this.config, inputIds, imgF, vidF);
    return { inputIds, visualEmbeds, positionIds: p.positionIds, ropeDelta: p.ropeDelta };
  }

  /** One decoder call on new tokens given an optional cache; returns (T, V) logits and the grown cache. */
  async forward(
    inputIds: number[],
    visualEmbeds: Float32Array | null,
    positionIds: [Int32Array, Int32Array, Int32Array],
    cache: KvCache | null,
    ropeDelta: number = cache?.ropeDelta ?? 0,
  ): Promise<{ logits: Float32Array; cache: KvCache }> {
    const c = this.config, T = inputIds.length, H = c.hidden_size, P = cache?.length ?? 0;
    const Ten = this.#ort.Tensor;
    const pos = new BigInt64Array(3 * T);
    for (let a = 0; a < 3; a++) for (let t = 0; t < T; t++) pos[a * T + t] = BigInt(positionIds[a][t]);
    const feeds: Record<string, OrtTensor> = {
      input_ids: new Ten("int64", BigInt64Array.from(inputIds, BigInt), [1, T]),
      visual_embeds: new Ten("float32", visualEmbeds ?? new Float32Array(T * H), [1, T, H]),
      position_ids: new Ten("int64", pos, [3, 1, T]),
      attention_mask: new Ten("int64", new BigInt64Array(P + T).fill(1n), [1, P + T]),
    };
    const empty = [1, c.num_key_value_heads, 0, headDim(c)];
    for (let l = 0; l < c.num_hidden_layers; l++) {
      feeds[`past_key_values.${l}.key`] = cache?.keys[l] ?? new Ten("float32", new Float32Array(0), empty);
      feeds[`past_key_values.${l}.value`] = cache?.values[l] ?? new Ten("float32", new Float32Array(0), empty);
    }
    const out = await this.#decoder.run(feeds);
    const keys: OrtTensor[] = [], values: OrtTensor[] = [];
    for (let l = 0; l < c.num_hidden_layers; l++) {
      keys.push(out[`present.${l}.key`]);
      values.push(out[`present.${l}.value`]);
    }
    return { logits: out.logits.data as Float32Array, cache: { keys, values, length: P + T, ropeDelta } };
  }

  /** Prefill a prepared prompt: (T, V) logits and the cache. */
  async prefill(prompt: PreparedPrompt): Promise<{ logits: Float32Array; cache: KvCache }> {
    return await this.forward(prompt.inputIds, prompt.visualEmbeds, prompt.positionIds, null, prompt.ropeDelta);
  }

  /** One token through the cache: (V) logits and the grown cache. */
  async decodeStep(token: number, cache: KvCache): Promise<{ logits: Float32Array; cache: KvCache }> {
    return await this.forward([token], null, decodePositionIds(cache.length, 1, cache.ropeDelta), cache);
  }

  /** Ids that end generation: config eos ids plus <|im_end|> and <|endoftext|>. */
  stopTokenIds(): Set<number> {
    const ids = new Set<number>();
    const eos = this.config.eos_token_id;
    for (const e of eos === undefined ? [] : Array.isArray(eos) ? eos : [eos]) ids.add(e);
    for (const t of ["<|im_end|>", "<|endoftext|>"]) {
      try {
        ids.add(this.tokenizer.tokenId(t));
      } catch { /* tokenizer without it */ }
    }
    return ids;
  }

  /**
   * Generate an assistant reply. `onToken(delta, id)` gets each newly decoded piece of text (text that could still
   * become a stop string or an incomplete UTF-8 sequence is held back). Deterministic for a given seed.
   */
  async generate(
    messages: ChatMessage[],
    opts: GenerateOptions = {},
    onToken?: (delta: string, tokenId: number) => void,
    signal?: AbortSignal,
  ): Promise<GenerateResult> {
    const stopIds = this.stopTokenIds();
    const t0 = performance.now();
    const prompt = await this.prepare(messages);
    // Let timers and an abort in before the blocking prefill (decodeLoop yields before every decode step).
    await yieldToEventLoop();
    if (signal?.aborted) return result("", [], "cancelled", prompt.inputIds.length, performance.now() - t0, 0);
    let { logits, cache } = await this.prefill(prompt);
    const V = this.config.vocab_size;
    const t1 = performance.now();
    const r = await decodeLoop({
      logits: logits.subarray(logits.length - V),
      step: async (id) => {
        ({ logits, cache } = await this.decodeStep(id, cache));
        return logits;
      },
      decode: (ids) => this.tokenizer.decode(ids, { skipSpecialTokens: true }),
      stopIds,
      opts,
      onToken,
      signal,
    });
    return result(r.text, r.tokens, r.finishReason, prompt.inputIds.length, t1 - t0, performance.now() - t1);
  }

  /** Releases both onnxruntime sessions. */
  async release(): Promise<void> {
    await this.#vision.release();
    await this.#decoder.release();
  }
}

function result(
  text: string,
  tokens: number[],
  finishReason: GenerateResult["finishReason"],
  promptTokens: number,
  prefillMs: number,
  decodeMs: number,
): GenerateResult {
  return { text, tokens, finishReason, promptTokens, prefillMs, decodeMs };
}

/** (T, H) embeddings input: image features at <|image_pad|> rows, video features at <|video_pad|> rows. */
export function fillVisualEmbeds(
  c: VlmConfig,
  inputIds: number[],
  images: Float32Array[],
  videos: Float32Array[],
): Float32Array {
  const H = c.hidden_size;
  const out = new Float32Array(inputIds.length * H);
  const img = concatFloats(images), vid = concatFloats(videos);
  let i = 0, v = 0;
  inputIds.forEach((id, t) => {
    if (id === c.image_token_id) out.set(img.subarray(i * H, ++i * H), t * H);
    else if (id === c.video_token_id) out.set(vid.subarray(v * H, ++v * H), t * H);
  });
  if (i * H !== img.length || v * H !== vid.length) {
    throw new DataFormatError("prompt", "vision pads", `${img.length / H} image and ${vid.length / H} video pads`);
  }
  return out;
}
