/**
 * Runs one benchmark's items through an inference engine: greedy generation (batched where the engine offers
 * `generateBatch`), progress with ETA, and resumable predictions in a JSONL file (one line per finished item,
 * written whole; a rerun skips ids already there; a line cut off by a crash is dropped and redone).
 */
import { dirname } from "node:path";
import { DataFormatError } from "../../core/errors.ts";
import type { BenchEngine, BenchItem, GenerationRequest, PredictionRecord } from "./types.ts";
import { VisualResolver } from "./visuals.ts";

export interface Progress {
  suite: string;
  done: number;
  total: number;
  resumed: number;
  etaSeconds: number;
}

export interface RunOptions {
  engine: BenchEngine;
  items: readonly BenchItem[];
  /** JSONL file for this checkpoint × suite. */
  predictionsPath: string;
  suite?: string;
  resolver?: VisualResolver;
  batchSize?: number;
  /** Overrides every item's harness max_new_tokens (e.g. 16 for a tiny model). */
  maxTokens?: number;
  seed?: number;
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
}

/** Reads finished predictions; a torn last line (no trailing newline) is cut off the file so appends stay valid. */
export async function readPredictions(path: string): Promise<Map<string, PredictionRecord>> {
  const out = new Map<string, PredictionRecord>();
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return out;
    throw e;
  }
  const end = text.lastIndexOf("\n") + 1;
  if (end < text.length) {
    await Deno.truncate(path, new TextEncoder().encode(text.slice(0, end)).length);
    text = text.slice(0, end);
  }
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let rec: PredictionRecord;
    try {
      rec = JSON.parse(line);
    } catch (e) {
      throw new DataFormatError(path, `line ${i + 1}`, "one JSON prediction record", (e as Error).message);
    }
    if (typeof rec.id !== "string" || typeof rec.output !== "string") {
      throw new DataFormatError(path, `line ${i + 1}`, "{id: string, output: string, …}", line.slice(0, 80));
    }
    out.set(rec.id, rec);
  }
  return out;
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

/** Generates every item not yet in the JSONL; returns id → output for all items (old and new). */
export async function runPredictions(o: RunOptions): Promise<Map<string, string>> {
  await Deno.mkdir(dirname(o.predictionsPath), { recursive: true });
  const prior = await readPredictions(o.predictionsPath);
  const outputs = new Map<string, string>();
  for (const it of o.items) {
    const p = prior.get(it.id);
    if (p) outputs.set(it.id, p.output);
  }
  const pending = o.items.filter((it) => !outputs.has(it.id));
  const resumed = o.items.length - pending.length;
  const resolver = o.resolver ?? new VisualResolver();
  const batch = Math.max(1, o.engine.generateBatch ? (o.batchSize ?? 4) : 1);
  const file = await Deno.open(o.predictionsPath, { append: true, create: true });
  const enc = new TextEncoder();
  const t0 = performance.now();
  let doneHere = 0;
  try {
    for (let s = 0; s < pending.length; s += batch) {
      o.signal?.throwIfAborted();
      const chunk = pending.slice(s, s + batch);
      const reqs = await Promise.all(chunk.map((it) => buildRequest(it, resolver, o)));
      const results = batch > 1 && o.engine.generateBatch
        ? await o.engine.generateBatch(reqs, o.signal)
        : [await o.engine.generate(reqs[0], undefined, o.signal)];
      for (const [k, it] of chunk.entries()) {
        const r = results[k];
        const rec: PredictionRecord = {
          id: it.id,
          output: r.text,
          promptTokens: r.promptTokens,
          completionTokens: r.completionTokens,
          timingMs: r.timingMs,
        };
        await file.write(enc.encode(JSON.stringify(rec) + "\n"));
        outputs.set(it.id, r.text);
      }
      doneHere += chunk.length;
      const elapsed = (performance.now() - t0) / 1000;
      o.onProgress?.({
        suite: o.suite ?? o.items[0]?.benchmark ?? "",
        done: resumed + doneHere,
        total: o.items.length,
        resumed,
        etaSeconds: (elapsed / doneHere) * (pending.length - doneHere),
      });
    }
  } finally {
    file.close();
  }
  return outputs;
}

export function formatProgress(p: Progress): string {
  const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : "100";
  const eta = Number.isFinite(p.etaSeconds) ? `${Math.round(p.etaSeconds)}s` : "?";
  return `[${p.suite}] ${p.done}/${p.total} (${pct}%)${p.resumed ? `, ${p.resumed} resumed` : ""}, ETA ${eta}`;
}
