import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "fast-png";
import { annotateSequence, GRID_8 } from "../../../core/scene/annotate.ts";
import { exportSequence } from "../../../core/scene/export.ts";
import { generateScene, renderVideo } from "../../../core/scene/generate.ts";
import { Rng } from "../../../core/random.ts";

/** A deliberately separate .npy reader (float32, C order) so the check does not reuse the exporter's code. */
function readNpyF32(bytes: Uint8Array): { shape: number[]; data: Float32Array } {
  const headerLen = bytes[8] | (bytes[9] << 8);
  const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  assert.match(header, /'descr': '<f4'/);
  assert.match(header, /'fortran_order': False/);
  const shape = /'shape': \((\d+), (\d+)\)/.exec(header)!.slice(1).map(Number);
  return { shape, data: new Float32Array(bytes.slice(10 + headerLen).buffer) };
}

Deno.test("independent export check: anchor pixel + anchor depth re-projected lands within 0.5 px of every stored point", async () => {
  const scene = generateScene(21, { trajectory: "orbit" });
  const idx = [48, 10, 25, 40, 60, 75, 90];
  const frames = await renderVideo(scene, scene.trajectory, { width: 224, height: 224, frames: idx, workers: 0 });
  const seq = annotateSequence(frames, idx, GRID_8, new Rng(1), { id: "export-check" });
  const dir = await Deno.makeTempDir();
  try {
    await exportSequence(dir, seq);
    const cameras = JSON.parse(await Deno.readTextFile(join(dir, "cameras.json")));
    const tracks = JSON.parse(await Deno.readTextFile(join(dir, "tracks.json")));
    assert.equal(tracks.width, 224);
    assert.equal(tracks.height, 224);
    assert.equal(cameras.frames.length, idx.length);
    assert.deepEqual(Object.keys(cameras.frames[0]).sort(), ["K", "depth", "rgb", "worldToCamera"]);
    assert.deepEqual(Object.keys(tracks.tracks[0]).sort(), ["anchorFrame", "points", "visible"]);
    const depths = [], images: ArrayLike<number>[] = [];
    for (const c of cameras.frames) {
      const png = decode(await Deno.readFile(join(dir, c.rgb)));
      assert.equal(png.width, 224);
      assert.equal(png.channels, 3);
      images.push(png.data);
      const npy = readNpyF32(await Deno.readFile(join(dir, c.depth)));
      assert.deepEqual(npy.shape, [224, 224]);
      depths.push(npy.data);
    }
    let checked = 0;
    const colourDiff: number[] = [], shuffledDiff: number[] = [];
    const rgbAt = (f: number, p: number[]) => {
      const o = (Math.floor(p[1]) * 224 + Math.floor(p[0])) * 3;
      return [images[f][o], images[f][o + 1], images[f][o + 2]];
    };
    const l1 = (a: number[], b: number[]) => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
    for (const [ti, t] of tracks.tracks.entries()) {
      const a = t.anchorFrame;
      const [ua, va] = t.points[a];
      const D = depths[a][Math.floor(va) * 224 + Math.floor(ua)]; // nearest pixel, as documented
      const Ka = cameras.frames[a].K, Pa = cameras.frames[a].worldToCamera;
      // Camera point, then world: X_w = R^T (X_c - t).
      const xc = [((ua - Ka[0][2]) / Ka[0][0]) * D, ((va - Ka[1][2]) / Ka[1][1]) * D, D];
      const d = [0, 1, 2].map((i) => xc[i] - Pa[i][3]);
      const xw = [0, 1, 2].map((j) => Pa[0][j] * d[0] + Pa[1][j] * d[1] + Pa[2][j] * d[2]);
      for (let f = 0; f < t.points.length; f++) {
        assert.equal(t.visible[f], t.points[f] !== null);
        if (!t.visible[f]) continue;
        const K = cameras.frames[f].K, P = cameras.frames[f].worldToCamera;
        const c = [0, 1, 2].map((i) => P[i][0] * xw[0] + P[i][1] * xw[1] + P[i][2] * xw[2] + P[i][3]);
        const u = K[0][0] * (c[0] / c[2]) + K[0][2], v = K[1][1] * (c[1] / c[2]) + K[1][2];
        const err = Math.hypot(u - t.points[f][0], v - t.points[f][1]);
        assert.ok(err < 0.5, `track point off by ${err} px`);
        checked++;
        // Photometric check (the renderer's shading is view-independent): the same surface point has the same
        // colour in both frames, unlike another track's point.
        if (f !== a) {
          colourDiff.push(l1(rgbAt(a, t.points[a]), rgbAt(f, t.points[f])));
          const other = tracks.tracks[(ti + 5) % tracks.tracks.length];
          if (other.points[f]) shuffledDiff.push(l1(rgbAt(a, t.points[a]), rgbAt(f, other.points[f])));
        }
      }
    }
    const median = (x: number[]) => x.sort((p, q) => p - q)[Math.floor(x.length / 2)];
    assert.ok(median(colourDiff) < 30, `median colour difference along tracks ${median(colourDiff)}`);
    assert.ok(median(shuffledDiff) > 2 * median(colourDiff), `vs ${median(shuffledDiff)} between different tracks`);
    assert.ok(tracks.tracks.length >= 8, `${tracks.tracks.length} tracks`);
    assert.ok(checked > tracks.tracks.length * 2, `${checked} points checked`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
