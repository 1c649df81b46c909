/** WAT helpers for row kernels: a vector walk over a row with a masked tail, and tail-safe stores. */
import { at, get, i32, min, set } from "../wat.ts";

/** Lane indices 0..3 as i32x4. */
export const IOTA = "(v128.const i32x4 0 1 2 3)";

/**
 * for ($j = 0; $j < len; $j += 4) body(valid): full vectors get valid = null; the last partial vector gets a lane
 * mask ($lm, all-ones on lanes j + l < len). Reading a whole vector at the tail stays inside the allocation (rows are
 * followed by more rows or by the allocation's 16-byte padding); writes must go through `storeVec`.
 * Needs locals $j $jv (i32) $lm (v128).
 */
export function rowVec(len: string, body: (valid: string | null) => string, label = "rv"): string {
  return `${set("j", "(i32.const 0)")}
    ${set("jv", `(i32.and ${len} (i32.const -4))`)}
    (block $B_${label} (loop $L_${label}
      (br_if $B_${label} (i32.ge_s ${get("j")} ${get("jv")}))
      ${body(null)}
      ${set("j", `(i32.add ${get("j")} (i32.const 4))`)}
      (br $L_${label})))
    (if (i32.lt_s ${get("j")} ${len}) (then
      ${set("lm", `(i32x4.lt_s ${IOTA} (i32x4.splat (i32.sub ${len} ${get("j")})))`)}
      ${body("(local.get $lm)")}))`;
}

/** Store `value` at byte address `addr`: whole vector, or on a tail only the lanes left of `len` (needs $tv v128). */
export function storeVec(addr: string, value: string, valid: string | null, len: string): string {
  if (valid === null) return `(v128.store ${addr} ${value})`;
  const rem = `(i32.sub ${len} ${get("j")})`;
  return `(local.set $tv ${value})
      (f32.store ${addr} (f32x4.extract_lane 0 (local.get $tv)))
      (if (i32.gt_s ${rem} (i32.const 1)) (then (f32.store offset=4 ${addr} (f32x4.extract_lane 1 (local.get $tv)))))
      (if (i32.gt_s ${rem} (i32.const 2)) (then (f32.store offset=8 ${addr} (f32x4.extract_lane 2 (local.get $tv)))))`;
}

/** `value` on valid lanes, `other` elsewhere (valid null: value). */
export function onValid(value: string, other: string, valid: string | null): string {
  return valid === null ? value : `(v128.bitselect ${value} ${other} ${valid})`;
}

/** Elements per task of a row kernel. */
export const TASK_ELEMS = 16384;
export const perTaskFor = (len: number) => Math.max(1, Math.floor(TASK_ELEMS / Math.max(1, len)));
/** Locals every rowVec / storeVec user declares. */
export const ROW_LOCALS = ["j", "jv", "lm:v128", "tv:v128", "tmp:v128"];

/** Row r of the task's range [t0·perTask, min(rows, t1·perTask)), with $row. */
export function rowsOfTask(body: string): string {
  return `${set("row", `(i32.mul ${get("t0")} ${get("perTask")})`)}
  ${set("rowEnd", min(`(i32.mul ${get("t1")} ${get("perTask")})`, get("rows")))}
  (block $B_row (loop $L_row
    (br_if $B_row (i32.ge_s ${get("row")} ${get("rowEnd")}))
    ${body}
    ${set("row", `(i32.add ${get("row")} ${i32(1)})`)}
    (br $L_row)))`;
}

/** v128 load of element $j (or `j`) of the row at `base`. */
export const vld = (base: string, j = get("j")) => `(v128.load ${at(base, j)})`;
