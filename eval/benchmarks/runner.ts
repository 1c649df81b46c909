/**
 * Runs one benchmark's items through an inference engine: greedy generation (batched where the engine offers
 * `generateBatch`), progress with ETA, and the content-keyed answer cache (answer_cache.ts): each item's request
 * (prompt, image bytes, generation settings) is hashed, a cached answer of the same model for the same hash is
 * reused, and every new answer is appended to the cache as it finishes (so a crashed run resumes where it stopped).
 */
import type { AnswerCache } from "./answer_cache.ts";
import { requestHash } from "./answer_cache.ts";
import type { BenchEngine, BenchItem, GenerationRequest, GenerationResult } from "./types.ts";
import { VisualResolver } from "./visuals.ts";

export interface Progress {
  suite: string;
  done: number;
  total: number;
  /** Answers taken from the cache. */
  reused: number;
  etaSeconds: number;
}

export interface RunOptions {
  engine: BenchEngine;
  items: readonly BenchItem[];
  /** This engine's model's answer cache; absent: nothing is reused or recorded. */
  cache?: AnswerCache;
  /** Reuse cached answers (default true); false (`--no-cache`) generates every item and records the fresh answers. */
  reuse?: boolean;
  suite?: string;
  resolver?: VisualResolver;
  batchSize?: number;
  /** Overrides every item's harness max_new_tokens (e.g. 16 for a tiny model). */
  maxTokens?: number;
  seed?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** One item's answer in this run. */
export interface Prediction {
  id: string;
  /** sha256 of the request (answer_cache.ts requestHash). */
  itemHash: string;
  output: string;
  promptTokens: number;
  completionTokens: number;
  timingMs: number;
  /** Taken from the answer cache rather than generated in this run. */
  cached: boolean;
}

export interface RunResult {
  /** By item id, in item order. */
  predictions: Map<string, Prediction>;
  reused: number;
  generated: number;
}

export async function buildRequest(
  item: BenchItem,
  resolver: VisualResolver,
  o: { maxTokens?: number; seed?: number },
): Promise<GenerationRequest> {
  const images = await resolver.resolve(item);
  return {
    messages: [{
      role: "user",
      content: [
        ...images.map((im) => ({
          type: "image" as const,
          image: { bytes: im.bytes, mime: im.mime, width: im.width, height: im.height },
        })),
        { type: "text" as const, text: item.prompt },
      ],
    }],
    maxTokens: o.maxTokens ?? item.maxTokens,
    temperature: 0,
    topP: 1,
    seed: o.seed ?? 0,
    stop: [],
  };
}

/** Answers every item: from the cache when `reuse` and the same request was answered before, else by the engine. */
export async function runPredictions(o: RunOptions): Promise<RunResult> {
  const reuse = o.reuse ?? true;
  const resolver = o.resolver ?? new VisualResolver();
  const batch = Math.max(1, o.engine.generateBatch ? (o.batchSize ?? 4) : 1);
  const predictions = new Map<string, Prediction>();
  const t0 = performance.now();
  let reused = 0, generated = 0, pendingTotal = 0;
  let pending: { item: BenchItem; req: GenerationRequest; hash: string }[] = [];
  const report = () => {
    const elapsed = (performance.now() - t0) / 1000;
    const left = o.items.length - predictions.size;
    o.onProgress?.({
      suite: o.suite ?? o.items[0]?.benchmark ?? "",
      done: predictions.size,
      total: o.items.length,
      reused,
      etaSeconds: generated ? (elapsed / generated) * left : left ? Infinity : 0,
    });
  };
  const flush = async () => {
    if (pending.length === 0) return;
    o.signal?.throwIfAborted();
    const reqs = pending.map((p) => p.req);
    const results: GenerationResult[] = batch > 1 && o.engine.generateBatch
      ? await o.engine.generateBatch(reqs, o.signal)
      : [await o.engine.generate(reqs[0], undefined, o.signal)];
    for (const [k, p] of pending.entries()) {
      const r = results[k];
      const rec = {
        item: p.hash,
        output: r.text,
        promptTokens: r.promptTokens,
        completionTokens: r.completionTokens,
        timingMs: r.timingMs,
      };
      await o.cache?.put(rec);
      predictions.set(p.item.id, { id: p.item.id, itemHash: p.hash, ...rec, cached: false });
      generated++;
    }
    pending = [];
    report();
  };
  for (const item of o.items) {
    const req = await buildRequest(item, resolver, o);
    const hash = requestHash(req);
    const hit = reuse ? o.cache?.get(hash) : undefined;
    if (hit) {
      const { item: _h, ...rest } = hit;
      predictions.set(item.id, { id: item.id, itemHash: hash, ...rest, cached: true });
      reused++;
      continue;
    }
    pending.push({ item, req, hash });
    pendingTotal++;
    if (pending.length >= batch) await flush();
  }
  await flush();
  if (pendingTotal === 0) report();
  // Back in item order (cached and generated items interleave above).
  const ordered = new Map(o.items.map((it) => [it.id, predictions.get(it.id)!]));
  return { predictions: ordered, reused, generated };
}

export function formatProgress(p: Progress): string {
  const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : "100";
  const eta = Number.isFinite(p.etaSeconds) ? `${Math.round(p.etaSeconds)}s` : "?";
  return `[${p.suite}] ${p.done}/${p.total} (${pct}%)${p.reused ? `, ${p.reused} reused` : ""}, ETA ${eta}`;
}
