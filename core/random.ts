/**
 * Seeded pseudo-random numbers for everything random in the project (scenes, sampling, init, dropout).
 * xoshiro128** : small, fast, good statistical quality, and its whole state is four u32 so runs can be
 * checkpointed and resumed exactly.
 */
export type RngState = [number, number, number, number];

/** A seeded generator (every random thing in GASP-TS takes one). */
export class Rng {
  #s: Uint32Array;
  #spareNormal: number | null = null;

  /** A generator starting from `seed`. */
  constructor(seed: number) {
    // splitmix32 expands one seed into four non-zero words.
    this.#s = new Uint32Array(4);
    let x = (seed >>> 0) ^ 0x9e3779b9;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if (this.#s.every((v) => v === 0)) this.#s[0] = 1;
  }

  /** A generator continuing from a saved state (checkpoints). */
  static fromState(state: RngState): Rng {
    const r = new Rng(0);
    r.#s.set(state);
    return r;
  }

  /** The current state (for checkpoints). */
  state(): RngState {
    return [this.#s[0], this.#s[1], this.#s[2], this.#s[3]];
  }

  /** Next u32. */
  u32(): number {
    const s = this.#s;
    const result = Math.imul(rotl(Math.imul(s[1], 5) >>> 0, 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** One element of `xs`, uniformly (one `int` draw). */
  pick<T>(xs: ArrayLike<T>): T {
    return xs[this.int(xs.length)];
  }

  /** Standard normal (Box-Muller; the spare is not part of state(), so resume re-draws it). */
  normal(): number {
    if (this.#spareNormal !== null) {
      const v = this.#spareNormal;
      this.#spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.#spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Fisher-Yates in place; returns the same array. */
  shuffle<T>(arr: T[]): T[] {
    for (let i = arr.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [arr[i], arr[j]] = [arr[j], arr[i]];
    }
    return arr;
  }

  /** An independent generator derived from this one (for workers / sub-streams). */
  fork(): Rng {
    return new Rng(this.u32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
