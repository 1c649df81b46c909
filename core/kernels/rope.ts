/** Raw rotary embedding (no tape): x rotated by the cos/sin tables (layouts as in core/ops/rope.ts). */
import { Tensor } from "../tensor.ts";
import { ShapeMismatchError } from "../errors.ts";
import { kernelsOf } from "./backend.ts";

/** Where the head dimension sits: (B, H, T, D), (B, T, H, D) or the vision tower's packed (T, H, D). */
export type RopeLayout = "BHTD" | "BTHD" | "THD";

interface RopeGeom {
  B: number;
  T: number;
  rowsPerTok: number;
}

export function ropeGeometry(shape: readonly number[], layout: RopeLayout): RopeGeom {
  if (layout === "THD") {
    if (shape.length !== 3) throw new ShapeMismatchError("rope", `layout THD needs rank 3, got [${shape}]`);
    return { B: 1, T: shape[0], rowsPerTok: shape[1] };
  }
  if (shape.length !== 4) throw new ShapeMismatchError("rope", `layout ${layout} needs rank 4, got [${shape}]`);
  return layout === "BHTD"
    ? { B: shape[0], T: shape[2], rowsPerTok: 1 }
    : { B: shape[0], T: shape[1], rowsPerTok: shape[2] };
}

export function ropeRaw(x: Tensor, cos: Tensor, sin: Tensor, layout: RopeLayout, sign: 1 | -1): Tensor {
  const D = x.shape[x.rank - 1];
  const half = D / 2;
  const g = ropeGeometry(x.shape, layout);
  const tb = cos.rank === 3 ? cos.shape[0] : 1;
  if (
    D % 2 !== 0 || cos.shape.join() !== sin.shape.join() || cos.shape[cos.rank - 1] !== half ||
    cos.shape[cos.rank - 2] !== g.T || (cos.rank === 3 && tb !== g.B) || cos.rank < 2 || cos.rank > 3
  ) {
    throw new ShapeMismatchError(
      "rope",
      `x [${x.shape}] (${layout}) needs cos/sin of shape [${g.T}, ${half}] or [${g.B}, ${g.T}, ${half}], got [${cos.shape}] / [${sin.shape}]`,
    );
  }
  const { device, k } = kernelsOf("rope", x, cos, sin);
  const out = Tensor.empty(x.shape, "f32", device);
  const nPairs = x.size / 2;
  if (nPairs === 0) return out;
  k.rope(x, cos, sin, out, {
    nPairs,
    half,
    T: g.T,
    rowsPerTok: g.rowsPerTok,
    rowsPerBatch: x.size / D / g.B,
    tableBatch: cos.rank === 3 ? g.T * half : 0,
    sign,
  });
  return out;
}
