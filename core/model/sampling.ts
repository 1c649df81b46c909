/**
 * Next-token sampling: greedy (temperature 0), temperature, nucleus (top-p), all in f64 and seeded with core/random.ts
 * so a (seed, prompt) pair always gives the same tokens; and stop-string matching on decoded text.
 */
import { Rng } from "../random.ts";

export interface SamplingOptions {
  /** 0 = greedy (argmax, lowest id on ties). Default 0. */
  temperature?: number;
  /** Keep the smallest set of most likely tokens whose probability mass reaches topP (HF top_p). Default 1. */
  topP?: number;
  seed?: number;
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

export class Sampler {
  readonly #rng: Rng;
  readonly #temperature: number;
  readonly #topP: number;

  constructor(opts: SamplingOptions = {}) {
    this.#temperature = opts.temperature ?? 0;
    this.#topP = opts.topP ?? 1;
    if (this.#temperature < 0 || !(this.#topP > 0 && this.#topP <= 1)) {
      throw new RangeError(
        `sampling: temperature must be >= 0 and topP in (0, 1]; got ${this.#temperature}, ${this.#topP}`,
      );
    }
    this.#rng = new Rng(opts.seed ?? 0);
  }

  /** Probabilities after temperature and top-p (zeros outside the nucleus); for tests and introspection. */
  distribution(logits: ArrayLike<number>): Float64Array {
    const n = logits.length;
    const p = new Float64Array(n);
    if (this.#temperature === 0) {
      p[argmax(logits)] = 1;
      return p;
    }
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, logits[i]);
    let z = 0;
    for (let i = 0; i < n; i++) z += p[i] = Math.exp((logits[i] - max) / this.#temperature);
    for (let i = 0; i < n; i++) p[i] /= z;
    if (this.#topP < 1) {
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => p[b] - p[a] || a - b);
      let cum = 0, k = 0;
      while (k < n && (k === 0 || cum < this.#topP)) cum += p[order[k++]];
      const keep = new Set(order.slice(0, k));
      let z2 = 0;
      for (let i = 0; i < n; i++) if (!keep.has(i)) p[i] = 0;
      for (let i = 0; i < n; i++) z2 += p[i];
      for (let i = 0; i < n; i++) p[i] /= z2;
    }
    return p;
  }

  /** Draw the next token id. */
  sample(logits: ArrayLike<number>): number {
    if (this.#temperature === 0) return argmax(logits);
    const p = this.distribution(logits);
    const u = this.#rng.next();
    let cum = 0, last = 0;
    for (let i = 0; i < p.length; i++) {
      if (p[i] === 0) continue;
      cum += p[i];
      last = i;
      if (u < cum) return i;
    }
    return last;
  }
}

/** Index of the earliest occurrence of any stop string in `text` at or after `from`, or -1. */
export function findStop(text: string, stops: readonly string[], from = 0): number {
  let best = -1;
  for (const s of stops) {
    if (!s) continue;
    const i = text.indexOf(s, Math.max(0, from));
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}
