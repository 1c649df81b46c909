/** Typed arrays joined end to end (PNG chunks, shard records, pixel values of several images). */

/** `xs` joined into one new array made by `make(total length)`. */
export function concatInto<T extends Uint8Array | Float32Array>(xs: readonly T[], make: (length: number) => T): T {
  const out = make(xs.reduce((n, x) => n + x.length, 0));
  let at = 0;
  for (const x of xs) {
    out.set(x, at);
    at += x.length;
  }
  return out;
}

/** Byte arrays joined into one. */
export function concatBytes(xs: readonly Uint8Array[]): Uint8Array {
  return concatInto(xs, (n) => new Uint8Array(n));
}

/** Float32 arrays joined into one. */
export function concatFloats(xs: readonly Float32Array[]): Float32Array {
  return concatInto(xs, (n) => new Float32Array(n));
}
