import assert from "node:assert/strict";
import { join } from "node:path";
import { GraphBuilder } from "../../../core/onnx/graph_builder.ts";
import { writeOnnxModel } from "../../../core/onnx/write.ts";
import { decodeTensor, loadOnnxWeights, readOnnxInitializers } from "../../../core/onnx/read.ts";
import { DataType, type TensorProto } from "../../../core/onnx/proto.ts";
import { DataFormatError, ShapeMismatchError } from "../../../core/errors.ts";
import { qwenNestedLayoutNameMap } from "../../../core/model/name_map.ts";

function model(extra: TensorProto[] = []) {
  const g = new GraphBuilder("t");
  const x = g.input("x", "float32", ["n", 3]);
  g.initializer("layer.weight", [2, 3], Float32Array.from([1, -2, 3.5, 1e-8, 0, -0]));
  g.initializer("ids", [3], BigInt64Array.from([1n, -2n, 9007199254740993n]));
  g.initializer("big.weight", [16, 16], Float32Array.from({ length: 256 }, (_, i) => i / 7));
  g.initializers.push(...extra);
  g.node("MatMul", [x, g.node("Transpose", ["layer.weight"], { perm: { ints: [1, 0] } })], {}, "y");
  g.output("y", "float32", ["n", 2]);
  return g.toModel();
}

// float16 1.0, -2.0, 0.5 / bfloat16 1.0, -3.0 / typed float_data / typed double_data
const f16: TensorProto = {
  name: "h",
  dims: [3],
  dataType: DataType.FLOAT16,
  rawData: new Uint8Array([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38]),
};
const bf16: TensorProto = {
  name: "bf",
  dims: [2],
  dataType: DataType.BFLOAT16,
  rawData: new Uint8Array([0x80, 0x3f, 0x40, 0xc0]),
};
const typed: TensorProto = { name: "typed", dims: [2], dataType: DataType.FLOAT, floatData: [0.25, -4] };
const dbl: TensorProto = { name: "dbl", dims: [1, 2], dataType: DataType.DOUBLE, doubleData: [1.5, 2.5] };

Deno.test("initializers read back from raw_data and typed fields, f16/bf16/f64 widened to f32, int64 exact", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "m.onnx");
    await writeOnnxModel(p, model([f16, bf16, typed, dbl]));
    const t = await readOnnxInitializers(p);
    assert.deepEqual(t.get("layer.weight")!.dims, [2, 3]);
    assert.deepEqual([...t.get("layer.weight")!.data], [...Float32Array.from([1, -2, 3.5, 1e-8, 0, -0])]);
    assert.deepEqual([...t.get("ids")!.data as BigInt64Array], [1n, -2n, 9007199254740993n]);
    assert.deepEqual([...t.get("h")!.data], [1, -2, 0.5]);
    assert.deepEqual([...t.get("bf")!.data], [1, -3]);
    assert.deepEqual([...t.get("typed")!.data], [0.25, -4]);
    assert.deepEqual([...t.get("dbl")!.data], [1.5, 2.5]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("external data files (location/offset/length) round-trip; a missing data file is a DataFormatError", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "m.onnx");
    await writeOnnxModel(p, model(), { externalData: true, externalThreshold: 64 });
    // One file per external tensor, named after it.
    assert.deepEqual([...Deno.readDirSync(join(dir, "m.onnx_data"))].map((e) => e.name), ["big.weight"]);
    assert.equal((await Deno.stat(join(dir, "m.onnx_data", "big.weight"))).size, 1024);
    const t = await readOnnxInitializers(p);
    assert.deepEqual([...t.get("big.weight")!.data], [...Float32Array.from({ length: 256 }, (_, i) => i / 7)]);
    assert.equal(t.get("layer.weight")!.data.length, 6); // small one stayed inline
    await Deno.remove(join(dir, "m.onnx_data", "big.weight"));
    await assert.rejects(() => readOnnxInitializers(p), DataFormatError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadOnnxWeights renames, and names the parameter and both shapes on a mismatch", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const p = join(dir, "m.onnx");
    await writeOnnxModel(p, model());
    const w = await loadOnnxWeights([p], new Map([["fc.w", [2, 3]]]), { nameMap: { "layer.weight": "fc.w" } });
    assert.deepEqual([...w.get("fc.w")!], [...Float32Array.from([1, -2, 3.5, 1e-8, 0, -0])]);
    const fnMap = (n: string) => (n.startsWith("layer.") ? n.replace("layer.", "model.") : undefined);
    assert.ok(
      (await loadOnnxWeights([p], new Map([["model.weight", [2, 3]]]), { nameMap: fnMap })).has("model.weight"),
    );
    await assert.rejects(
      () => loadOnnxWeights([p], new Map([["layer.weight", [3, 2]]])),
      (e: unknown) => e instanceof ShapeMismatchError && /layer\.weight.*\[3,2\].*\[2,3\]/.test(e.message),
    );
    await assert.rejects(
      () => loadOnnxWeights([p], new Map([["model.norm.weight", [4]]])),
      (e: unknown) => e instanceof DataFormatError && /model\.norm\.weight \[4\]/.test(e.message),
    );
    await Deno.writeFile(join(dir, "bad.onnx"), new Uint8Array([0xff, 0xff, 0xff]));
    await assert.rejects(() => readOnnxInitializers(join(dir, "bad.onnx")), DataFormatError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the transformers >= 4.52 nested layout maps onto the original HF names", () => {
  const m = qwenNestedLayoutNameMap;
  assert.equal(m("model.visual.blocks.3.attn.qkv.weight"), "visual.blocks.3.attn.qkv.weight");
  assert.equal(m("model.language_model.layers.0.self_attn.q_proj.bias"), "model.layers.0.self_attn.q_proj.bias");
  assert.equal(m("model.language_model.embed_tokens.weight"), "model.embed_tokens.weight");
  assert.equal(m("lm_head.weight"), undefined);
});

Deno.test("int32 and int64 tensors decode from little-endian raw bytes and from their typed fields; a wrong count names the tensor", () => {
  const i32Raw = new Uint8Array(new Int32Array([7, -1, 2147483647]).buffer);
  const i32: TensorProto = { name: "i32", dims: [3], dataType: DataType.INT32, rawData: i32Raw };
  assert.deepEqual([...decodeTensor(i32, i32Raw).data], [7, -1, 2147483647]);
  const i32Typed: TensorProto = { name: "i32t", dims: [2], dataType: DataType.INT32, int32Data: [-5, 6] };
  assert.deepEqual([...decodeTensor(i32Typed, null).data], [-5, 6]);
  const i64Typed: TensorProto = { name: "i64t", dims: [2], dataType: DataType.INT64, int64Data: [3, -4] };
  assert.deepEqual([...decodeTensor(i64Typed, null).data as BigInt64Array], [3n, -4n]);
  const short: TensorProto = { name: "short", dims: [3], dataType: DataType.FLOAT, floatData: [1, 2] };
  assert.throws(
    () => decodeTensor(short, null, "m.onnx"),
    (e) => e instanceof DataFormatError && /short/.test(e.message),
  );
});
