/**
 * Storage-buffer pool. Sizes are rounded up to size classes (≤ 12.5 % waste) so a training loop that
 * allocates the same shapes every step reuses buffers instead of creating new ones.
 */
export class BufferPool {
  #free = new Map<number, GPUBuffer[]>();
  /** Buffers handed out. */
  live = 0;
  /** Bytes handed out. */
  liveBytes = 0;
  /** Released buffers kept for reuse. */
  pooled = 0;

  /** A pool on `device`. */
  constructor(readonly device: GPUDevice) {}

  /** The size class `bytes` rounds up to. */
  static sizeClass(bytes: number): number {
    const b = Math.max(16, bytes);
    if (b <= 256) return Math.ceil(b / 16) * 16;
    const step = 2 ** Math.max(8, Math.floor(Math.log2(b)) - 3);
    return Math.ceil(b / step) * step;
  }

  /** A buffer of at least `bytes` (reused when one is free). */
  acquire(bytes: number): GPUBuffer {
    // A size class above the device's buffer limits falls back to the exact size (a tensor just under the limit).
    const cap = Math.min(this.device.limits.maxBufferSize, this.device.limits.maxStorageBufferBindingSize);
    const cls = BufferPool.sizeClass(bytes);
    const size = cls > cap ? Math.ceil(bytes / 16) * 16 : cls;
    const list = this.#free.get(size);
    let buf = list?.pop();
    if (buf) this.pooled--;
    else {
      buf = this.device.createBuffer({
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      });
    }
    this.live++;
    this.liveBytes += size;
    return buf;
  }

  /** Return a buffer for reuse. */
  release(buf: GPUBuffer): void {
    this.live--;
    this.liveBytes -= buf.size;
    let list = this.#free.get(buf.size);
    if (!list) this.#free.set(buf.size, list = []);
    list.push(buf);
    this.pooled++;
  }

  /** Destroy every pooled (free) buffer. */
  trim(): void {
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
    this.pooled = 0;
  }
}
