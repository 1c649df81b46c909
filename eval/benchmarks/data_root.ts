/**
 * Paths that come from a data file (All-Angles `image_path`, VSI-Bench `dataset` / `scene_name`) are resolved inside
 * the dataset's root folder, or refused before anything is read. The check is on the path text: an absolute path,
 * a NUL byte, or `..` segments that climb out of the root are refused. Symbolic links inside the root are followed
 * (a Hugging Face cache snapshot is a folder of symlinks into `../../blobs/`), since the dataset's owner made them.
 *
 * The error names the data file, the row and field, the root, and the offending path text from the data file; it
 * never reads or prints the target's content.
 */
import { isAbsolute, join, relative, resolve, sep } from "node:path";
import { DataFormatError } from "../../core/errors.ts";

/**
 * `root/parts…` when it stays inside `root`; else a DataFormatError naming `file` and `field`.
 * Each part is one piece of text from the data file (a relative path or a single name).
 */
export function insideRoot(root: string, parts: readonly string[], file: string, field: string): string {
  const text = parts.join("/");
  const refuse = (why: string): never => {
    throw new DataFormatError(file, field, `a path inside the data root ${root}`, `${JSON.stringify(text)} ${why}`);
  };
  for (const p of parts) {
    if (p.includes("\0")) refuse("holds a NUL byte");
    if (isAbsolute(p) || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith("\\")) refuse("is absolute");
  }
  const base = resolve(root);
  const full = resolve(base, join(...parts));
  const rel = relative(base, full);
  if (rel === "") refuse("names the root itself");
  if (rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)) refuse("leaves it");
  return full;
}
