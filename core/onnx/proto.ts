/** The ONNX protobuf classes (npm onnx-proto, protobufjs static code for onnx.proto, IR version 8). */
import onnxProto from "onnx-proto";

export const onnx = onnxProto.onnx;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ModelProto = onnxProto.onnx.IModelProto;

/** ONNX TensorProto.DataType values used here. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  BFLOAT16: 16,
} as const;

/** protobufjs int64 fields arrive as Long objects or numbers. */
export function toNumber(v: number | { toNumber(): number } | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === "number" ? v : v.toNumber();
}
export type NodeProto = onnxProto.onnx.INodeProto;
