import assert from "node:assert/strict";
import { WasmHeap } from "../../../core/wasm/heap.ts";

const PAGE = 65536;
const heapOf = (maxPages: number) =>
  new WasmHeap(new WebAssembly.Memory({ initial: 1, maximum: maxPages }), 0, maxPages);

Deno.test("a freed range is reused by the next allocation of its size class", () => {
  const h = heapOf(4);
  const a = h.alloc(1000);
  h.free(a, 1000);
  assert.equal(h.alloc(990), a);
  assert.equal(h.live, 1);
  assert.equal(h.pooled, 0);
});

Deno.test("ranges are 64-byte aligned and never overlap", () => {
  const h = heapOf(8);
  const got: [number, number][] = [];
  for (const n of [1, 17, 100, 4097, 3, 20000]) {
    const p = h.alloc(n);
    assert.equal(p % 64, 0);
    got.push([p, n]);
  }
  got.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < got.length; i++) assert.ok(got[i - 1][0] + got[i - 1][1] <= got[i][0]);
});

Deno.test("when the memory is full, free ranges of other sizes are merged and split instead of failing", () => {
  const h = heapOf(4); // 256 KiB
  // One phase fills the memory with 16 KiB ranges and frees them all ...
  const small = Array.from({ length: 15 }, () => h.alloc(16 * 1024));
  for (const p of small) h.free(p, 16 * 1024);
  // ... the next needs 64 KiB ranges: without merging, only the untouched top would serve.
  const big = Array.from({ length: 4 }, () => h.alloc(64 * 1024));
  assert.ok(h.compactions >= 1);
  assert.equal(new Set(big).size, 4);
  assert.ok(big.every((p) => p + 64 * 1024 <= 4 * PAGE));
  // The memory is full; a hole between live ranges is split for smaller requests.
  h.free(big[1], 64 * 1024);
  const a = h.alloc(16 * 1024), b = h.alloc(32 * 1024);
  for (const [p, n] of [[a, 16 * 1024], [b, 32 * 1024]]) assert.ok(p >= big[1] && p + n <= big[1] + 64 * 1024);
  assert.notEqual(a, b);
});

Deno.test("an allocation beyond the limit with nothing to reclaim names the need and the limit", () => {
  const h = heapOf(2);
  h.alloc(100 * 1024);
  assert.throws(() => h.alloc(100 * 1024), /WASM memory exhausted: .* GiB needed live, the memory allows 0\.00 GiB/);
});

Deno.test("freeing a range twice is an error, not a corrupted pool", () => {
  const h = heapOf(2);
  const p = h.alloc(64);
  h.free(p, 64);
  assert.throws(() => h.free(p, 64), /not a live range/);
});
