import assert from "node:assert/strict";
import { DataFormatError } from "../../../core/errors.ts";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../../../core/io/safetensors.ts";

const sample = () =>
  new Map<string, NamedTensor>([
    ["model.layers.0.self_attn.q_proj.lora_A.weight", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ["correspondence_heads.0.fc1.bias", { shape: [3], data: Float64Array.from([0.1, -0.2, 1e-300]) }],
    ["scalar", { shape: [], data: Float32Array.from([7]) }],
  ]);

Deno.test("safetensors round-trips F32 and F64 tensors and metadata, with an 8-aligned header", () => {
  const bytes = encodeSafetensors(sample(), { format: "pt" });
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.equal(n % 8, 0);
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: "pt" });
  for (const [k, v] of sample()) {
    const got = tensors.get(k)!;
    assert.deepEqual(got.shape, v.shape);
    assert.equal(got.data.constructor, v.data.constructor);
    assert.deepEqual(Array.from(got.data), Array.from(v.data));
  }
  assert.deepEqual(encodeSafetensors(sample(), { format: "pt" }), bytes, "deterministic bytes");
});

Deno.test("safetensors decoder names the problem in truncated or inconsistent files", () => {
  const bytes = encodeSafetensors(sample());
  assert.throws(
    () => decodeSafetensors(bytes.subarray(0, bytes.length - 4), "a.safetensors"),
    (e: unknown) => e instanceof DataFormatError && e.file === "a.safetensors",
  );
  assert.throws(() => decodeSafetensors(bytes.subarray(0, 5)), DataFormatError);
  const bad = (header: object, dataLen: number) => {
    const h = new TextEncoder().encode(JSON.stringify(header));
    const b = new Uint8Array(8 + h.length + dataLen);
    new DataView(b.buffer).setBigUint64(0, BigInt(h.length), true);
    b.set(h, 8);
    return b;
  };
  assert.throws(() => decodeSafetensors(bad({ x: { dtype: "I8", shape: [1], data_offsets: [0, 1] } }, 1)), /dtype/);
  assert.throws(() => decodeSafetensors(bad({ x: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }, 4)), /8 bytes/);
  assert.throws(
    () =>
      decodeSafetensors(bad({
        x: { dtype: "F32", shape: [1], data_offsets: [0, 4] },
        y: { dtype: "F32", shape: [1], data_offsets: [2, 6] },
      }, 8)),
    /no holes or overlaps/,
  );
});
