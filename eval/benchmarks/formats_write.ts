/**
 * Writers for the real benchmark file formats, used by the synthetic suites (and by the tests' fixtures) so that the
 * same loaders read real and synthetic data. Parquet via "hyparquet-writer" with the schema the Hugging Face
 * `datasets` → pyarrow export has: strings as UTF8 BYTE_ARRAY, `id` INT64, lists as 3-level LIST groups,
 * HF `Image` features as a struct group {bytes: BYTE_ARRAY, path: UTF8}.
 */
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { writeFileAtomic } from "../../core/io/atomic.ts";

type SchemaElement = NonNullable<Parameters<typeof parquetWriteBuffer>[0]["schema"]>[number];
type Column = { name: string; data: unknown[] };

const str = (name: string): SchemaElement[] => [
  { name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
];
const int64 = (name: string): SchemaElement[] => [{ name, type: "INT64", repetition_type: "OPTIONAL" }];
const strList = (name: string): SchemaElement[] => [
  { name, repetition_type: "OPTIONAL", converted_type: "LIST", num_children: 1 },
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
];
const hfImage = (name: string): SchemaElement[] => [
  { name, repetition_type: "OPTIONAL", num_children: 2 },
  { name: "bytes", type: "BYTE_ARRAY", repetition_type: "OPTIONAL" },
  { name: "path", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" },
];

function parquetBytes(columns: Column[], schemas: SchemaElement[][]): Uint8Array {
  const buf = parquetWriteBuffer({
    // deno-lint-ignore no-explicit-any
    columnData: columns as any,
    schema: [{ name: "root", num_children: columns.length }, ...schemas.flat()],
  });
  return new Uint8Array(buf);
}

/** How a record field is stored: its parquet schema and its value as hyparquet-writer takes it. */
const KINDS = {
  str: { schema: str, value: (v: unknown) => v },
  int64: { schema: int64, value: (v: unknown) => v === null ? null : BigInt(v as number) },
  strList: { schema: strList, value: (v: unknown) => v },
  hfImage: { schema: hfImage, value: (v: unknown) => v },
};
type Kind = keyof typeof KINDS;

/**
 * Writes `rows` as one parquet file, a column per name in `names` (in that order), each a string unless `kinds`
 * says otherwise.
 */
async function writeRecordsParquet<R>(
  path: string,
  rows: readonly R[],
  names: readonly (keyof R & string)[],
  kinds: Partial<Record<keyof R & string, Kind>> = {},
): Promise<void> {
  const kindOf = (n: keyof R & string) => KINDS[kinds[n] ?? "str"];
  const cols = names.map((n) => ({ name: n, data: rows.map((r) => kindOf(n).value(r[n])) }));
  await writeFileAtomic(path, parquetBytes(cols, names.map((n) => kindOf(n).schema(n))));
}

export interface HfImageValue {
  bytes: Uint8Array;
  path: string | null;
}

export interface VsiRecord {
  id: number;
  dataset: string;
  scene_name: string;
  question_type: string;
  question: string;
  ground_truth: string;
  options: string[] | null;
}

export function writeVsiParquet(path: string, rows: readonly VsiRecord[]): Promise<void> {
  const names = ["id", "dataset", "scene_name", "question_type", "question", "ground_truth", "options"] as const;
  return writeRecordsParquet(path, rows, names, { id: "int64", options: "strList" });
}

export interface BlinkRecord {
  idx: string;
  question: string;
  sub_task: string;
  image_1: HfImageValue;
  image_2: HfImageValue | null;
  image_3: HfImageValue | null;
  image_4: HfImageValue | null;
  choices: string[];
  answer: string;
  prompt: string;
  explanation: string;
}

export function writeBlinkParquet(path: string, rows: readonly BlinkRecord[]): Promise<void> {
  const names = [
    ...["idx", "question", "sub_task", "image_1", "image_2", "image_3", "image_4"],
    ...["choices", "answer", "prompt", "explanation"],
  ] as const;
  const image = "hfImage";
  return writeRecordsParquet(path, rows, names, {
    image_1: image,
    image_2: image,
    image_3: image,
    image_4: image,
    choices: "strList",
  });
}

export interface CvBenchRecord {
  idx: number;
  type: "2D" | "3D";
  task: string;
  image: HfImageValue;
  question: string;
  choices: string[];
  answer: string;
  prompt: string;
  filename: string;
  source: string;
  source_dataset: string;
  source_filename: string;
  target_class: string | null;
  target_size: number | null;
  bbox: string | null;
}

export function writeCvBenchParquet(path: string, rows: readonly CvBenchRecord[]): Promise<void> {
  const names = [
    ...["idx", "type", "task", "image", "question", "choices", "answer", "prompt"],
    ...["filename", "source", "source_dataset", "source_filename", "target_class", "target_size", "bbox"],
  ] as const;
  return writeRecordsParquet(path, rows, names, {
    idx: "int64",
    image: "hfImage",
    choices: "strList",
    target_size: "int64",
  });
}

export interface AllAnglesJsonRecord {
  index: number;
  folder: string;
  category: string;
  pair_idx: string;
  sourced_dataset: string;
  image_path: string[];
  question: string;
  A: string;
  B: string;
  C: string;
  answer: string;
}

/** Writes `{root}/data.json` and the images (paths relative to root). */
export async function writeAllAnglesDataset(
  root: string,
  records: readonly AllAnglesJsonRecord[],
  images: ReadonlyMap<string, Uint8Array>,
): Promise<void> {
  for (const [rel, bytes] of images) await writeFileAtomic(join(root, rel), bytes);
  await writeFileAtomic(join(root, "data.json"), JSON.stringify(records, null, 1));
}
