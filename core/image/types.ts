/** An 8-bit RGB image, row-major (H, W, 3). */
export interface RgbImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** (H, W, 3) bytes, row-major. */
  data: Uint8Array;
}

/** A video clip: frames of equal size and the rate they were sampled at. */
export interface RgbVideo {
  /** The frames, all of one size. */
  frames: RgbImage[];
  /** Frames per second of `frames` (after any sampling); Qwen's default sampling rate is 2. */
  fps: number;
}
