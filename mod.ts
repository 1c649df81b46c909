/**
 * GASP-TS public API (re-exports only). Import what you need:
 *   import { initGpu, Tensor, matmul, VlmModel, TINY_CONFIG, readShards, createApp } from "./mod.ts";
 */

// Runtime: GPU context, tensors, autograd, ops.
export * from "./core/runtime.ts";
export * from "./core/errors.ts";
export { writeFileAtomic, writeFileAtomicSync } from "./core/io/atomic.ts";

// Model: config, parameters, GPU forward, text and image preprocessing, ONNX in and out.
export * from "./core/model/config.ts";
export { initParameters, parameterShapes, type Weights } from "./core/model/init.ts";
export { type ForwardOptions, type LinearHook, type VlmInput, VlmModel, type VlmOutput } from "./core/model/vlm.ts";
export { getRopeIndex } from "./core/model/rope_index.ts";
export { exportHeadFreeModel, loadExportDir } from "./core/model/export_onnx.ts";
export { OrtVlmRunner } from "./core/model/ort_runner.ts";
export { TextTokenizer } from "./core/text/tokenizer.ts";
export { buildTinyTokenizerJson } from "./core/text/build_tokenizer.ts";
export { encodeChat, renderChatTemplate } from "./core/text/chat_template.ts";
export { preprocessImage, preprocessVideo, smartResize } from "./core/image/preprocess.ts";
export { decodeImage } from "./core/image/decode.ts";
export { loadOnnxWeights, readOnnxInitializers } from "./core/onnx/read.ts";

// Data: geometry, scenes, App. A annotation, shards, exports and DL3DV ingest.
export * from "./core/scene/types.ts";
export {
  backProject,
  cameraCenter,
  composePose,
  intrinsicsFromFov,
  invertPose,
  lookAt,
  openCvWorldToCameraToOpenGlCameraToWorld,
  openGlCameraToWorldToOpenCvWorldToCamera,
  project,
} from "./core/geometry/camera.ts";
export { describeScene, generateScene, renderVideo } from "./core/scene/generate.ts";
export { annotateSequence, sampleSequenceFrames } from "./core/scene/annotate.ts";
export { readManifest, readShards, writeShards } from "./core/scene/shards.ts";
export { exportSequence } from "./core/scene/export.ts";
export { ingestNerfstudio, writeNerfstudio } from "./core/scene/dl3dv.ts";
export { generateDataset } from "./core/scene/dataset.ts";

// Correspondence analysis (paper Sec 5.3, App. C).
export { analyzeCorrespondence, peakLayerPck } from "./core/analysis/analyze.ts";
export { chancePck, pckAtThreshold } from "./core/analysis/pck.ts";
export { calibrationGap, pearson } from "./core/analysis/calibration.ts";
export { runCorrespondenceEval } from "./eval/correspondence/run.ts";

// Training (paper Sec 4, App. B).
export { resolveTrainConfig } from "./train/config.ts";
export { svd } from "./train/svd.ts";

// Serving and inference engines.
export type {
  ChatMessage,
  EngineStatus,
  FinishReason,
  GenerationRequest,
  GenerationResult,
  InferenceEngine,
} from "./core/engine/types.ts";
export { createEngine } from "./core/engine/load.ts";
export { startEngineWorker, WorkerEngine } from "./core/engine/worker_engine.ts";
export { createApp } from "./serve/app.ts";
export { startServer } from "./serve/server.ts";
