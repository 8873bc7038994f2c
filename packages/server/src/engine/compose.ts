/**
 * Compositing and encoding, the per-frame CPU work after the model: paste the output into the
 * source frame (or cut the mouth patch) and JPEG-encode it. One interface, two homes: on this
 * thread (`LocalComposer`, best on a couple of cores) or in a pool of worker threads
 * (compose-pool.ts), so that on a many-core machine the main thread only moves bytes.
 */
import type { ImageEncoding } from "./frame.js";
import { composite, compositePatch, type OutputGeometry, type PasteMask, type Rect, type RgbImage } from "./image-ops.js";
import { BufferPool } from "./buffer-pool.js";
import { encodeJpeg } from "./jpeg.js";
import { rgbToI420, rgbToRgba } from "./pixels.js";

export type { ImageEncoding };

export interface ComposeRequest {
  /** The model's output crop [3, size, size], often a view of its batch's output (a pool copies it). */
  output: Float32Array;
  geometry: OutputGeometry;
  rect: Rect;
  mask: PasteMask;
  patch: boolean;
  encoding: ImageEncoding;
  quality: number;
}

export interface Composed {
  image: Uint8Array;
  width: number;
  height: number;
  compositeMs: number;
  encodeMs: number;
}

/**
 * Where a source frame lives: a frame store shared with the pool's workers (`store` and
 * `index`), or, when frames are decoded on demand, the frame itself (copied to a worker).
 */
export type FrameRef = { store: FrameStore; index: number } | { image: RgbImage };

export interface Composer {
  compose(frame: FrameRef, req: ComposeRequest): Promise<Composed>;
  close(): Promise<void>;
}

/**
 * Decoded RGB frames of one avatar in one SharedArrayBuffer, so that every compose worker reads
 * them where they are. `id` names it in the pool's workers.
 */
export class FrameStore {
  private static nextId = 1;
  readonly id = FrameStore.nextId++;
  readonly buffer: SharedArrayBuffer;
  readonly frameBytes: number;

  constructor(readonly count: number, readonly width: number, readonly height: number) {
    this.frameBytes = width * height * 3;
    this.buffer = new SharedArrayBuffer(count * this.frameBytes);
  }

  frame(index: number): RgbImage {
    return { data: new Uint8Array(this.buffer, index * this.frameBytes, this.frameBytes), width: this.width, height: this.height };
  }
}

/**
 * Pictures on their way to the JPEG encoder, reused: the encoder returns its own copy, so a
 * composited frame (768 KB at 512 x 512) is garbage as soon as it is encoded. Raw frames are the
 * picture itself and are not reused.
 */
const pictures = new BufferPool((size) => new Uint8Array(size));

/** The work itself, wherever it runs. */
export async function composeFrame(frame: RgbImage, req: ComposeRequest): Promise<Composed> {
  const t0 = performance.now();
  const bytes = req.patch ? (req.mask.x1 - req.mask.x0) * (req.mask.y1 - req.mask.y0) * 3 : frame.data.length;
  const scratch = req.encoding === "jpeg" ? pictures.take(bytes) : undefined;
  const picture = req.patch
    ? compositePatch(frame, req.output, req.geometry, req.rect, req.mask, scratch)
    : { data: composite(frame, req.output, req.geometry, req.rect, req.mask, scratch), width: frame.width, height: frame.height };
  const t1 = performance.now();
  try {
    const image = await encodeImage(picture, req.encoding, req.quality);
    return { image, width: picture.width, height: picture.height, compositeMs: t1 - t0, encodeMs: performance.now() - t1 };
  } finally {
    if (scratch) pictures.give(scratch);
  }
}

/** An RGB picture in the frame's encoding: JPEG, or raw pixels (RGB as it is, RGBA, I420). */
export async function encodeImage(picture: RgbImage, encoding: ImageEncoding, quality: number): Promise<Uint8Array> {
  const { data, width, height } = picture;
  if (encoding === "jpeg") {
    const jpeg = await encodeJpeg(data, width, height, quality);
    // A plain Uint8Array over the encoder's own buffer (sharp's too has one per image): no copy.
    return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
  }
  if (encoding === "rgba") return rgbToRgba(data, width, height);
  if (encoding === "i420") return rgbToI420(data, width, height);
  return data;
}

export class LocalComposer implements Composer {
  compose(frame: FrameRef, req: ComposeRequest): Promise<Composed> {
    return composeFrame("store" in frame ? frame.store.frame(frame.index) : frame.image, req);
  }

  async close(): Promise<void> {}
}
