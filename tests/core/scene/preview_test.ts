import assert from "node:assert/strict";
import { join } from "node:path";
import { decode } from "fast-png";
import { contactSheet, trackColor, writePreview } from "../../../core/scene/preview.ts";
import { smallSequence } from "./fixtures.ts";

Deno.test("the contact sheet tiles all frames and paints each visible track point in its colour", async () => {
  const seq = await smallSequence(11);
  assert.ok(seq.tracks.length > 0);
  const sheet = contactSheet(seq, 3);
  assert.equal(sheet.width, 3 * 64 + 2 * 4);
  assert.equal(sheet.height, 2 * 64 + 4);
  // The last track is painted last, so its dots are on top: check one outside the anchor frame.
  const last = seq.tracks.length - 1, t = seq.tracks[last];
  const f = t.visible.findIndex((v, k) => v && k !== t.anchorFrame);
  assert.ok(f >= 0, "tracks are visible in at least 2 frames");
  const [u, v] = t.points[f]!;
  const x = (f % 3) * 68 + Math.floor(u), y = Math.floor(f / 3) * 68 + Math.floor(v);
  const o = (y * sheet.width + x) * 3;
  assert.deepEqual([...sheet.rgb.subarray(o, o + 3)], trackColor(last));
  const dir = await Deno.makeTempDir();
  try {
    await writePreview(join(dir, "p.png"), seq);
    const png = decode(await Deno.readFile(join(dir, "p.png")));
    assert.equal(png.width, 4 * 64 + 3 * 4);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
