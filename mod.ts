/**
 * GASP-TS: the training and evaluation system of _GASP: injecting 3D spatial priors into a vision-language model_,
 * in TypeScript for Deno, as a library. Everything `deno task data | train | eval | bench | serve | export` does is
 * one call here:
 *
 * - **runtime**: tensors with tape autograd on WebGPU or WASM ({@linkcode Tensor}, {@linkcode initGpu}, the ops);
 * - **model**: the Qwen2.5-VL-style VLM by Hugging Face names ({@linkcode VlmModel}, {@linkcode TINY_CONFIG}), its
 *   preprocessing, ONNX export ({@linkcode exportHeadFreeModel}) and onnxruntime-web runner;
 * - **data**: procedural posed RGB-D scenes, App. A tracks and shards ({@linkcode generateDataset},
 *   {@linkcode readShards}), DL3DV / nerfstudio ingest ({@linkcode ingestNerfstudio});
 * - **training**: GASP and its baselines ({@linkcode train}, {@linkcode resolveTrainConfig},
 *   {@linkcode resolveBaseConfig}, {@linkcode PRESET_NAMES});
 * - **evaluation**: the App. C correspondence analysis ({@linkcode runCorrespondenceEval}) over feature sources
 *   ({@linkcode modelFeatureSources}, {@linkcode oracleFeatureSource}, {@linkcode randomFeatureSource});
 * - **benchmarks**: All-Angles, VSI-Bench, BLINK, CV-Bench and the synthetic suites ({@linkcode runBench},
 *   {@linkcode REAL_SUITES}, {@linkcode loadBenchModel});
 * - **serving**: the Hono app and server with an OpenAI-compatible API ({@linkcode createEngine},
 *   {@linkcode createApp}, {@linkcode startServer}).
 *
 * @example Train from a script (the README's example; tests/readme_example_test.ts runs it)
 * ```ts
 * import { DEFAULT_DATASET, generateDataset, resolveBaseConfig, resolveTrainConfig, train } from "@gasp/gasp-ts";
 *
 * const dir = await Deno.makeTempDir();
 * await generateDataset(`${dir}/data`, { ...DEFAULT_DATASET, trainSequences: 2, heldoutSequences: 2 });
 * await train(resolveBaseConfig({ steps: 2 }), { out: `${dir}/base`, dataDir: `${dir}/data` });
 * const gasp = await train(resolveTrainConfig({ overrides: { steps: 2 } }), {
 *   out: `${dir}/gasp`,
 *   dataDir: `${dir}/data`,
 *   baseDir: `${dir}/base`,
 * });
 * console.log(gasp.history.map((m) => m.loss.total));
 * ```
 *
 * @module
 */

// ── Runtime: GPU and WASM contexts, tensors, autograd, ops ──────────────────────────────────────────────────────────
export * from "./core/runtime.ts";
export { type DeviceChoice, type DeviceInfo, type DeviceOptions, initDevice } from "./core/device_init.ts";
export * from "./core/errors.ts";
export { writeFileAtomic, writeFileAtomicSync } from "./core/io/atomic.ts";
export type { FolderLock, LockHolder } from "./core/io/lock.ts";

// ── Model: config, parameters, forward, text and image preprocessing, ONNX in and out ───────────────────────────────
export {
  headDim,
  parseVlmConfig,
  type RopeScaling,
  TINY_CONFIG,
  type VisionConfig,
  type VlmConfig,
} from "./core/model/config.ts";
export { initParameters, parameterShapes, type Weights } from "./core/model/init.ts";
export {
  type ForwardOptions,
  type LayerFeatures as VlmLayerFeatures,
  type LinearHook,
  type VisionInput,
  type VisualSpan,
  type VlmInput,
  VlmKvCache,
  VlmModel,
  type VlmOutput,
} from "./core/model/vlm.ts";
export type { WeightDType } from "./core/model/device_weights.ts";
export { getRopeIndex, type RopeIndex, type VisionGrid } from "./core/model/rope_index.ts";
export type { GridThw } from "./core/model/vision_windows.ts";
export { exportHeadFreeModel, type ExportManifest, type LoadedModel, loadExportDir } from "./core/model/export_onnx.ts";
export {
  type ExecutionProviderChoice,
  type GenerateOptions,
  type GenerateResult,
  type KvCache,
  OrtVlmRunner,
  type PreparedPrompt,
  type RunnerLoadOptions,
} from "./core/model/ort_runner.ts";
export { TextTokenizer } from "./core/text/tokenizer.ts";
export { buildTinyTokenizerJson } from "./core/text/build_tokenizer.ts";
export {
  type ChatTemplateOptions,
  encodeChat,
  type EncodeChatOptions,
  renderChatTemplate,
} from "./core/text/chat_template.ts";
export type { ChatMessage, ChatPart, ChatRole, EncodedImage, ImageMime } from "./core/text/chat.ts";
export {
  type PixelValues,
  preprocessImage,
  preprocessVideo,
  QWEN_PREPROCESS,
  smartResize,
  type VisionPreprocessOptions,
} from "./core/image/preprocess.ts";
export type { RgbImage, RgbVideo } from "./core/image/types.ts";
export { decodeImage, type DecodeLimits } from "./core/image/decode.ts";
export { loadOnnxWeights, type NameMap, type OnnxTensor, readOnnxInitializers } from "./core/onnx/read.ts";

