/**
 * The WASM device's allocator: byte ranges of the one shared WebAssembly.Memory, in the same size classes as the GPU
 * buffer pool (≤ 12.5 % waste), so a training loop that makes the same shapes every step reuses freed ranges
 * instead of growing the memory. Every range starts 64-byte aligned and is a multiple of 16 bytes, so SIMD kernels
 * may read and write whole f32x4 vectors up to the end of a tensor's last vector (the padding is never read back).
 * Ranges are never returned to the memory (a WebAssembly.Memory cannot shrink); when it is full, free ranges are
 * merged and split (WasmHeap.alloc).
 */
import { BufferPool } from "../gpu/buffer_pool.ts";

const ALIGN = 64;
const PAGE = 65536;
/** wasm32 addresses: at most 4 GiB of memory. */
export const MAX_PAGES = 65536;

/** The WASM device's allocator (see the file comment). */
export class WasmHeap {
  /** Free ranges by extent (bytes they span, a multiple of ALIGN). */
  #free = new Map<number, number[]>();
  /** Extent of every range handed out, by offset (a range may be larger than its size class after compaction). */
  #extents = new Map<number, number>();
  #top: number;
  /** Ranges handed out. */
  live = 0;
  /** Bytes handed out. */
  liveBytes = 0;
  /** Freed ranges kept for reuse. */
  pooled = 0;
  /** Times the free ranges were merged because the memory was full. */
  compactions = 0;

  /**
   * Allocations start at `base` (below it: the runtime's parameter block); the memory may grow to `maxPages` pages
   * of 64 KiB (wasm32's 4 GiB unless told less).
   */
  constructor(readonly memory: WebAssembly.Memory, base: number, readonly maxPages: number = MAX_PAGES) {
    this.#top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** The size class `bytes` rounds up to (a multiple of 16). */
  static sizeClass(bytes: number): number {
    return Math.ceil(BufferPool.sizeClass(bytes) / 16) * 16;
  }

  /**
   * A range of at least `bytes`; returns its byte offset. A freed range of the same size class first, else new
   * memory; when wasm32's 4 GiB are reached, the free ranges are merged (adjacent ones, and those at the top given
   * back) and the smallest that fits is split, so ranges pooled by one phase's shapes serve the next phase's.
   */
  alloc(bytes: number): number {
    const extent = Math.ceil(WasmHeap.sizeClass(bytes) / ALIGN) * ALIGN;
    const ptr = this.#takeFree(extent) ?? this.#bump(extent) ?? (this.#compact(), this.#takeFree(extent)) ??
      this.#bump(extent) ?? this.#split(extent);
    if (ptr === undefined) {
      throw new RangeError(
        `WASM memory exhausted: ${((this.liveBytes + extent) / 2 ** 30).toFixed(2)} GiB needed live, the memory ` +
          `allows ${(this.maxPages * PAGE / 2 ** 30).toFixed(2)} GiB ` +
          "(free tensors sooner, or use --device webgpu for larger models)",
      );
    }
    this.#extents.set(ptr, extent);
    this.live++;
    this.liveBytes += extent;
    return ptr;
  }

  /** Return a range for reuse. */
  free(ptr: number, _bytes: number): void {
    const extent = this.#extents.get(ptr);
    if (extent === undefined) throw new Error(`WasmHeap.free: ${ptr} is not a live range`);
    this.#extents.delete(ptr);
    this.live--;
    this.liveBytes -= extent;
    this.#pushFree(ptr, extent);
  }

  /** Bytes handed out from the memory so far (live or pooled). */
  get reserved(): number {
    return this.#top;
  }

  #pushFree(ptr: number, extent: number): void {
    let list = this.#free.get(extent);
    if (!list) this.#free.set(extent, list = []);
    list.push(ptr);
    this.pooled++;
  }

  #takeFree(extent: number): number | undefined {
    const ptr = this.#free.get(extent)?.pop();
    if (ptr !== undefined) this.pooled--;
    return ptr;
  }

  /** New memory at the top, growing the WebAssembly.Memory; undefined past 4 GiB. */
  #bump(extent: number): number | undefined {
    const ptr = this.#top, end = ptr + extent;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > this.maxPages) return undefined;
      // Grow by at least 1/8 of the current size so a growing model does not grow page by page.
      this.memory.grow(Math.min(this.maxPages - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 8))));
    }
    this.#top = end;
    return ptr;
  }

  /** Merges adjacent free ranges; a merged range ending at the top lowers the top instead. */
  #compact(): void {
    this.compactions++;
    const ranges: [number, number][] = [];
    for (const [extent, ptrs] of this.#free) for (const p of ptrs) ranges.push([p, extent]);
    ranges.sort((a, b) => a[0] - b[0]);
    this.#free.clear();
    this.pooled = 0;
    const merged: [number, number][] = [];
    for (const [p, e] of ranges) {
      const last = merged.at(-1);
      if (last && last[0] + last[1] === p) last[1] += e;
      else merged.push([p, e]);
    }
    const last = merged.at(-1);
    if (last && last[0] + last[1] === this.#top) this.#top = merged.pop()![0];
    for (const [p, e] of merged) this.#pushFree(p, e);
  }

  /** The smallest free range of at least `extent`, split (the rest stays free). */
  #split(extent: number): number | undefined {
    let best: number | undefined;
    for (const e of this.#free.keys()) if (e > extent && this.#free.get(e)!.length && (best ?? Infinity) > e) best = e;
    if (best === undefined) return undefined;
    const ptr = this.#takeFree(best)!;
    this.#pushFree(ptr + extent, best - extent);
    return ptr;
  }
}
