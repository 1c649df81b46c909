/**
 * Image decoding refuses what its header says is too big BEFORE allocating (16-bit, RGBA and palette PNGs, JPEG
 * frames), refuses a small-header deflate bomb while inflating, and decodes the odd formats right (1-bit grey,
 * 16-bit RGBA, palette).
 */
import assert from "node:assert/strict";
import { encode as encodePng } from "fast-png";
import jpeg from "jpeg-js";
import { decodeEncodedImage, decodeImage } from "../../../core/image/decode.ts";
import { decodedImageBytes, MAX_DECODED_IMAGE_BYTES, readImageHeader } from "../../../core/image/header.ts";
import { DataFormatError } from "../../../core/errors.ts";
import { buildPng, scanlines, zeroStream } from "../../../core/image/png_builder.ts";

Deno.test("the header gives channels, depth and the decoded size: 16-bit RGBA, palette, grey, JPEG", () => {
  const rgba16 = readImageHeader(buildPng({ width: 4096, height: 4096, colourType: 6, bitDepth: 16 }))!;
  assert.deepEqual([rgba16.channels, rgba16.bitDepth, rgba16.palette], [4, 16, false]);
  assert.equal(decodedImageBytes(rgba16), 4096 * 4096 * 8);
  const pal = readImageHeader(buildPng({ width: 100, height: 50, colourType: 3, bitDepth: 4 }))!;
  assert.equal(pal.palette, true);
  assert.equal(decodedImageBytes(pal), 100 * 50 * 4, "a palette image counts as expanded RGBA");
  const grey1 = readImageHeader(buildPng({ width: 9, height: 2, colourType: 0, bitDepth: 1 }))!;
  assert.equal(decodedImageBytes(grey1), 18, "sub-byte samples are unpacked to a byte each");
  const j = new Uint8Array(jpeg.encode({ width: 30, height: 20, data: new Uint8Array(30 * 20 * 4) }, 80).data);
  assert.deepEqual(readImageHeader(j), {
    mime: "image/jpeg",
    width: 30,
    height: 20,
    channels: 3,
    bitDepth: 8,
    palette: false,
    interlaced: false,
  });
  // depth not allowed for the colour type (RGB at 4 bits), unknown colour type, bad interlace flag
  assert.equal(readImageHeader(buildPng({ width: 2, height: 2, colourType: 2, bitDepth: 4 })), null);
  assert.equal(readImageHeader(buildPng({ width: 2, height: 2, colourType: 5, bitDepth: 8 })), null);
});

Deno.test("header bombs are refused from the header alone, in well under a millisecond each", () => {
  const bombs = [
    buildPng({ width: 4096, height: 4096, colourType: 6, bitDepth: 16 }), // 128 MiB decoded
    buildPng({ width: 4096, height: 4096, colourType: 2, bitDepth: 16 }), // 96 MiB
    buildPng({ width: 8192, height: 8192, colourType: 3, bitDepth: 8 }), // palette: 256 MiB as RGBA
    buildPng({ width: 100_000, height: 100_000, colourType: 0, bitDepth: 1 }),
  ];
  const t0 = performance.now();
  for (const b of bombs) {
    assert.throws(() => decodeImage(b, "bomb"), (e: unknown) => {
      assert.ok(e instanceof DataFormatError);
      assert.match(e.message, /bomb: field size: expected a decoded size of at most \d+ bytes/);
      return true;
    });
  }
  assert.ok((performance.now() - t0) / bombs.length < 5, "no decode was attempted");
  // the limit is a parameter: the same 16-bit file passes the size check with a larger one (then fails on data)
  assert.throws(
    () => decodeImage(bombs[0], "bomb", { maxDecodedBytes: 2 ** 30 }),
    /field IDAT|field bytes/,
  );
  assert.ok(4096 * 4096 * 4 <= MAX_DECODED_IMAGE_BYTES, "a 4096² RGBA8 image is within the default");
});

Deno.test("a small header over a deflate bomb is refused while inflating, before fast-png buffers it", () => {
  // 64x64 RGB needs 64 * (1 + 192) = 12352 inflated bytes; this stream inflates to 64 MiB from ~65 KB
  const bomb = buildPng({ width: 64, height: 64, colourType: 2, bitDepth: 8, idat: zeroStream(64 * 2 ** 20) });
  assert.ok(bomb.length < 100_000, `${bomb.length} bytes`);
  const t0 = performance.now();
  assert.throws(() => decodeImage(bomb, "image 0"), /image 0: field IDAT: expected image data that inflates to 12352/);
  assert.ok(performance.now() - t0 < 500, `refused in ${(performance.now() - t0).toFixed(0)} ms`);
});

Deno.test("odd PNG formats decode to the right RGB: 1-bit grey, 16-bit RGBA, 2-bit palette, interlaced", () => {
  // 1-bit grey 5x2: rows 10101, 01011
  const g1 = buildPng({
    width: 5,
    height: 2,
    colourType: 0,
    bitDepth: 1,
    idat: scanlines([Uint8Array.of(0b10101000), Uint8Array.of(0b01011000)]),
  });
  assert.deepEqual([...decodeImage(g1).data].filter((_, i) => i % 3 === 0), [255, 0, 255, 0, 255, 0, 255, 0, 255, 255]);
  // 16-bit RGBA: alpha dropped, 16 -> 8 bits by /257
  const d16 = Uint16Array.from([65535, 257, 0, 1000, 25700, 51400, 12850, 0]);
  const rgba16 = decodeImage(encodePng({ width: 2, height: 1, data: d16, channels: 4, depth: 16 }));
  assert.deepEqual([...rgba16.data], [255, 1, 0, 100, 200, 50]);
  // 2-bit palette 3x1: indices 2, 0, 1
  const pal = buildPng({
    width: 3,
    height: 1,
    colourType: 3,
    bitDepth: 2,
    palette: [[10, 20, 30], [40, 50, 60], [70, 80, 90]],
    idat: scanlines([Uint8Array.of(0b10000100)]),
  });
  assert.deepEqual([...decodeImage(pal).data], [70, 80, 90, 10, 20, 30, 40, 50, 60]);
  // Adam7-interlaced 2x2 grey: pass 1 has (0,0), pass 6 (1,0), pass 7 row 1 (0,1),(1,1)
  const inter = buildPng({
    width: 2,
    height: 2,
    colourType: 0,
    bitDepth: 8,
    interlace: 1,
    idat: scanlines([Uint8Array.of(11), Uint8Array.of(22), Uint8Array.of(33, 44)]),
  });
  assert.deepEqual([...decodeImage(inter).data].filter((_, i) => i % 3 === 0), [11, 22, 33, 44]);
});

Deno.test("an encoded image whose header size disagrees with the declared size is a DataFormatError", () => {
  const png = encodePng({ width: 4, height: 3, data: new Uint8Array(36), channels: 3 });
  assert.equal(decodeEncodedImage({ bytes: png, mime: "image/png", width: 4, height: 3 }).width, 4);
  assert.throws(
    () => decodeEncodedImage({ bytes: png, mime: "image/png", width: 5, height: 3 }, "image 1"),
    /image 1: field size: expected 5x3/,
  );
  assert.throws(() => decodeImage(new TextEncoder().encode("GIF89a...."), "x"), /x: field signature/);
});
