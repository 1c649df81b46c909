/**
 * The safetensors header check both readers share (core/io/safetensors.ts in memory, core/io/safetensors_stream.ts
 * from disk): every entry well-formed and the entries tiling the data section exactly.
 */

/** One tensor as the header declares it; `begin`/`end` are byte offsets within the data section. */
export interface HeaderEntry {
  /** Tensor name. */
  name: string;
  /** A key of the reader's dtype table. */
  dtype: string;
  /** Dims (non-negative integers). */
  shape: number[];
  /** First byte, relative to the data section. */
  begin: number;
  /** One past the last byte, relative to the data section. */
  end: number;
}

/**
 * Checks a parsed header: each entry's dtype is a key of `dtypeBytes` (`dtypeNames` lists them in the error), its
 * shape non-negative integers, its data_offsets an integer [begin, end] inside the `dataLen`-byte data section
 * holding exactly numel · dtype-size bytes; the entries must tile the section with no holes, overlaps or trailing
 * bytes. `fail(field, expected, detail)` raises. Entries come back in header order, `__metadata__` apart.
 */
export function checkHeaderEntries(
  header: unknown,
  dataLen: number,
  dtypeBytes: Readonly<Record<string, number>>,
  dtypeNames: string,
  fail: (field: string, expected: string, detail?: string) => never,
): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header", "JSON object");
  const entries: HeaderEntry[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      metadata = raw as Record<string, string>;
      continue;
    }
    const e = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e.dtype !== "string" || !Object.hasOwn(dtypeBytes, e.dtype)) {
      fail(`${name}.dtype`, dtypeNames, `got ${JSON.stringify(e.dtype)}`);
    }
    const dtype = e.dtype as string;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`${name}.shape`, "array of non-negative integers", JSON.stringify(e.shape));
    }
    const shape = e.shape as number[];
    const off = e.data_offsets as [number, number];
    if (
      !Array.isArray(off) || off.length !== 2 || !Number.isInteger(off[0]) || !Number.isInteger(off[1]) ||
      !(off[0] >= 0 && off[1] >= off[0] && off[1] <= dataLen)
    ) {
      fail(`${name}.data_offsets`, `[begin, end] within the ${dataLen}-byte data section`, JSON.stringify(off));
    }
    const want = shape.reduce((a, b) => a * b, 1) * dtypeBytes[dtype];
    if (off[1] - off[0] !== want) {
      fail(`${name}.data_offsets`, `${want} bytes for ${dtype} [${shape}]`, `got ${off[1] - off[0]}`);
    }
    entries.push({ name, dtype, shape, begin: off[0], end: off[1] });
  }
  let at = 0;
  for (const s of [...entries].sort((a, b) => a.begin - b.begin)) {
    if (s.begin !== at) fail(`${s.name}.data_offsets`, `to start at byte ${at} (no holes or overlaps)`, `${s.begin}`);
    at = s.end;
  }
  if (at !== dataLen) fail("data section", `${at} bytes`, `file has ${dataLen} (trailing bytes)`);
  return { entries, metadata };
}
