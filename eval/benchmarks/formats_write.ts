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

export async function writeVsiParquet(path: string, rows: readonly VsiRecord[]): Promise<void> {
  const cols: Column[] = [
    { name: "id", data: rows.map((r) => BigInt(r.id)) },
    { name: "dataset", data: rows.map((r) => r.dataset) },
    { name: "scene_name", data: rows.map((r) => r.scene_name) },
    { name: "question_type", data: rows.map((r) => r.question_type) },
    { name: "question", data: rows.map((r) => r.question) },
    { name: "ground_truth", data: rows.map((r) => r.ground_truth) },
    { name: "options", data: rows.map((r) => r.options) },
  ];
  const schema = [
    int64("id"),
    ...["dataset", "scene_name", "question_type", "question", "ground_truth"].map(str),
    strList("options"),
  ];
  await writeFileAtomic(path, parquetBytes(cols, schema));
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

export async function writeBlinkParquet(path: string, rows: readonly BlinkRecord[]): Promise<void> {
  const names = [
    "idx",
    "question",
    "sub_task",
    "image_1",
    "image_2",
    "image_3",
    "image_4",
    "choices",
    "answer",
    "prompt",
    "explanation",
  ] as const;
  const cols: Column[] = names.map((n) => ({ name: n, data: rows.map((r) => r[n]) }));
  const schema = names.map((n) => n.startsWith("image_") ? hfImage(n) : n === "choices" ? strList(n) : str(n));
  await writeFileAtomic(path, parquetBytes(cols, schema));
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

export async function writeCvBenchParquet(path: string, rows: readonly CvBenchRecord[]): Promise<void> {
  const cols: Column[] = [
    { name: "idx", data: rows.map((r) => BigInt(r.idx)) },
    { name: "type", data: rows.map((r) => r.type) },
    { name: "task", data: rows.map((r) => r.task) },
    { name: "image", data: rows.map((r) => r.image) },
    { name: "question", data: rows.map((r) => r.question) },
    { name: "choices", data: rows.map((r) => r.choices) },
    { name: "answer", data: rows.map((r) => r.answer) },
    { name: "prompt", data: rows.map((r) => r.prompt) },
    { name: "filename", data: rows.map((r) => r.filename) },
    { name: "source", data: rows.map((r) => r.source) },
    { name: "source_dataset", data: rows.map((r) => r.source_dataset) },
    { name: "source_filename", data: rows.map((r) => r.source_filename) },
    { name: "target_class", data: rows.map((r) => r.target_class) },
    { name: "target_size", data: rows.map((r) => r.target_size === null ? null : BigInt(r.target_size)) },
    { name: "bbox", data: rows.map((r) => r.bbox) },
  ];
  const schema = [
    int64("idx"),
    str("type"),
    str("task"),
    hfImage("image"),
    str("question"),
    strList("choices"),
    str("answer"),
    str("prompt"),
    str("filename"),
    str("source"),
    str("source_dataset"),
    str("source_filename"),
    str("target_class"),
    int64("target_size"),
    str("bbox"),
  ];
  await writeFileAtomic(path, parquetBytes(cols, schema));
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
