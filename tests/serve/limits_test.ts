import assert from "node:assert/strict";
import { ApiError } from "../../serve/errors.ts";
import { checkImageRef, decodeBase64Strict, defaultLimits, readImageHeader } from "../../serve/limits.ts";
import { buildPng } from "../../core/image/png_builder.ts";
import { jpegBombHeader, makeJpeg, makePng, pngBombHeader, toBase64 } from "./fixtures.ts";

function statusOf(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    if (e instanceof ApiError) return e.status;
    throw e;
  }
  return 200;
}

Deno.test("readImageHeader reads dimensions of real PNG and JPEG files from their headers", () => {
  const png = readImageHeader(makePng(37, 21))!;
  assert.deepEqual([png.mime, png.width, png.height, png.channels, png.bitDepth], ["image/png", 37, 21, 3, 8]);
  const jpg = readImageHeader(makeJpeg(50, 19))!;
  assert.deepEqual([jpg.mime, jpg.width, jpg.height, jpg.channels], ["image/jpeg", 50, 19, 3]);
});

Deno.test("readImageHeader rejects non-image bytes, truncated headers and a PNG whose first chunk is not IHDR", () => {
  assert.equal(readImageHeader(new TextEncoder().encode("GIF89a.....")), null);
  assert.equal(readImageHeader(makePng(4, 4).subarray(0, 20)), null);
  assert.equal(readImageHeader(new Uint8Array([0xff, 0xd8, 0xff, 0xd9])), null);
  const png = makePng(4, 4).slice();
  png[12] = 0x58; // "XHDR"
  assert.equal(readImageHeader(png), null);
});

Deno.test("decompression-bomb headers are refused with 413 before any decode", () => {
  const bomb = `data:image/png;base64,${toBase64(pngBombHeader(100_000, 100_000))}`;
  assert.equal(readImageHeader(pngBombHeader(100_000, 100_000))?.width, 100_000);
  assert.equal(statusOf(() => checkImageRef(bomb, defaultLimits, "p")), 413);
  const jbomb = `data:image/jpeg;base64,${toBase64(jpegBombHeader(65_000, 65_000))}`;
  assert.equal(statusOf(() => checkImageRef(jbomb, defaultLimits, "p")), 413);
  // Just under the pixel limit passes the header check.
  const ok = `data:image/png;base64,${toBase64(pngBombHeader(4096, 4096))}`;
  assert.equal(checkImageRef(ok, defaultLimits, "p").width, 4096);
  // ...but not at 16 bits per sample, nor as RGBA at 16 bits (the decoded size counts channels and depth)
  for (const colourType of [2, 6]) {
    const deep = buildPng({ width: 4096, height: 4096, colourType, bitDepth: 16 });
    assert.equal(statusOf(() => checkImageRef(toBase64(deep), defaultLimits, "p")), 413);
  }
  // a palette image counts as expanded RGBA: 4096² passes, 4096 x 8192 does not
  assert.equal(
    statusOf(() =>
      checkImageRef(toBase64(buildPng({ width: 4096, height: 4096, colourType: 3, bitDepth: 8 })), defaultLimits, "p")
    ),
    200,
  );
  const bigPal = buildPng({ width: 4096, height: 8192, colourType: 3, bitDepth: 8 });
  assert.equal(
    statusOf(() => checkImageRef(toBase64(bigPal), { ...defaultLimits, maxImagePixels: 2 ** 30 }, "p")),
    413,
  );
  // an aspect ratio the preprocessing cannot take is a 400, not an engine error
  assert.equal(statusOf(() => checkImageRef(toBase64(pngBombHeader(2, 401)), defaultLimits, "p")), 400);
});

Deno.test("checkImageRef: 415 for non-image bytes, wrong or mismatched content type; 400 for broken base64 and URLs", () => {
  const png = toBase64(makePng(3, 3));
  assert.equal(checkImageRef(`data:image/png;base64,${png}`, defaultLimits, "p").mime, "image/png");
  assert.equal(checkImageRef(png, defaultLimits, "p").width, 3); // bare base64
  assert.equal(statusOf(() => checkImageRef(`data:image/jpeg;base64,${png}`, defaultLimits, "p")), 415);
  assert.equal(statusOf(() => checkImageRef(`data:text/plain;base64,${png}`, defaultLimits, "p")), 415);
  assert.equal(statusOf(() => checkImageRef(`data:image/png;base64,${btoa("hello world!")}`, defaultLimits, "p")), 415);
  assert.equal(statusOf(() => checkImageRef("data:image/png;base64,@@@!", defaultLimits, "p")), 400);
  assert.equal(statusOf(() => checkImageRef("data:image/png,rawbytes", defaultLimits, "p")), 400);
  assert.equal(statusOf(() => checkImageRef("https://example.com/a.png", defaultLimits, "p")), 400);
  assert.equal(statusOf(() => checkImageRef(png.slice(0, -1), defaultLimits, "p")), 400);
});

Deno.test("checkImageRef refuses images over the byte limit from the base64 length alone", () => {
  const big = "A".repeat(4 * 1024);
  assert.equal(statusOf(() => checkImageRef(big, { ...defaultLimits, maxImageBytes: 1000 }, "p")), 413);
});

Deno.test("decodeBase64Strict accepts padded standard base64 only", () => {
  assert.deepEqual(decodeBase64Strict("AQID"), new Uint8Array([1, 2, 3]));
  assert.deepEqual(decodeBase64Strict("AQ=="), new Uint8Array([1]));
  assert.equal(decodeBase64Strict("AQ"), null);
  assert.equal(decodeBase64Strict("AQ-_"), null);
  assert.equal(decodeBase64Strict(""), null);
  assert.equal(decodeBase64Strict("A=QI"), null);
});
