import { createRequire } from "node:module";
import sharp from "sharp";
import { BufferPool } from "./buffer-pool.js";

// libvips' own thread pool competes with ONNX Runtime for the same cores; one thread per
// encode and libuv's pool for concurrency measured fastest on 2 cores.
sharp.concurrency(1);
sharp.cache(false);

type Turbo = typeof import("@julusian/jpeg-turbo");

/**
 * libjpeg-turbo's own binding: the same codec sharp uses, without sharp's per-call pipeline
 * (about 1 ms of a 128 x 128 patch's 1.1 ms, measured). Where its prebuilt library does not
 * load (a platform it has no build for), frames are encoded by sharp as before.
 */
const turbo: Turbo | undefined = (() => {
  try {
    return createRequire(import.meta.url)("@julusian/jpeg-turbo") as Turbo;
  } catch {
    return undefined;
  }
})();

/** Which encoder frames go through, for GetAvatar-style diagnostics and tests. */
export const jpegEncoder: "libjpeg-turbo" | "sharp" = turbo ? "libjpeg-turbo" : "sharp";

/**
 * Up to this many pixels an encode runs on the calling thread (a mouth patch: 0.13 ms, less
 * than a hop to libuv's pool and back); larger pictures go to the pool, off the event loop.
 */
const SYNC_PIXELS = 256 * 256;

/**
 * Worst-case output buffers, reused: the binding would otherwise allocate one per frame (800 KB
 * for 512 x 512) and hand back a view that keeps it alive. A finished encode is copied out at
 * its own size and its buffer goes back here.
 */
const scratch = new BufferPool((size) => Buffer.allocUnsafe(size));

/** Baseline JPEG of raw RGB, 4:2:0 (libjpeg-turbo; mozjpeg measured 9x slower). */
export async function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality: number): Promise<Buffer> {
  if (!turbo) {
    return sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality, chromaSubsampling: "4:2:0" }).toBuffer();
  }
  const options = { format: turbo.FORMAT_RGB, width, height, quality, subsampling: turbo.SAMP_420 };
  // A view, not a copy: the binding takes Buffers, and frames may live in a SharedArrayBuffer.
  const src = Buffer.from(rgb.buffer, rgb.byteOffset, width * height * 3);
  const out = scratch.take(turbo.bufferSize(options));
  try {
    const view = width * height <= SYNC_PIXELS ? turbo.compressSync(src, out, options) : await turbo.compress(src, out, options);
    // Its own ArrayBuffer of its size (not Node's shared pool slab): a compose worker transfers it.
    const own = new Uint8Array(view.length);
    own.set(view);
    return Buffer.from(own.buffer);
  } finally {
    scratch.give(out);
  }
}

/** Raw RGB of an encoded image. */
export async function decodeImage(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
