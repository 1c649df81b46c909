/**
 * Build standard-opset ONNX graphs in memory: typed inputs/outputs with symbolic (dynamic) dims, initializers by
 * name, nodes with auto-named outputs. `toModel()` gives a ModelProto (opset 17, IR version 8) for write.ts.
 */
import { DataType, type ModelProto, type NodeProto, onnx, type TensorProto } from "./proto.ts";

export type ElemType = "float32" | "int64" | "bool";
export type Dim = number | string;
export type AttrValue =
  | { i: number }
  | { f: number }
  | { ints: number[] }
  | { floats: number[] }
  | { s: string }
  | { t: TensorProto };

const ELEM: Record<ElemType, number> = { float32: DataType.FLOAT, int64: DataType.INT64, bool: DataType.BOOL };

export function tensorProto(
  name: string,
  dims: number[],
  data: Float32Array | BigInt64Array | Int32Array,
): TensorProto {
  const dataType = data instanceof Float32Array
    ? DataType.FLOAT
    : data instanceof BigInt64Array
    ? DataType.INT64
    : DataType.INT32;
  const rawData = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims, dataType, rawData };
}

function valueInfo(name: string, elem: ElemType, dims: Dim[]) {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[elem],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export class GraphBuilder {
  readonly name: string;
  readonly inputs: ReturnType<typeof valueInfo>[] = [];
  readonly outputs: ReturnType<typeof valueInfo>[] = [];
  readonly initializers: TensorProto[] = [];
  readonly nodes: NodeProto[] = [];
  #names = new Set<string>();
  #counter = 0;

  constructor(name: string) {
    this.name = name;
  }

  #fresh(hint: string): string {
    let n: string;
    do n = `${hint}_${this.#counter++}`; while (this.#names.has(n));
    return n;
  }

  input(name: string, elem: ElemType, dims: Dim[]): string {
    this.#names.add(name);
    this.inputs.push(valueInfo(name, elem, dims));
    return name;
  }

  output(name: string, elem: ElemType, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, elem, dims));
  }

  initializer(name: string, dims: number[], data: Float32Array | BigInt64Array | Int32Array): string {
    if (this.#names.has(name)) throw new Error(`graph ${this.name}: duplicate name ${name}`);
    this.#names.add(name);
    this.initializers.push(tensorProto(name, dims, data));
    return name;
  }

  constF(values: number[], dims: number[] = [values.length]): string {
    return this.initializer(this.#fresh("const_f"), dims, Float32Array.from(values));
  }

  constI64(values: number[], dims: number[] = [values.length]): string {
    return this.initializer(this.#fresh("const_i"), dims, BigInt64Array.from(values.map(BigInt)));
  }

  /** Add a node; returns its output names (auto-named unless `outputs` gives them). */
  nodeN(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.#fresh(op)) : outputs;
    for (const o of outs) this.#names.add(o);
    const attribute = Object.entries(attrs).map(([name, v]) => {
      const A = onnx.AttributeProto.AttributeType;
      if ("i" in v) return { name, type: A.INT, i: v.i };
      if ("f" in v) return { name, type: A.FLOAT, f: v.f };
      if ("ints" in v) return { name, type: A.INTS, ints: v.ints };
      if ("floats" in v) return { name, type: A.FLOATS, floats: v.floats };
      if ("s" in v) return { name, type: A.STRING, s: new TextEncoder().encode(v.s) };
      return { name, type: A.TENSOR, t: v.t };
    });
    const nodeName = this.#fresh(`n_${op}`);
    this.#names.add(nodeName);
    this.nodes.push({ opType: op, input: inputs, output: outs, attribute, name: nodeName });
    return outs;
  }

  /** Single-output node. */
  node(op: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.nodeN(op, inputs, attrs, output ? [output] : 1)[0];
  }

  toModel(opset = 17, docString = ""): ModelProto {
    return {
      irVersion: 8,
      producerName: "gasp-ts",
      docString,
      opsetImport: [{ domain: "", version: opset }],
      graph: {
        name: this.name,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers,
        node: this.nodes,
      },
    };
  }
}
