import sharp from "sharp";

// libvips' own thread pool competes with ONNX Runtime for the same cores; one thread per
// encode and libuv's pool for concurrency measured fastest on 2 cores.
sharp.concurrency(1);
sharp.cache(false);

/** Baseline JPEG of raw RGB (sharp's default encoder; mozjpeg measured 9x slower). */
export function encodeJpeg(rgb: Uint8Array, width: number, height: number, quality: number): Promise<Buffer> {
  return sharp(rgb, { raw: { width, height, channels: 3 } }).jpeg({ quality, chromaSubsampling: "4:2:0" }).toBuffer();
}

/** Raw RGB of an encoded image. */
export async function decodeImage(bytes: Uint8Array): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(bytes).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}