// ── Data: geometry, scenes, App. A annotation, shards, exports and DL3DV ingest ─────────────────────────────────────
export * from "./core/scene/types.ts";
export {
  backProject,
  cameraCenter,
  composePose,
  intrinsicsFromFov,
  invertPose,
  lookAt,
  type Mat4,
  openCvWorldToCameraToOpenGlCameraToWorld,
  openGlCameraToWorldToOpenCvWorldToCamera,
  project,
  type Projection,
  type Vec3,
} from "./core/geometry/camera.ts";
export {
  describeScene,
  type GeneratedScene,
  generateScene,
  type GenerateSceneOptions,
  RenderPool,
  renderVideo,
  type RenderVideoOptions,
  type Trajectory,
  type TrajectoryKind,
} from "./core/scene/generate.ts";
export type { Wave } from "./core/scene/trajectory.ts";
export type { Primitive, RenderableScene } from "./core/scene/render.ts";
export type { Material, Pattern } from "./core/scene/texture.ts";
export { type AnnotateOptions, annotateSequence, sampleSequenceFrames } from "./core/scene/annotate.ts";
export {
  type Manifest,
  type ManifestFile,
  type ManifestSplit,
  readManifest,
  readShards,
  type ShardWriterOptions,
  type Split,
  SPLITS,
  writeShards,
} from "./core/scene/shards.ts";
export { type ExportedFiles, exportSequence } from "./core/scene/export.ts";
export {
  type IngestedVideo,
  ingestNerfstudio,
  writeNerfstudio,
  type WriteNerfstudioOptions,
} from "./core/scene/dl3dv.ts";
export {
  type DatasetConfig,
  type DatasetProgress,
  type DatasetResult,
  DEFAULT_DATASET,
  generateDataset,
} from "./core/scene/dataset.ts";
export {
  type GeneralFormat,
  generalInstructionItem,
  type GeneralItem,
  generalItem,
  type GeneralKind,
  type GeneralSampleOptions,
  type GeneralView,
} from "./core/instruct/general.ts";

// ── Training (paper Sec 4, App. B) ──────────────────────────────────────────────────────────────────────────────────
export { train, type TrainOptions, type TrainResult } from "./train/loop.ts";
export type { StageBaseOptions } from "./train/trainables.ts";
export {
  type DataConfig,
  DEFAULT_TRAIN_CONFIG,
  type HeadConfig,
  type LoraConfig,
  type LossConfig,
  type OptimConfig,
  parseTrainConfig,
  PRESET_NAMES,
  type PresetName,
  presetOverrides,
  resolveBaseConfig,
  type ResolveOptions,
  resolveTrainConfig,
  type TrainConfig,
} from "./train/config.ts";
export type { LossParts, StepMetrics } from "./train/metrics_log.ts";
export { type CorrespondenceHead, type GeluForm, headEmbedder, type HeadShape } from "./train/correspondence_head.ts";
export { type LoraAdapter, LoraHook, type LoraSetup, type LoraTarget } from "./train/lora.ts";
export { svd, type SvdOptions, type SvdResult } from "./train/svd.ts";
export type { MatF64 } from "./train/mat_f64.ts";

