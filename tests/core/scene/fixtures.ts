/** Small rendered sequences shared by the scene tests (64 × 64 frames, 4 × 4 tokens of 16 px: fast). */
import { annotateSequence } from "../../../core/scene/annotate.ts";
import { describeScene, generateScene, renderVideo } from "../../../core/scene/generate.ts";
import { Rng } from "../../../core/random.ts";
import type { CorrespondenceSequence, PatchGrid } from "../../../core/scene/types.ts";

export const SMALL_GRID: PatchGrid = { rows: 4, cols: 4, patchSize: 16 };

export async function smallSequence(
  seed = 11,
  frameIndices = [40, 20, 30, 55, 70, 88],
): Promise<CorrespondenceSequence> {
  const scene = generateScene(seed);
  const frames = await renderVideo(scene, scene.trajectory, {
    width: 64,
    height: 64,
    frames: frameIndices,
    workers: 0,
  });
  return annotateSequence(frames, frameIndices, SMALL_GRID, new Rng(seed), {
    id: `seq-${seed}`,
    sceneId: scene.id,
    scene: describeScene(scene),
  });
}
