/**
 * Serialise ONNX models. Initializers stay inline (raw_data) unless `externalData` is set, in which case tensors of
 * at least `externalThreshold` bytes go to one side file `<model file>.data` (location/offset/length, 64-byte aligned)
 * so models over protobuf's 2 GB limit can be written.
 */
import { basename } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { type ModelProto, onnx } from "./proto.ts";

export function serializeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model as Record<string, unknown>)).finish();
}

export async function writeOnnxModel(
  path: string,
  model: ModelProto,
  opts: { externalData?: boolean; externalThreshold?: number } = {},
): Promise<void> {
  if (!opts.externalData) return await writeFileAtomic(path, serializeModel(model));
  const threshold = opts.externalThreshold ?? 1024;
  const location = basename(path) + ".data";
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const inits = (model.graph?.initializer ?? []).map((t) => {
    const raw = t.rawData;
    if (!raw || raw.byteLength < threshold) return t;
    const pad = (64 - (offset % 64)) % 64;
    if (pad) chunks.push(new Uint8Array(pad));
    offset += pad;
    chunks.push(raw);
    const entry = {
      ...t,
      rawData: undefined,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: location },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(raw.byteLength) },
      ],
    };
    offset += raw.byteLength;
    return entry;
  });
  const data = new Uint8Array(offset);
  let o = 0;
  for (const c of chunks) {
    data.set(c, o);
    o += c.byteLength;
  }
  await writeFileAtomic(path + ".data", data);
  await writeFileAtomic(path, serializeModel({ ...model, graph: { ...model.graph, initializer: inits } }));
}