// ── Correspondence analysis (paper Sec 5.3, App. C) ────────────────────────────────────────────────────────────────
export {
  type AnalysisOptions,
  analyzeCorrespondence,
  type CorrespondenceAnalysis,
  type LayerResult,
  peakLayerPck,
  type RobustnessCurve,
} from "./core/analysis/analyze.ts";
export type {
  ConfidenceRule,
  FeatureBatch,
  FeatureMatcher,
  LayerFeatures,
  LayerFeatureSource,
  MatchResult,
} from "./core/analysis/features.ts";
export { cpuMatcher } from "./core/analysis/match.ts";
export {
  type HeadInput,
  type LayerEmbedder,
  type ModelFeatureOptions,
  modelFeatureSources,
  visionFeatureSource,
} from "./core/analysis/model_features.ts";
export {
  MotionAccumulator,
  type MotionBin,
  type MotionPair,
  motionPairs,
  type MotionSummary,
} from "./core/analysis/motion.ts";
export { pixelFeatureSource, stationaryFeatureSource } from "./core/analysis/baselines.ts";
export { chancePck, DEFAULT_PCK_THRESHOLD, pckAtThreshold, type PckThreshold } from "./core/analysis/pck.ts";
export { type CalibrationGap, calibrationGap, pearson } from "./core/analysis/calibration.ts";
export {
  type CorrespondenceEvalOptions,
  type CorrespondenceEvalResult,
  REFERENCE_FEATURES,
  type ReferenceFeatures,
  runCorrespondenceEval,
} from "./eval/correspondence/run.ts";
export type {
  CheckpointReport,
  CorrespondenceReport,
  HeldoutReport,
  LayerReport,
  Num,
  SourceKind,
} from "./eval/correspondence/report.ts";
export { oracleFeatureSource } from "./eval/correspondence/oracle.ts";
export { type RandomFeatureOptions, randomFeatureSource } from "./eval/correspondence/random.ts";

// ── Spatial benchmarks (paper Sec 5.4) ─────────────────────────────────────────────────────────────────────────────
export {
  type BenchOptions,
  type NamedEngine,
  REAL_SUITES,
  runBench,
  SUITE_NAMES,
  SYNTHETIC_SUITES,
} from "./eval/benchmarks/bench_run.ts";
export type { BenchmarkModule, LoadOptions } from "./eval/benchmarks/suite.ts";
export type {
  BenchEngine,
  BenchImage,
  BenchItem,
  BenchmarkName,
  ImageSource,
  ItemScore,
  SuiteScores,
} from "./eval/benchmarks/types.ts";
export { allAngles } from "./eval/benchmarks/all_angles.ts";
export { vsiBench } from "./eval/benchmarks/vsi_bench.ts";
export { blink } from "./eval/benchmarks/blink.ts";
export { cvBench } from "./eval/benchmarks/cv_bench.ts";
export {
  buildSyntheticSuites,
  DEFAULT_SYNTHETIC,
  type SyntheticOptions,
  type SyntheticSuiteSpec,
} from "./eval/benchmarks/synthetic/build.ts";
export { loadBenchModel, type LoadedBenchModel } from "./eval/benchmarks/models.ts";
export type {
  BenchResults,
  CheckpointResult,
  MetricValue,
  ModalAnswer,
  ModelInfo,
  PairedComparison,
  RunConfig,
  SuiteResult,
} from "./eval/benchmarks/results.ts";
export { RESULTS_SCHEMA } from "./eval/benchmarks/results.ts";
export type { Interval } from "./eval/benchmarks/statistics.ts";

// ── Serving and inference engines ──────────────────────────────────────────────────────────────────────────────────
export type {
  EngineStatus,
  FinishReason,
  GenerationRequest,
  GenerationResult,
  InferenceEngine,
} from "./core/engine/types.ts";
export { EngineQueue, type QueueOptions, type QueueStats, type SubmitOptions } from "./core/engine/queue.ts";
export { StandInEngine, type StandInOptions } from "./core/engine/stand_in.ts";
export { startEngineWorker, WorkerEngine, type WorkerEngineOptions } from "./core/engine/worker_engine.ts";
export type { WorkerInit, WorkerReady } from "./core/engine/worker_protocol.ts";
export { createEngine, type CreateEngineOptions, type LoadedEngine } from "./core/engine/load.ts";
export { type AppOptions, createApp, type GaspApp } from "./serve/app.ts";
export { type RunningServer, type ServerOptions, startServer } from "./serve/server.ts";
export type { ServeLimits } from "./serve/limits.ts";
export { ServeMetrics } from "./serve/metrics.ts";
export type { GuardedListener } from "./serve/connection_guard.ts";
