import assert from "node:assert/strict";
import { DataFormatError } from "../../../core/errors.ts";
import { decodeNpy, encodeNpyFloat32 } from "../../../core/scene/npy.ts";

Deno.test("npy float32 round-trips with a 64-byte aligned header", () => {
  const data = Float32Array.from({ length: 12 }, (_, i) => i * 0.25 - 1);
  const bytes = encodeNpyFloat32(data, [3, 4]);
  const headerLen = bytes[8] | (bytes[9] << 8);
  assert.equal((10 + headerLen) % 64, 0);
  const text = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  assert.match(text, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3, 4\), \} *\n$/);
  const back = decodeNpy(bytes, "x.npy");
  assert.deepEqual(back.shape, [3, 4]);
  assert.deepEqual(back.data, data);
});

Deno.test("npy reader converts float64 and rejects unsupported dtypes with a named error", () => {
  const f64 = new Float64Array([1.5, -2, 3]);
  let header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }";
  header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const bytes = new Uint8Array(10 + header.length + 24);
  bytes.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  bytes.set(new TextEncoder().encode(header), 10);
  bytes.set(new Uint8Array(f64.buffer), 10 + header.length);
  assert.deepEqual(decodeNpy(bytes, "d.npy").data, new Float32Array([1.5, -2, 3]));
  const bad = bytes.slice();
  bad.set(new TextEncoder().encode("<i8"), 10 + header.indexOf("<f8"));
  assert.throws(() => decodeNpy(bad, "d.npy"), (e: unknown) => e instanceof DataFormatError && e.field === "descr");
  assert.throws(() => decodeNpy(bytes.subarray(0, 60), "d.npy"), DataFormatError);
});
