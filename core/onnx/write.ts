/**
 * Serialise ONNX models. Initializers stay inline (raw_data) unless `externalData` is set, in which case each tensor
 * of at least `externalThreshold` bytes goes to its own file `<model file>_data/<tensor name>` (external_data
 * location/offset 0/length), so models over protobuf's 2 GB limit can be written one tensor at a time.
 */
import { basename, join } from "node:path";
import { writeFileAtomic } from "../io/atomic.ts";
import { type ModelProto, onnx } from "./proto.ts";

export function serializeModel(model: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model as Record<string, unknown>)).finish();
}

/** Folder of a model's external tensors: `decoder.onnx` → `decoder.onnx_data/` beside it. */
export function externalDataDir(modelPath: string): string {
  return modelPath + "_data";
}

/** A tensor name as a file name: HF names ([A-Za-z0-9._]) stay as they are; anything else becomes "_". */
function fileNameFor(name: string, taken: Set<string>): string {
  let base = name.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_") || "_";
  if (base.length > 200) base = base.slice(0, 200);
  let out = base;
  for (let i = 1; taken.has(out); i++) out = `${base}.${i}`;
  taken.add(out);
  return out;
}

export async function writeOnnxModel(
  path: string,
  model: ModelProto,
  opts: { externalData?: boolean; externalThreshold?: number } = {},
): Promise<void> {
  if (!opts.externalData) return await writeFileAtomic(path, serializeModel(model));
  const threshold = opts.externalThreshold ?? 1024;
  // One file per tensor (onnx's save_as_external_data(all_tensors_to_one_file=False)): nothing is concatenated in
  // memory, and a tool can map, replace or check one tensor alone.
  const dataDir = externalDataDir(path);
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  await Deno.mkdir(dataDir, { recursive: true });
  const taken = new Set<string>();
  const inits = [];
  for (const t of model.graph?.initializer ?? []) {
    const raw = t.rawData;
    if (!raw || raw.byteLength < threshold) {
      inits.push(t);
      continue;
    }
    const file = fileNameFor(t.name ?? "", taken);
    await writeFileAtomic(join(dataDir, file), raw);
    inits.push({
      ...t,
      rawData: undefined,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: `${basename(dataDir)}/${file}` },
        { key: "offset", value: "0" },
        { key: "length", value: String(raw.byteLength) },
      ],
    });
  }
  await writeFileAtomic(path, serializeModel({ ...model, graph: { ...model.graph, initializer: inits } }));
}
