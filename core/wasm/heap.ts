/**
 * The WASM device's allocator: byte ranges of the one shared WebAssembly.Memory, in the same size classes as the GPU
 * buffer pool (≤ 12.5 % waste), so a training loop that makes the same shapes every step reuses freed ranges
 * instead of growing the memory. Every range starts 64-byte aligned and is a multiple of 16 bytes, so SIMD kernels
 * may read and write whole f32x4 vectors up to the end of a tensor's last vector (the padding is never read back).
 * Ranges are never returned to the memory (a WebAssembly.Memory cannot shrink).
 */
import { BufferPool } from "../gpu/buffer_pool.ts";

const ALIGN = 64;
const PAGE = 65536;
/** wasm32 addresses: at most 4 GiB of memory. */
export const MAX_PAGES = 65536;

/** The WASM device's allocator (see the file comment). */
export class WasmHeap {
  #free = new Map<number, number[]>();
  #top: number;
  /** Ranges handed out. */
  live = 0;
  /** Bytes handed out. */
  liveBytes = 0;
  /** Freed ranges kept for reuse. */
  pooled = 0;

  /** Allocations start at `base` (below it: the runtime's parameter block). */
  constructor(readonly memory: WebAssembly.Memory, base: number) {
    this.#top = Math.ceil(base / ALIGN) * ALIGN;
  }

  /** The size class `bytes` rounds up to (a multiple of 16). */
  static sizeClass(bytes: number): number {
    return Math.ceil(BufferPool.sizeClass(bytes) / 16) * 16;
  }

  /** A range of at least `bytes`; returns its byte offset. */
  alloc(bytes: number): number {
    const size = WasmHeap.sizeClass(bytes);
    const list = this.#free.get(size);
    let ptr = list?.pop();
    if (ptr !== undefined) this.pooled--;
    else {
      ptr = this.#top;
      const end = ptr + Math.ceil(size / ALIGN) * ALIGN;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        const total = have / PAGE + pages;
        if (total > MAX_PAGES) {
          throw new RangeError(
            `WASM memory exhausted: ${(end / 2 ** 30).toFixed(2)} GiB needed, wasm32 allows 4 GiB ` +
              "(free tensors sooner, or use --device webgpu for larger models)",
          );
        }
        // Grow by at least 1/8 of the current size so a growing model does not grow page by page.
        this.memory.grow(Math.min(MAX_PAGES - have / PAGE, Math.max(pages, Math.ceil(have / PAGE / 8))));
      }
      this.#top = end;
    }
    this.live++;
    this.liveBytes += size;
    return ptr;
  }

  /** Return a range for reuse. */
  free(ptr: number, bytes: number): void {
    const size = WasmHeap.sizeClass(bytes);
    this.live--;
    this.liveBytes -= size;
    let list = this.#free.get(size);
    if (!list) this.#free.set(size, list = []);
    list.push(ptr);
    this.pooled++;
  }

  /** Bytes handed out from the memory so far (live or pooled). */
  get reserved(): number {
    return this.#top;
  }
}
